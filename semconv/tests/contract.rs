//! The public API that predates the registry: every module, constant name and value the
//! project already uses. Generated or not, these must not change (add, never rename).
use aibom_semconv::*;

macro_rules! pin {
    ($($path:path => $value:literal,)*) => {
        $( assert_eq!($path, $value, stringify!($path)); )*
    };
}

#[test]
fn event_names() {
    pin! {
        event::ARTIFACT_ACCESS => "aibom.artifact.access",
        event::ARTIFACT_IDENTIFIED => "aibom.artifact.identified",
        event::POLICY_VIOLATION => "aibom.policy.violation",
        event::API_CALL => "aibom.api.call",
    }
}

#[test]
fn attribute_names() {
    pin! {
        attr::FILE_PATH => "file.path",
        attr::API_PROVIDER => "aibom.api.provider",
        attr::API_SEEN_BY => "aibom.api.seen_by",
        attr::GEN_AI_PROVIDER_NAME => "gen_ai.provider.name",
        attr::GEN_AI_REQUEST_MODEL => "gen_ai.request.model",
        attr::GEN_AI_OPERATION_NAME => "gen_ai.operation.name",
        attr::SERVER_ADDRESS => "server.address",
        attr::SERVER_PORT => "server.port",
        attr::POLICY_RULE => "aibom.policy.rule",
        attr::POLICY_ACTION => "aibom.policy.action",
        attr::POLICY_SEVERITY => "aibom.policy.severity",
        attr::POLICY_ENFORCED => "aibom.policy.enforced",
        attr::GEN_AI_PROVIDER_NAME => "gen_ai.provider.name",
        attr::GEN_AI_REQUEST_MODEL => "gen_ai.request.model",
        attr::GEN_AI_OPERATION_NAME => "gen_ai.operation.name",
        attr::SERVER_ADDRESS => "server.address",
        attr::SERVER_PORT => "server.port",
        attr::FILE_SIZE => "file.size",
        attr::FILE_MODIFIED => "file.modified",
        attr::FILE_INODE => "file.inode",
        attr::ACCESS_PATH => "aibom.access.path",
        attr::ACCESS_ABSOLUTE_PATH => "aibom.access.absolute_path",
        attr::ACCESS_MODE => "aibom.access.mode",
        attr::ACCESS_RESOLUTION => "aibom.access.resolution",
        attr::ACCESS_SYSCALL => "aibom.access.syscall",
        attr::ACCESS_FLAGS => "aibom.access.flags",
        attr::ACCESS_COUNT => "aibom.access.count",
        attr::RECORD_ID => "aibom.record.id",
        attr::PROCESS_PID => "process.pid",
        attr::PROCESS_PARENT_PID => "process.parent_pid",
        attr::PROCESS_EXECUTABLE_NAME => "process.executable.name",
        attr::PROCESS_EXECUTABLE_PATH => "process.executable.path",
        attr::PROCESS_OWNER => "process.owner",
        attr::PROCESS_UID => "aibom.process.uid",
        attr::PROCESS_CGROUP_ID => "aibom.process.cgroup_id",
        attr::TRACER => "aibom.tracer",
        attr::PROJECT_ID => "aibom.project.id",
        attr::ARTIFACT_TYPE => "aibom.artifact.type",
        attr::ARTIFACT_FORMAT => "aibom.artifact.format",
        attr::ARTIFACT_PROVIDER => "aibom.artifact.provider",
        attr::ARTIFACT_ID => "aibom.artifact.id",
        attr::ARTIFACT_NAME => "aibom.artifact.name",
        attr::ARTIFACT_SHA256 => "aibom.artifact.sha256",
        attr::ARTIFACT_LICENSE => "aibom.artifact.license",
        attr::ARTIFACT_LICENSE_SOURCE => "aibom.artifact.license_source",
        attr::ARTIFACT_ROLE => "aibom.artifact.role",
        attr::ARTIFACT_REVISION => "aibom.artifact.revision",
        attr::ARTIFACT_FORMAT_MISMATCH => "aibom.artifact.format_mismatch",
        attr::ARTIFACT_FORMAT_ERROR => "aibom.artifact.format_error",
        attr::ARTIFACT_SOURCE_URL => "aibom.artifact.source_url",
        attr::ARTIFACT_SHA256_EXPECTED => "aibom.artifact.sha256_expected",
        attr::ARTIFACT_SHA256_ERROR => "aibom.artifact.sha256_error",
        attr::ARTIFACT_IDENTITY_ERROR => "aibom.artifact.identity_error",
        attr::ARTIFACT_UNSAFE => "aibom.artifact.unsafe",
        attr::ARTIFACT_UNSAFE_REASON => "aibom.artifact.unsafe_reason",
        attr::ARTIFACT_UNSAFE_SCAN_ERROR => "aibom.artifact.unsafe_scan_error",
        attr::ARTIFACT_SHA256_SOURCE => "aibom.artifact.sha256_source",
        attr::ACCELERATOR_VENDOR => "aibom.accelerator.vendor",
        attr::ACCELERATOR_KIND => "aibom.accelerator.kind",
        attr::ACCELERATOR_INDEX => "aibom.accelerator.index",
    }
}

