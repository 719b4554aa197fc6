//! Origins from header metadata (GGUF `general.*`) and from hub URLs.
use aibom_semconv::provider;

use super::google::{kaggle_dataset, kaggle_model};
use super::huggingface::{hf_origin, parse_hf_repo_ref, HfKind};
use super::purl::generic_purl;
use super::{field, is_hex, Origin};
use crate::identify::format::Fields;

/// An origin from a hub URL: Hugging Face (`/ORG/NAME`, `/datasets/…`, `/spaces/…`, with an
/// optional `/tree|resolve|blob|commit/REV`), Kaggle models and datasets, TF-Hub handles.
pub(super) fn origin_from_url(url: &str) -> Option<Origin> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match host.as_str() {
        "huggingface.co" | "www.huggingface.co" | "hf.co" => {
            let (kind, segs) = match segs.first().copied() {
                Some("datasets") => (HfKind::Dataset, &segs[1..]),
                Some("spaces") => (HfKind::Space, &segs[1..]),
                Some(
                    "docs" | "blog" | "models" | "api" | "settings" | "papers" | "organizations",
                ) => return None,
                _ => (HfKind::Model, &segs[..]),
            };
            let rev_at = segs
                .iter()
                .position(|s| matches!(*s, "tree" | "resolve" | "blob" | "commit"));
            let repo = &segs[..rev_at.unwrap_or(segs.len())];
            let revision = rev_at
                .and_then(|i| segs.get(i + 1))
                .filter(|r| is_hex(r, 40))
                .map(|r| r.to_string());
            let mut o = match repo {
                [org, name] => hf_origin(kind, Some(org), name, revision, None),
                [name] if kind == HfKind::Model => hf_origin(kind, None, name, revision, None),
                _ => return None,
            };
            o.source_url = Some(url.to_string());
            Some(o)
        }
        "kaggle.com" | "www.kaggle.com" => {
            let mut o = match segs.as_slice() {
                ["models", owner, model, fw, var, ver, ..]
                    if ver.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    kaggle_model(owner, model, fw, var, Some(*ver))
                }
                ["models", owner, model, fw, var, ..] => kaggle_model(owner, model, fw, var, None),
                ["datasets", owner, ds, "versions", ver, ..] => {
                    kaggle_dataset(owner, ds, Some(*ver))
                }
                ["datasets", owner, ds, ..] => kaggle_dataset(owner, ds, None),
                _ => return None,
            };
            o.source_url = Some(url.to_string());
            Some(o)
        }
        "tfhub.dev" | "www.tfhub.dev" => {
            let (handle, version) = match segs.split_last() {
                Some((last, head))
                    if !head.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    (head.join("/"), Some(*last))
                }
                _ if !segs.is_empty() => (segs.join("/"), None),
                _ => return None,
            };
            let mut o = Origin::new(provider::GOOGLE);
            o.id = Some(generic_purl(provider::GOOGLE, "tfhub", &handle, version));
            o.revision = version.map(str::to_string);
            o.name = Some(handle);
            o.source_url = Some(url.to_string());
            Some(o)
        }
        _ => None,
    }
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
