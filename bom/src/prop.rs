//! Property names of the `aibom:` namespace (CycloneDX `properties`).
//!
//! A property that mirrors a semantic-convention attribute is named from it: the
//! `aibom.artifact.` or `aibom.` prefix gives way to `aibom:`, so `aibom.artifact.provider`
//! is `aibom:provider`, `aibom.tracer` is `aibom:tracer`, `aibom.project.id` is
//! `aibom:project.id` and `process.command_line` is `aibom:process.command_line`.
use aibom_semconv::{attr, event, span};

/// The `aibom:` property for a semconv name.
pub fn name(semconv: &str) -> String {
    let short = semconv
        .strip_prefix("aibom.artifact.")
        .or_else(|| semconv.strip_prefix("aibom."))
        .unwrap_or(semconv);
    format!("aibom:{short}")
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

/// Set by [`crate::merge`] on every declared component: `true` when it was loaded at run time.
pub const RUNTIME_LOADED: &str = "aibom:runtime:loaded";
/// Set by [`crate::merge`] on components loaded at run time that the static BOM did not declare.
pub const RUNTIME_UNDECLARED: &str = "aibom:runtime:undeclared";

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
    }
}
