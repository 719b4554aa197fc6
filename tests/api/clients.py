"""Calls the four official AI clients (openai, anthropic, google-genai, ollama), once
each, with a secret prompt and API key from the environment (tests only).

The host names resolve to the stand-in server through the test's private /etc/hosts;
AIBOM_TEST_CA is the stand-in's CA. The Anthropic prompt is long on purpose: the client
writes `model` after `messages`, so the kernel must scan past it.
"""
import os

import anthropic
import ollama
import openai
from google import genai
from google.genai import types

CA = os.environ["AIBOM_TEST_CA"]
PROMPT = os.environ["AIBOM_SECRET_PROMPT"]
KEY = os.environ["AIBOM_SECRET_KEY"]

oa = openai.OpenAI(api_key=KEY, http_client=openai.DefaultHttpxClient(verify=CA), max_retries=0)
r = oa.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}])
print("openai:", r.model)

an = anthropic.Anthropic(api_key=KEY, http_client=anthropic.DefaultHttpxClient(verify=CA),
                         max_retries=0)
r = an.messages.create(model="claude-3-5-haiku", max_tokens=64,
                       messages=[{"role": "user", "content": PROMPT + " " + "x" * 20000}])
print("anthropic:", r.model)

g = genai.Client(api_key=KEY, http_options=types.HttpOptions(client_args={"verify": CA}))
r = g.models.generate_content(model="gemini-2.0-flash", contents=PROMPT)
print("gemini:", r.model_version)

ol = ollama.Client(host="http://127.0.0.1:11434")
r = ol.chat(model="llama3.2", messages=[{"role": "user", "content": PROMPT}])
print("ollama:", r.model)
