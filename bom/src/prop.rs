//! Property names of the `aibom:` namespace (CycloneDX `properties`).
//!
//! A property that mirrors a semantic-convention attribute is named from it: the
//! `aibom.artifact.` or `aibom.` prefix gives way to `aibom:`, so `aibom.artifact.provider`
//! is `aibom:provider`, `aibom.tracer` is `aibom:tracer`, `aibom.project.id` is
//! `aibom:project.id` and `process.command_line` is `aibom:process.command_line`.
use aibom_semconv::{attr, event, metric, span};

/// The `aibom:` property for a semconv name.
pub fn name(semconv: &str) -> String {
    let short = semconv
        .strip_prefix("aibom.artifact.")
        .or_else(|| semconv.strip_prefix("aibom."))
        .unwrap_or(semconv);
    format!("aibom:{short}")
}

/// The facts of a many-file whole (`aibom:whole.id`, `aibom:part.count`,
/// `aibom:whole.files`, `aibom:whole.bytes`, `aibom:whole.sha256`, `aibom:whole.skipped`)
/// and of an embedded artifact (`aibom:embedded`), as (name, value) pairs.
pub fn whole(w: Option<&crate::WholeFacts>, embedded: Option<&str>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(w) = w {
        out.push((name(attr::ARTIFACT_WHOLE_ID), w.id.clone()));
        let nums = [
            (attr::ARTIFACT_PART_COUNT, w.part_count),
            (attr::ARTIFACT_WHOLE_FILES, w.files),
            (attr::ARTIFACT_WHOLE_BYTES, w.bytes),
            (attr::ARTIFACT_WHOLE_SKIPPED, w.skipped),
        ];
        for (k, v) in nums {
            if let Some(v) = v {
                out.push((name(k), v.to_string()));
            }
        }
        if let Some(d) = &w.sha256 {
            out.push((name(attr::ARTIFACT_WHOLE_SHA256), d.clone()));
        }
    }
    if let Some(e) = embedded {
        out.push((name(attr::ARTIFACT_EMBEDDED), e.to_string()));
    }
    out
}

/// Who provides the artifact (`aibom:provider`).
pub fn provider() -> String {
    name(attr::ARTIFACT_PROVIDER)
}
/// What part of an artifact a file is (`aibom:role`).
pub fn role() -> String {
    name(attr::ARTIFACT_ROLE)
}
/// A process that loaded it, as `exe[pid]` (`aibom:process`, after the process span).
pub fn process() -> String {
    name(span::PROCESS)
}
/// An accelerator a process that loaded it opened (`aibom:accelerator.devices`), one
/// property per device.
pub fn accelerator() -> String {
    name(attr::ACCELERATOR_DEVICES)
}
/// Tracer that saw the access (`aibom:tracer`).
pub fn tracer() -> String {
    name(attr::TRACER)
}
/// Project the accesses belong to (`aibom:project.id`).
pub fn project() -> String {
    name(attr::PROJECT_ID)
}

/// A policy rule the component's files broke (`aibom:policy.violation`, after the event), one
/// property per rule.
pub fn policy_violation() -> String {
    name(event::POLICY_VIOLATION)
}

/// The provider of an AI API service (`aibom:api.provider`).
pub fn api_provider() -> String {
    name(attr::API_PROVIDER)
}
/// How calls to it were seen (`aibom:api.seen_by`), one property per value.
pub fn api_seen_by() -> String {
    name(attr::API_SEEN_BY)
}
/// Calls made to it (`aibom:api.calls`, after the metric): the sum of `aibom.api.count`.
pub fn api_calls() -> String {
    name(metric::API_CALLS)
}
/// A model requested from it (`aibom:api.model`: `gen_ai.request.model`), one per model.
pub fn api_model() -> String {
    api_prop("model")
}
/// An operation called (`aibom:api.operation`: `gen_ai.operation.name`), one per operation.
pub fn api_operation() -> String {
    api_prop("operation")
}

/// `aibom:api.<what>`: the namespace of the `aibom.api.*` attributes, for the service facts
/// OpenTelemetry names outside it (`gen_ai.request.model`, `gen_ai.operation.name`).
fn api_prop(what: &str) -> String {
    let p = api_provider();
    let ns = p.strip_suffix("provider").unwrap_or(&p);
    format!("{ns}{what}")
}

/// Set by [`crate::merge`] on every declared component: `true` when it was loaded at run time.
pub const RUNTIME_LOADED: &str = "aibom:runtime:loaded";
/// Set by [`crate::merge`] on components loaded at run time that the static BOM did not declare.
pub const RUNTIME_UNDECLARED: &str = "aibom:runtime:undeclared";
/// `metadata` property of a document that does not list everything observed: why (a
/// producer's size limit reached, and how much was left out).
pub const INCOMPLETE: &str = "aibom:incomplete";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_semconv() {
        assert_eq!(provider(), "aibom:provider");
        assert_eq!(role(), "aibom:role");
        assert_eq!(tracer(), "aibom:tracer");
        assert_eq!(project(), "aibom:project.id");
        assert_eq!(process(), "aibom:process");
        assert_eq!(name(attr::FILE_SIZE), "aibom:file.size");
        assert_eq!(policy_violation(), "aibom:policy.violation");
        assert_eq!(api_provider(), "aibom:api.provider");
        assert_eq!(api_model(), "aibom:api.model");
        assert_eq!(api_operation(), "aibom:api.operation");
        assert_eq!(api_calls(), "aibom:api.calls");
        assert_eq!(api_seen_by(), "aibom:api.seen_by");
    }
}
