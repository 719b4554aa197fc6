//! `aibomd policy check FILE`: what each rule does, in words.
use std::fmt::Write;

use super::file::RuleSet;
use super::rule::Cond;
use crate::model::Action;

fn conds(c: &[Cond], join: &str) -> String {
    c.iter()
        .map(|c| format!("{} is {}", c.key, c.patterns.join(" or ")))
        .collect::<Vec<_>>()
        .join(join)
}

/// A plain-text explanation of `set`.
pub fn explain(set: &RuleSet) -> String {
    let mut out = String::new();
    let src = set
        .source
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let _ = writeln!(out, "{src}: valid, {} rule(s)", set.rules.len());
    if set.uses(Action::Deny) {
        let roots: Vec<_> = set
            .enforce_roots
            .iter()
            .map(|r| r.display().to_string())
            .collect();
        let _ = writeln!(
            out,
            "deny is enforced (the open fails with EPERM) in the known model stores and caches{}",
            if roots.is_empty() {
                String::new()
            } else {
                format!(" and under {}", roots.join(", "))
            }
        );
    }
    for r in &set.rules {
        let _ = writeln!(
            out,
            "\n- {} (line {}): {} {}",
            r.name,
            r.line,
            r.severity.as_str(),
            r.action.as_str()
        );
        let when = if r.matches.is_empty() {
            "every observation".to_string()
        } else {
            format!("observations where {}", conds(&r.matches, " and "))
        };
        let _ = writeln!(out, "    applies to {when}");
        if !r.allow.is_empty() {
            let _ = writeln!(out, "    violated unless {}", conds(&r.allow, " and "));
        }
        if !r.deny.is_empty() {
            let _ = writeln!(out, "    violated when {}", conds(&r.deny, " or "));
        }
        if r.allow.is_empty() && r.deny.is_empty() {
            let _ = writeln!(out, "    violated whenever it applies");
        }
        if !r.except.is_empty() {
            let _ = writeln!(out, "    except when {}", conds(&r.except, " and "));
        }
        if r.reads_content() {
            let _ = writeln!(out, "    decided when the file's sha256 (and, for pickle-based files, its scan for dangerous imports) is known (after hashing, unless cached or free)");
        }
        let what = match r.action {
            Action::Alert => "reported as aibom.policy.violation",
            Action::Deny => {
                "the open is refused (EPERM) inside marked directories; reported everywhere"
            }
            Action::Kill => "the process is killed (SIGKILL) and reported",
        };
        let _ = writeln!(out, "    then: {what}");
    }
    out
}
