//! Merging a statically declared CycloneDX BOM with a runtime one.
//!
//! Every AI component of the static BOM (`machine-learning-model` or `data`, at any
//! depth, plus any other component that matches) gets `aibom:runtime:loaded` = `true` when a
//! runtime component matches it, else `false`. Matching tries, in order: a SHA-256 hash in
//! common, the same purl (case-insensitive), the same name (case-insensitive; `group/name`
//! counts). Runtime components that match nothing are appended with
//! `aibom:runtime:undeclared` = `true` and made dependencies of the static root component.
//! The result keeps the static BOM's serial number with its `version` incremented, is
//! marked spec 1.6, and lists aibomd among its tools.
use std::collections::HashSet;

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

use crate::prop::{RUNTIME_LOADED, RUNTIME_UNDECLARED};

/// What a merge found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// AI components the static BOM declares.
    pub declared: usize,
    /// ... of which were loaded at run time.
    pub loaded: usize,
    /// Runtime components nobody declared.
    pub undeclared: usize,
}

struct Runtime<'a> {
    comp: &'a Value,
    hashes: HashSet<String>,
    purl: Option<String>,
    names: Vec<String>,
}

fn sha256s(c: &Value, out: &mut HashSet<String>) {
    for h in c["hashes"].as_array().into_iter().flatten() {
        if h["alg"] == "SHA-256" {
            if let Some(s) = h["content"].as_str() {
                out.insert(s.to_ascii_lowercase());
            }
        }
    }
    for sub in c["components"].as_array().into_iter().flatten() {
        sha256s(sub, out);
    }
}

fn names(c: &Value) -> Vec<String> {
    let name = c["name"].as_str().unwrap_or_default().to_lowercase();
    let mut v = vec![name.clone()];
    if let Some(g) = c["group"].as_str().filter(|g| !g.is_empty()) {
        v.push(format!("{}/{name}", g.to_lowercase()));
    }
    v
}

fn purl(c: &Value) -> Option<String> {
    c["purl"].as_str().map(|p| p.to_lowercase())
}

fn is_ai(c: &Value) -> bool {
    matches!(c["type"].as_str(), Some("machine-learning-model" | "data"))
}

fn set_prop(c: &mut Value, name: &str, value: &str) {
    let Some(obj) = c.as_object_mut() else { return };
    let props = obj
        .entry("properties")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Some(a) = props.as_array_mut() {
        a.retain(|p| p["name"] != name);
        a.push(json!({"name": name, "value": value}));
    }
}

/// Index of the runtime component matching `c`: by hash, then purl, then name.
fn find(c: &Value, rt: &[Runtime]) -> Option<usize> {
    let mut hs = HashSet::new();
    if let Some(a) = c["hashes"].as_array() {
        for h in a {
            if h["alg"] == "SHA-256" {
                if let Some(s) = h["content"].as_str() {
                    hs.insert(s.to_ascii_lowercase());
                }
            }
        }
    }
    if let Some(i) = rt.iter().position(|r| !r.hashes.is_disjoint(&hs)) {
        return Some(i);
    }
    if let Some(p) = purl(c) {
        if let Some(i) = rt
            .iter()
            .position(|r| r.purl.as_deref() == Some(p.as_str()))
        {
            return Some(i);
        }
    }
    let ns = names(c);
    rt.iter()
        .position(|r| r.names.iter().any(|n| !n.is_empty() && ns.contains(n)))
}

fn mark(list: &mut Value, rt: &[Runtime], used: &mut [bool], report: &mut MergeReport) {
    for c in list.as_array_mut().into_iter().flatten() {
        let ai = is_ai(c);
        match find(c, rt) {
            Some(i) => {
                used[i] = true;
                set_prop(c, RUNTIME_LOADED, "true");
                if c.get("evidence").is_none() {
                    if let Some(e) = rt[i].comp.get("evidence") {
                        c["evidence"] = e.clone();
                    }
                }
                if ai {
                    report.declared += 1;
                    report.loaded += 1;
                }
            }
            None if ai => {
                set_prop(c, RUNTIME_LOADED, "false");
                report.declared += 1;
            }
            None => {}
        }
        if let Some(sub) = c.get_mut("components") {
            mark(sub, rt, used, report);
        }
    }
}

fn collect_refs(list: &Value, out: &mut HashSet<String>) {
    for c in list.as_array().into_iter().flatten() {
        if let Some(r) = c["bom-ref"].as_str() {
            out.insert(r.to_string());
        }
        collect_refs(&c["components"], out);
    }
}

