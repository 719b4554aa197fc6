//! The AI-BOM semantic convention: the one place attribute, event and enum-value names
//! are spelled. The daemon, the query sidecar's SQL, dashboards and tests take names from
//! here and never retype them.
//!
//! Names reuse OpenTelemetry's semantic conventions where one exists (`file.*`,
//! `process.*`); names of our own live under `aibom.*`.

/// Event names (the OTel `EventName` of a log record, `event.name` in JSON Lines).
pub mod event {
    /// One access of a file by a process: open, exec or mapping.
    pub const ARTIFACT_ACCESS: &str = "aibom.artifact.access";
    /// An artifact fully identified (hash computed), once per file version per run.
    pub const ARTIFACT_IDENTIFIED: &str = "aibom.artifact.identified";
}

/// Attribute names.
pub mod attr {
    /// OTel `file.path`: absolute path of the file, symlinks resolved.
    pub const FILE_PATH: &str = "file.path";
    /// OTel `file.size`: size in bytes at access time.
    pub const FILE_SIZE: &str = "file.size";
    /// OTel `file.modified`: last modification time (RFC 3339).
    pub const FILE_MODIFIED: &str = "file.modified";
    /// OTel `file.inode`: inode number of the opened file.
    pub const FILE_INODE: &str = "file.inode";
    /// The path exactly as the program passed it to the kernel.
    pub const ACCESS_PATH: &str = "aibom.access.path";
    /// The path made absolute (joined to the working directory or `dirfd`), symlinks not
    /// followed: for a Hugging Face snapshot this is the `snapshots/REV/FILE` path.
    pub const ACCESS_ABSOLUTE_PATH: &str = "aibom.access.absolute_path";
    /// How the path was accessed, see [`crate::access_mode`].
    pub const ACCESS_MODE: &str = "aibom.access.mode";
    /// How `file.path` was derived from `aibom.access.path`, see [`crate::path_resolution`].
    pub const ACCESS_RESOLUTION: &str = "aibom.access.resolution";
    /// The system call that performed the access (`openat`, `execve`, ...).
    pub const ACCESS_SYSCALL: &str = "aibom.access.syscall";
    /// Open flags (`O_*`), as a number.
    pub const ACCESS_FLAGS: &str = "aibom.access.flags";
    /// Number of accesses folded into this event (dedup window).
    pub const ACCESS_COUNT: &str = "aibom.access.count";
    /// OTel `process.pid`.
    pub const PROCESS_PID: &str = "process.pid";
    /// OTel `process.parent_pid`.
    pub const PROCESS_PARENT_PID: &str = "process.parent_pid";
    /// OTel `process.executable.name` (the kernel's `comm`).
    pub const PROCESS_EXECUTABLE_NAME: &str = "process.executable.name";
    /// OTel `process.executable.path`.
    pub const PROCESS_EXECUTABLE_PATH: &str = "process.executable.path";
    /// OTel `process.owner`: user name (or numeric uid when it has no name).
    pub const PROCESS_OWNER: &str = "process.owner";
    /// Numeric user id of the process.
    pub const PROCESS_UID: &str = "aibom.process.uid";
    /// cgroup v2 id of the process (joins to container attribution).
    pub const PROCESS_CGROUP_ID: &str = "aibom.process.cgroup_id";
    /// The tracer backend that saw the access, see [`crate::tracer`].
    pub const TRACER: &str = "aibom.tracer";
    /// The project the access is attributed to.
    pub const PROJECT_ID: &str = "aibom.project.id";
    /// Artifact type: model, dataset, prompt, tool, config.
    pub const ARTIFACT_TYPE: &str = "aibom.artifact.type";
    /// Artifact format: safetensors, gguf, onnx, ...
    pub const ARTIFACT_FORMAT: &str = "aibom.artifact.format";
    /// Artifact provider, see [`crate::provider`].
    pub const ARTIFACT_PROVIDER: &str = "aibom.artifact.provider";
    /// Canonical artifact id (a purl where one exists).
    pub const ARTIFACT_ID: &str = "aibom.artifact.id";
    /// Human-readable artifact name (`org/name`).
    pub const ARTIFACT_NAME: &str = "aibom.artifact.name";
    /// SHA-256 of the artifact's bytes, lowercase hex.
    pub const ARTIFACT_SHA256: &str = "aibom.artifact.sha256";
    /// License, an SPDX id where one exists.
    pub const ARTIFACT_LICENSE: &str = "aibom.artifact.license";
    /// Where the license was found, see [`crate::license_source`].
    pub const ARTIFACT_LICENSE_SOURCE: &str = "aibom.artifact.license_source";
    /// The finer part an artifact plays, see [`crate::artifact_role`].
    pub const ARTIFACT_ROLE: &str = "aibom.artifact.role";
    /// Revision (git commit of a hub repo, version) of the artifact.
    pub const ARTIFACT_REVISION: &str = "aibom.artifact.revision";
    /// Set when the header contradicts the extension: the format the extension claims.
    pub const ARTIFACT_FORMAT_MISMATCH: &str = "aibom.artifact.format_mismatch";
    /// Why the header could not be read (truncated, too large, permission denied, ...).
    pub const ARTIFACT_FORMAT_ERROR: &str = "aibom.artifact.format_error";
    /// Source URL of the artifact (hub page, download URL), when known.
    pub const ARTIFACT_SOURCE_URL: &str = "aibom.artifact.source_url";
    /// Why `aibom.artifact.sha256` could not be computed (deleted, changed, denied, ...).
    pub const ARTIFACT_SHA256_ERROR: &str = "aibom.artifact.sha256_error";
    /// How `aibom.artifact.sha256` was obtained, see [`crate::hash_source`].
    pub const ARTIFACT_SHA256_SOURCE: &str = "aibom.artifact.sha256_source";
}

