//! SPDX 3.0.1 JSON-LD with the AI and Dataset profiles.
//!
//! SPDX 3 has no service element: an AI API the workload called is a `software_Package`
//! (purpose `other`) named by its provider, its endpoints in `comment` and
//! `software_homePage`, supplied by an `Organization` when hosted, and one `Annotation` per
//! fact, named as the CycloneDX properties (`aibom:api.model: gpt-4o-mini`, ...); the workload
//! `dependsOn` it.
//!
//! Models are `ai_AIPackage`, datasets `dataset_DatasetPackage`, prompts, tools and configs
//! `software_Package` (purpose `data`, `application`, `configuration`); each file is a
//! `software_File` its package `contains`. The workload is the root `software_Package` of a
//! `software_Sbom` (type `runtime`) and `dependsOn` everything it loaded. Licenses are
//! `simplelicensing_LicenseExpression`s linked by `hasConcludedLicense`; names that are no
//! SPDX id become `LicenseRef-` ids.
use aibom_semconv::{attr, event};
use serde_json::{json, Value};

use crate::model::{ApiService, Component, Evidence, Kind};
use crate::prop;

const CONTEXT: &str = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld";
const CREATION_INFO: &str = "_:creationinfo";

struct Doc {
    base: String,
    n: usize,
    graph: Vec<Value>,
}

impl Doc {
    fn id(&mut self, what: &str) -> String {
        self.n += 1;
        format!("{}#{what}-{}", self.base, self.n)
    }

    fn add(&mut self, mut v: Value) -> String {
        let id = v["spdxId"].as_str().expect("element has an id").to_string();
        v["creationInfo"] = json!(CREATION_INFO);
        self.graph.push(v);
        id
    }

    fn relationship(&mut self, from: &str, rel: &str, to: Vec<String>) {
        if to.is_empty() {
            return;
        }
        let id = self.id("Relationship");
        self.add(json!({
            "type": "Relationship",
            "spdxId": id,
            "from": from,
            "relationshipType": rel,
            "to": to,
        }));
    }

    fn hashes(sha: &Option<String>) -> Value {
        Value::Array(
            sha.iter()
                .map(|s| json!({"type": "Hash", "algorithm": "sha256", "hashValue": s}))
                .collect(),
        )
    }