/// Merges `runtime` (an aibomd CycloneDX BOM) into `static_bom`.
pub fn merge(static_bom: &Value, runtime: &Value) -> Result<(Value, MergeReport)> {
    for (what, b) in [("static", static_bom), ("runtime", runtime)] {
        if b["bomFormat"] != "CycloneDX" {
            bail!("the {what} BOM is not a CycloneDX JSON document (bomFormat)");
        }
    }
    let rt_comps = runtime["components"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let rt: Vec<Runtime> = rt_comps
        .iter()
        .map(|c| {
            let mut hashes = HashSet::new();
            sha256s(c, &mut hashes);
            Runtime {
                comp: c,
                hashes,
                purl: purl(c),
                names: names(c),
            }
        })
        .collect();
    let mut out = static_bom.clone();
    let mut used = vec![false; rt.len()];
    let mut report = MergeReport::default();
    if out.get("components").is_none() {
        out["components"] = json!([]);
    }
    mark(&mut out["components"], &rt, &mut used, &mut report);

    let mut refs = HashSet::new();
    collect_refs(&out["components"], &mut refs);
    if let Some(r) = out["metadata"]["component"]["bom-ref"].as_str() {
        refs.insert(r.to_string());
    }
    let mut added = Vec::new();
    for (r, u) in rt.iter().zip(&used) {
        if *u {
            continue;
        }
        let mut c = r.comp.clone();
        if let Some(old) = c["bom-ref"].as_str().map(str::to_string) {
            if refs.contains(&old) {
                c["bom-ref"] = json!(format!("runtime:{old}"));
            }
        }
        set_prop(&mut c, RUNTIME_LOADED, "true");
        set_prop(&mut c, RUNTIME_UNDECLARED, "true");
        if let Some(r) = c["bom-ref"].as_str() {
            added.push(r.to_string());
        }
        out["components"].as_array_mut().expect("array").push(c);
        report.undeclared += 1;
    }
    if let Some(root) = out["metadata"]["component"]["bom-ref"]
        .as_str()
        .map(str::to_string)
    {
        if !added.is_empty() {
            add_dependencies(&mut out, &root, &added);
        }
    }
    finish_metadata(&mut out, runtime);
    Ok((out, report))
}

fn add_dependencies(out: &mut Value, root: &str, added: &[String]) {
    let obj = out.as_object_mut().expect("object");
    let deps = obj
        .entry("dependencies")
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .expect("dependencies is an array");
    let idx = match deps.iter().position(|d| d["ref"] == root) {
        Some(i) => i,
        None => {
            deps.push(json!({"ref": root, "dependsOn": []}));
            deps.len() - 1
        }
    };
    let entry = deps[idx].as_object_mut().expect("dependency object");
    let on = entry
        .entry("dependsOn")
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .expect("dependsOn is an array");
    for a in added {
        on.push(json!(a));
    }
    for a in added {
        deps.push(json!({"ref": a, "dependsOn": []}));
    }
}

fn finish_metadata(out: &mut Value, runtime: &Value) {
    out["specVersion"] = json!("1.6");
    let v = out["version"].as_u64().unwrap_or(1);
    out["version"] = json!(v + 1);
    if !out["metadata"].is_object() {
        out["metadata"] = Value::Object(Map::new());
    }
    let md = &mut out["metadata"];
    md["timestamp"] = json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let ours = runtime["metadata"]["tools"]["components"][0].clone();
    match md.get_mut("tools") {
        Some(Value::Object(t)) => {
            let comps = t
                .entry("components")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(a) = comps.as_array_mut() {
                if ours.is_object() {
                    a.push(ours);
                }
            }
        }
        Some(Value::Array(a)) => {
            // the legacy (1.4) tools array
            a.push(json!({"name": "aibomd", "version": ours["version"]}));
        }
        _ => {
            if ours.is_object() {
                md["tools"] = json!({"components": [ours]});
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cyclonedx;
    use crate::model::tests::example;

    fn prop<'a>(c: &'a Value, name: &str) -> Option<&'a str> {
        c["properties"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == name)?["value"]
            .as_str()
    }

    #[test]
    fn marks_loaded_by_hash_purl_and_name_and_adds_the_undeclared() {
        let ev = example();
        let runtime = serde_json::to_value(cyclonedx::from_evidence(&ev)).unwrap();
        let purl = ev.components[0].purl.clone().unwrap();
        let static_bom = json!({
            "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 3,
            "serialNumber": "urn:uuid:00000000-0000-4000-8000-000000000001",
            "metadata": {"component": {"type": "application", "name": "app", "bom-ref": "app"}},
            "components": [
                {"type": "machine-learning-model", "name": "declared-by-purl", "purl": purl.to_uppercase(), "bom-ref": "m1"},
                {"type": "machine-learning-model", "name": "whatever", "bom-ref": "m2",
                 "hashes": [{"alg": "SHA-256", "content": "96".repeat(32)}]},
                {"type": "data", "name": "TRAIN.parquet-never", "bom-ref": "d1"},
                {"type": "library", "name": "numpy", "bom-ref": "lib"},
                {"type": "data", "name": "work", "bom-ref": "d2"}
            ],
            "dependencies": [{"ref": "app", "dependsOn": ["m1"]}]
        });
        let (out, report) = merge(&static_bom, &runtime).unwrap();
        let c = out["components"].as_array().unwrap();
        assert_eq!(prop(&c[0], RUNTIME_LOADED), Some("true"), "purl");
        assert_eq!(prop(&c[1], RUNTIME_LOADED), Some("true"), "hash");
        assert_eq!(prop(&c[2], RUNTIME_LOADED), Some("false"));
        assert_eq!(prop(&c[3], RUNTIME_LOADED), None, "not an AI component");
        assert_eq!(prop(&c[4], RUNTIME_LOADED), Some("true"), "name");
        // the prompt was loaded but not declared
        assert_eq!(c.len(), 6);
        assert_eq!(prop(&c[5], RUNTIME_UNDECLARED), Some("true"));
        assert_eq!(c[5]["name"], "chat.jinja");
        assert_eq!(
            report,
            MergeReport {
                declared: 4,
                loaded: 3,
                undeclared: 1
            }
        );
        assert_eq!(out["version"], 4);
        assert_eq!(out["serialNumber"], static_bom["serialNumber"]);
        assert_eq!(out["specVersion"], "1.6");
        let root = &out["dependencies"][0];
        assert_eq!(root["dependsOn"][1], c[5]["bom-ref"]);
        assert_eq!(out["metadata"]["tools"]["components"][0]["name"], "aibomd");
    }

    #[test]
    fn rejects_what_is_not_cyclonedx() {
        assert!(merge(
            &json!({"spdxVersion": "SPDX-2.3"}),
            &json!({"bomFormat": "CycloneDX"})
        )
        .is_err());
    }
}
