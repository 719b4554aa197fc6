//! AI-BOM documents from runtime evidence.
//!
//! aibomd sees which files processes really open; this crate turns those observations
//! into bills of materials that compliance tooling reads:
//!
//! - [`model`]: a neutral evidence model. Per-file observations ([`FileObservation`]) are
//!   grouped into components (one per artifact: a Hugging Face repo, a GGUF file, a
//!   dataset split...), each with its hash, license, purl, paths, how it was identified,
//!   and which processes loaded it; the traced workload is the root.
//! - [`cyclonedx`]: CycloneDX 1.6 JSON (`machine-learning-model` and `data` components,
//!   model cards, evidence, dependencies; the AI APIs called as `services`).
//! - [`spdx3`]: SPDX 3.0.1 JSON-LD with the AI and Dataset profiles.
//! - [`merge`]: marks which components of a statically declared CycloneDX BOM were really
//!   loaded at run time, and adds the ones nobody declared.
//!
//! Property names in the `aibom:` namespace are derived from `aibom-semconv` ([`prop`]).
pub mod card;
pub mod cyclonedx;
pub mod license;
pub mod merge;
pub mod model;
pub mod prop;
pub mod spdx3;

pub use model::{
    ApiService, Component, Evidence, FileObservation, Kind, Process, WholeFacts, Workload,
};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// CycloneDX 1.6 JSON.
    #[default]
    CycloneDxJson,
    /// SPDX 3.0.1 JSON-LD.
    Spdx3Json,
}

impl Format {
    /// The names accepted on command lines and in query strings.
    pub const NAMES: [&'static str; 2] = ["cyclonedx-json", "spdx3-json"];

    /// From `cyclonedx-json` or `spdx3-json`.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "cyclonedx-json" => Some(Format::CycloneDxJson),
            "spdx3-json" => Some(Format::Spdx3Json),
            _ => None,
        }
    }

    /// The media type of documents in this format.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::CycloneDxJson => "application/vnd.cyclonedx+json; version=1.6",
            Format::Spdx3Json => "application/spdx+json",
        }
    }
}

/// The document for `ev` in `format`, as pretty JSON.
pub fn render(ev: &Evidence, format: Format) -> String {
    let v = match format {
        Format::CycloneDxJson => {
            serde_json::to_value(cyclonedx::from_evidence(ev)).expect("CycloneDX structs serialize")
        }
        Format::Spdx3Json => spdx3::from_evidence(ev),
    };
    let mut s = serde_json::to_string_pretty(&v).expect("JSON values serialize");
    s.push('\n');
    s
}
