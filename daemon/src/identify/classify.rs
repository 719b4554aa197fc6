//! What an artifact is: its type (`model`, `dataset`, `prompt`, `tool`, `config`) and the
//! finer role it plays.
//!
//! Rules, first match wins (names compared case-insensitively):
//! 1. **tool / manifest**: MCP configs (`mcp.json`, `.mcp.json`, `claude_desktop_config.json`,
//!    `mcp_config.json`, `mcp_settings.json`, `cline_mcp_settings.json`, or any JSON with an
//!    `mcp_servers` fact), plugin manifests (`ai-plugin.json`), and JSON/YAML specs (OpenAPI,
//!    JSON Schema, LangChain/LlamaIndex tool definitions) inside a `tools/` or `.well-known/`
//!    folder (the file's folder or the one above);
//! 2. **model / adapter**: `adapter_model.*`, `adapter_config.json`, GGUF `general.type:
//!    adapter`, weights with a `lora` word in their name;
//! 3. **model / tokenizer**: `tokenizer.json` (or sniffed `tokenizers` JSON), `tokenizer.model`,
//!    `spiece.model`, `sentencepiece*.model`, `*.tiktoken`, tiktoken cache blobs;
//!    **model / vocab**: `vocab.*`, `merges.txt`, `added_tokens.json`;
//! 4. **prompt / template**: Jinja and prompt files (`chat_template.jinja`, `chat_template.json`,
//!    `*.jinja`, `*.j2`, `*.prompt`, `*.prompty`), text files inside a `prompts/` folder (the
//!    file's folder or the one above);
//! 5. **dataset / manifest**: `dataset_info.json`, `dataset_infos.json`, `dataset_dict.json`
//!    (and the Arrow cache's `state.json`);
//! 6. **model / config**: `config.json` with `model_type`/`architectures` or beside weights (see
//!    [`is_model_dir`]), `generation_config.json`, `tokenizer_config.json`,
//!    `special_tokens_map.json`, `preprocessor_config.json`, `model_index.json`, shard indexes
//!    (`*.safetensors.index.json`), …; other configs are type `config` with no role;
//! 7. **card**: `README.md` beside a model (`model`/`card`) or a dataset (`dataset`/`card`);
//! 8. by **format**: weights formats (safetensors, GGUF, ONNX, PyTorch, pickle, HDF5, Keras,
//!    TFLite, TF protobuf) → `model`/`weights` (a pickle inside a dataset folder is a dataset);
//!    Parquet, Arrow, JSON Lines, CSV, tar (WebDataset shards) → `dataset` with role `split` when the file or its folder
//!    is named after a split (`train`, `test`, `validation`, `valid`, `val`, `dev`, `eval*`);
//! 9. NumPy arrays (`.npy`, `.npz`): `model`/`embeddings` when named after embeddings
//!    (`embeddings.npy`, `doc_vectors.npy`), `dataset` in a dataset folder or when split-named,
//!    `model`/`weights` beside weights or when named `weights`/`params`/`checkpoint`, else
//!    `dataset` (plain arrays are data more often than not);
//! 10. otherwise by extension, then `config`.
use std::ffi::OsStr;
use std::path::{Component, Path};

use aibom_semconv::{artifact_role as role, artifact_type as ty};

use super::format::{Fields, Format};

/// What an artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// An `aibom.artifact.type` value.
    pub artifact_type: &'static str,
    /// An `aibom.artifact.role` value.
    pub role: Option<&'static str>,
}

impl Kind {
    const fn new(artifact_type: &'static str, role: Option<&'static str>) -> Kind {
        Kind {
            artifact_type,
            role,
        }
    }
}

const WEIGHTS: Kind = Kind::new(ty::MODEL, Some(role::WEIGHTS));
const TOKENIZER: Kind = Kind::new(ty::MODEL, Some(role::TOKENIZER));
const VOCAB: Kind = Kind::new(ty::MODEL, Some(role::VOCAB));
const MODEL_CONFIG: Kind = Kind::new(ty::MODEL, Some(role::CONFIG));
const ADAPTER: Kind = Kind::new(ty::MODEL, Some(role::ADAPTER));
const EMBEDDINGS: Kind = Kind::new(ty::MODEL, Some(role::EMBEDDINGS));
const PROMPT: Kind = Kind::new(ty::PROMPT, Some(role::TEMPLATE));
const TOOL: Kind = Kind::new(ty::TOOL, Some(role::MANIFEST));
const DATASET_MANIFEST: Kind = Kind::new(ty::DATASET, Some(role::MANIFEST));
const CONFIG: Kind = Kind::new(ty::CONFIG, None);