/// Values of [`attr::ACCESS_MODE`].
pub mod access_mode {
    pub const READ: &str = "read";
    pub const WRITE: &str = "write";
    pub const EXEC: &str = "exec";
    pub const MMAP: &str = "mmap";
}

/// Values of [`attr::ACCESS_RESOLUTION`].
pub mod path_resolution {
    /// The program passed an absolute path.
    pub const ABSOLUTE: &str = "absolute";
    /// Relative path joined to the process's working directory.
    pub const CWD: &str = "cwd";
    /// Relative path joined to the directory of the `dirfd` argument.
    pub const DIRFD: &str = "dirfd";
    /// Resolved in the kernel from the opened file's dentries and mounts (exact, race-free).
    pub const KERNEL: &str = "kernel";
    /// Taken from the opened file descriptor itself (`/proc/PID/fd/N`).
    pub const FD: &str = "fd";
    /// The process was gone before the path could be resolved: `file.path` is the raw path.
    pub const UNRESOLVED: &str = "unresolved";
}

/// Values of [`attr::TRACER`].
pub mod tracer {
    pub const EBPF: &str = "ebpf";
    pub const FANOTIFY: &str = "fanotify";
    pub const PROCFS: &str = "procfs";
}

/// Values of [`attr::ARTIFACT_PROVIDER`].
pub mod provider {
    pub const HUGGINGFACE: &str = "huggingface";
    pub const OPENAI: &str = "openai";
    pub const GOOGLE: &str = "google";
    pub const LOCAL: &str = "local";
    pub const UNKNOWN: &str = "unknown";
}

/// Values of [`attr::ARTIFACT_TYPE`].
pub mod artifact_type {
    pub const MODEL: &str = "model";
    pub const DATASET: &str = "dataset";
    pub const PROMPT: &str = "prompt";
    pub const TOOL: &str = "tool";
    pub const CONFIG: &str = "config";
}

/// Values of [`attr::ARTIFACT_ROLE`].
pub mod artifact_role {
    pub const WEIGHTS: &str = "weights";
    pub const TOKENIZER: &str = "tokenizer";
    pub const CONFIG: &str = "config";
    pub const CARD: &str = "card";
    pub const ADAPTER: &str = "adapter";
    pub const VOCAB: &str = "vocab";
    pub const TEMPLATE: &str = "template";
    pub const SPLIT: &str = "split";
    pub const MANIFEST: &str = "manifest";
    pub const EMBEDDINGS: &str = "embeddings";
}

/// Values of [`attr::ARTIFACT_LICENSE_SOURCE`].
pub mod license_source {
    /// Front matter of a model/dataset card (README.md).
    pub const CARD: &str = "card";
    /// GGUF `general.license`.
    pub const GGUF_METADATA: &str = "gguf_metadata";
    /// safetensors `__metadata__.license`.
    pub const SAFETENSORS_METADATA: &str = "safetensors_metadata";
    /// ONNX `metadata_props`.
    pub const ONNX_METADATA: &str = "onnx_metadata";
    /// A LICENSE file beside the artifact.
    pub const LICENSE_FILE: &str = "license_file";
}

/// Values of [`attr::ARTIFACT_SHA256_SOURCE`].
pub mod hash_source {
    /// Computed by reading the file.
    pub const COMPUTED: &str = "computed";
    /// The name of a Hugging Face LFS blob (content-addressed by sha256), verified in form.
    pub const HF_BLOB_NAME: &str = "hf_blob_name";
}

/// Span names.
pub mod span {
    /// A traced workload: the command tree of `aibomd run`, from start to exit.
    pub const WORKLOAD: &str = "aibom.workload";
    /// One process that accessed artifacts, from exec (or first access) to exit.
    pub const PROCESS: &str = "aibom.process";
}

/// Metric names of aibomd's own telemetry.
pub mod metric {
    /// Opens of traced processes seen by the tracer.
    pub const EVENTS_SEEN: &str = "aibom.tracer.events.seen";
    /// Opens dropped by the in-kernel path filter.
    pub const EVENTS_FILTERED: &str = "aibom.tracer.events.filtered";
    /// Events lost because the ring buffer was full.
    pub const EVENTS_DROPPED: &str = "aibom.tracer.events.dropped";
    /// Access events received by the pipeline.
    pub const EVENTS_RECEIVED: &str = "aibom.pipeline.events.received";
    /// Accesses normalized.
    pub const EVENTS_NORMALIZED: &str = "aibom.pipeline.events.normalized";
    /// Records exported to sinks.
    pub const RECORDS_EXPORTED: &str = "aibom.export.records";
    /// Export failures (sink errors, failed OTLP attempts).
    pub const EXPORT_FAILURES: &str = "aibom.export.failures";
    /// Items dropped from a full spool or rejected by the collector.
    pub const EXPORT_DROPPED: &str = "aibom.export.dropped";
    /// Batches queued between tracer and pipeline.
    pub const QUEUE_DEPTH: &str = "aibom.pipeline.queue.depth";
    /// OTLP requests waiting in the on-disk spool.
    pub const SPOOL_REQUESTS: &str = "aibom.export.spool.requests";
    /// Hash lookups served from the cache.
    pub const HASH_CACHE_HITS: &str = "aibom.hash.cache.hits";
    /// Distinct artifact versions known.
    pub const ARTIFACTS_KNOWN: &str = "aibom.artifacts.known";
}

/// Keys of a JSON Lines event record that are not attributes.
pub mod record {
    /// RFC 3339 time of the access (nanoseconds).
    pub const TIMESTAMP: &str = "timestamp";
    /// The event name, one of [`crate::event`].
    pub const EVENT_NAME: &str = "event.name";
}
