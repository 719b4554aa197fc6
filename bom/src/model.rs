//! The neutral evidence model: what was loaded, by whom, and how we know what it is.
use std::collections::BTreeMap;

use aibom_semconv::{api_seen_by, artifact_role, artifact_type, hash_source, provider};
use chrono::{DateTime, Utc};

use crate::license::License;

/// What kind of AI artifact a component is (`aibom.artifact.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Model,
    Dataset,
    Prompt,
    Tool,
    Config,
}

impl Kind {
    /// From an `aibom.artifact.type` value; unknown types count as config.
    pub fn from_type(t: &str) -> Kind {
        match t {
            artifact_type::MODEL => Kind::Model,
            artifact_type::DATASET => Kind::Dataset,
            artifact_type::PROMPT => Kind::Prompt,
            artifact_type::TOOL => Kind::Tool,
            _ => Kind::Config,
        }
    }

    /// The `aibom.artifact.type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Model => artifact_type::MODEL,
            Kind::Dataset => artifact_type::DATASET,
            Kind::Prompt => artifact_type::PROMPT,
            Kind::Tool => artifact_type::TOOL,
            Kind::Config => artifact_type::CONFIG,
        }
    }
}

/// A process that loaded an artifact.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Process {
    /// Executable name (`process.executable.name`).
    pub exe: String,
    pub pid: Option<u32>,
}

impl std::fmt::Display for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pid {
            Some(p) => write!(f, "{}[{p}]", self.exe),
            None => f.write_str(&self.exe),
        }
    }
}

/// One accessed file as the tracer and the identifier saw it: the input of [`Evidence::build`].
#[derive(Debug, Clone, Default)]
pub struct FileObservation {
    /// Resolved path (`file.path`).
    pub path: String,
    /// Paths the program used when they differ (symlinks, e.g. a hub snapshot entry).
    pub via: Vec<String>,
    pub artifact_type: String,
    pub role: Option<String>,
    pub format: Option<String>,
    pub format_mismatch: Option<String>,
    pub provider: Option<String>,
    /// Canonical id (`aibom.artifact.id`): a purl where one exists.
    pub id: Option<String>,
    pub name: Option<String>,
    pub revision: Option<String>,
    pub source_url: Option<String>,
    pub license: Option<String>,
    pub license_source: Option<String>,
    pub sha256: Option<String>,
    pub sha256_source: Option<String>,
    pub size: Option<u64>,
    pub processes: Vec<Process>,
    /// Accelerators its processes opened (`aibom.accelerator.devices`: `VENDOR/KIND[/INDEX]`).
    pub accelerators: Vec<String>,
    pub tracers: Vec<String>,
    pub project: String,
    /// The dangerous callables the file imports when loaded
    /// (`aibom.artifact.unsafe_reason`), when it is an unsafe pickle.
    pub unsafe_reason: Option<String>,
    /// The sha256 its name or store claims when the file's own differs
    /// (`aibom.artifact.sha256_expected`): a changed or corrupt file.
    pub sha256_expected: Option<String>,
    /// The many-file whole the file is a part of (`aibom.artifact.whole.*`,
    /// `aibom.artifact.part.*`), or the model an embedded chat template belongs to.
    pub whole: Option<WholeFacts>,
    /// Where inside its file an embedded artifact was read from (`aibom.artifact.embedded`).
    pub embedded: Option<String>,
}

/// What a part says of its many-file whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WholeFacts {
    /// `aibom.artifact.whole.id`.
    pub id: String,
    /// `aibom.artifact.part.index` (of the part; absent on a component).
    pub part_index: Option<u64>,
    /// `aibom.artifact.part.count`.
    pub part_count: Option<u64>,
    /// `aibom.artifact.whole.files`, `.bytes`, `.sha256`, `.skipped`: one listing.
    pub files: Option<u64>,
    pub bytes: Option<u64>,
    pub sha256: Option<String>,
    pub skipped: Option<u64>,
}