const MCP_CONFIGS: &[&str] = &[
    "mcp.json",
    ".mcp.json",
    "claude_desktop_config.json",
    "mcp_config.json",
    "mcp_settings.json",
    "cline_mcp_settings.json",
];
const TOOL_MANIFESTS: &[&str] = &["ai-plugin.json"];
const TOOL_DIRS: &[&str] = &["tools", ".well-known"];
/// How many enclosing folders are looked at for `tools/` and `prompts/`.
const NEAR_DIRS: usize = 2;
const PROMPT_DIRS: &[&str] = &["prompts", "prompt"];
const PROMPT_EXTS: &[&str] = &["jinja", "jinja2", "j2", "prompt", "prompty"];
const TEXT_EXTS: &[&str] = &[
    "txt", "md", "json", "yaml", "yml", "toml", "xml", "jinja", "j2",
];
const SPEC_EXTS: &[&str] = &["json", "yaml", "yml"];

const TOKENIZER_FILES: &[&str] = &[
    "tokenizer.json",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.model",
    "sentencepiece.bpe.model",
    "tiktoken.model",
];
const VOCAB_FILES: &[&str] = &["merges.txt", "added_tokens.json"];

const DATASET_MANIFESTS: &[&str] = &[
    "dataset_info.json",
    "dataset_infos.json",
    "dataset_dict.json",
];

/// Config files only models have.
const MODEL_CONFIGS: &[&str] = &[
    "generation_config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "preprocessor_config.json",
    "processor_config.json",
    "image_processor_config.json",
    "feature_extractor_config.json",
    "model_index.json",
    "scheduler_config.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
];
/// Config names that are a model's only when beside weights.
const MAYBE_MODEL_CONFIGS: &[&str] = &["config.json", "params.json", "modules.json", "config.yaml"];
/// Training bookkeeping: configs, not models.
const TRAINING_FILES: &[&str] = &["training_args.bin", "trainer_state.json"];

const WEIGHT_EXTS: &[&str] = &[
    "safetensors",
    "gguf",
    "ggml",
    "onnx",
    "onnx_data",
    "pt",
    "pth",
    "bin",
    "ckpt",
    "h5",
    "hdf5",
    "keras",
    "tflite",
    "pb",
    "mlmodel",
    "pkl",
    "pickle",
    "joblib",
    "msgpack",
    "nemo",
    "llamafile",
];
const DATA_EXTS: &[&str] = &[
    "parquet", "arrow", "feather", "jsonl", "ndjson", "csv", "tsv", "tfrecord", "avro", "tar",
];

const SPLITS: &[&str] = &[
    "train",
    "training",
    "test",
    "testing",
    "validation",
    "valid",
    "val",
    "dev",
];

