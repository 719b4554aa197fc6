//! `[policy]` settings.
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What a permission event is answered when no verdict comes in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnTimeout {
    /// Let the open through (availability first; the violation is still reported).
    #[default]
    Allow,
    /// Refuse the open (fail closed).
    Deny,
}

/// The policy stage and its enforcer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Policy file (TOML); `--policy FILE` sets it. None: nothing is judged.
    pub file: Option<PathBuf>,
    /// The longest an open in a marked directory waits for a verdict, in milliseconds.
    pub decision_timeout_ms: u64,
    /// The answer when the verdict does not come in time: `allow` or `deny`.
    pub on_timeout: OnTimeout,
    /// Mark the known model stores and caches (Hugging Face, torch, Ollama, ...) under
    /// every home directory for `deny`, besides the file's `enforce_roots`.
    pub enforce_known_stores: bool,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            file: None,
            decision_timeout_ms: 250,
            on_timeout: OnTimeout::Allow,
            enforce_known_stores: true,
        }
    }
}
