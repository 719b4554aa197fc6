//! The policy file: TOML, parsed and checked into a [`RuleSet`]. Every error names the
//! file, the line and the rule.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::rule::{Cond, Rule};
use crate::model::{Action, Severity};

/// The most bytes of policy read (a policy is a few KiB; this bounds a wrong path).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// A checked policy.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// Where it was read from (None: built in code).
    pub source: Option<PathBuf>,
    /// Directories where `deny` is enforced, besides the known model stores and caches.
    pub enforce_roots: Vec<PathBuf>,
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// True when no rule asks for `action`.
    pub fn uses(&self, action: Action) -> bool {
        self.rules.iter().any(|r| r.action == action)
    }
}

/// A policy that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {msg}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct PolicyError {
    pub file: PathBuf,
    /// 1-based line, when the problem has one.
    pub line: Option<usize>,
    pub msg: String,
}

/// One value or a list of them (`"model"` or `["model", "dataset"]`).
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

type Conds = BTreeMap<String, OneOrMany>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    #[serde(default)]
    enforce_roots: Vec<PathBuf>,
    #[serde(default)]
    rules: Vec<Spanned<RuleDoc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, rename = "match")]
    matches: Conds,
    #[serde(default)]
    allow: Conds,
    #[serde(default)]
    deny: Conds,
    #[serde(default)]
    except: Conds,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    severity: Option<String>,
}