/// One file of a component.
#[derive(Debug, Clone, PartialEq)]
pub struct FilePart {
    pub path: String,
    pub via: Vec<String>,
    pub role: Option<String>,
    pub format: Option<String>,
    pub sha256: Option<String>,
    pub size: Option<u64>,
    /// `aibom.artifact.part.index`, when the file is a numbered part of its component.
    pub part_index: Option<u64>,
}

impl FilePart {
    /// The file's name as the program used it (`tokenizer.json`, not a blob hash).
    pub fn display_name(&self) -> String {
        let p = self.via.first().unwrap_or(&self.path);
        p.rsplit('/').next().unwrap_or(p).to_string()
    }
}

/// Model-card facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelCard {
    /// `pipeline_tag` (`text-classification`, `fill-mask`...).
    pub task: Option<String>,
    /// `model_type` (`bert`, `llama`...).
    pub architecture_family: Option<String>,
    /// First of `architectures` (`BertModel`).
    pub architecture: Option<String>,
}

/// How an identity field was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Method {
    /// CycloneDX technique: `binary-analysis` (header sniffing), `filename` (hub cache
    /// layout, file names), `manifest-analysis` (metadata inside the file), `hash-comparison`.
    pub technique: &'static str,
    pub confidence: f64,
    /// What was seen.
    pub value: String,
}

/// Evidence for one identity field of a component.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// CycloneDX identity field: `name`, `version`, `purl`, `hash`.
    pub field: &'static str,
    pub value: String,
    pub methods: Vec<Method>,
}

/// One AI artifact the workload loaded: a model (possibly several files of one
/// repository), a dataset, a prompt, a tool definition or a config.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Unique within the document: the purl, else `sha256:<hex>`, else `file:<path>`.
    pub key: String,
    pub kind: Kind,
    pub name: String,
    pub id: Option<String>,
    pub revision: Option<String>,
    pub provider: Option<String>,
    pub format: Option<String>,
    pub role: Option<String>,
    /// SHA-256 of the primary file (the weights of a model repository).
    pub sha256: Option<String>,
    pub size: Option<u64>,
    pub license: Option<License>,
    pub license_source: Option<String>,
    pub source_url: Option<String>,
    pub purl: Option<String>,
    /// Every path it was loaded from (resolved and as used), sorted.
    pub paths: Vec<String>,
    pub identity: Vec<Identity>,
    pub card: Option<ModelCard>,
    pub processes: Vec<Process>,
    /// Accelerators the processes that loaded it opened, sorted and distinct: it ran with
    /// an accelerator when not empty (`aibom.accelerator.devices`).
    pub accelerators: Vec<String>,
    pub tracers: Vec<String>,
    pub projects: Vec<String>,
    /// Its files, primary first (one for a single-file artifact).
    pub files: Vec<FilePart>,
    /// The many-file whole it is (a sharded model, a dataset of many files): the latest
    /// listing its parts carried; or, for a chat template, the model it belongs to.
    pub whole: Option<WholeFacts>,
    /// Where inside its file an embedded artifact (a chat template) was read from.
    pub embedded: Option<String>,
    /// Policy rules its files broke (`aibom.policy.rule` of `aibom.policy.violation`
    /// records), sorted and distinct. [`Evidence::build`] leaves it empty; who holds the
    /// violations (the sidecar) fills it.
    pub policy_violations: Vec<String>,
    /// Dangerous callables its files import when loaded (`aibom.artifact.unsafe_reason`
    /// of unsafe pickles), sorted and distinct; empty when none is known to.
    pub unsafe_callables: Vec<String>,
    /// What its files' names or stores claim their sha256 is where the files' own differ
    /// (`aibom.artifact.sha256_expected`), sorted and distinct.
    pub sha256_expected: Vec<String>,
}

impl Component {
    /// Whether it is a many-file whole (a sharded model, a dataset of many files).
    pub fn is_whole(&self) -> bool {
        self.whole.is_some() && self.embedded.is_none()
    }
}

