//! The one table of file names that make a file an AI artifact: which suffixes the path
//! filter reports by default, and which files mark a folder as a model folder (a README
//! only counts as a model card beside one of them).
//!
//! Header sniffing, not this table, decides a file's format (see [`super::format`]).

/// A file-name suffix (or whole lower-case name) and what it means.
pub struct ArtifactName {
    /// Compared with the end of the lower-cased path.
    pub suffix: &'static str,
    /// The path filter reports opens of such files by default (`filter.allow_suffixes`).
    pub reported: bool,
    /// A file with it marks its folder as a model folder.
    pub model_marker: bool,
}

const fn name(suffix: &'static str, reported: bool, model_marker: bool) -> ArtifactName {
    ArtifactName {
        suffix,
        reported,
        model_marker,
    }
}

/// Weights, datasets, tokenizers, prompt templates, model configs and cards, tool configs.
pub const ARTIFACT_NAMES: &[ArtifactName] = &[
    name(".safetensors", true, true),
    name(".gguf", true, true),
    name(".ggml", true, false),
    name(".onnx", true, true),
    name(".pt", true, true),
    name(".pth", true, true),
    name(".bin", true, true),
    name(".ckpt", true, false),
    name(".h5", true, true),
    name(".hdf5", true, false),
    name(".keras", true, true),
    name(".tflite", true, true),
    name(".pb", true, false),
    name(".mlmodel", true, false),
    // pickle-based models (scanned for dangerous imports, see `unsafe_scan`)
    name(".pkl", true, false),
    name(".pickle", true, false),
    name(".joblib", true, false),
    name(".parquet", true, false),
    name(".arrow", true, false),
    name(".jsonl", true, false),
    name(".csv", true, false),
    name(".tsv", true, false),
    name(".npy", true, false),
    // WebDataset shards; other tar files are dropped after the filter (see
    // `normalize`): only numbered shards or files of a split folder are datasets
    name(".tar", true, false),
    name(".npz", true, false),
    name(".jinja", true, false),
    name(".jinja2", true, false),
    name(".prompt", true, false),
    name(".tiktoken", true, false),
    name(".model", true, false),
    name("tokenizer.json", true, false),
    name("vocab.json", true, false),
    name("vocab.txt", true, false),
    name("merges.txt", true, false),
    name("config.json", true, true),
    name(".safetensors.index.json", true, false),
    name(".bin.index.json", true, false),
    name("model_index.json", false, true),
    name("readme.md", true, false),
    name("mcp.json", true, false),
];

/// Model-card names: artifacts only beside a [`ArtifactName::model_marker`] file.
pub const CARD_NAMES: &[&str] = &["readme.md"];

/// Ollama's store under a home directory (when `OLLAMA_MODELS` is not set).
pub const OLLAMA_HOME_STORE: &str = ".ollama/models";
/// The store of Ollama's Linux service.
pub const OLLAMA_SERVICE_STORE: &str = "/usr/share/ollama/.ollama/models";

/// NVIDIA NIM's cache when `NIM_CACHE_PATH` is not set.
pub const NIM_DEFAULT_CACHE: &str = "/opt/nim/.cache";

/// The suffixes the path filter reports by default.
pub fn reported_by_default() -> impl Iterator<Item = &'static str> {
    ARTIFACT_NAMES
        .iter()
        .filter(|n| n.reported)
        .map(|n| n.suffix)
}

/// True when a file named `lower_name` (lower-cased) marks its folder as a model folder.
pub fn is_model_marker(lower_name: &str) -> bool {
    ARTIFACT_NAMES.iter().any(|n| {
        n.model_marker
            && if n.suffix.starts_with('.') {
                lower_name.ends_with(n.suffix)
            } else {
                lower_name == n.suffix
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_and_filter_defaults_come_from_one_table() {
        assert!(is_model_marker("model-00001-of-00002.safetensors"));
        assert!(is_model_marker("config.json"));
        assert!(is_model_marker("model_index.json"));
        assert!(
            !is_model_marker("my_config.json"),
            "whole names match whole"
        );
        assert!(!is_model_marker("train.parquet"));
        let reported: Vec<_> = reported_by_default().collect();
        assert!(reported.contains(&"readme.md") && reported.contains(&".gguf"));
        assert!(!reported.contains(&"model_index.json"));
        // every card name is reported, else the filter would never show one
        assert!(CARD_NAMES.iter().all(|c| reported.contains(c)));
    }
}
