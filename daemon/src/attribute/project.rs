//! Project rules: the first rule whose every given glob matches the process decides its
//! project.
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use globset::{GlobBuilder, GlobMatcher};

use super::config::ProjectRule;

/// What a rule can look at.
#[derive(Debug, Default, Clone, Copy)]
pub struct Subject<'a> {
    pub container_id: Option<&'a str>,
    pub container_runtime: Option<&'a str>,
    pub pod_name: Option<&'a str>,
    pub namespace: Option<&'a str>,
    pub pod_uid: Option<&'a str>,
    pub cgroup: Option<&'a str>,
    pub executable: Option<&'a str>,
    pub working_directory: Option<&'a str>,
}

type Pick = for<'a> fn(&Subject<'a>) -> Option<&'a str>;

struct Compiled {
    project: Arc<str>,
    matchers: Vec<(Pick, GlobMatcher)>,
}

/// Compiled project rules.
#[derive(Default)]
pub struct Rules {
    rules: Vec<Compiled>,
}

impl Rules {
    /// Compiles `rules`; a rule without a project or without any field, or with an
    /// invalid glob, is an error naming it.
    pub fn new(rules: &[ProjectRule]) -> Result<Self> {
        let mut out = Vec::with_capacity(rules.len());
        for (i, r) in rules.iter().enumerate() {
            let ctx = || format!("attribute.rules[{i}] (project {:?})", r.project);
            if r.project.is_empty() {
                bail!("{}: `project` is empty", ctx());
            }
            let fields: [(Pick, &Option<String>); 8] = [
                (|s| s.container_id, &r.container_id),
                (|s| s.container_runtime, &r.container_runtime),
                (|s| s.pod_name, &r.pod_name),
                (|s| s.namespace, &r.namespace),
                (|s| s.pod_uid, &r.pod_uid),
                (|s| s.cgroup, &r.cgroup),
                (|s| s.executable, &r.executable),
                (|s| s.working_directory, &r.working_directory),
            ];
            let mut matchers = Vec::new();
            for (pick, glob) in fields {
                let Some(g) = glob else { continue };
                let m = GlobBuilder::new(g)
                    .literal_separator(false)
                    .build()
                    .with_context(|| format!("{}: bad glob {g:?}", ctx()))?
                    .compile_matcher();
                matchers.push((pick, m));
            }
            if matchers.is_empty() {
                bail!("{}: matches nothing (give at least one field)", ctx());
            }
            out.push(Compiled {
                project: r.project.as_str().into(),
                matchers,
            });
        }
        Ok(Self { rules: out })
    }

    /// The project of the first rule matching `s`.
    pub fn decide(&self, s: &Subject) -> Option<&Arc<str>> {
        self.rules
            .iter()
            .find(|r| {
                r.matchers
                    .iter()
                    .all(|(pick, m)| pick(s).is_some_and(|v| m.is_match(v)))
            })
            .map(|r| &r.project)
    }

    /// True when there is no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(project: &str, f: impl FnOnce(&mut ProjectRule)) -> ProjectRule {
        let mut r = ProjectRule {
            project: project.into(),
            ..Default::default()
        };
        f(&mut r);
        r
    }

    #[test]
    fn first_rule_with_every_field_matching_wins() {
        let rules = Rules::new(&[
            rule("gpu-docker", |r| {
                r.container_runtime = Some("docker".into());
                r.executable = Some("/usr/bin/python3*".into());
            }),
            rule("ml", |r| r.working_directory = Some("/srv/ml/*".into())),
            rule("ns", |r| r.namespace = Some("{team-a,team-b}".into())),
            rule("sys", |r| r.cgroup = Some("/system.slice/*.service".into())),
        ])
        .unwrap();
        let py = Subject {
            container_runtime: Some("docker"),
            executable: Some("/usr/bin/python3.11"),
            working_directory: Some("/srv/ml/x"),
            ..Default::default()
        };
        assert_eq!(rules.decide(&py).map(|p| &**p), Some("gpu-docker"));
        // one field of the first rule missing: the next rule
        let py_host = Subject {
            container_runtime: None,
            ..py
        };
        assert_eq!(rules.decide(&py_host).map(|p| &**p), Some("ml"));
        // `*` crosses `/`: deep below the directory matches too
        let deep = Subject {
            working_directory: Some("/srv/ml/a/b/c"),
            ..Default::default()
        };
        assert_eq!(rules.decide(&deep).map(|p| &**p), Some("ml"));
        // the whole value must match, not a prefix
        let sibling = Subject {
            working_directory: Some("/srv/mlx"),
            ..Default::default()
        };
        assert_eq!(rules.decide(&sibling), None);
        let ns = Subject {
            namespace: Some("team-b"),
            ..Default::default()
        };
        assert_eq!(rules.decide(&ns).map(|p| &**p), Some("ns"));
        let svc = Subject {
            cgroup: Some("/system.slice/ollama.service"),
            ..Default::default()
        };
        assert_eq!(rules.decide(&svc).map(|p| &**p), Some("sys"));
        assert_eq!(rules.decide(&Subject::default()), None);
    }

    #[test]
    fn bad_rules_are_errors() {
        assert!(Rules::new(&[rule("x", |_| {})]).is_err());
        assert!(Rules::new(&[rule("", |r| r.cgroup = Some("/".into()))]).is_err());
        let e = Rules::new(&[rule("x", |r| r.executable = Some("/a/[".into()))]);
        assert!(format!("{:#}", e.err().unwrap()).contains("attribute.rules[0]"));
    }
}
