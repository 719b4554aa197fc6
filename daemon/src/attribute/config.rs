//! `[attribute]` settings: cache size, command-line redaction, project rules, kubelet.
use serde::{Deserialize, Serialize};

/// Settings of the `attribute` stage (the `[attribute]` table of the daemon config).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AttributeConfig {
    /// Most processes kept in the attribution cache. Entries are dropped when their
    /// process exits; beyond this many live ones the least recently used is evicted
    /// (counted by the `aibom.attribute.evictions` metric) and rebuilt from `/proc` if the
    /// process shows up again.
    pub cache_capacity: usize,
    /// Bytes the attribution cache may hold (command lines, paths, the environment
    /// variables kept, container and pod names); beyond it the least recently used
    /// process is evicted as beyond `cache_capacity`.
    pub cache_bytes: usize,
    /// `process.command_line` is cut to this many bytes (at a character boundary, with a
    /// trailing `…`). 0 leaves the command line out.
    pub command_line_max_bytes: usize,
    /// Regular expressions (Rust `regex` syntax) of secrets in command lines. The text
    /// of the first capture group (the whole match when there is none) is replaced by
    /// `redaction`. The defaults cover `--token=…`, `--password …`, `--api-key=…`,
    /// `*_KEY=…`, `*_TOKEN=…`, `*_SECRET=…`, `*_PASSWORD=…` and `scheme://user:PASS@`.
    pub redact_patterns: Vec<String>,
    /// What a redacted secret is replaced with.
    pub redaction: String,
    /// Most cgroup directories walked in the cgroup v2 hierarchy to find the path of a
    /// cgroup id (for processes that exited before they were looked up).
    pub cgroup_walk_max: usize,
    /// Project rules, tried in order when the process has no `AIBOM_PROJECT` (and
    /// `aibomd run --project` was not given); the first whose every given field
    /// matches decides the project. Nothing matching: the top-level `project`.
    pub rules: Vec<ProjectRule>,
    /// Pod name and namespace from the kubelet's `/pods` endpoint (off by default).
    pub kubelet: KubeletConfig,
    /// Container image and labels from the engine's API socket (off by default).
    pub engine: super::engine::EngineConfig,
    /// The project of `aibomd run --project` (source `cli`), set from the command line
    /// only; it wins over everything else.
    #[serde(skip)]
    pub cli_project: Option<String>,
}

impl Default for AttributeConfig {
    fn default() -> Self {
        Self {
            cache_capacity: 16_384,
            cache_bytes: 32 << 20,
            command_line_max_bytes: 2048,
            redact_patterns: DEFAULT_REDACT_PATTERNS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            redaction: "***".into(),
            cgroup_walk_max: 100_000,
            rules: Vec::new(),
            kubelet: KubeletConfig::default(),
            engine: Default::default(),
            cli_project: None,
        }
    }
}

/// The default secret patterns of [`AttributeConfig::redact_patterns`].
pub const DEFAULT_REDACT_PATTERNS: &[&str] = &[
    // --token=x, --password x, -api-key=x, --client-secret x ...
    r"(?i)(?:^|\s)--?[a-z0-9_-]*(?:token|passw(?:or)?d|pass|secret|api[-_]?key|access[-_]?key|private[-_]?key|credentials?)(?:=|\s+)(\S+)",
    // OPENAI_API_KEY=x, HF_TOKEN=x, AWS_SECRET=x, DB_PASSWORD=x
    r"(?i)\b[a-z0-9_]*(?:_KEY|_TOKEN|_SECRET|_PASSWORD|_PASSWD)=(\S+)",
    // https://user:pass@host
    r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:([^/\s@]+)@",
    // credential headers given to curl, wget, httpie…: `Authorization: Bearer x`, `x-api-key: x`
    r"(?i)\b(?:proxy-)?(?:authorization|x-api-key|x-goog-api-key|api-key|x-auth-token)\s*[:=]\s*(?:(?:bearer|basic|token)\s+)?([^\s'\x22]+)",
    // keys in query strings: ?key=x, &api_key=x, &access_token=x
    r"(?i)[?&](?:key|api_key|apikey|access_token|token|sig)=([^&\s'\x22]+)",
    // AI provider keys wherever they stand: sk-… (OpenAI, Anthropic), AIza… (Google), hf_… (Hugging Face)
    r"\b((?:sk-[A-Za-z0-9_-]{8,})|(?:AIza[0-9A-Za-z_-]{20,})|(?:hf_[A-Za-z0-9]{20,}))",
];

/// One project rule. Every field given must match; at least one must be given.
///
/// Values are globs (`globset` syntax: `*`, `?`, `[abc]`, `{a,b}`), matched against the
/// whole value; `*` also matches `/`, so `/srv/ml/*` matches everything below `/srv/ml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectRule {
    /// The project of matching processes.
    pub project: String,
    /// `container.id` (64 hex digits).
    pub container_id: Option<String>,
    /// `container.runtime.name`: `docker`, `containerd`, `cri-o`, `podman`.
    pub container_runtime: Option<String>,
    /// `k8s.pod.name` (needs `[attribute.kubelet]`).
    pub pod_name: Option<String>,
    /// `k8s.namespace.name` (needs `[attribute.kubelet]`).
    pub namespace: Option<String>,
    /// `k8s.pod.uid`.
    pub pod_uid: Option<String>,
    /// The process's cgroup v2 path, as in `/proc/PID/cgroup` (`/system.slice/x.service`).
    pub cgroup: Option<String>,
    /// `process.executable.path`.
    pub executable: Option<String>,
    /// `process.working_directory`.
    pub working_directory: Option<String>,
}

/// Where pod names and namespaces come from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct KubeletConfig {
    /// Ask the kubelet at all.
    pub enabled: bool,
    /// The kubelet's pod list (`GET` returns a `PodList`).
    pub url: String,
    /// Bearer token file sent as `Authorization`, when it exists.
    pub token_file: Option<std::path::PathBuf>,
    /// PEM CA certificate the kubelet's serving certificate is checked against.
    pub ca_file: Option<std::path::PathBuf>,
    /// Accept any kubelet certificate (kubelets often serve a self-signed one).
    pub insecure_skip_tls_verify: bool,
    /// How often the pod list is fetched again (milliseconds); an unknown pod uid
    /// triggers an earlier fetch, at most once per `min_refresh_ms`.
    pub refresh_ms: u64,
    /// Shortest time between two fetches (milliseconds).
    pub min_refresh_ms: u64,
    /// Timeout of one fetch (milliseconds).
    pub timeout_ms: u64,
}

impl Default for KubeletConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            url: "https://127.0.0.1:10250/pods".into(),
            token_file: Some("/var/run/secrets/kubernetes.io/serviceaccount/token".into()),
            ca_file: None,
            insecure_skip_tls_verify: false,
            refresh_ms: 30_000,
            min_refresh_ms: 1_000,
            timeout_ms: 5_000,
        }
    }
}
