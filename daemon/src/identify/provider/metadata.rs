//! Origins from header metadata (GGUF `general.*`) and from hub URLs.
use aibom_semconv::provider;

use super::huggingface::parse_hf_repo_ref;
use super::{field, google, huggingface, Origin};
use crate::identify::format::Fields;

/// An origin from a hub URL: Hugging Face (`/ORG/NAME`, `/datasets/…`, `/spaces/…`, with an
/// optional `/tree|resolve|blob|commit/REV`), Kaggle models and datasets, TF-Hub handles.
pub(super) fn origin_from_url(url: &str) -> Option<Origin> {
    let u = super::url::parse(url)?;
    huggingface::from_url(&u).or_else(|| google::from_url(&u))
}

/// GGUF header metadata.
pub(super) fn from_metadata(fields: &Fields) -> Option<Origin> {
    let url = ["general.source.url", "general.url"]
        .iter()
        .find_map(|k| field(fields, k));
    let gguf_name = field(fields, "general.name");
    if let Some(mut o) =
        field(fields, "general.source.huggingface.repository").and_then(parse_hf_repo_ref)
    {
        if let Some(u) = url.filter(|u| u.contains("huggingface.co") || u.contains("hf.co")) {
            o.source_url = Some(u.to_string());
        }
        return Some(o);
    }
    if let Some(o) = url.and_then(origin_from_url) {
        return Some(o);
    }
    let org = field(fields, "general.organization").map(str::to_ascii_lowercase);
    let arch = field(fields, "general.architecture").map(str::to_ascii_lowercase);
    let provider = match org.as_deref() {
        Some(o) if o.contains("google") || o.contains("deepmind") => provider::GOOGLE,
        Some(o) if o.contains("openai") => provider::OPENAI,
        _ if arch.as_deref().is_some_and(|a| a.contains("gemma")) => provider::GOOGLE,
        _ => return None,
    };
    let mut o = Origin::new(provider);
    o.name = gguf_name.map(str::to_string);
    o.revision = field(fields, "general.version").map(str::to_string);
    o.source_url = url
        .or_else(|| field(fields, "general.repo_url"))
        .map(str::to_string);
    Some(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    use super::super::origin;
    use super::super::tests::env;

    #[test]
    fn gguf_metadata_beats_a_local_path() {
        let p = Path::new("/srv/models/llama-3-8b.Q4_K_M.gguf");
        let mut f = Fields::new();
        f.insert("general.name".into(), "Llama 3 8B Instruct".into());
        f.insert(
            "general.source.huggingface.repository".into(),
            "meta-llama/Meta-Llama-3-8B-Instruct".into(),
        );
        let o = origin(p, p, &f, &env());
        assert_eq!(o.provider, provider::HUGGINGFACE);
        assert_eq!(
            o.name.as_deref(),
            Some("meta-llama/Meta-Llama-3-8B-Instruct")
        );
        assert_eq!(
            o.id.as_deref(),
            Some("pkg:huggingface/meta-llama/Meta-Llama-3-8B-Instruct")
        );
        assert_eq!(o.repo_root.as_deref(), Some(Path::new("/srv/models")));

        let mut f = Fields::new();
        f.insert("general.organization".into(), "Google".into());
        f.insert("general.name".into(), "Gemma 2 9b It".into());
        f.insert("general.url".into(), "https://ai.google.dev/gemma".into());
        let o = origin(
            Path::new("/srv/m/x.gguf"),
            Path::new("/srv/m/x.gguf"),
            &f,
            &env(),
        );
        assert_eq!(o.provider, provider::GOOGLE);
        assert_eq!(o.name.as_deref(), Some("Gemma 2 9b It"));
        assert_eq!(o.source_url.as_deref(), Some("https://ai.google.dev/gemma"));

        let mut f = Fields::new();
        f.insert(
            "general.source.url".into(),
            "https://huggingface.co/Qwen/Qwen2-7B/tree/main".into(),
        );
        let o = origin(
            Path::new("/srv/m/q.gguf"),
            Path::new("/srv/m/q.gguf"),
            &f,
            &env(),
        );
        assert_eq!(o.name.as_deref(), Some("Qwen/Qwen2-7B"));
    }
}