/// Reads and checks the policy at `path`.
pub fn load(path: &Path) -> Result<RuleSet, PolicyError> {
    let err = |line, msg: String| PolicyError {
        file: path.to_path_buf(),
        line,
        msg,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(None, format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(err(None, "not a regular file".into()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(err(
            None,
            format!(
                "{} bytes: a policy is at most {MAX_FILE_BYTES} bytes",
                meta.len()
            ),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(None, format!("cannot read: {e}")))?;
    let mut set = parse(&text).map_err(|(line, msg)| err(line, msg))?;
    set.source = Some(path.to_path_buf());
    Ok(set)
}

/// Checks the policy text; an error is (line, message).
pub fn parse(text: &str) -> Result<RuleSet, (Option<usize>, String)> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let doc: Doc = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(s.start));
        (line, e.message().to_string())
    })?;
    for r in &doc.enforce_roots {
        if !r.is_absolute() {
            return Err((
                None,
                format!("enforce_roots: {r:?} is not an absolute path"),
            ));
        }
    }
    let mut names = std::collections::HashSet::new();
    let mut rules = Vec::with_capacity(doc.rules.len());
    for spanned in doc.rules {
        let line = line_of(spanned.span().start);
        let d = spanned.into_inner();
        let at = |msg: String| (Some(line), format!("rule {:?}: {msg}", d.name));
        if d.name.trim().is_empty() {
            return Err((Some(line), "a rule needs a non-empty `name`".into()));
        }
        if !names.insert(d.name.clone()) {
            return Err(at("a rule of that name comes earlier".into()));
        }
        let action = match d.action.as_deref() {
            None => Action::Alert,
            Some(a) => Action::ALL
                .into_iter()
                .find(|x| x.as_str() == a)
                .ok_or_else(|| at(format!("unknown action {a:?} (one of: alert, deny, kill)")))?,
        };
        let severity = match d.severity.as_deref() {
            None => Severity::default(),
            Some(s) => Severity::ALL
                .into_iter()
                .find(|x| x.as_str() == s)
                .ok_or_else(|| {
                    at(format!(
                        "unknown severity {s:?} (one of: low, medium, high, critical)"
                    ))
                })?,
        };
        let conds = |section: &str, c: Conds| -> Result<Vec<Cond>, (Option<usize>, String)> {
            c.into_iter()
                .map(|(k, v)| {
                    let key = attribute_key(&k).map_err(|m| at(format!("{section}: {m}")))?;
                    let v = v.into_vec();
                    if v.is_empty() {
                        return Err(at(format!("{section}: {k:?} has no values")));
                    }
                    Cond::new(key, v).map_err(|m| at(format!("{section}: {m}")))
                })
                .collect()
        };
        let _ = d.description;
        let rule = Rule {
            name: Arc::from(d.name.as_str()),
            line,
            matches: conds("match", d.matches)?,
            allow: conds("allow", d.allow)?,
            deny: conds("deny", d.deny)?,
            except: conds("except", d.except)?,
            action,
            severity,
        };
        rules.push(rule);
    }
    Ok(RuleSet {
        source: None,
        enforce_roots: doc.enforce_roots,
        rules,
    })
}

/// The `semconv` name `k` (as a static str), or why it is not one a rule can read.
fn attribute_key(k: &str) -> Result<&'static str, String> {
    if k == aibom_semconv::record::EVENT_NAME {
        return Ok(aibom_semconv::record::EVENT_NAME);
    }
    if let Some(&name) = aibom_semconv::ALL_ATTRIBUTES.iter().find(|&&n| n == k) {
        if name.starts_with("aibom.policy.") {
            return Err(format!(
                "{k:?} is the verdict itself; a rule cannot read it"
            ));
        }
        return Ok(name);
    }
    let near = aibom_semconv::ALL_ATTRIBUTES
        .iter()
        .copied()
        .chain([aibom_semconv::record::EVENT_NAME])
        .map(|n| (strsim::jaro_winkler(k, n), n))
        .filter(|(s, _)| *s > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    Err(match near {
        Some((_, n)) => format!("unknown attribute {k:?} (did you mean {n:?}?)"),
        None => format!("unknown attribute {k:?} (see semconv/README.md for the names)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
enforce_roots = ["/srv/models"]

[[rules]]
name = "approved-model-licenses"
match = { "aibom.artifact.type" = ["model"] }
allow = { "aibom.artifact.license" = ["Apache-2.0", "MIT"] }
action = "alert"
severity = "high"

[[rules]]
name = "no-unapproved-apis"
match = { "event.name" = ["aibom.api.call"] }
deny = { "gen_ai.provider.name" = ["*"] }
except = { "gen_ai.provider.name" = ["openai"] }
action = "alert"
"#;

    #[test]
    fn the_readme_example_parses_with_lines() {
        let set = parse(EXAMPLE).unwrap();
        assert_eq!(set.enforce_roots, [PathBuf::from("/srv/models")]);
        assert_eq!(set.rules.len(), 2);
        assert_eq!(set.rules[0].line, 4);
        assert_eq!(set.rules[0].severity, Severity::High);
        assert_eq!(set.rules[1].line, 11);
        assert_eq!(set.rules[1].severity, Severity::Medium);
    }

    #[test]
    fn errors_name_the_rule_and_line() {
        let bad = "\n[[rules]]\nname = \"x\"\nallow = { \"aibom.artifact.licence\" = [\"MIT\"] }\n";
        let (line, msg) = parse(bad).unwrap_err();
        assert_eq!(line, Some(2));
        assert!(
            msg.contains("\"x\"") && msg.contains("did you mean \"aibom.artifact.license\""),
            "{msg}"
        );
        let bad = "[[rules]]\nname = \"y\"\naction = \"block\"\n";
        let (_, msg) = parse(bad).unwrap_err();
        assert!(msg.contains("unknown action \"block\""), "{msg}");
        let bad = "[[rules]]\nname = \"z\"\ndeny = { \"file.path\" = [\"[x\"] }\n";
        let (_, msg) = parse(bad).unwrap_err();
        assert!(msg.contains("invalid glob"), "{msg}");
        let bad = "[[rules]]\nname = \"z\"\nseverity = \"urgent\"\n";
        assert!(parse(bad).unwrap_err().1.contains("unknown severity"));
        let bad = "[[rules]]\nname = \"z\"\nactoin = \"deny\"\n";
        let (line, msg) = parse(bad).unwrap_err();
        assert!(msg.contains("actoin") && line.is_some(), "{line:?} {msg}");
        let bad = "[[rules]]\nname = \"a\"\n[[rules]]\nname = \"a\"\n";
        assert!(parse(bad).unwrap_err().1.contains("earlier"));
    }
}
