//! CycloneDX 1.6 JSON.
//!
//! Own serde structs rather than the `cyclonedx-bom` crate: its newest release (0.8.1)
//! models spec 1.3-1.5 only, and 1.6 changed what an AI-BOM needs (`evidence.identity` is
//! an array, identity methods, the 1.6 `modelCard`/`data` shapes). Only what aibomd writes
//! is modelled; documents are checked against the official 1.6 JSON schema by the tests.
use serde::{Deserialize, Serialize};

use crate::license::License;
use crate::model::{ApiService, Component, Evidence, Kind};
use crate::prop;
use aibom_semconv::attr;

/// `bom-ref` of the workload (`metadata.component`).
pub const WORKLOAD_REF: &str = "workload";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    pub bom_format: String,
    pub spec_version: String,
    pub serial_number: String,
    pub version: u32,
    pub metadata: Metadata,
    pub components: Vec<Cdx>,
    /// The AI APIs the workload called.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub services: Vec<Service>,
    pub dependencies: Vec<Dependency>,
}

/// A service: an AI API the workload called.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Service {
    #[serde(rename = "bom-ref")]
    pub bom_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<OrganizationalEntity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub endpoints: Vec<String>,
    /// True when calls leave the workload's trust boundary (a hosted provider).
    #[serde(rename = "x-trust-boundary", skip_serializing_if = "Option::is_none")]
    pub trust_boundary: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OrganizationalEntity {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metadata {
    pub timestamp: String,
    pub tools: Tools,
    pub component: Cdx,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tools {
    pub components: Vec<Cdx>,
}

/// A component.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Cdx {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub licenses: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(
        rename = "externalReferences",
        skip_serializing_if = "Vec::is_empty",
        default
    )]
    pub external_references: Vec<ExternalReference>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub components: Vec<Cdx>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<ComponentEvidence>,
    #[serde(rename = "modelCard", skip_serializing_if = "Option::is_none")]
    pub model_card: Option<ModelCard>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub data: Vec<Data>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hash {
    pub alg: String,
    pub content: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExternalReference {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Property {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ComponentEvidence {
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub identity: Vec<IdentityEvidence>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub occurrences: Vec<Occurrence>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityEvidence {
    pub field: String,
    pub confidence: f64,
    pub concluded_value: String,
    pub methods: Vec<IdentityMethod>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdentityMethod {
    pub technique: String,
    pub confidence: f64,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Occurrence {
    pub location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_context: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelCard {
    pub model_parameters: ModelParameters,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelParameters {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture_family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_architecture: Option<String>,
}

/// A `data` entry: `dataset`, `configuration`, `definition` or `other`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Data {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contents: Option<DataContents>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DataContents {
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    #[serde(rename = "ref")]
    pub reference: String,
    pub depends_on: Vec<String>,
}

fn p(name: String, value: impl Into<String>) -> Property {
    Property {
        name,
        value: value.into(),
    }
}

/// A CycloneDX `licenses` entry for `l`.
pub fn license_choice(l: &License) -> serde_json::Value {
    match l {
        License::Id(id) => serde_json::json!({"license": {"id": id}}),
        License::Expression(e) => serde_json::json!({"expression": e}),
        License::Name(n) => serde_json::json!({"license": {"name": n}}),
    }
}

/// `file://` URL of an absolute path (for `data.contents.url`), percent-encoding what an
/// IRI reference may not hold.
fn file_url(path: &str) -> String {
    let mut out = String::from("file://");
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn sha_hash(sha: &Option<String>) -> Vec<Hash> {
    sha.iter()
        .map(|s| Hash {
            alg: "SHA-256".into(),
            content: s.clone(),
        })
        .collect()
}

/// The CycloneDX component of `c`.
pub fn component(c: &Component) -> Cdx {
    let kind = match c.kind {
        Kind::Model => "machine-learning-model",
        Kind::Tool => "application",
        Kind::Dataset | Kind::Prompt | Kind::Config => "data",
    };
    let mut props = Vec::new();
    if let Some(v) = &c.provider {
        props.push(p(prop::provider(), v));
    }
    props.push(p(prop::name(attr::ARTIFACT_TYPE), c.kind.as_str()));
    if let Some(v) = &c.role {
        props.push(p(prop::role(), v));
    }
    if let Some(v) = &c.format {
        props.push(p(prop::name(attr::ARTIFACT_FORMAT), v));
    }
    if let Some(v) = &c.license_source {
        props.push(p(prop::name(attr::ARTIFACT_LICENSE_SOURCE), v));
    }
    if let Some(v) = c.size {
        props.push(p(prop::name(attr::FILE_SIZE), v.to_string()));
    }
    for x in &c.processes {
        props.push(p(prop::process(), x.to_string()));
    }
    for d in &c.accelerators {
        props.push(p(prop::accelerator(), d));
    }
    for t in &c.tracers {
        props.push(p(prop::tracer(), t));
    }
    for pr in &c.projects {
        props.push(p(prop::project(), pr));
    }
    for r in &c.policy_violations {
        props.push(p(prop::policy_violation(), r));
    }
    for (k, v) in prop::whole(c.whole.as_ref(), c.embedded.as_deref()) {
        props.push(p(k, v));
    }
    for e in &c.sha256_expected {
        props.push(p(prop::name(attr::ARTIFACT_SHA256_EXPECTED), e));
    }
    if !c.unsafe_callables.is_empty() {
        props.push(p(prop::name(attr::ARTIFACT_UNSAFE), "true"));
        props.push(p(
            prop::name(attr::ARTIFACT_UNSAFE_REASON),
            c.unsafe_callables.join(", "),
        ));
    }
    let data = match c.kind {
        Kind::Dataset | Kind::Prompt | Kind::Config => {
            let dtype = match c.kind {
                Kind::Dataset => "dataset",
                Kind::Config => "configuration",
                _ => "other",
            };
            c.files
                .iter()
                .map(|f| Data {
                    kind: dtype.into(),
                    name: f.display_name(),
                    contents: Some(DataContents {
                        url: file_url(f.via.first().unwrap_or(&f.path)),
                    }),
                })
                .collect()
        }
        _ => Vec::new(),
    };
    let model_card = c
        .card
        .as_ref()
        .filter(|_| c.kind == Kind::Model)
        .map(|m| ModelCard {
            model_parameters: ModelParameters {
                task: m.task.clone(),
                architecture_family: m.architecture_family.clone(),
                model_architecture: m.architecture.clone(),
            },
        });
    // the other files of a multi-file artifact (tokenizer, config, card of a repository)
    let parts = c
        .files
        .iter()
        // a many-file whole lists every part with its hash
        .skip(usize::from(c.kind == Kind::Model && !c.is_whole()))
        .filter(|_| c.kind == Kind::Model || c.is_whole())
        .map(|f| {
            let mut props = Vec::new();
            if let Some(r) = &f.role {
                props.push(p(prop::role(), r));
            }
            if let Some(fm) = &f.format {
                props.push(p(prop::name(attr::ARTIFACT_FORMAT), fm));
            }
            if let Some(i) = f.part_index {
                props.push(p(prop::name(attr::ARTIFACT_PART_INDEX), i.to_string()));
            }
            if let Some(n) = f.size {
                props.push(p(prop::name(attr::FILE_SIZE), n.to_string()));
            }
            Cdx {
                kind: "file".into(),
                bom_ref: Some(format!("{}#{}", c.key, f.path)),
                name: f.display_name(),
                hashes: sha_hash(&f.sha256),
                evidence: Some(ComponentEvidence {
                    identity: Vec::new(),
                    occurrences: f
                        .via
                        .iter()
                        .chain(std::iter::once(&f.path))
                        .map(|l| Occurrence {
                            location: l.clone(),
                            additional_context: None,
                        })
                        .collect(),
                }),
                properties: props,
                ..Default::default()
            }
        })
        .collect();
    let context = if c.processes.is_empty() {
        "loaded at run time".to_string()
    } else {
        let ps: Vec<_> = c.processes.iter().map(|p| p.to_string()).collect();
        format!("loaded at run time by {}", ps.join(", "))
    };
    Cdx {
        kind: kind.into(),
        bom_ref: Some(c.key.clone()),
        group: None,
        name: c.name.clone(),
        version: c.revision.clone(),
        description: None,
        // a whole has no one hash: its parts carry theirs, its set digest is a property
        hashes: sha_hash(&c.sha256.clone().filter(|_| !c.is_whole())),
        licenses: c.license.iter().map(license_choice).collect(),
        purl: c.purl.clone(),
        external_references: c
            .source_url
            .iter()
            .map(|u| ExternalReference {
                kind: "distribution".into(),
                url: u.clone(),
            })
            .collect(),
        components: parts,
        evidence: Some(ComponentEvidence {
            identity: c
                .identity
                .iter()
                .map(|i| IdentityEvidence {
                    field: i.field.into(),
                    confidence: i.methods.iter().map(|m| m.confidence).fold(0.0, f64::max),
                    concluded_value: i.value.clone(),
                    methods: i
                        .methods
                        .iter()
                        .map(|m| IdentityMethod {
                            technique: m.technique.into(),
                            confidence: m.confidence,
                            value: m.value.clone(),
                        })
                        .collect(),
                })
                .collect(),
            occurrences: c
                .paths
                .iter()
                .map(|l| Occurrence {
                    location: l.clone(),
                    additional_context: Some(context.clone()),
                })
                .collect(),
        }),
        model_card,
        data,
        properties: props,
    }
}

/// The CycloneDX service of an AI API: named by its provider (`aibom.api.provider`), grouped
/// by the server it was called on, its endpoints `scheme://host:port/path`; hosted providers
/// (those with a `gen_ai.provider.name`) are its `provider` and lie across a trust boundary.
pub fn service(s: &ApiService) -> Service {
    let mut props = vec![p(prop::api_provider(), &s.provider)];
    if let Some(g) = &s.gen_ai_provider {
        props.push(p(prop::name(attr::GEN_AI_PROVIDER_NAME), g));
    }
    for m in &s.models {
        props.push(p(prop::api_model(), m));
    }
    for o in &s.operations {
        props.push(p(prop::api_operation(), o));
    }
    props.push(p(prop::api_calls(), s.calls.to_string()));
    for v in &s.seen_by {
        props.push(p(prop::api_seen_by(), v));
    }
    if let Some(n) = s.input_tokens {
        props.push(p(
            prop::name(attr::GEN_AI_USAGE_INPUT_TOKENS),
            n.to_string(),
        ));
    }
    if let Some(n) = s.output_tokens {
        props.push(p(
            prop::name(attr::GEN_AI_USAGE_OUTPUT_TOKENS),
            n.to_string(),
        ));
    }
    for x in &s.processes {
        props.push(p(prop::process(), x.to_string()));
    }
    let by = if s.processes.is_empty() {
        String::new()
    } else {
        let ps: Vec<_> = s.processes.iter().map(|p| p.to_string()).collect();
        format!(" by {}", ps.join(", "))
    };
    Service {
        bom_ref: s.key(),
        provider: s
            .gen_ai_provider
            .as_ref()
            .map(|g| OrganizationalEntity { name: g.clone() }),
        group: Some(s.host.clone()).filter(|h| !h.is_empty()),
        name: s.provider.clone(),
        description: Some(format!(
            "AI API called at run time{by}: {} call{}",
            s.calls,
            if s.calls == 1 { "" } else { "s" }
        )),
        endpoints: s.endpoints(),
        trust_boundary: s.gen_ai_provider.as_ref().map(|_| true),
        properties: props,
    }
}

/// The CycloneDX 1.6 BOM of `ev`.
pub fn from_evidence(ev: &Evidence) -> Bom {
    let w = &ev.workload;
    let mut wprops = vec![p(prop::project(), &w.project)];
    if !w.command.is_empty() {
        wprops.push(p(
            prop::name(attr::PROCESS_COMMAND_LINE),
            w.command.join(" "),
        ));
    }
    let components: Vec<Cdx> = ev.components.iter().map(component).collect();
    let services: Vec<Service> = ev.services.iter().map(service).collect();
    let refs: Vec<String> = ev
        .components
        .iter()
        .map(|c| c.key.clone())
        .chain(services.iter().map(|s| s.bom_ref.clone()))
        .collect();
    let mut dependencies = vec![Dependency {
        reference: WORKLOAD_REF.into(),
        depends_on: refs.clone(),
    }];
    dependencies.extend(refs.into_iter().map(|r| Dependency {
        reference: r,
        depends_on: Vec::new(),
    }));
    Bom {
        bom_format: "CycloneDX".into(),
        spec_version: "1.6".into(),
        serial_number: format!("urn:uuid:{}", ev.serial),
        version: 1,
        metadata: Metadata {
            timestamp: ev
                .timestamp
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            tools: Tools {
                components: vec![Cdx {
                    kind: "application".into(),
                    name: "aibomd".into(),
                    version: Some(ev.tool_version.clone()),
                    description: Some(
                        "Runtime AI-BOM exporter: traces which AI artifacts processes load".into(),
                    ),
                    ..Default::default()
                }],
            },
            component: Cdx {
                kind: "application".into(),
                bom_ref: Some(WORKLOAD_REF.into()),
                name: w.name.clone(),
                properties: wprops,
                ..Default::default()
            },
            properties: ev
                .incomplete
                .iter()
                .map(|why| Property {
                    name: prop::INCOMPLETE.into(),
                    value: why.clone(),
                })
                .collect(),
        },
        components,
        services,
        dependencies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::example;

    #[test]
    fn models_data_and_prompts_map_to_their_cyclonedx_types() {
        let bom = from_evidence(&example());
        let v = serde_json::to_value(&bom).unwrap();
        assert_eq!(v["specVersion"], "1.6");
        assert!(v["serialNumber"].as_str().unwrap().starts_with("urn:uuid:"));
        let c = &v["components"];
        assert_eq!(c[0]["type"], "machine-learning-model");
        assert_eq!(c[0]["purl"], bom.components[0].purl.clone().unwrap());
        assert_eq!(c[0]["hashes"][0]["alg"], "SHA-256");
        assert_eq!(c[0]["licenses"][0]["license"]["id"], "Apache-2.0");
        assert_eq!(c[0]["components"].as_array().unwrap().len(), 2);
        assert_eq!(c[0]["components"][0]["type"], "file");
        assert_eq!(c[0]["evidence"]["identity"][0]["field"], "name");
        assert_eq!(c[2]["type"], "data");
        assert_eq!(c[2]["data"][0]["type"], "dataset");
        assert_eq!(
            c[2]["data"][0]["contents"]["url"],
            "file:///w/data/train.parquet"
        );
        assert_eq!(c[3]["licenses"][0]["license"]["name"], "my own terms");
        let deps = &v["dependencies"][0];
        assert_eq!(deps["ref"], WORKLOAD_REF);
        assert_eq!(deps["dependsOn"].as_array().unwrap().len(), 4);
        assert_eq!(v["metadata"]["component"]["bom-ref"], WORKLOAD_REF);
    }

    #[test]
    fn an_incomplete_document_says_why_in_its_metadata() {
        let v = serde_json::to_value(from_evidence(&example())).unwrap();
        assert!(v["metadata"]
            .get("properties")
            .is_none_or(|p| p == &serde_json::json!([])));
        let mut ev = example();
        ev.incomplete = Some("3 file(s) left out".into());
        let v = serde_json::to_value(from_evidence(&ev)).unwrap();
        assert_eq!(v["metadata"]["properties"][0]["name"], prop::INCOMPLETE);
        assert_eq!(
            v["metadata"]["properties"][0]["value"],
            "3 file(s) left out"
        );
    }

    #[test]
    fn broken_policy_rules_are_properties_of_the_component() {
        let mut ev = example();
        ev.components[0].policy_violations = vec!["no-pickle".into(), "only-mit".into()];
        let v = serde_json::to_value(from_evidence(&ev)).unwrap();
        let rules = |c: &serde_json::Value| -> Vec<String> {
            c["properties"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["name"] == prop::policy_violation())
                .map(|p| p["value"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(rules(&v["components"][0]), ["no-pickle", "only-mit"]);
        assert!(rules(&v["components"][1]).is_empty(), "only where broken");
    }

    #[test]
    fn api_services_name_the_provider_endpoints_and_models() {
        let mut ev = example();
        ev.services = crate::model::tests::services();
        let v = serde_json::to_value(from_evidence(&ev)).unwrap();
        let s = &v["services"];
        assert_eq!(s.as_array().unwrap().len(), 2);
        let openai = &s[0];
        assert_eq!(openai["name"], "openai");
        assert_eq!(openai["bom-ref"], "api:openai@api.openai.com:443");
        assert_eq!(openai["provider"]["name"], "openai");
        assert_eq!(openai["group"], "api.openai.com");
        assert_eq!(openai["x-trust-boundary"], true);
        assert_eq!(
            openai["endpoints"],
            serde_json::json!([
                "https://api.openai.com:443/v1/chat/completions",
                "https://api.openai.com:443/v1/embeddings"
            ])
        );
        let props = |svc: &serde_json::Value, name: String| -> Vec<String> {
            svc["properties"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["name"] == name)
                .map(|p| p["value"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            props(openai, prop::api_model()),
            ["gpt-4o-mini", "text-embedding-3-small"]
        );
        assert_eq!(props(openai, prop::api_calls()), ["7"]);
        assert_eq!(props(openai, prop::api_operation()), ["chat", "embeddings"]);
        let ollama = &s[1];
        assert_eq!(
            ollama["endpoints"],
            serde_json::json!(["http://127.0.0.1:11434/api/chat"]),
            "plain HTTP"
        );
        assert!(ollama.get("provider").is_none() && ollama.get("x-trust-boundary").is_none());
        assert_eq!(props(ollama, prop::api_seen_by()), ["http"]);
        let deps = v["dependencies"][0]["dependsOn"].as_array().unwrap();
        assert!(deps.contains(&serde_json::json!("api:ollama@127.0.0.1:11434")));
        assert!(serde_json::to_value(from_evidence(&example())).unwrap()["services"].is_null());
    }

    #[test]
    fn file_urls_are_percent_encoded() {
        assert_eq!(file_url("/a b/é.json"), "file:///a%20b/%C3%A9.json");
    }
}