/// An AI API the workload called (`aibom.api.call` records), hosted (OpenAI, Anthropic...) or
/// a local inference server (Ollama, vLLM...): one per provider, server address and port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiService {
    /// `aibom.api.provider` (`openai`, `ollama`, `openai-compatible`...).
    pub provider: String,
    /// `gen_ai.provider.name`: set for the hosted providers OpenTelemetry names only.
    pub gen_ai_provider: Option<String>,
    /// `server.address`.
    pub host: String,
    /// `server.port`, when known.
    pub port: Option<u16>,
    /// `url.path`s requested, sorted and distinct (none when only the TLS server name was seen).
    pub paths: Vec<String>,
    /// `gen_ai.request.model`s, sorted and distinct.
    pub models: Vec<String>,
    /// `gen_ai.operation.name`s, sorted and distinct.
    pub operations: Vec<String>,
    /// `aibom.api.seen_by` values, sorted and distinct.
    pub seen_by: Vec<String>,
    /// Calls: the sum of `aibom.api.count`.
    pub calls: u64,
    /// Sums of `gen_ai.usage.input_tokens` / `output_tokens` where the records had them.
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    /// Processes that called it.
    pub processes: Vec<Process>,
}

impl ApiService {
    /// Unique within a document: `api:<provider>@<host>:<port>`.
    pub fn key(&self) -> String {
        format!(
            "api:{}@{}:{}",
            self.provider,
            self.host,
            self.port.unwrap_or(0)
        )
    }

    /// `http` when only plain-HTTP requests showed it, else `https`.
    pub fn scheme(&self) -> &'static str {
        if !self.seen_by.is_empty() && self.seen_by.iter().all(|s| s == api_seen_by::HTTP) {
            "http"
        } else {
            "https"
        }
    }

    /// `scheme://host:port/path` per path (`scheme://host:port` when no path was seen): IPv6
    /// addresses in brackets and written out in full (validators' IRI grammars miss `::`),
    /// other characters an IRI may not hold there percent-encoded.
    pub fn endpoints(&self) -> Vec<String> {
        let bare = self.host.trim_start_matches('[').trim_end_matches(']');
        let host = match bare.parse::<std::net::Ipv6Addr>() {
            Ok(ip) => {
                let segs: Vec<String> = ip.segments().iter().map(|s| format!("{s:x}")).collect();
                format!("[{}]", segs.join(":"))
            }
            Err(_) => percent_encode(&self.host, b"-._~!$&'()*+,;="),
        };
        let base = match self.port {
            Some(p) => format!("{}://{host}:{p}", self.scheme()),
            None => format!("{}://{host}", self.scheme()),
        };
        if self.paths.is_empty() {
            return vec![base];
        }
        self.paths
            .iter()
            .map(|p| {
                let p = percent_encode(p, b"-._~!$&'()*+,;=:@/%");
                if p.starts_with('/') {
                    format!("{base}{p}")
                } else {
                    format!("{base}/{p}")
                }
            })
            .collect()
    }
}

/// `s` with every byte that is not ASCII alphanumeric or in `keep` percent-encoded.
fn percent_encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The traced workload: the root of the BOM.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Workload {
    /// Program name, or the project id when no single command was traced.
    pub name: String,
    /// The command line, when one command was traced.
    pub command: Vec<String>,
    pub project: String,
}

/// Everything a BOM document is made of.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub workload: Workload,
    pub components: Vec<Component>,
    /// AI APIs the workload called. [`Evidence::build`] leaves it empty; who holds the API-call
    /// records (the sidecar) fills it.
    pub services: Vec<ApiService>,
    /// When the document was made.
    pub timestamp: DateTime<Utc>,
    /// Unique document id.
    pub serial: uuid::Uuid,
    /// Version of the producing tool (aibomd).
    pub tool_version: String,
    /// Why the document does not list everything observed (a producer's size limit), or
    /// `None` when it does. CycloneDX: the `aibom:incomplete` property of `metadata`;
    /// SPDX: the workload's comment.
    pub incomplete: Option<String>,
}

