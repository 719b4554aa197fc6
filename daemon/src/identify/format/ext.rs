//! What a file's name claims: extension → [`Format`], and which sniffed formats a claim
//! tolerates before it counts as a mismatch.
use super::Format;

/// The format a file name (or path) claims by its extension, case-insensitively.
///
/// `tokenizer.json` claims [`Format::TokenizerJson`]; `.txt`/`.md` claim
/// [`Format::Prompt`] inside a `prompts/` (or `prompt/`) folder, which needs a path
/// rather than a bare name; elsewhere `.md` claims [`Format::Markdown`]. PyTorch extensions (`.pt`, `.pth`, `.bin`, `.ckpt`) claim
/// [`Format::PytorchZip`]; a bare pickle is also accepted for them (see [`compatible`]).
pub fn from_extension(file_name: &str) -> Option<Format> {
    let (dir, base) = match file_name.rsplit_once('/') {
        Some((dir, base)) => (dir, base),
        None => ("", file_name),
    };
    let base = base.to_ascii_lowercase();
    if base == "tokenizer.json" {
        return Some(Format::TokenizerJson);
    }
    let (_, ext) = base.rsplit_once('.')?;
    Some(match ext {
        "safetensors" => Format::Safetensors,
        "gguf" => Format::Gguf,
        "onnx" => Format::Onnx,
        "pt" | "pth" | "bin" | "ckpt" => Format::PytorchZip,
        "pkl" | "pickle" | "joblib" => Format::Pickle,
        "h5" | "hdf5" => Format::Hdf5,
        "keras" => Format::KerasZip,
        "tflite" => Format::Tflite,
        "npy" => Format::Npy,
        "npz" => Format::Npz,
        "parquet" => Format::Parquet,
        "arrow" | "feather" | "ipc" => Format::Arrow,
        "jsonl" | "ndjson" => Format::Jsonl,
        "csv" | "tsv" => Format::Csv,
        "jinja" | "jinja2" | "j2" => Format::Jinja,
        "prompt" => Format::Prompt,
        "json" => Format::Json,
        "pb" => Format::Protobuf,
        "zip" => Format::Zip,
        "tar" => Format::Tar,
        "txt" | "md" if in_prompts_dir(dir) => Format::Prompt,
        "md" | "markdown" => Format::Markdown,
        _ => return None,
    })
}

/// Whether the last folder of `dir` is `prompts` or `prompt`.
fn in_prompts_dir(dir: &str) -> bool {
    let last = dir.rsplit('/').next().unwrap_or("");
    last.eq_ignore_ascii_case("prompts") || last.eq_ignore_ascii_case("prompt")
}

/// Whether content sniffed as `sniffed` is consistent with a name claiming `claimed`.
///
/// [`Format::Unknown`] never contradicts a claim (nothing known was found). PyTorch
/// extensions accept zip or pickle; JSON and tokenizer JSON accept each other; `.pb`
/// accepts ONNX (itself a protobuf); prompt and Jinja names accept each other.
pub(crate) fn compatible(claimed: Format, sniffed: Format) -> bool {
    use Format::*;
    claimed == sniffed
        || sniffed == Unknown
        || matches!(
            (claimed, sniffed),
            (PytorchZip, Pickle)
                | (Json | TokenizerJson, Json | TokenizerJson)
                | (Protobuf, Onnx)
                | (Prompt | Jinja, Prompt | Jinja)
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions() {
        let cases = [
            ("m.safetensors", Some(Format::Safetensors)),
            ("M.GGUF", Some(Format::Gguf)),
            ("model.onnx", Some(Format::Onnx)),
            ("pytorch_model.bin", Some(Format::PytorchZip)),
            ("a.pth", Some(Format::PytorchZip)),
            ("last.ckpt", Some(Format::PytorchZip)),
            ("x.pkl", Some(Format::Pickle)),
            ("w.h5", Some(Format::Hdf5)),
            ("m.keras", Some(Format::KerasZip)),
            ("m.tflite", Some(Format::Tflite)),
            ("a.npy", Some(Format::Npy)),
            ("a.npz", Some(Format::Npz)),
            ("d.parquet", Some(Format::Parquet)),
            ("d.feather", Some(Format::Arrow)),
            ("d.jsonl", Some(Format::Jsonl)),
            ("d.tsv", Some(Format::Csv)),
            ("t.j2", Some(Format::Jinja)),
            ("sys.prompt", Some(Format::Prompt)),
            ("/x/tokenizer.json", Some(Format::TokenizerJson)),
            ("config.json", Some(Format::Json)),
            ("saved_model.pb", Some(Format::Protobuf)),
            ("/app/prompts/system.txt", Some(Format::Prompt)),
            ("/app/docs/readme.txt", None),
            ("notes.txt", None),
            ("Makefile", None),
            ("", None),
        ];
        for (name, want) in cases {
            assert_eq!(from_extension(name), want, "{name}");
        }
    }

    #[test]
    fn compatibility() {
        assert!(compatible(Format::PytorchZip, Format::Pickle));
        assert!(compatible(Format::Json, Format::TokenizerJson));
        assert!(compatible(Format::Safetensors, Format::Unknown));
        assert!(!compatible(Format::Safetensors, Format::Pickle));
        assert!(!compatible(Format::PytorchZip, Format::Safetensors));
    }
}
