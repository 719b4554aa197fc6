//! Who serves an API: hosted providers by server name, local inference servers by port
//! and path, and the operation a request path names.
use aibom_semconv::api_provider as p;

/// A hosted API's server name and its `aibom.api.provider`. Names with a leading `*.`
/// match any subdomain (those are told apart in userspace only: the kernel's table of
/// watched hosts holds exact names, see [`exact_hosts`]).
pub const HOSTS: &[(&str, &str)] = &[
    ("api.openai.com", p::OPENAI),
    ("api.anthropic.com", p::ANTHROPIC),
    ("generativelanguage.googleapis.com", p::GCP_GEMINI),
    ("aiplatform.googleapis.com", p::GCP_VERTEX_AI),
    ("*-aiplatform.googleapis.com", p::GCP_VERTEX_AI),
    ("*.openai.azure.com", p::AZURE_AI_OPENAI),
    ("*.services.ai.azure.com", p::AZURE_AI_OPENAI),
    ("bedrock-runtime.*.amazonaws.com", p::AWS_BEDROCK),
    ("api.mistral.ai", p::MISTRAL_AI),
    ("api.cohere.com", p::COHERE),
    ("api.cohere.ai", p::COHERE),
    ("api.groq.com", p::GROQ),
    ("api.deepseek.com", p::DEEPSEEK),
    ("api.x.ai", p::X_AI),
];

/// The providers OpenTelemetry's `gen_ai.provider.name` names (the rest are local
/// servers, which OpenTelemetry identifies by `server.address`).
pub fn gen_ai_name(provider: &str) -> Option<&'static str> {
    [
        p::OPENAI,
        p::ANTHROPIC,
        p::GCP_GEMINI,
        p::GCP_VERTEX_AI,
        p::AZURE_AI_OPENAI,
        p::AWS_BEDROCK,
        p::MISTRAL_AI,
        p::COHERE,
        p::GROQ,
        p::DEEPSEEK,
        p::X_AI,
    ]
    .into_iter()
    .find(|n| *n == provider)
}

/// A provider value from the registry (config files name providers by value).
pub fn provider_value(name: &str) -> Option<&'static str> {
    p::ALL.iter().copied().find(|v| *v == name)
}

fn matches(pattern: &str, host: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == host,
        Some((pre, post)) => {
            host.len() > pre.len() + post.len() && host.starts_with(pre) && host.ends_with(post)
        }
    }
}