impl Evidence {
    /// Groups observations into components (by canonical id, else sha256, else path),
    /// sorted by kind then name.
    pub fn build(workload: Workload, files: Vec<FileObservation>, tool_version: &str) -> Self {
        let mut groups: BTreeMap<String, Vec<FileObservation>> = BTreeMap::new();
        for f in files {
            let whole = f.whole.as_ref().map(|w| w.id.as_str());
            let key = match (&f.embedded, &f.id, whole, &f.sha256) {
                // a chat template: one component per model, place and text
                (Some(e), _, _, sha) => format!(
                    "{}#{e}@{}",
                    whole.unwrap_or(&f.path),
                    sha.as_deref().unwrap_or("")
                ),
                (None, Some(id), _, _) => id.clone(),
                (None, None, Some(w), _) => w.to_string(),
                (None, None, None, Some(sha)) => format!("sha256:{sha}"),
                (None, None, None, None) => format!("file:{}", f.path),
            };
            groups.entry(key).or_default().push(f);
        }
        let mut components: Vec<Component> =
            groups.into_iter().map(|(k, fs)| component(k, fs)).collect();
        components.sort_by(|a, b| (a.kind, &a.name, &a.key).cmp(&(b.kind, &b.name, &b.key)));
        Evidence {
            workload,
            components,
            services: Vec::new(),
            timestamp: Utc::now(),
            serial: uuid::Uuid::new_v4(),
            tool_version: tool_version.to_string(),
            incomplete: None,
        }
    }
}

/// Rank of a file as the one that stands for its component: weights first, tokenizer and
/// config last; ties go to the larger file.
fn primary_rank(f: &FileObservation) -> (u8, std::cmp::Reverse<u64>) {
    let r = match f.role.as_deref() {
        Some(artifact_role::WEIGHTS) | Some(artifact_role::SPLIT) => 0,
        None => 1,
        Some(artifact_role::ADAPTER) | Some(artifact_role::EMBEDDINGS) => 2,
        Some(_) => 3,
    };
    (r, std::cmp::Reverse(f.size.unwrap_or(0)))
}

fn component(key: String, mut fs: Vec<FileObservation>) -> Component {
    fs.sort_by(|a, b| {
        primary_rank(a)
            .cmp(&primary_rank(b))
            .then(a.path.cmp(&b.path))
    });
    let p = fs[0].clone();
    let first =
        |get: fn(&FileObservation) -> &Option<String>| fs.iter().find_map(|f| get(f).clone());
    let paths = sorted_distinct(
        fs.iter()
            .flat_map(|f| f.via.iter().chain(std::iter::once(&f.path)).cloned()),
    );
    let processes = sorted_distinct(fs.iter().flat_map(|f| f.processes.clone()));
    let tracers = sorted_distinct(fs.iter().flat_map(|f| f.tracers.clone()));
    let accelerators = sorted_distinct(fs.iter().flat_map(|f| f.accelerators.clone()));
    let projects = sorted_distinct(
        fs.iter()
            .map(|f| f.project.clone())
            .filter(|p| !p.is_empty()),
    );
    let name = p
        .name
        .clone()
        .or_else(|| first(|f| &f.name))
        .unwrap_or_else(|| {
            let shown = p.via.first().unwrap_or(&p.path);
            shown.rsplit('/').next().unwrap_or(shown).to_string()
        });
    let license_str = p.license.clone().or_else(|| first(|f| &f.license));
    let license_source = if p.license.is_some() {
        p.license_source.clone()
    } else {
        first(|f| &f.license_source)
    };
    let purl = p.id.clone().filter(|id| id.starts_with("pkg:"));
    let files = fs
        .iter()
        .map(|f| FilePart {
            path: f.path.clone(),
            via: f.via.clone(),
            role: f.role.clone(),
            format: f.format.clone(),
            sha256: f.sha256.clone(),
            size: f.size,
            part_index: f.whole.as_ref().and_then(|w| w.part_index),
        })
        .collect();
    // the latest listing any part carried (the largest, should they differ)
    let whole = fs
        .iter()
        .filter_map(|f| f.whole.clone())
        .max_by_key(|w| (w.files, w.part_count))
        .map(|w| WholeFacts {
            part_index: None,
            ..w
        });
    let mut c = Component {
        key,
        kind: Kind::from_type(&p.artifact_type),
        name,
        id: p.id.clone(),
        revision: p.revision.clone().or_else(|| first(|f| &f.revision)),
        provider: p.provider.clone().filter(|s| !s.is_empty()),
        format: p.format.clone().filter(|s| !s.is_empty()),
        role: p.role.clone(),
        sha256: p.sha256.clone(),
        size: p.size,
        license: license_str.as_deref().map(License::classify),
        license_source,
        source_url: p.source_url.clone().or_else(|| first(|f| &f.source_url)),
        purl,
        paths,
        identity: Vec::new(),
        card: None,
        processes,
        accelerators,
        tracers,
        projects,
        files,
        whole,
        embedded: p.embedded.clone(),
        policy_violations: Vec::new(),
        unsafe_callables: unsafe_callables(&fs),
        sha256_expected: sorted_distinct(fs.iter().filter_map(|f| f.sha256_expected.clone())),
    };
    c.identity = identity(&c, &p);
    // a many-file whole weighs what its listing found, else what its parts seen weigh
    if let (Some(w), None) = (&c.whole, &c.embedded) {
        c.size = w.bytes.or_else(|| c.files.iter().map(|f| f.size).sum());
    }
    c
}

