//! One compiled rule: conditions on attribute values, and what to do when they hold.
use std::borrow::Cow;

use globset::{Glob, GlobMatcher};

use crate::model::{Action, Severity};

/// A condition on one attribute: its value matches one of the globs.
#[derive(Debug, Clone)]
pub struct Cond {
    /// The attribute (a `semconv` name, or `event.name`).
    pub key: &'static str,
    /// The globs as written, for explanations.
    pub patterns: Vec<String>,
    globs: Vec<GlobMatcher>,
}

impl Cond {
    /// A condition on `key`; an invalid glob is an error naming it.
    pub fn new(key: &'static str, patterns: Vec<String>) -> Result<Self, String> {
        let globs = patterns
            .iter()
            .map(|p| {
                Glob::new(p)
                    .map(|g| g.compile_matcher())
                    .map_err(|e| format!("invalid glob {p:?} for {key:?}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            key,
            patterns,
            globs,
        })
    }

    /// True when `value` matches one of the globs.
    pub fn matches(&self, value: &str) -> bool {
        self.globs.iter().any(|g| g.is_match(value))
    }
}

/// A rule of the policy file, ready to judge.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: std::sync::Arc<str>,
    /// Line of the rule's table in the file (1-based; 0 when not from a file).
    pub line: usize,
    /// All must hold for the rule to apply.
    pub matches: Vec<Cond>,
    /// A violation when a value is missing or matches none.
    pub allow: Vec<Cond>,
    /// A violation when a value matches.
    pub deny: Vec<Cond>,
    /// When all hold, no violation.
    pub except: Vec<Cond>,
    pub action: Action,
    pub severity: Severity,
}

impl Rule {
    /// Every attribute the rule reads.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        [&self.matches, &self.allow, &self.deny, &self.except]
            .into_iter()
            .flatten()
            .map(|c| c.key)
    }

    /// True when the rule reads `key`.
    pub fn reads(&self, key: &str) -> bool {
        self.keys().any(|k| k == key)
    }

    /// True when the rule reads what only the hash workers learn from the whole file:
    /// `aibom.artifact.sha256` or the unsafe-import scan (`aibom.artifact.unsafe*`).
    /// Such a rule is decided once the hash is known (or failed).
    pub fn reads_content(&self) -> bool {
        use aibom_semconv::attr;
        [
            attr::ARTIFACT_SHA256,
            attr::ARTIFACT_UNSAFE,
            attr::ARTIFACT_UNSAFE_REASON,
            attr::ARTIFACT_UNSAFE_SCAN_ERROR,
        ]
        .iter()
        .any(|k| self.reads(k))
    }

    /// Whether an observation whose attribute values `get` returns breaks the rule.
    pub fn violated_by<'a>(&self, get: impl Fn(&str) -> Option<Cow<'a, str>>) -> bool {
        let holds = |c: &Cond| get(c.key).is_some_and(|v| c.matches(&v));
        if !self.matches.iter().all(holds) {
            return false;
        }
        if !self.except.is_empty() && self.except.iter().all(holds) {
            return false;
        }
        let not_allowed = self.allow.iter().any(|c| !holds(c));
        let denied = self.deny.iter().any(holds);
        match (self.allow.is_empty(), self.deny.is_empty()) {
            // only `match`: matching is the violation ("no pickles here")
            (true, true) => true,
            _ => not_allowed || denied,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn rule(
        m: &[(&'static str, &str)],
        allow: &[(&'static str, &str)],
        deny: &[(&'static str, &str)],
        except: &[(&'static str, &str)],
    ) -> Rule {
        let conds = |v: &[(&'static str, &str)]| {
            v.iter()
                .map(|(k, p)| Cond::new(k, p.split(',').map(String::from).collect()).unwrap())
                .collect()
        };
        Rule {
            name: "r".into(),
            line: 1,
            matches: conds(m),
            allow: conds(allow),
            deny: conds(deny),
            except: conds(except),
            action: Action::Alert,
            severity: Severity::High,
        }
    }

    fn judge(r: &Rule, attrs: &[(&str, &str)]) -> bool {
        let m: HashMap<&str, &str> = attrs.iter().copied().collect();
        r.violated_by(|k| m.get(k).map(|v| Cow::Owned(v.to_string())))
    }

    #[test]
    fn allow_list_flags_missing_and_unlisted_values_only_where_the_rule_applies() {
        let r = rule(
            &[("aibom.artifact.type", "model")],
            &[("aibom.artifact.license", "Apache-2.0,MIT")],
            &[],
            &[],
        );
        let model = ("aibom.artifact.type", "model");
        assert!(!judge(
            &r,
            &[model, ("aibom.artifact.license", "Apache-2.0")]
        ));
        assert!(judge(
            &r,
            &[model, ("aibom.artifact.license", "GPL-3.0-only")]
        ));
        assert!(judge(&r, &[model]), "a missing license is not allowed");
        assert!(!judge(&r, &[("aibom.artifact.type", "dataset")]));
    }

    #[test]
    fn deny_with_except_and_globs() {
        let r = rule(
            &[],
            &[],
            &[("gen_ai.provider.name", "*")],
            &[("gen_ai.provider.name", "openai")],
        );
        assert!(judge(&r, &[("gen_ai.provider.name", "anthropic")]));
        assert!(!judge(&r, &[("gen_ai.provider.name", "openai")]));
        assert!(!judge(&r, &[]), "nothing to deny when the value is absent");
        let r = rule(&[], &[], &[("file.path", "/srv/**/*.gguf")], &[]);
        assert!(judge(&r, &[("file.path", "/srv/models/a/x.gguf")]));
        assert!(!judge(&r, &[("file.path", "/srv/models/a/x.onnx")]));
    }

    #[test]
    fn match_only_rule_is_violated_by_matching() {
        let r = rule(&[("aibom.artifact.format", "pickle")], &[], &[], &[]);
        assert!(judge(&r, &[("aibom.artifact.format", "pickle")]));
        assert!(!judge(&r, &[("aibom.artifact.format", "gguf")]));
    }

    #[test]
    fn bad_glob_is_an_error_naming_it() {
        let e = Cond::new("file.path", vec!["[a-".into()]).unwrap_err();
        assert!(e.contains("[a-") && e.contains("file.path"), "{e}");
    }
}