#[test]
fn enum_values() {
    pin! {
        access_mode::READ => "read",
        access_mode::WRITE => "write",
        access_mode::EXEC => "exec",
        access_mode::MMAP => "mmap",
        path_resolution::ABSOLUTE => "absolute",
        path_resolution::CWD => "cwd",
        path_resolution::DIRFD => "dirfd",
        path_resolution::KERNEL => "kernel",
        path_resolution::FD => "fd",
        path_resolution::UNRESOLVED => "unresolved",
        tracer::EBPF => "ebpf",
        tracer::FANOTIFY => "fanotify",
        tracer::PROCFS => "procfs",
        provider::HUGGINGFACE => "huggingface",
        provider::OPENAI => "openai",
        provider::GOOGLE => "google",
        provider::LOCAL => "local",
        provider::UNKNOWN => "unknown",
        provider::OLLAMA => "ollama",
        provider::LMSTUDIO => "lmstudio",
        provider::LLAMA_CPP => "llama_cpp",
        provider::PYTORCH => "pytorch",
        provider::MODELSCOPE => "modelscope",
        provider::NVIDIA => "nvidia",
        provider::VLLM => "vllm",
        artifact_type::MODEL => "model",
        artifact_type::DATASET => "dataset",
        artifact_type::PROMPT => "prompt",
        artifact_type::TOOL => "tool",
        artifact_type::CONFIG => "config",
        artifact_type::ACCELERATOR => "accelerator",
        artifact_role::WEIGHTS => "weights",
        artifact_role::TOKENIZER => "tokenizer",
        artifact_role::CONFIG => "config",
        artifact_role::CARD => "card",
        artifact_role::ADAPTER => "adapter",
        artifact_role::VOCAB => "vocab",
        artifact_role::TEMPLATE => "template",
        artifact_role::SPLIT => "split",
        artifact_role::MANIFEST => "manifest",
        artifact_role::EMBEDDINGS => "embeddings",
        artifact_role::LICENSE => "license",
        artifact_role::SYSTEM => "system",
        license_source::CARD => "card",
        license_source::GGUF_METADATA => "gguf_metadata",
        license_source::SAFETENSORS_METADATA => "safetensors_metadata",
        license_source::ONNX_METADATA => "onnx_metadata",
        license_source::LICENSE_FILE => "license_file",
        license_source::OLLAMA_LICENSE => "ollama_license",
        hash_source::COMPUTED => "computed",
        hash_source::HF_BLOB_NAME => "hf_blob_name",
        hash_source::OLLAMA_DIGEST => "ollama_digest",
        hash_source::TORCH_HUB_PREFIX => "torch_hub_prefix",
        accelerator_vendor::NVIDIA => "nvidia",
        accelerator_vendor::AMD => "amd",
        accelerator_vendor::INTEL => "intel",
        accelerator_vendor::HABANA => "habana",
        accelerator_vendor::AWS => "aws",
        accelerator_vendor::UNKNOWN => "unknown",
        accelerator_kind::GPU => "gpu",
        accelerator_kind::CONTROL => "control",
        accelerator_kind::RENDER => "render",
        accelerator_kind::CARD => "card",
        accelerator_kind::COMPUTE => "compute",
        accelerator_kind::ACCEL => "accel",
        accelerator_kind::NEURON => "neuron",
    }
}

