//! The daemon's module structure: `model` is a leaf, and no two top-level modules import
//! each other, directly or through others. Read from the source's `crate::` paths.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module of a source file (`src/identify/provider/mod.rs` → `identify`).
fn module_of(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Every `crate::NAME` a file names.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        // `aibom_semconv::…` or `some_crate::…` are not this crate
        let before = text[..i].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &text[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(&src).unwrap();
                let m = module_of(rel);
                if m == "lib" || m == "main" {
                    continue;
                }
                let text = std::fs::read_to_string(&p).unwrap();
                let refs = crate_refs(&text);
                g.entry(m.clone())
                    .or_default()
                    .extend(refs.into_iter().filter(|r| *r != m));
            }
        }
    }
    g
}

#[test]
fn model_imports_nothing_from_the_stages() {
    let g = graph();
    let deps = g.get("model").expect("daemon/src/model exists");
    assert!(deps.is_empty(), "model imports {deps:?}");
}

#[test]
fn no_two_modules_import_each_other() {
    let g = graph();
    // depth-first search for a cycle, reporting its path
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut c = path[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for d in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in g.keys() {
        if let Some(c) = visit(n, &g, &mut Vec::new(), &mut done) {
            panic!("module cycle: {}\nall imports: {g:#?}", c.join(" → "));
        }
    }
    // the graph was really read: the pipeline wires the stages
    let p = &g["pipeline"];
    for stage in ["normalize", "identify", "dedup", "export", "model"] {
        assert!(p.contains(stage), "pipeline does not import {stage}: {p:?}");
    }
}