/// The dangerous callables of the files, split from their comma-separated reasons.
fn unsafe_callables(fs: &[FileObservation]) -> Vec<String> {
    sorted_distinct(
        fs.iter()
            .filter_map(|f| f.unsafe_reason.as_deref())
            .flat_map(|r| r.split(','))
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty()),
    )
}

/// The items, sorted, each once.
fn sorted_distinct<T: Ord>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = items.into_iter().collect();
    v.sort();
    v.dedup();
    v
}

/// How each identity field was established.
fn identity(c: &Component, p: &FileObservation) -> Vec<Identity> {
    let mut out = Vec::new();
    let shown = p.via.first().unwrap_or(&p.path).clone();
    let hub_layout = ["/models--", "/datasets--", "/spaces--"]
        .iter()
        .any(|m| shown.contains(m) || p.path.contains(m));
    let sniffed = p
        .format
        .as_deref()
        .filter(|f| !f.is_empty() && *f != "unknown")
        .map(|f| match &p.format_mismatch {
            Some(claimed) => Method {
                technique: "binary-analysis",
                confidence: 0.9,
                value: format!("header sniffing: {f} (the extension claims {claimed})"),
            },
            None => Method {
                technique: "binary-analysis",
                confidence: 0.9,
                value: format!("header sniffing: {f}"),
            },
        });
    let origin = |what: &str| -> Method {
        if hub_layout {
            Method {
                technique: "filename",
                confidence: 0.9,
                value: format!("hub cache layout: {what} from {shown}"),
            }
        } else if c.provider.as_deref().is_some_and(|p| {
            p != provider::LOCAL && p != provider::UNKNOWN && p != provider::HUGGINGFACE
        }) {
            Method {
                technique: "filename",
                confidence: 0.7,
                value: format!(
                    "{} cache layout: {what} from {shown}",
                    p.provider.as_deref().unwrap_or("")
                ),
            }
        } else {
            Method {
                technique: "filename",
                confidence: 0.3,
                value: format!("{what} from the file name {shown}"),
            }
        }
    };
    let mut name_methods = Vec::new();
    if p.name.is_some()
        && !hub_layout
        && sniffed.is_some()
        && c.provider.as_deref() == Some(provider::LOCAL)
    {
        // local files named by their own metadata (GGUF general.name) or their file name
        name_methods.push(Method {
            technique: "manifest-analysis",
            confidence: 0.5,
            value: format!("header metadata or file name of {shown}"),
        });
    } else {
        name_methods.push(origin("name"));
    }
    if let Some(s) = sniffed.clone() {
        name_methods.push(s);
    }
    out.push(Identity {
        field: "name",
        value: c.name.clone(),
        methods: name_methods,
    });
    if let Some(rev) = &c.revision {
        out.push(Identity {
            field: "version",
            value: rev.clone(),
            methods: vec![origin("revision")],
        });
    }
    if let Some(purl) = &c.purl {
        out.push(Identity {
            field: "purl",
            value: purl.clone(),
            methods: vec![origin("purl")],
        });
    }
    if let Some(sha) = &c.sha256 {
        let m = match p.sha256_source.as_deref() {
            Some(hash_source::HF_BLOB_NAME) => Method {
                technique: "filename",
                confidence: 1.0,
                value: format!("hub cache blob named by its sha256: {}", p.path),
            },
            Some(hash_source::OLLAMA_DIGEST) => Method {
                technique: "filename",
                confidence: 1.0,
                value: format!("Ollama store blob named by its sha256 digest: {}", p.path),
            },
            _ => Method {
                technique: "hash-comparison",
                confidence: 1.0,
                value: format!("sha256 of the bytes of {}", p.path),
            },
        };
        out.push(Identity {
            field: "hash",
            value: sha.clone(),
            methods: vec![m],
        });
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A hosted API over TLS (two models, 7 calls) and a local Ollama over plain HTTP.
    pub(crate) fn services() -> Vec<ApiService> {
        vec![
            ApiService {
                provider: "openai".into(),
                gen_ai_provider: Some("openai".into()),
                host: "api.openai.com".into(),
                port: Some(443),
                paths: vec!["/v1/chat/completions".into(), "/v1/embeddings".into()],
                models: vec!["gpt-4o-mini".into(), "text-embedding-3-small".into()],
                operations: vec!["chat".into(), "embeddings".into()],
                seen_by: vec!["uprobe".into()],
                calls: 7,
                input_tokens: Some(120),
                output_tokens: None,
                processes: vec![Process {
                    exe: "python".into(),
                    pid: Some(42),
                }],
            },
            ApiService {
                provider: "ollama".into(),
                host: "127.0.0.1".into(),
                port: Some(11434),
                paths: vec!["/api/chat".into()],
                models: vec!["llama3.2".into()],
                operations: vec!["chat".into()],
                seen_by: vec!["http".into()],
                calls: 1,
                ..Default::default()
            },
        ]
    }

    #[test]
    fn api_endpoints_follow_how_the_call_was_seen() {
        let mut s = services().remove(0);
        s.paths.clear();
        s.seen_by = vec!["sni".into()];
        assert_eq!(s.endpoints(), ["https://api.openai.com:443"]);
        s.host = "fd00::1".into();
        s.port = None;
        assert_eq!(s.endpoints(), ["https://[fd00:0:0:0:0:0:0:1]"], "in full");
        s.host = "bad host".into();
        s.paths = vec!["/v1/a b".into()];
        assert_eq!(s.endpoints(), ["https://bad%20host/v1/a%20b"]);
        s.seen_by = vec!["http".into(), "uprobe".into()];
        assert_eq!(s.scheme(), "https", "TLS seen too");
    }

    /// Observations shaped like those of `examples/ml-app` (a hub repo of four files and a
    /// local GGUF file).
    pub(crate) fn example() -> Evidence {
        let rev = "9bc82ad85ccb14df33e9315c4724b0023e6e04c1";
        let snap = format!("/w/hf/hub/models--aibom-demo--tiny-bert/snapshots/{rev}");
        let hf = |name: &str, role: &str, format: &str, sha: &str, size: u64| FileObservation {
            path: format!("/w/hf/hub/models--aibom-demo--tiny-bert/blobs/{sha}"),
            via: vec![format!("{snap}/{name}")],
            artifact_type: "model".into(),
            role: Some(role.into()),
            format: Some(format.into()),
            provider: Some("huggingface".into()),
            id: Some(format!("pkg:huggingface/aibom-demo/tiny-bert@{rev}")),
            name: Some("aibom-demo/tiny-bert".into()),
            revision: Some(rev.into()),
            source_url: Some("https://huggingface.co/aibom-demo/tiny-bert".into()),
            license: Some("Apache-2.0".into()),
            license_source: Some("card".into()),
            sha256: Some(sha.repeat(64 / sha.len())),
            sha256_source: Some("hf_blob_name".into()),
            size: Some(size),
            processes: vec![Process {
                exe: "python".into(),
                pid: Some(42),
            }],
            tracers: vec!["ebpf".into()],
            project: "demo".into(),
            ..Default::default()
        };
        let files = vec![
            hf("tokenizer.json", "tokenizer", "tokenizer.json", "a2", 487),
            hf("model.safetensors", "weights", "safetensors", "1b", 320),
            hf("config.json", "config", "json", "2b", 163),
            FileObservation {
                path: "/w/models/tiny.gguf".into(),
                artifact_type: "model".into(),
                role: Some("weights".into()),
                format: Some("gguf".into()),
                provider: Some("local".into()),
                name: Some("tiny-llama-demo".into()),
                license: Some("MIT".into()),
                sha256: Some("96".repeat(32)),
                sha256_source: Some("computed".into()),
                size: Some(448),
                processes: vec![Process {
                    exe: "python".into(),
                    pid: Some(42),
                }],
                tracers: vec!["ebpf".into()],
                project: "demo".into(),
                ..Default::default()
            },
            FileObservation {
                path: "/w/data/train.parquet".into(),
                artifact_type: "dataset".into(),
                role: Some("split".into()),
                format: Some("parquet".into()),
                provider: Some("local".into()),
                name: Some("work".into()),
                sha256: Some("3a".repeat(32)),
                sha256_source: Some("computed".into()),
                project: "demo".into(),
                ..Default::default()
            },
            FileObservation {
                path: "/w/prompts/chat.jinja".into(),
                artifact_type: "prompt".into(),
                role: Some("template".into()),
                format: Some("jinja".into()),
                license: Some("my own terms".into()),
                project: "demo".into(),
                ..Default::default()
            },
        ];
        Evidence::build(
            Workload {
                name: "python".into(),
                command: vec!["python".into(), "app.py".into()],
                project: "demo".into(),
            },
            files,
            "0.1.0",
        )
    }

    #[test]
    fn hub_repo_files_form_one_component_led_by_its_weights() {
        let ev = example();
        assert_eq!(ev.components.len(), 4, "{:#?}", ev.components);
        let m = &ev.components[0];
        assert_eq!(m.kind, Kind::Model);
        assert_eq!(m.name, "aibom-demo/tiny-bert");
        assert_eq!(m.role.as_deref(), Some("weights"));
        assert_eq!(m.sha256.as_deref(), Some("1b".repeat(32).as_str()));
        assert_eq!(m.files.len(), 3);
        assert_eq!(m.files[0].display_name(), "model.safetensors");
        assert_eq!(
            m.paths.len(),
            6,
            "blobs and snapshot entries: {:?}",
            m.paths
        );
        assert_eq!(m.license, Some(License::Id("Apache-2.0".into())));
        let fields: Vec<_> = m.identity.iter().map(|i| i.field).collect();
        assert_eq!(fields, ["name", "version", "purl", "hash"]);
        assert!(m.identity[2].methods[0]
            .value
            .starts_with("hub cache layout"));
        assert_eq!(m.identity[3].methods[0].technique, "filename");
        // local GGUF: keyed by its hash, named by its metadata, hashed from its bytes
        let g = &ev.components[1];
        assert_eq!(g.name, "tiny-llama-demo");
        assert_eq!(g.key, format!("sha256:{}", "96".repeat(32)));
        assert_eq!(
            g.identity.last().unwrap().methods[0].technique,
            "hash-comparison"
        );
        // a file with neither id nor hash is keyed by its path
        assert_eq!(ev.components[3].key, "file:/w/prompts/chat.jinja");
        assert_eq!(ev.components[3].name, "chat.jinja");
    }
}
