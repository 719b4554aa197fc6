//! Format sniffing: what a file is, from its first bytes, not its name.
//!
//! Every parser reads only headers, with hard caps, and never panics on hostile input.
//! Owned by: header parsers (one module per format family).
//!
//! Entry points: [`sniff`] (a path), [`sniff_reader`] (any `Read + Seek`), [`sniff_bytes`]
//! (a byte slice, for tests and fuzzing). Each parser module also has a `parse_bytes`
//! that runs that parser alone.

pub mod binary;
mod detect;
pub mod ext;
#[cfg(test)]
mod fixtures_test;
pub mod gguf;
pub(crate) mod io;
pub mod json;
pub mod npy;
pub mod onnx;
mod proto;
pub mod safetensors;
pub mod template;
pub mod text;
pub mod tflite;
pub mod zip;

pub use detect::{sniff, sniff_as, sniff_bytes, sniff_reader};
pub use ext::from_extension;
pub use template::{template_field, text_sha256};

/// A file format aibomd recognizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Safetensors,
    Gguf,
    Onnx,
    /// PyTorch zip archive (`PK` + `*/data.pkl`).
    PytorchZip,
    /// A bare Python pickle (legacy `torch.save`, joblib, ...).
    Pickle,
    /// HDF5 (Keras `.h5`).
    Hdf5,
    /// Keras v3 zip archive (`.keras`).
    KerasZip,
    Tflite,
    Npy,
    Npz,
    Parquet,
    /// Arrow IPC file or stream.
    Arrow,
    Jsonl,
    Csv,
    /// A Jinja template.
    Jinja,
    /// A plain-text prompt.
    Prompt,
    /// Markdown (model and dataset cards, with or without YAML front matter).
    Markdown,
    /// Hugging Face `tokenizers` JSON.
    TokenizerJson,
    /// Other JSON (configs, tool manifests).
    Json,
    /// TensorFlow protobuf (`.pb`, SavedModel).
    Protobuf,
    /// A generic zip archive.
    Zip,
    /// A POSIX tar archive (`ustar` at offset 257): WebDataset shards.
    Tar,
    Unknown,
}

impl Format {
    /// The stable lowercase name (`"safetensors"`, `"tokenizer.json"`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Format::Safetensors => "safetensors",
            Format::Gguf => "gguf",
            Format::Onnx => "onnx",
            Format::PytorchZip => "pytorch",
            Format::Pickle => "pickle",
            Format::Hdf5 => "hdf5",
            Format::KerasZip => "keras",
            Format::Tflite => "tflite",
            Format::Npy => "npy",
            Format::Npz => "npz",
            Format::Parquet => "parquet",
            Format::Arrow => "arrow",
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Jinja => "jinja",
            Format::Prompt => "prompt",
            Format::Markdown => "markdown",
            Format::TokenizerJson => "tokenizer.json",
            Format::Json => "json",
            Format::Protobuf => "protobuf",
            Format::Zip => "zip",
            Format::Tar => "tar",
            Format::Unknown => "unknown",
        }
    }

    /// Whether the format is text (sniffed from a UTF-8 head).
    pub fn is_text(&self) -> bool {
        matches!(
            self,
            Format::Jsonl
                | Format::Csv
                | Format::Jinja
                | Format::Prompt
                | Format::Markdown
                | Format::TokenizerJson
                | Format::Json
        )
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Header facts, by well-known key (`name`, `organization`, `license`, `url`,
/// `source.huggingface.repository`, `architecture`, `version`, `producer`, `opset`, ...).
pub type Fields = std::collections::BTreeMap<String, String>;

/// The result of sniffing one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Sniffed {
    pub format: Format,
    /// Facts read from the header.
    pub fields: Fields,
    /// The format the extension claims, when the header says otherwise.
    pub mismatch: Option<Format>,
    /// Why the header could not be read fully (the format may still be known).
    pub error: Option<String>,
}

impl Sniffed {
    /// A result with no fields and no error.
    pub fn new(format: Format) -> Self {
        Sniffed {
            format,
            fields: Fields::new(),
            mismatch: None,
            error: None,
        }
    }

    /// A result with an error and no fields.
    pub fn failed(format: Format, error: impl Into<String>) -> Self {
        Sniffed {
            error: Some(error.into()),
            ..Sniffed::new(format)
        }
    }

    /// Sets the error unless one is already recorded (the first cause wins).
    pub(crate) fn set_error(&mut self, error: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(error.into());
        }
    }
}

/// At most this many fields per file.
const MAX_FIELDS: usize = 256;
/// Field keys are cut to this many bytes.
const MAX_KEY: usize = 256;
/// Field values are cut to this many bytes.
const MAX_VALUE: usize = 4096;

/// Inserts a field, cutting the key and value to bounded sizes (on a char boundary)
/// and dropping it once the file already has [`MAX_FIELDS`] fields.
pub(crate) fn put(fields: &mut Fields, key: &str, value: &str) {
    if fields.len() >= MAX_FIELDS && !fields.contains_key(key) {
        return;
    }
    fields.insert(
        cut(key, MAX_KEY).to_owned(),
        cut(value, MAX_VALUE).to_owned(),
    );
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercase_and_distinct() {
        let all = [
            Format::Safetensors,
            Format::Gguf,
            Format::Onnx,
            Format::PytorchZip,
            Format::Pickle,
            Format::Hdf5,
            Format::KerasZip,
            Format::Tflite,
            Format::Npy,
            Format::Npz,
            Format::Parquet,
            Format::Arrow,
            Format::Jsonl,
            Format::Csv,
            Format::Jinja,
            Format::Prompt,
            Format::Markdown,
            Format::TokenizerJson,
            Format::Json,
            Format::Protobuf,
            Format::Zip,
            Format::Unknown,
        ];
        let names: std::collections::HashSet<_> = all.iter().map(|f| f.as_str()).collect();
        assert_eq!(names.len(), all.len());
        assert!(names.iter().all(|n| n.to_lowercase() == *n));
        assert_eq!(Format::PytorchZip.to_string(), "pytorch");
    }

    #[test]
    fn put_cuts_on_char_boundary() {
        let mut f = Fields::new();
        let long = "é".repeat(MAX_VALUE);
        put(&mut f, "k", &long);
        assert!(f["k"].len() <= MAX_VALUE);
        assert!(f["k"].chars().all(|c| c == 'é'));
        for i in 0..MAX_FIELDS + 10 {
            put(&mut f, &format!("x{i}"), "v");
        }
        assert_eq!(f.len(), MAX_FIELDS);
    }
}
