//! AI API calls: the official `openai`, `anthropic`, `google-genai` and `ollama` Python
//! clients, `curl` (OpenSSL) and `wget` (GnuTLS: its own TLS) call local stand-ins of the
//! real hosts, with no internet: the test makes its own CA with `openssl`, serves HTTPS
//! for `api.openai.com`, `api.anthropic.com` and `generativelanguage.googleapis.com` and
//! plain HTTP for Ollama, all inside a private network and mount namespace where those
//! names resolve to 127.0.0.1 through a bind-mounted copy of `/etc/hosts` (the host's
//! own file is never touched). The real `aibomd run` traces the calls; every output it
//! writes is searched for the secret prompt and API key. Needs root; under `CI=true` it
//! fails instead of skipping.
mod common;

use std::path::Path;
use std::process::Command;

use aibom_semconv::{api_provider, api_seen_by, event};
use common::*;
use serde_json::Value;

const PROMPT: &str = "the-secret-prompt-XYZZY-4242";
const KEY: &str = "sk-test-secret-key-PLUGH-0042";

macro_rules! need_root {
    () => {
        if !kernel_tests_possible(module_path!()) {
            return;
        }
    };
}

fn sh(dir: &Path, script: &str) {
    let out = Command::new("sh")
        .arg("-ec")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a certificate for the three hosted APIs' names, made by `openssl`.
fn make_certs(dir: &Path) {
    sh(
        dir,
        r#"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
  -subj "/CN=aibomd test CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=api.openai.com" 2>/dev/null
printf 'subjectAltName=DNS:api.openai.com,DNS:api.anthropic.com,DNS:generativelanguage.googleapis.com\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' > ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext 2>/dev/null
(cat /etc/hosts; echo "127.0.0.1 api.openai.com api.anthropic.com generativelanguage.googleapis.com") > hosts
"#,
    );
}

/// The calls made under `aibomd run`: the four Python clients, then curl and wget.
const CLIENTS: &str = r#"
set -e
"$PY" "$SRC/tests/api/clients.py"
curl -sS --cacert ca.pem https://api.openai.com/v1/embeddings \
  -H "Authorization: Bearer $AIBOM_SECRET_KEY" -H content-type:application/json \
  -d "{\"input\":\"$AIBOM_SECRET_PROMPT\",\"model\":\"text-embedding-3-small\"}" -o /dev/null
wget -q -O /dev/null --ca-certificate=ca.pem --header="x-api-key: $AIBOM_SECRET_KEY" \
  --header="content-type: application/json" \
  --post-data="{\"model\":\"claude-3-5-haiku\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"$AIBOM_SECRET_PROMPT\"}]}" \
  https://api.anthropic.com/v1/messages
"#;

/// Inside the namespaces: loopback up, the names mapped, the stand-ins started, then
/// `aibomd run` with TLS responses parsed (OTLP to a closed port, so every record stays
/// in the spool); then the Ollama call with the defaults (TLS responses off) and with
/// `[api] enabled = false`.
const SCENARIO: &str = r#"
set -e
ip link set lo up
mount --bind "$PWD/hosts" /etc/hosts
"$PY" "$SRC/tests/api/standin.py" srv.pem srv.key > standin.log 2>&1 &
standin=$!
for i in $(seq 100); do grep -q ready standin.log && break; sleep 0.1; done
grep -q ready standin.log
AIBOM_API__RESPONSES=true "$AIBOMD" run --tracer ebpf --events events.jsonl --otlp-file otlp.jsonl --bom bom.json \
  --policy "$SRC/examples/policy.toml" -- sh clients.sh > run.out 2> run.err
"$AIBOMD" run --tracer ebpf --events default.jsonl -- "$PY" "$SRC/tests/api/clients.py" > default.out 2> default.err
AIBOM_API__ENABLED=false "$AIBOMD" run --tracer ebpf --events off.jsonl -- "$PY" -c "
import ollama; ollama.Client(host='http://127.0.0.1:11434').chat(model='llama3.2', messages=[{'role': 'user', 'content': 'hi'}])
" > off.out 2> off.err
kill $standin
"#;

fn calls(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e[record::EVENT_NAME] == event::API_CALL)
        .collect()
}

fn find<'a>(calls: &[&'a Value], provider: &str, exe: &str) -> &'a Value {
    let m: Vec<_> = calls
        .iter()
        .filter(|c| c[attr::API_PROVIDER] == provider && c[attr::PROCESS_EXECUTABLE_NAME] == exe)
        .collect();
    assert_eq!(
        m.len(),
        1,
        "one {provider} call by {exe} expected in {calls:#?}"
    );
    m[0]
}

