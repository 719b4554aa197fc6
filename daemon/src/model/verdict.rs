//! A policy rule's verdict on an observation.
use std::sync::Arc;

use aibom_semconv::{policy_action, policy_severity};

/// What a rule asks for when it is violated (`aibom.policy.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Report only.
    Alert,
    /// Refuse the open (EPERM) where the kernel asks us first.
    Deny,
    /// Kill the process.
    Kill,
}

impl Action {
    /// Every action, in the order of [`Action::as_str`]'s values in `semconv`.
    pub const ALL: [Action; 3] = [Action::Alert, Action::Deny, Action::Kill];

    /// The semconv value.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Alert => policy_action::ALERT,
            Action::Deny => policy_action::DENY,
            Action::Kill => policy_action::KILL,
        }
    }
}

/// How bad a violation is (`aibom.policy.severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Severity {
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The semconv value.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => policy_severity::LOW,
            Severity::Medium => policy_severity::MEDIUM,
            Severity::High => policy_severity::HIGH,
            Severity::Critical => policy_severity::CRITICAL,
        }
    }
}

/// One rule broken by one observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule's name (`aibom.policy.rule`).
    pub rule: Arc<str>,
    pub action: Action,
    pub severity: Severity,
    /// Whether the action took effect (`aibom.policy.enforced`).
    pub enforced: bool,
}
