"""Local stand-ins for the hosted AI APIs and an Ollama server (tests only, no internet).

HTTPS on 127.0.0.1:443 with a certificate for the real host names (made by the test
with openssl), answering OpenAI, Anthropic and Gemini request shapes; plain HTTP on
127.0.0.1:11434 answering Ollama's. Responses have the shapes the official clients
parse, with a model name and token usage. Prints "ready" when both listen.

usage: standin.py CERT KEY [HTTPS_PORT] [HTTP_PORT]   (CERT "-": plain HTTP only)
"""
import json
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def answer(path, body):
    req = json.loads(body or b"{}")
    if path.startswith("/v1/chat/completions"):
        return {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1,
            "model": req.get("model", "?") + "-2024-07-18",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "stand-in answer"}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
        }
    if path.startswith("/v1/embeddings"):
        return {"object": "list", "model": req.get("model", "?"),
                "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
                "usage": {"prompt_tokens": 3, "total_tokens": 3}}
    if path.startswith("/v1/messages"):
        return {
            "id": "msg_1", "type": "message", "role": "assistant",
            "model": req.get("model", "?") + "-20241022",
            "content": [{"type": "text", "text": "stand-in answer"}],
            "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 4},
        }
    if ":generateContent" in path:
        model = path.split("/models/")[1].split(":")[0]
        return {
            "candidates": [{"content": {"parts": [{"text": "stand-in answer"}], "role": "model"},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 3,
                              "totalTokenCount": 11},
            "modelVersion": model + "-001",
        }
    if path.startswith("/api/chat"):
        return {
            "model": req.get("model", "?"), "created_at": "2026-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": "stand-in answer"},
            "done": True, "done_reason": "stop", "total_duration": 1, "load_duration": 1,
            "prompt_eval_count": 7, "prompt_eval_duration": 1, "eval_count": 3,
            "eval_duration": 1,
        }
    if path.startswith("/api/generate"):
        return {"model": req.get("model", "?"), "created_at": "2026-01-01T00:00:00Z",
                "response": "stand-in answer", "done": True, "prompt_eval_count": 5,
                "eval_count": 2}
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(n)
        out = answer(self.path, body)
        data = json.dumps(out).encode()
        self.send_response(200 if out is not None else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        data = b'{"models": []}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    cert, key = sys.argv[1], sys.argv[2]
    https_port = int(sys.argv[3]) if len(sys.argv) > 3 else 443
    http_port = int(sys.argv[4]) if len(sys.argv) > 4 else 11434
    servers = [ThreadingHTTPServer(("127.0.0.1", http_port), Handler)]
    if cert != "-":
        tls = ThreadingHTTPServer(("127.0.0.1", https_port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        servers.append(tls)
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