    fn package(&mut self, c: &Component) -> String {
        let (ty, purpose) = match c.kind {
            Kind::Model => ("ai_AIPackage", "model"),
            Kind::Dataset => ("dataset_DatasetPackage", "data"),
            Kind::Prompt => ("software_Package", "data"),
            Kind::Tool => ("software_Package", "application"),
            Kind::Config => ("software_Package", "configuration"),
        };
        let id = self.id(ty);
        let mut v = json!({
            "type": ty,
            "spdxId": id,
            "name": c.name,
            "software_primaryPurpose": purpose,
        });
        if let Some(r) = &c.revision {
            v["software_packageVersion"] = json!(r);
        }
        if let Some(p) = &c.purl {
            v["software_packageUrl"] = json!(p);
        }
        if let Some(u) = &c.source_url {
            v["software_downloadLocation"] = json!(u);
        }
        if c.sha256.is_some() && !c.is_whole() {
            v["verifiedUsing"] = Self::hashes(&c.sha256);
        }
        let mut comment = format!("Loaded at run time from {}", c.paths.join(", "));
        if !c.processes.is_empty() {
            let ps: Vec<_> = c.processes.iter().map(|p| p.to_string()).collect();
            comment.push_str(&format!(" by {}", ps.join(", ")));
        }
        if !c.accelerators.is_empty() {
            comment.push_str(&format!(
                "; ran with accelerators {}",
                c.accelerators.join(", ")
            ));
        }
        v["comment"] = json!(comment);
        match c.kind {
            Kind::Model => {
                if let Some(card) = &c.card {
                    if let Some(t) = &card.task {
                        v["ai_domain"] = json!([t]);
                    }
                    let arch: Vec<_> = [&card.architecture_family, &card.architecture]
                        .into_iter()
                        .flatten()
                        .cloned()
                        .collect();
                    if !arch.is_empty() {
                        v["ai_typeOfModel"] = json!(arch);
                    }
                }
            }
            Kind::Dataset => {
                v["dataset_datasetType"] = json!([dataset_type(c.format.as_deref())]);
            }
            _ => {}
        }
        let pkg = self.add(v);
        let files: Vec<String> = c
            .files
            .iter()
            .map(|f| {
                let id = self.id("software_File");
                let mut v = json!({
                    "type": "software_File",
                    "spdxId": id,
                    "name": f.via.first().unwrap_or(&f.path),
                });
                if f.sha256.is_some() {
                    v["verifiedUsing"] = Self::hashes(&f.sha256);
                }
                let mut facts = Vec::new();
                if let Some(i) = f.part_index {
                    facts.push(format!("{}: {i}", prop::name(attr::ARTIFACT_PART_INDEX)));
                }
                if let Some(n) = f.size {
                    facts.push(format!("{}: {n}", prop::name(attr::FILE_SIZE)));
                }
                if !facts.is_empty() {
                    v["comment"] = json!(facts.join(", "));
                }
                self.add(v)
            })
            .collect();
        self.relationship(&pkg, "contains", files);
        if let Some(l) = &c.license {
            let lid = self.id("LicenseExpression");
            let lic = self.add(json!({
                "type": "simplelicensing_LicenseExpression",
                "spdxId": lid,
                "simplelicensing_licenseExpression": l.spdx_expression(),
            }));
            self.relationship(&pkg, "hasConcludedLicense", vec![lic]);
        }
        for (k, v) in prop::whole(c.whole.as_ref(), c.embedded.as_deref()) {
            self.annotate(&pkg, format!("{k}: {v}"));
        }
        // One annotation per broken policy rule: "aibom.policy.violation: RULE".
        for rule in &c.policy_violations {
            let aid = self.id("Annotation");
            self.add(json!({
                "type": "Annotation",
                "spdxId": aid,
                "annotationType": "other",
                "subject": pkg,
                "statement": format!("{}: {rule}", event::POLICY_VIOLATION),
            }));
        }
        // A file whose sha256 is not what its name or store claims.
        for e in &c.sha256_expected {
            self.annotate(&pkg, format!("{}: {e}", attr::ARTIFACT_SHA256_EXPECTED));
        }
        // An unsafe pickle: "aibom.artifact.unsafe_reason: os.system".
        if !c.unsafe_callables.is_empty() {
            let reason = c.unsafe_callables.join(", ");
            self.annotate(&pkg, format!("{}: {reason}", attr::ARTIFACT_UNSAFE_REASON));
        }
        pkg
    }
}

impl Doc {
    fn annotate(&mut self, subject: &str, statement: String) {
        let aid = self.id("Annotation");
        self.add(json!({
            "type": "Annotation",
            "spdxId": aid,
            "annotationType": "other",
            "subject": subject,
            "statement": statement,
        }));
    }

    fn service(&mut self, s: &ApiService) -> String {
        let id = self.id("software_Package");
        let endpoints = s.endpoints();
        let mut comment = format!("AI API called at run time at {}", endpoints.join(", "));
        if !s.processes.is_empty() {
            let ps: Vec<_> = s.processes.iter().map(|p| p.to_string()).collect();
            comment.push_str(&format!(" by {}", ps.join(", ")));
        }
        let mut v = json!({
            "type": "software_Package",
            "spdxId": id,
            "name": s.provider,
            "software_primaryPurpose": "other",
            "comment": comment,
        });
        if let Some(e) = endpoints.first() {
            v["software_homePage"] = json!(e);
        }
        if let Some(g) = &s.gen_ai_provider {
            let oid = self.id("Organization");
            let org = self.add(json!({"type": "Organization", "spdxId": oid, "name": g}));
            v["suppliedBy"] = json!(org);
        }
        let pkg = self.add(v);
        let mut facts = vec![(prop::api_provider(), s.provider.clone())];
        facts.extend(s.models.iter().map(|m| (prop::api_model(), m.clone())));
        facts.extend(
            s.operations
                .iter()
                .map(|o| (prop::api_operation(), o.clone())),
        );
        facts.push((prop::api_calls(), s.calls.to_string()));
        facts.extend(s.seen_by.iter().map(|b| (prop::api_seen_by(), b.clone())));
        for (name, value) in facts {
            self.annotate(&pkg, format!("{name}: {value}"));
        }
        pkg
    }
}