/// Every value constant is listed in its module's `ALL`, and `ALL` is the attribute's
/// value list.
#[test]
fn value_constants_are_in_their_enum() {
    let modules: &[(&str, &[&str], &[&str])] = &[
        (
            attr::ACCESS_MODE,
            access_mode::ALL,
            &[
                access_mode::READ,
                access_mode::WRITE,
                access_mode::EXEC,
                access_mode::MMAP,
            ],
        ),
        (
            attr::ACCESS_RESOLUTION,
            path_resolution::ALL,
            &[
                path_resolution::ABSOLUTE,
                path_resolution::CWD,
                path_resolution::DIRFD,
                path_resolution::KERNEL,
                path_resolution::FD,
                path_resolution::UNRESOLVED,
            ],
        ),
        (
            attr::TRACER,
            tracer::ALL,
            &[tracer::EBPF, tracer::FANOTIFY, tracer::PROCFS],
        ),
        (
            attr::ARTIFACT_PROVIDER,
            provider::ALL,
            &[
                provider::HUGGINGFACE,
                provider::OPENAI,
                provider::GOOGLE,
                provider::OLLAMA,
                provider::LMSTUDIO,
                provider::LLAMA_CPP,
                provider::PYTORCH,
                provider::MODELSCOPE,
                provider::NVIDIA,
                provider::VLLM,
                provider::LOCAL,
                provider::UNKNOWN,
            ],
        ),
        (
            attr::ARTIFACT_TYPE,
            artifact_type::ALL,
            &[
                artifact_type::MODEL,
                artifact_type::DATASET,
                artifact_type::PROMPT,
                artifact_type::TOOL,
                artifact_type::CONFIG,
                artifact_type::ACCELERATOR,
            ],
        ),
        (
            attr::ARTIFACT_ROLE,
            artifact_role::ALL,
            &[
                artifact_role::WEIGHTS,
                artifact_role::TOKENIZER,
                artifact_role::CONFIG,
                artifact_role::CARD,
                artifact_role::ADAPTER,
                artifact_role::VOCAB,
                artifact_role::TEMPLATE,
                artifact_role::SPLIT,
                artifact_role::MANIFEST,
                artifact_role::EMBEDDINGS,
                artifact_role::LICENSE,
                artifact_role::SYSTEM,
            ],
        ),
        (
            attr::ARTIFACT_LICENSE_SOURCE,
            license_source::ALL,
            &[
                license_source::CARD,
                license_source::GGUF_METADATA,
                license_source::SAFETENSORS_METADATA,
                license_source::ONNX_METADATA,
                license_source::LICENSE_FILE,
                license_source::OLLAMA_LICENSE,
            ],
        ),
        (
            attr::ARTIFACT_SHA256_SOURCE,
            hash_source::ALL,
            &[
                hash_source::COMPUTED,
                hash_source::HF_BLOB_NAME,
                hash_source::OLLAMA_DIGEST,
                hash_source::TORCH_HUB_PREFIX,
            ],
        ),
        (
            attr::ACCELERATOR_VENDOR,
            accelerator_vendor::ALL,
            &[
                accelerator_vendor::NVIDIA,
                accelerator_vendor::AMD,
                accelerator_vendor::INTEL,
                accelerator_vendor::HABANA,
                accelerator_vendor::AWS,
                accelerator_vendor::UNKNOWN,
            ],
        ),
        (
            attr::ACCELERATOR_KIND,
            accelerator_kind::ALL,
            &[
                accelerator_kind::GPU,
                accelerator_kind::CONTROL,
                accelerator_kind::RENDER,
                accelerator_kind::CARD,
                accelerator_kind::COMPUTE,
                accelerator_kind::ACCEL,
                accelerator_kind::NEURON,
            ],
        ),
    ];
    for (attr, all, constants) in modules {
        for c in *constants {
            assert!(all.contains(c), "{attr}: `{c}` is not in its module's ALL");
        }
        let def = attribute(attr).unwrap_or_else(|| panic!("{attr} is not in the registry"));
        assert_eq!(def.ty, AttrType::Enum, "{attr}");
        assert_eq!(def.values, *all, "{attr}");
    }
}

#[test]
fn span_names() {
    pin! {
        span::WORKLOAD => "aibom.workload",
        span::PROCESS => "aibom.process",
        span::SCAN => "aibom.scan",
    }
}