/// Classifies the file at `path`, sniffed as `format` with header `fields`.
pub fn classify(path: &Path, format: Format, fields: &Fields) -> Kind {
    let file = path
        .file_name()
        .and_then(OsStr::to_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let ext = path
        .extension()
        .and_then(OsStr::to_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let stem = path
        .file_stem()
        .and_then(OsStr::to_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let dir = path.parent();
    // The two nearest folders: `tools/search.json`, `prompts/agents/planner.yaml`.
    let in_dirs = |names: &[&str]| {
        path.ancestors()
            .skip(1)
            .take(NEAR_DIRS)
            .filter_map(|d| d.file_name().and_then(OsStr::to_str))
            .any(|d| names.iter().any(|n| n.eq_ignore_ascii_case(d)))
    };
    let is_json = matches!(format, Format::Json) || ext == "json";

    // 1. Tools.
    if MCP_CONFIGS.contains(&file.as_str())
        || TOOL_MANIFESTS.contains(&file.as_str())
        || fields.contains_key("mcp_servers")
    {
        return TOOL;
    }
    if in_dirs(TOOL_DIRS)
        && (SPEC_EXTS.contains(&ext.as_str()) || matches!(format, Format::Json))
        && !MODEL_CONFIGS.contains(&file.as_str())
    {
        return TOOL;
    }

    // 2. Adapters.
    let words = words(&stem);
    if stem == "adapter_model"
        || file == "adapter_config.json"
        || fields
            .get("general.type")
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("adapter"))
        || (is_weights_format(format) && words.iter().any(|w| w == "lora"))
    {
        return ADAPTER;
    }

    // 3. Tokenizers and vocabularies.
    if TOKENIZER_FILES.contains(&file.as_str())
        || matches!(format, Format::TokenizerJson)
        || ext == "tiktoken"
        || in_tiktoken_cache(path)
        || (ext == "model" && stem.starts_with("sentencepiece"))
    {
        return TOKENIZER;
    }
    if stem == "vocab" || VOCAB_FILES.contains(&file.as_str()) {
        return VOCAB;
    }

    // 4. Prompts.
    if stem == "chat_template"
        || matches!(format, Format::Jinja | Format::Prompt)
        || PROMPT_EXTS.contains(&ext.as_str())
        || (in_dirs(PROMPT_DIRS)
            && (TEXT_EXTS.contains(&ext.as_str()) || matches!(format, Format::Json)))
    {
        return PROMPT;
    }

    // 5. Dataset manifests.
    if DATASET_MANIFESTS.contains(&file.as_str())
        || (file == "state.json" && dir.is_some_and(is_dataset_dir))
    {
        return DATASET_MANIFEST;
    }

    // 6. Configs.
    if TRAINING_FILES.contains(&file.as_str()) {
        return CONFIG;
    }
    let model_facts = fields.contains_key("model_type") || fields.contains_key("architectures");
    if MODEL_CONFIGS.contains(&file.as_str())
        || file.ends_with(".index.json")
        || (is_json && model_facts)
    {
        return MODEL_CONFIG;
    }
    if MAYBE_MODEL_CONFIGS.contains(&file.as_str()) {
        return if dir.is_some_and(is_model_dir) {
            MODEL_CONFIG
        } else {
            CONFIG
        };
    }

    // 7. Cards.
    if stem == "readme" && matches!(ext.as_str(), "md" | "markdown" | "") {
        let Some(d) = dir else { return CONFIG };
        let facts = DirFacts::of(d);
        return if facts.hf_dataset || (!facts.model() && facts.dataset()) {
            Kind::new(ty::DATASET, Some(role::CARD))
        } else if facts.model() {
            Kind::new(ty::MODEL, Some(role::CARD))
        } else {
            CONFIG
        };
    }

    // 8. By format, 9. NumPy, 10. by extension.
    let split = if is_split(path) {
        Some(role::SPLIT)
    } else {
        None
    };
    match format {
        Format::Npy | Format::Npz => numpy(path, &words, split),
        Format::Parquet | Format::Arrow | Format::Jsonl | Format::Csv | Format::Tar => {
            Kind::new(ty::DATASET, split)
        }
        Format::Pickle | Format::Zip if dir.is_some_and(is_dataset_dir) => {
            Kind::new(ty::DATASET, split)
        }
        f if is_weights_format(f) => WEIGHTS,
        _ => by_extension(path, &ext, &stem, &words, split),
    }
}

fn is_weights_format(format: Format) -> bool {
    matches!(
        format,
        Format::Safetensors
            | Format::Gguf
            | Format::Onnx
            | Format::PytorchZip
            | Format::Pickle
            | Format::Hdf5
            | Format::KerasZip
            | Format::Tflite
            | Format::Protobuf
    )
}

fn by_extension(
    path: &Path,
    ext: &str,
    stem: &str,
    words: &[String],
    split: Option<&'static str>,
) -> Kind {
    if ext == "npy" || ext == "npz" {
        return numpy(path, words, split);
    }
    if DATA_EXTS.contains(&ext) {
        return Kind::new(ty::DATASET, split);
    }
    if ext == "model" {
        // SentencePiece models are `*.model`; so are a few other things.
        let tok = ["sp", "spm", "bpe", "tokenizer", "sentencepiece", "vocab"];
        return if words.iter().any(|w| tok.contains(&w.as_str())) || stem.contains("spm") {
            TOKENIZER
        } else {
            WEIGHTS
        };
    }
    if WEIGHT_EXTS.contains(&ext) {
        return if (ext == "pkl" || ext == "pickle") && path.parent().is_some_and(is_dataset_dir) {
            Kind::new(ty::DATASET, split)
        } else {
            WEIGHTS
        };
    }
    CONFIG
}

/// NumPy arrays: embeddings, data or weights (see the module docs).
fn numpy(path: &Path, words: &[String], split: Option<&'static str>) -> Kind {
    let has = |ws: &[&str]| words.iter().any(|w| ws.contains(&w.as_str()));
    if has(&[
        "embedding",
        "embeddings",
        "embed",
        "embeds",
        "emb",
        "vectors",
        "vecs",
    ]) {
        return EMBEDDINGS;
    }
    let dir = path.parent();
    if split.is_some() || dir.is_some_and(is_dataset_dir) {
        return Kind::new(ty::DATASET, split);
    }
    if has(&["weights", "params", "checkpoint", "ckpt"]) || dir.is_some_and(is_model_dir) {
        return WEIGHTS;
    }
    Kind::new(ty::DATASET, None)
}

/// Lowercase words of a name, split on `-`, `_`, `.` and spaces.
fn words(s: &str) -> Vec<String> {
    s.split(['-', '_', '.', ' '])
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

fn is_split_word(w: &str) -> bool {
    SPLITS.contains(&w) || w.starts_with("eval")
}

/// Whether the file or its folder is named after a dataset split (`train-00000-of-00002`,
/// `squad-validation.arrow`, `train/data-00000-of-00001.arrow`, `eval_set.jsonl`).
fn is_split(path: &Path) -> bool {
    let stem = path.file_stem().and_then(OsStr::to_str).unwrap_or_default();
    let parent = path
        .parent()
        .and_then(Path::file_name)
        .and_then(OsStr::to_str)
        .unwrap_or_default();
    words(stem).iter().any(|w| is_split_word(w)) || is_split_word(&parent.to_ascii_lowercase())
}

/// A tiktoken cache blob (`data-gym-cache/SHA1`).
fn in_tiktoken_cache(path: &Path) -> bool {
    path.parent().and_then(Path::file_name) == Some(OsStr::new("data-gym-cache"))
}

/// Entries of a folder looked at to tell what it holds.
const DIR_ENTRIES_MAX: usize = 512;

/// What a folder holds, from its path and (bounded) listing.
#[derive(Debug, Default)]
struct DirFacts {
    hf_model: bool,
    hf_dataset: bool,
    named_dataset: bool,
    weights: bool,
    model_config: bool,
    data: bool,
    dataset_manifest: bool,
}

impl DirFacts {
    fn of(dir: &Path) -> DirFacts {
        let mut f = DirFacts::default();
        for c in dir.components() {
            let Component::Normal(s) = c else { continue };
            let Some(s) = s.to_str() else { continue };
            f.hf_model |= s.starts_with("models--") || s == "tfhub_modules";
            f.hf_dataset |= s.starts_with("datasets--");
            f.named_dataset |=
                s.eq_ignore_ascii_case("datasets") || s.eq_ignore_ascii_case("dataset");
        }
        let Ok(rd) = std::fs::read_dir(dir) else {
            return f;
        };
        for e in rd.take(DIR_ENTRIES_MAX).flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            let name = name.to_ascii_lowercase();
            let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
            if DATASET_MANIFESTS.contains(&name.as_str()) {
                f.dataset_manifest = true;
            } else if name == "adapter_config.json"
                || MODEL_CONFIGS.contains(&name.as_str())
                || TOKENIZER_FILES.contains(&name.as_str())
            {
                f.model_config = true;
            } else if WEIGHT_EXTS.contains(&ext) && ext != "pkl" && ext != "pickle" {
                f.weights = true;
            } else if DATA_EXTS.contains(&ext) {
                f.data = true;
            }
        }
        f
    }

    fn model(&self) -> bool {
        self.hf_model || self.weights || self.model_config
    }

    fn dataset(&self) -> bool {
        self.hf_dataset || self.named_dataset || self.data || self.dataset_manifest
    }
}

/// Whether `dir` holds a model: a Hugging Face model snapshot or TF-Hub module, or a folder
/// with weights, tokenizer files or model-only configs (`tokenizer_config.json`,
/// `generation_config.json`, …) in it (bounded listing). A bare `config.json` does not count:
/// every kind of app has one.
pub fn is_model_dir(dir: &Path) -> bool {
    let f = DirFacts::of(dir);
    f.model() && !f.hf_dataset
}

/// Whether `dir` holds a dataset: a Hugging Face dataset repo or Arrow cache, a folder named
/// `datasets`/`dataset` on the way (KaggleHub, Keras, `huggingface/datasets`), or one with a
/// dataset manifest (`dataset_info.json`, `dataset_dict.json`, …) in it.
pub fn is_dataset_dir(dir: &Path) -> bool {
    let f = DirFacts::of(dir);
    f.hf_dataset || f.named_dataset || f.dataset_manifest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(path: &Path, format: Format) -> (&'static str, Option<&'static str>) {
        let k = classify(path, format, &Fields::new());
        (k.artifact_type, k.role)
    }

    fn touch(dir: &Path, files: &[&str]) {
        for f in files {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
    }

    #[test]
    fn hugging_face_model_folder() {
        let t = tempfile::tempdir().unwrap();
        let m = t.path().join("tiny-bert");
        touch(
            &m,
            &[
                "model.safetensors",
                "config.json",
                "tokenizer.json",
                "tokenizer_config.json",
                "vocab.txt",
                "README.md",
                "special_tokens_map.json",
                "model.safetensors.index.json",
            ],
        );
        let w = (ty::MODEL, Some(role::WEIGHTS));
        assert_eq!(kind(&m.join("model.safetensors"), Format::Safetensors), w);
        assert_eq!(
            kind(&m.join("config.json"), Format::Json),
            (ty::MODEL, Some(role::CONFIG))
        );
        assert_eq!(
            kind(&m.join("tokenizer.json"), Format::Json),
            (ty::MODEL, Some(role::TOKENIZER))
        );
        assert_eq!(
            kind(&m.join("tokenizer_config.json"), Format::Json),
            (ty::MODEL, Some(role::CONFIG))
        );
        assert_eq!(
            kind(&m.join("special_tokens_map.json"), Format::Json),
            (ty::MODEL, Some(role::CONFIG))
        );
        assert_eq!(
            kind(&m.join("model.safetensors.index.json"), Format::Json),
            (ty::MODEL, Some(role::CONFIG))
        );
        assert_eq!(
            kind(&m.join("vocab.txt"), Format::Unknown),
            (ty::MODEL, Some(role::VOCAB))
        );
        assert_eq!(
            kind(&m.join("README.md"), Format::Unknown),
            (ty::MODEL, Some(role::CARD))
        );
    }

    #[test]
    fn config_json_alone_is_a_plain_config_unless_it_describes_a_model() {
        let t = tempfile::tempdir().unwrap();
        touch(t.path(), &["config.json", "README.md", "app.yaml"]);
        assert_eq!(
            kind(&t.path().join("config.json"), Format::Json),
            (ty::CONFIG, None)
        );
        assert_eq!(
            kind(&t.path().join("README.md"), Format::Unknown),
            (ty::CONFIG, None)
        );
        assert_eq!(
            kind(&t.path().join("app.yaml"), Format::Unknown),
            (ty::CONFIG, None)
        );
        let mut f = Fields::new();
        f.insert("model_type".into(), "bert".into());
        assert_eq!(
            classify(&t.path().join("config.json"), Format::Json, &f),
            MODEL_CONFIG
        );
        // In a hub snapshot the listing is not needed.
        let p = Path::new("/c/hub/models--o--n/snapshots/abc/config.json");
        assert_eq!(kind(p, Format::Json), (ty::MODEL, Some(role::CONFIG)));
    }

    #[test]
    fn weights_by_format_and_by_extension() {
        for (name, format) in [
            ("m.gguf", Format::Gguf),
            ("m.onnx", Format::Onnx),
            ("pytorch_model.bin", Format::PytorchZip),
            ("legacy.pt", Format::Pickle),
            ("tf_model.h5", Format::Hdf5),
            ("m.keras", Format::KerasZip),
            ("m.tflite", Format::Tflite),
            ("saved_model.pb", Format::Protobuf),
            ("truncated.safetensors", Format::Unknown),
            ("m.ckpt", Format::Unknown),
        ] {
            assert_eq!(
                kind(&Path::new("/srv/m").join(name), format),
                (ty::MODEL, Some(role::WEIGHTS)),
                "{name}"
            );
        }
        assert_eq!(
            kind(Path::new("/srv/m/training_args.bin"), Format::Pickle),
            (ty::CONFIG, None)
        );
    }

    #[test]
    fn adapters() {
        assert_eq!(
            kind(
                Path::new("/l/adapter_model.safetensors"),
                Format::Safetensors
            ),
            (ty::MODEL, Some(role::ADAPTER))
        );
        assert_eq!(
            kind(Path::new("/l/adapter_config.json"), Format::Json),
            (ty::MODEL, Some(role::ADAPTER))
        );
        assert_eq!(
            kind(
                Path::new("/l/pytorch_lora_weights.safetensors"),
                Format::Safetensors
            ),
            (ty::MODEL, Some(role::ADAPTER))
        );
        let mut f = Fields::new();
        f.insert("general.type".into(), "adapter".into());
        assert_eq!(classify(Path::new("/l/x.gguf"), Format::Gguf, &f), ADAPTER);
    }

    #[test]
    fn tokenizers() {
        for p in [
            "/m/tokenizer.model",
            "/m/spiece.model",
            "/m/sentencepiece.bpe.model",
            "/m/qwen.tiktoken",
            "/tmp/data-gym-cache/9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
        ] {
            assert_eq!(
                kind(Path::new(p), Format::Unknown),
                (ty::MODEL, Some(role::TOKENIZER)),
                "{p}"
            );
        }
        assert_eq!(
            kind(Path::new("/m/whatever.json"), Format::TokenizerJson),
            (ty::MODEL, Some(role::TOKENIZER))
        );
        assert_eq!(
            kind(Path::new("/m/merges.txt"), Format::Unknown),
            (ty::MODEL, Some(role::VOCAB))
        );
        assert_eq!(
            kind(Path::new("/m/vocab.json"), Format::Json),
            (ty::MODEL, Some(role::VOCAB))
        );
    }

    #[test]
    fn datasets_and_splits() {
        let split = (ty::DATASET, Some(role::SPLIT));
        assert_eq!(
            kind(Path::new("/tmp/x/data/train.parquet"), Format::Parquet),
            split
        );
        assert_eq!(
            kind(Path::new("/tmp/x/data/eval.jsonl"), Format::Jsonl),
            split
        );
        assert_eq!(
            kind(
                Path::new("/d/train-00000-of-00002.parquet"),
                Format::Parquet
            ),
            split
        );
        assert_eq!(
            kind(Path::new("/d/squad-validation.arrow"), Format::Arrow),
            split
        );
        assert_eq!(
            kind(
                Path::new("/d/train/data-00000-of-00001.arrow"),
                Format::Arrow
            ),
            split
        );
        assert_eq!(kind(Path::new("/d/eval_set.csv"), Format::Csv), split);
        assert_eq!(
            kind(Path::new("/d/customers.csv"), Format::Csv),
            (ty::DATASET, None)
        );
        assert_eq!(
            kind(Path::new("/d/contest.tsv"), Format::Unknown),
            (ty::DATASET, None)
        );
        assert_eq!(
            kind(Path::new("/d/dataset_dict.json"), Format::Json),
            (ty::DATASET, Some(role::MANIFEST))
        );
        assert_eq!(
            kind(Path::new("/d/dataset_infos.json"), Format::Json),
            (ty::DATASET, Some(role::MANIFEST))
        );
        let p = Path::new("/h/.cache/huggingface/datasets/o___n/default/0.0.0/abc/state.json");
        assert_eq!(kind(p, Format::Json), (ty::DATASET, Some(role::MANIFEST)));
    }

    #[test]
    fn dataset_card_and_pickles_in_dataset_folders() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("my-corpus");
        touch(&d, &["README.md", "part-0.parquet", "frame.pkl"]);
        assert_eq!(
            kind(&d.join("README.md"), Format::Unknown),
            (ty::DATASET, Some(role::CARD))
        );
        let p = Path::new("/c/hub/datasets--o--n/snapshots/abc/README.md");
        assert_eq!(kind(p, Format::Unknown), (ty::DATASET, Some(role::CARD)));
        let k = Path::new("/h/.cache/kagglehub/datasets/o/d/versions/1/frame.pkl");
        assert_eq!(kind(k, Format::Pickle), (ty::DATASET, None));
        assert_eq!(
            kind(Path::new("/srv/m/model.pkl"), Format::Pickle),
            (ty::MODEL, Some(role::WEIGHTS))
        );
    }

    #[test]
    fn numpy_arrays() {
        assert_eq!(
            kind(Path::new("/a/doc_embeddings.npy"), Format::Npy),
            (ty::MODEL, Some(role::EMBEDDINGS))
        );
        assert_eq!(
            kind(Path::new("/a/vectors.npz"), Format::Npz),
            (ty::MODEL, Some(role::EMBEDDINGS))
        );
        assert_eq!(
            kind(Path::new("/home/u/.keras/datasets/mnist.npz"), Format::Npz),
            (ty::DATASET, None)
        );
        assert_eq!(
            kind(Path::new("/a/x_train.npy"), Format::Npy),
            (ty::DATASET, Some(role::SPLIT))
        );
        assert_eq!(
            kind(Path::new("/a/ViT-B_16-params.npz"), Format::Npz),
            (ty::MODEL, Some(role::WEIGHTS))
        );
        assert_eq!(
            kind(Path::new("/a/features.npy"), Format::Npy),
            (ty::DATASET, None)
        );
        let t = tempfile::tempdir().unwrap();
        // Normalization statistics shipped beside an exported model.
        touch(t.path(), &["model.onnx", "mean.npy"]);
        assert_eq!(
            kind(&t.path().join("mean.npy"), Format::Npy),
            (ty::MODEL, Some(role::WEIGHTS))
        );
    }

    #[test]
    fn prompts() {
        let tpl = (ty::PROMPT, Some(role::TEMPLATE));
        assert_eq!(
            kind(Path::new("/m/chat_template.jinja"), Format::Jinja),
            tpl
        );
        assert_eq!(kind(Path::new("/m/chat_template.json"), Format::Json), tpl);
        assert_eq!(kind(Path::new("/app/system.prompt"), Format::Unknown), tpl);
        assert_eq!(kind(Path::new("/app/rag.j2"), Format::Unknown), tpl);
        assert_eq!(
            kind(Path::new("/app/prompts/summarize.txt"), Format::Unknown),
            tpl
        );
        assert_eq!(
            kind(
                Path::new("/app/prompts/agents/planner.yaml"),
                Format::Unknown
            ),
            tpl
        );
        assert_eq!(kind(Path::new("/app/anything.md"), Format::Prompt), tpl);
    }

    #[test]
    fn tools() {
        let tool = (ty::TOOL, Some(role::MANIFEST));
        for p in [
            "/home/u/.cursor/mcp.json",
            "/repo/.mcp.json",
            "/home/u/.config/Claude/claude_desktop_config.json",
            "/srv/app/.well-known/ai-plugin.json",
            "/srv/app/.well-known/openapi.yaml",
            "/srv/agent/tools/search.json",
            "/srv/agent/tools/weather/schema.yml",
        ] {
            assert_eq!(kind(Path::new(p), Format::Json), tool, "{p}");
        }
        let mut f = Fields::new();
        f.insert("mcp_servers".into(), "2".into());
        assert_eq!(
            classify(Path::new("/home/u/.claude.json"), Format::Json, &f),
            TOOL
        );
        // Only the nearest folders count: a repo checked out under ~/tools is not a tool spec.
        assert_eq!(
            kind(
                Path::new("/home/u/tools/proj/app/settings.json"),
                Format::Json
            ),
            (ty::CONFIG, None)
        );
        // A model shipped inside a tools folder is still a model.
        assert_eq!(
            kind(Path::new("/srv/agent/tools/m.onnx"), Format::Onnx),
            (ty::MODEL, Some(role::WEIGHTS))
        );
    }

    #[test]
    fn dir_helpers() {
        let t = tempfile::tempdir().unwrap();
        assert!(!is_model_dir(t.path()));
        assert!(!is_dataset_dir(t.path()));
        touch(t.path(), &["dataset_info.json"]);
        assert!(is_dataset_dir(t.path()));
        touch(t.path(), &["model.gguf"]);
        assert!(is_model_dir(t.path()));
        assert!(is_dataset_dir(Path::new("/x/datasets--o--n/snapshots/abc")));
        assert!(!is_model_dir(Path::new("/x/datasets--o--n/snapshots/abc")));
        assert!(is_model_dir(Path::new("/x/models--o--n/snapshots/abc")));
        assert!(!is_dataset_dir(Path::new("/nonexistent/models")));
    }
}