/// The dataset type a file format suggests.
fn dataset_type(format: Option<&str>) -> &'static str {
    match format {
        Some("parquet" | "arrow" | "csv" | "tsv") => "structured",
        Some("jsonl" | "json" | "txt") => "text",
        Some("npy" | "npz" | "hdf5") => "numeric",
        _ => "noAssertion",
    }
}

/// The SPDX 3.0.1 JSON-LD document of `ev`.
pub fn from_evidence(ev: &Evidence) -> Value {
    let mut d = Doc {
        base: format!("urn:uuid:{}", ev.serial),
        n: 0,
        graph: Vec::new(),
    };
    let agent = d.id("SoftwareAgent");
    let agent = d.add(json!({"type": "SoftwareAgent", "spdxId": agent, "name": "aibomd"}));
    let tool = d.id("Tool");
    let tool = d.add(
        json!({"type": "Tool", "spdxId": tool, "name": format!("aibomd {}", ev.tool_version)}),
    );
    let w = &ev.workload;
    let wid = d.id("software_Package");
    let mut wv = json!({
        "type": "software_Package",
        "spdxId": wid,
        "name": w.name,
        "software_primaryPurpose": "application",
        "comment": format!("The traced workload of project {}", w.project),
    });
    if !w.command.is_empty() {
        wv["comment"] = json!(format!(
            "The traced workload of project {}: {}",
            w.project,
            w.command.join(" ")
        ));
    }
    if let Some(why) = &ev.incomplete {
        let c = wv["comment"].as_str().unwrap_or_default().to_string();
        wv["comment"] = json!(format!("{c}. Incomplete: {why}"));
    }
    let workload = d.add(wv);
    let mut pkgs: Vec<String> = ev.components.iter().map(|c| d.package(c)).collect();
    pkgs.extend(ev.services.iter().map(|s| d.service(s)));
    d.relationship(&workload, "dependsOn", pkgs);
    let sbom = d.id("software_Sbom");
    let mut elements: Vec<Value> = d.graph.iter().map(|v| v["spdxId"].clone()).collect();
    let sbom = d.add(json!({
        "type": "software_Sbom",
        "spdxId": sbom,
        "software_sbomType": ["runtime"],
        "rootElement": [workload],
        "element": elements.clone(),
    }));
    elements.push(json!(sbom));
    let doc = d.id("SpdxDocument");
    d.add(json!({
        "type": "SpdxDocument",
        "spdxId": doc,
        "name": format!("AI-BOM of {} (runtime)", w.name),
        "profileConformance": ["core", "software", "ai", "dataset", "simpleLicensing"],
        "rootElement": [sbom],
        "element": elements,
    }));
    let mut graph = vec![json!({
        "type": "CreationInfo",
        "@id": CREATION_INFO,
        "specVersion": "3.0.1",
        "created": ev.timestamp.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "createdBy": [agent],
        "createdUsing": [tool],
    })];
    graph.extend(d.graph);
    json!({"@context": CONTEXT, "@graph": graph})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::example;

    fn of_type<'a>(v: &'a Value, t: &str) -> Vec<&'a Value> {
        v["@graph"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == t)
            .collect()
    }

    #[test]
    fn an_incomplete_document_says_why_in_the_workloads_comment() {
        let mut ev = example();
        ev.incomplete = Some("3 file(s) left out".into());
        let v = from_evidence(&ev);
        let w = of_type(&v, "software_Package")
            .into_iter()
            .find(|p| p["software_primaryPurpose"] == "application")
            .unwrap();
        assert!(
            w["comment"]
                .as_str()
                .unwrap()
                .ends_with(". Incomplete: 3 file(s) left out"),
            "{w:#}"
        );
    }

    #[test]
    fn ai_and_dataset_packages_with_hashes_licenses_and_relationships() {
        let v = from_evidence(&example());
        assert_eq!(v["@context"], CONTEXT);
        let ai = of_type(&v, "ai_AIPackage");
        assert_eq!(ai.len(), 2);
        assert_eq!(ai[0]["name"], "aibom-demo/tiny-bert");
        assert_eq!(ai[0]["verifiedUsing"][0]["hashValue"], "1b".repeat(32));
        let ds = of_type(&v, "dataset_DatasetPackage");
        assert_eq!(ds[0]["dataset_datasetType"][0], "structured");
        let exprs: Vec<_> = of_type(&v, "simplelicensing_LicenseExpression")
            .iter()
            .map(|e| {
                e["simplelicensing_licenseExpression"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(exprs, ["Apache-2.0", "MIT", "LicenseRef-my-own-terms"]);
        let rels = of_type(&v, "Relationship");
        let dep = rels
            .iter()
            .find(|r| r["relationshipType"] == "dependsOn")
            .unwrap();
        assert_eq!(dep["to"].as_array().unwrap().len(), 4);
        // every element id is listed by the document, and every reference resolves
        let doc = of_type(&v, "SpdxDocument")[0];
        let listed: Vec<_> = doc["element"].as_array().unwrap().iter().collect();
        let ids: Vec<_> = v["@graph"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e.get("spdxId"))
            .collect();
        assert_eq!(listed.len() + 1, ids.len(), "all but the document itself");
        for r in rels {
            for t in r["to"].as_array().unwrap() {
                assert!(ids.contains(&t), "{t} dangles");
            }
        }
    }

    #[test]
    fn api_services_are_packages_with_annotated_facts() {
        let mut ev = example();
        ev.services = crate::model::tests::services();
        let v = from_evidence(&ev);
        let pkgs = of_type(&v, "software_Package");
        let openai = pkgs.iter().find(|p| p["name"] == "openai").unwrap();
        assert_eq!(openai["software_primaryPurpose"], "other");
        assert_eq!(
            openai["software_homePage"],
            "https://api.openai.com:443/v1/chat/completions"
        );
        let org = of_type(&v, "Organization");
        assert_eq!(org.len(), 1, "only the hosted provider supplies");
        assert_eq!(openai["suppliedBy"], org[0]["spdxId"]);
        let notes: Vec<String> = of_type(&v, "Annotation")
            .iter()
            .filter(|a| a["subject"] == openai["spdxId"])
            .map(|a| a["statement"].as_str().unwrap().to_string())
            .collect();
        assert!(notes.contains(&format!("{}: gpt-4o-mini", prop::api_model())));
        assert!(notes.contains(&format!("{}: 7", prop::api_calls())));
        let dep = of_type(&v, "Relationship")
            .into_iter()
            .find(|r| r["relationshipType"] == "dependsOn")
            .unwrap();
        assert!(dep["to"].as_array().unwrap().contains(&openai["spdxId"]));
        assert_eq!(
            dep["to"].as_array().unwrap().len(),
            6,
            "4 components, 2 APIs"
        );
    }

    #[test]
    fn broken_policy_rules_annotate_their_package() {
        let mut ev = example();
        ev.components[0].policy_violations = vec!["no-pickle".into()];
        let v = from_evidence(&ev);
        let notes = of_type(&v, "Annotation");
        assert_eq!(notes.len(), 1);
        let ai = of_type(&v, "ai_AIPackage");
        assert_eq!(notes[0]["subject"], ai[0]["spdxId"]);
        assert_eq!(
            notes[0]["statement"],
            format!("{}: no-pickle", event::POLICY_VIOLATION)
        );
        assert!(of_type(&from_evidence(&example()), "Annotation").is_empty());
    }
}