#[test]
fn metric_names_and_instruments() {
    pin! {
        metric::EVENTS_SEEN => "aibom.tracer.events.seen",
        metric::EVENTS_FILTERED => "aibom.tracer.events.filtered",
        metric::EVENTS_DROPPED => "aibom.tracer.events.dropped",
        metric::RENAMED_AWAY => "aibom.tracer.renamed_away",
        metric::EVENTS_RECEIVED => "aibom.pipeline.events.received",
        metric::EVENTS_NORMALIZED => "aibom.pipeline.events.normalized",
        metric::RECORDS_EXPORTED => "aibom.export.records",
        metric::EXPORT_FAILURES => "aibom.export.failures",
        metric::EXPORT_DROPPED => "aibom.export.dropped",
        metric::QUEUE_DEPTH => "aibom.pipeline.queue.depth",
        metric::SPOOL_REQUESTS => "aibom.export.spool.requests",
        metric::HASH_CACHE_HITS => "aibom.hash.cache.hits",
        metric::ARTIFACTS_KNOWN => "aibom.artifacts.known",
        metric::ATTRIBUTE_PROCESSES => "aibom.attribute.processes",
        metric::ATTRIBUTE_EVICTIONS => "aibom.attribute.evictions",
        metric::PROJECT_SAMPLED_OUT => "aibom.project.sampled_out",
        metric::PROJECT_RATE_LIMITED => "aibom.project.rate_limited",
        metric::SCANS_ACTIVE => "aibom.scans.active",
        metric::EVENTS_FOLDED => "aibom.pipeline.events.folded",
        metric::EVENTS_IRRELEVANT => "aibom.pipeline.events.irrelevant",
        metric::QUEUE_BYTES => "aibom.pipeline.queue.bytes",
        metric::NORMALIZE_EVICTIONS => "aibom.normalize.evictions",
        metric::IDENTIFY_EVICTIONS => "aibom.identify.evictions",
        metric::POLICY_VIOLATIONS => "aibom.policy.violations",
        metric::POLICY_DECISIONS_TIMEOUT => "aibom.policy.decisions.timeout",
        metric::SPOOL_QUARANTINED => "aibom.export.spool.quarantined",
        metric::EXPORT_REJECTED => "aibom.export.rejected",
        metric::EXPORT_AUTH_FAILURES => "aibom.export.auth_failures",
        metric::HASH_SKIPPED => "aibom.hash.skipped",
        metric::IDENTIFY_UNSAFE_SCAN_STOPPED => "aibom.identify.unsafe_scan.stopped",
    }
    let gauges = [
        metric::QUEUE_DEPTH,
        metric::QUEUE_BYTES,
        metric::SPOOL_REQUESTS,
        metric::ARTIFACTS_KNOWN,
        metric::ATTRIBUTE_PROCESSES,
        metric::SCANS_ACTIVE,
        metric::API_TLS_LIBRARIES,
    ];
    assert_eq!(METRICS.len(), 34);
    for m in METRICS {
        let want = if gauges.contains(m) {
            Instrument::Gauge
        } else {
            Instrument::Counter
        };
        assert_eq!(metric_def(m).map(|d| d.instrument), Some(want), "{m}");
    }
}

#[test]
fn record_keys() {
    pin! {
        record::TIMESTAMP => "timestamp",
        record::EVENT_NAME => "event.name",
    }
    assert!(!ALL_ATTRIBUTES.contains(&record::TIMESTAMP));
    assert!(!ALL_ATTRIBUTES.contains(&record::EVENT_NAME));
}

#[test]
fn events_spans_and_attributes_are_listed() {
    assert_eq!(
        EVENTS,
        &[
            event::ARTIFACT_ACCESS,
            event::ARTIFACT_IDENTIFIED,
            event::POLICY_VIOLATION,
            event::API_CALL,
            event::SCAN_SUMMARY
        ]
    );
    assert_eq!(SPANS, &[span::WORKLOAD, span::PROCESS, span::SCAN]);
    assert!(event_def(event::ARTIFACT_ACCESS).is_some());
    assert!(span_def(span::PROCESS).is_some());
    for a in [
        attr::FILE_PATH,
        attr::PROCESS_COMMAND_ARGS,
        attr::ACCESS_MODE,
        attr::ARTIFACT_SHA256,
    ] {
        assert!(ALL_ATTRIBUTES.contains(&a), "{a}");
    }
    assert_eq!(
        attribute(attr::FILE_PATH).map(|a| a.origin),
        Some(Origin::Otel)
    );
    assert_eq!(
        attribute(attr::ACCESS_PATH).map(|a| a.origin),
        Some(Origin::Aibom)
    );
}