fn read_jsonl(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every file under `dir` (recursively) that holds `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for e in walk(dir) {
        if let Ok(b) = std::fs::read(&e) {
            if b.windows(needle.len()).any(|w| w == needle) {
                hits.push(e.display().to_string());
            }
        }
    }
    hits
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn official_clients_curl_and_wget_are_seen_with_provider_host_and_model_and_no_secret() {
    need_root!();
    let (_t, dir) = tempdir();
    make_certs(&dir);
    std::fs::write(dir.join("clients.sh"), CLIENTS).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out_dir = dir.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let status = Command::new("unshare")
        .args(["--mount", "--net", "--", "sh", "-ec", SCENARIO])
        .current_dir(&dir)
        .env("PY", python())
        .env("SRC", src)
        .env("AIBOMD", env!("CARGO_BIN_EXE_aibomd"))
        .env("AIBOM_TEST_CA", dir.join("ca.pem"))
        .env("AIBOM_SECRET_PROMPT", PROMPT)
        .env("AIBOM_SECRET_KEY", KEY)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
        .env("AIBOM_EXPORT__OTLP__SPOOL_DIR", out_dir.join("spool"))
        .env("AIBOM_EXPORT__OTLP__SHUTDOWN_TIMEOUT_MS", "300")
        .env_remove("AIBOM_PROJECT")
        .status()
        .unwrap();
    let log = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    assert!(
        status.success(),
        "scenario failed\nrun.err:\n{}\nrun.out:\n{}\nstandin.log:\n{}\noff.err:\n{}",
        log("run.err"),
        log("run.out"),
        log("standin.log"),
        log("off.err")
    );
    let events = read_jsonl(&dir.join("events.jsonl"));
    let calls = calls(&events);
    let table = log("run.err");

    // OpenSSL through the uprobes: provider, host, requested and answering model, the
    // operation, token usage from the response
    let oa = find(&calls, api_provider::OPENAI, "python");
    assert_eq!(s(oa, attr::SERVER_ADDRESS), "api.openai.com");
    assert_eq!(i(oa, attr::SERVER_PORT), 443);
    assert_eq!(s(oa, attr::GEN_AI_PROVIDER_NAME), "openai");
    assert_eq!(s(oa, attr::GEN_AI_REQUEST_MODEL), "gpt-4o-mini");
    assert_eq!(s(oa, attr::GEN_AI_RESPONSE_MODEL), "gpt-4o-mini-2024-07-18");
    assert_eq!(s(oa, attr::GEN_AI_OPERATION_NAME), "chat");
    assert_eq!(s(oa, attr::URL_PATH), "/v1/chat/completions");
    assert_eq!(i(oa, attr::GEN_AI_USAGE_INPUT_TOKENS), 12);
    assert_eq!(i(oa, attr::GEN_AI_USAGE_OUTPUT_TOKENS), 5);
    assert_eq!(i(oa, attr::HTTP_RESPONSE_STATUS_CODE), 200);
    assert_eq!(s(oa, attr::API_SEEN_BY), api_seen_by::UPROBE);
    assert!(s(oa, attr::API_TLS_LIBRARY).contains("libssl.so"), "{oa:#}");

    // Anthropic writes `model` after a 20 kB prompt: the kernel scanned past it
    let an = find(&calls, api_provider::ANTHROPIC, "python");
    assert_eq!(s(an, attr::SERVER_ADDRESS), "api.anthropic.com");
    assert_eq!(s(an, attr::GEN_AI_REQUEST_MODEL), "claude-3-5-haiku");
    assert_eq!(
        s(an, attr::GEN_AI_RESPONSE_MODEL),
        "claude-3-5-haiku-20241022"
    );
    assert_eq!(i(an, attr::GEN_AI_USAGE_INPUT_TOKENS), 10);

    // Gemini names the model in the path
    let g = find(&calls, api_provider::GCP_GEMINI, "python");
    assert_eq!(
        s(g, attr::SERVER_ADDRESS),
        "generativelanguage.googleapis.com"
    );
    assert_eq!(s(g, attr::GEN_AI_REQUEST_MODEL), "gemini-2.0-flash");
    assert_eq!(s(g, attr::GEN_AI_OPERATION_NAME), "generate_content");
    assert_eq!(i(g, attr::GEN_AI_USAGE_OUTPUT_TOKENS), 3);

    // Ollama over plain HTTP: no OpenTelemetry provider name, identified by the server
    let ol = find(&calls, api_provider::OLLAMA, "python");
    assert_eq!(s(ol, attr::SERVER_ADDRESS), "127.0.0.1");
    assert_eq!(i(ol, attr::SERVER_PORT), 11434);
    assert_eq!(s(ol, attr::GEN_AI_REQUEST_MODEL), "llama3.2");
    assert_eq!(s(ol, attr::API_SEEN_BY), api_seen_by::HTTP);
    assert!(ol.get(attr::GEN_AI_PROVIDER_NAME).is_none(), "{ol:#}");

    // curl: OpenSSL behind its own BIO (no SSL_set_fd): the socket is learnt in SSL_write
    let cu = find(&calls, api_provider::OPENAI, "curl");
    assert_eq!(s(cu, attr::GEN_AI_REQUEST_MODEL), "text-embedding-3-small");
    assert_eq!(s(cu, attr::GEN_AI_OPERATION_NAME), "embeddings");
    assert_eq!(i(cu, attr::SERVER_PORT), 443);

    // wget speaks GnuTLS: provider and host from its ClientHello, no model
    let wg = find(&calls, api_provider::ANTHROPIC, "wget");
    assert_eq!(s(wg, attr::SERVER_ADDRESS), "api.anthropic.com");
    assert_eq!(s(wg, attr::API_SEEN_BY), api_seen_by::SNI);
    assert!(wg.get(attr::GEN_AI_REQUEST_MODEL).is_none(), "{wg:#}");

    assert_eq!(calls.len(), 6, "no other call: {calls:#?}");
    assert!(table.contains("6 AI API call(s)"), "{table}");
    assert!(table.contains("claude-3-5-haiku"), "{table}");

    // the README policy's `no-unapproved-apis`: every hosted provider but OpenAI, once
    // per process and API; Ollama has no `gen_ai.provider.name` and breaks nothing
    let mut broke: Vec<(String, String)> = events
        .iter()
        .filter(|e| e[record::EVENT_NAME] == event::POLICY_VIOLATION)
        .filter(|e| e[attr::POLICY_RULE] == "no-unapproved-apis")
        .map(|e| {
            (
                s(e, attr::GEN_AI_PROVIDER_NAME).to_string(),
                s(e, attr::PROCESS_EXECUTABLE_NAME).to_string(),
            )
        })
        .collect();
    broke.sort();
    assert_eq!(
        broke,
        [
            ("anthropic".to_string(), "python".to_string()),
            ("anthropic".to_string(), "wget".to_string()),
            ("gcp.gemini".to_string(), "python".to_string()),
        ]
    );

    // `--bom`: the APIs are CycloneDX services with their endpoints and models
    let bom: Value = serde_json::from_str(&log("bom.json")).unwrap();
    let services = bom["services"].as_array().expect("services in the BOM");
    let openai = services
        .iter()
        .find(|s| s["name"] == "openai")
        .unwrap_or_else(|| panic!("{services:#?}"));
    let text = openai.to_string();
    for want in [
        "https://api.openai.com:443/v1/chat/completions",
        "gpt-4o-mini",
        "text-embedding-3-small",
    ] {
        assert!(text.contains(want), "{want} missing from {openai:#}");
    }
    assert_eq!(
        services.len(),
        4,
        "openai, anthropic, gcp.gemini, ollama: {services:#?}"
    );

    // the OTLP file has them as log records with the event name
    assert!(log("otlp.jsonl").contains(event::API_CALL));

    // nothing anywhere holds the prompt or the key: events, OTLP, spool, BOM, the table
    for secret in [PROMPT, KEY] {
        let mut hits = files_holding(&out_dir, secret.as_bytes());
        for f in [
            "events.jsonl",
            "otlp.jsonl",
            "bom.json",
            "run.err",
            "run.out",
        ] {
            if log(f).contains(secret) {
                hits.push(f.to_string());
            }
        }
        assert!(hits.is_empty(), "{secret} found in {hits:?}");
    }
    assert!(
        !walk(&out_dir.join("spool")).is_empty(),
        "the spool held the undelivered records (and was searched)"
    );

    // the defaults: TLS requests seen, TLS responses not parsed (no uretprobes);
    // plain-HTTP responses still are
    let def = read_jsonl(&dir.join("default.jsonl"));
    let def = self::calls(&def);
    assert_eq!(def.len(), 4, "{def:#?}\n{}", log("default.err"));
    let oa = find(&def, api_provider::OPENAI, "python");
    assert_eq!(s(oa, attr::GEN_AI_REQUEST_MODEL), "gpt-4o-mini");
    assert!(oa.get(attr::GEN_AI_RESPONSE_MODEL).is_none(), "{oa:#}");
    let ol = find(&def, api_provider::OLLAMA, "python");
    assert_eq!(i(ol, attr::GEN_AI_USAGE_INPUT_TOKENS), 7);

    // `[api] enabled = false`: the same kind of call is not seen
    let off = read_jsonl(&dir.join("off.jsonl"));
    assert!(
        self::calls(&off).is_empty(),
        "API tracing was off: {off:#?}\n{}",
        log("off.err")
    );
}