/// The provider serving `host` (case-insensitive), from the built-in table and `extra`
/// (config: host pattern → provider value), `extra` first.
pub fn by_host(host: &str, extra: &[(String, &'static str)]) -> Option<&'static str> {
    let host = host.to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    extra
        .iter()
        .map(|(h, p)| (h.as_str(), *p))
        .chain(HOSTS.iter().copied())
        .find(|(pat, _)| matches(pat, host))
        .map(|(_, p)| p)
}

/// The exact (wildcard-free) host names of the table and `extra`: the kernel parses
/// requests to these.
pub fn exact_hosts(extra: &[(String, &'static str)]) -> Vec<String> {
    extra
        .iter()
        .map(|(h, _)| h.as_str())
        .chain(HOSTS.iter().map(|(h, _)| *h))
        .filter(|h| !h.contains('*'))
        .map(str::to_ascii_lowercase)
        .collect()
}

/// The local inference server behind a plain-HTTP request to `port` for `path`.
pub fn local_server(port: u16, path: &str) -> Option<&'static str> {
    if path.starts_with("/api/chat")
        || path.starts_with("/api/generate")
        || path.starts_with("/api/embed")
    {
        return Some(p::OLLAMA);
    }
    let openai_shaped = path.starts_with("/v1/") || path.starts_with("/v1beta/");
    let llamacpp_native = path.starts_with("/completion") || path.starts_with("/embedding");
    Some(match port {
        11434 => p::OLLAMA,
        1234 => p::LMSTUDIO,
        8080 if openai_shaped || llamacpp_native => p::LLAMACPP,
        8000 if openai_shaped => p::VLLM,
        _ if llamacpp_native => p::LLAMACPP,
        _ if openai_shaped => p::OPENAI_COMPATIBLE,
        _ => return None,
    })
}

/// `gen_ai.operation.name` of a request path (OpenTelemetry's values).
pub fn operation(path: &str) -> Option<&'static str> {
    let path = path.trim_end_matches('/');
    let last = path.rsplit('/').next().unwrap_or("");
    // Gemini: /v1beta/models/{model}:generateContent
    if let Some((_, verb)) = last.split_once(':') {
        return match verb {
            "generateContent" | "streamGenerateContent" => Some("generate_content"),
            "embedContent" | "batchEmbedContents" => Some("embeddings"),
            "predict" | "rawPredict" | "streamRawPredict" => Some("generate_content"),
            _ => None,
        };
    }
    if path.ends_with("/chat/completions")
        || path.ends_with("/v1/messages")
        || path.ends_with("/api/chat")
        || path.ends_with("/v1/responses")
        || path.ends_with("/converse")
        || path.ends_with("/converse-stream")
    {
        return Some("chat");
    }
    if path.ends_with("/embeddings") || path.ends_with("/api/embed") || last == "embedding" {
        return Some("embeddings");
    }
    if path.ends_with("/completions") || path.ends_with("/api/generate") || last == "completion" {
        return Some("text_completion");
    }
    None
}

/// The model a path names (Gemini and Vertex: `…/models/{model}:verb`).
pub fn model_in_path(path: &str) -> Option<&str> {
    let (_, rest) = path.split_once("/models/")?;
    let model = rest.split([':', '/']).next()?;
    (!model.is_empty()).then_some(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosted_providers_by_name_and_pattern() {
        assert_eq!(by_host("API.OpenAI.com", &[]), Some(p::OPENAI));
        assert_eq!(by_host("api.anthropic.com.", &[]), Some(p::ANTHROPIC));
        assert_eq!(
            by_host("myres.openai.azure.com", &[]),
            Some(p::AZURE_AI_OPENAI)
        );
        assert_eq!(
            by_host("bedrock-runtime.us-east-1.amazonaws.com", &[]),
            Some(p::AWS_BEDROCK)
        );
        assert_eq!(
            by_host("us-central1-aiplatform.googleapis.com", &[]),
            Some(p::GCP_VERTEX_AI)
        );
        assert_eq!(
            by_host("openai.azure.com", &[]),
            None,
            "the bare suffix is no match"
        );
        assert_eq!(by_host("example.com", &[]), None);
        let extra = vec![("llm.corp.internal".to_string(), p::VLLM)];
        assert_eq!(by_host("llm.corp.internal", &extra), Some(p::VLLM));
        assert!(exact_hosts(&extra).contains(&"llm.corp.internal".to_string()));
        assert!(!exact_hosts(&[]).iter().any(|h| h.contains('*')));
    }

    #[test]
    fn local_servers_by_port_and_path() {
        assert_eq!(local_server(11434, "/api/chat"), Some(p::OLLAMA));
        assert_eq!(local_server(9999, "/api/generate"), Some(p::OLLAMA));
        assert_eq!(local_server(11434, "/v1/chat/completions"), Some(p::OLLAMA));
        assert_eq!(local_server(8000, "/v1/chat/completions"), Some(p::VLLM));
        assert_eq!(local_server(1234, "/v1/embeddings"), Some(p::LMSTUDIO));
        assert_eq!(local_server(8080, "/completion"), Some(p::LLAMACPP));
        assert_eq!(
            local_server(5000, "/v1/chat/completions"),
            Some(p::OPENAI_COMPATIBLE)
        );
        assert_eq!(local_server(5000, "/users"), None);
    }

    #[test]
    fn operations_and_models_from_paths() {
        assert_eq!(operation("/v1/chat/completions"), Some("chat"));
        assert_eq!(operation("/v1/messages"), Some("chat"));
        assert_eq!(operation("/v1/embeddings"), Some("embeddings"));
        assert_eq!(operation("/v1/completions"), Some("text_completion"));
        assert_eq!(operation("/api/generate"), Some("text_completion"));
        assert_eq!(operation("/api/embed"), Some("embeddings"));
        let g = "/v1beta/models/gemini-2.0-flash:generateContent";
        assert_eq!(operation(g), Some("generate_content"));
        assert_eq!(model_in_path(g), Some("gemini-2.0-flash"));
        assert_eq!(model_in_path("/v1/chat/completions"), None);
        assert_eq!(operation("/v1/models"), None);
    }
}
