//! OpenAI: the tiktoken and Whisper caches, and their files by well-known name.
use std::ffi::OsStr;
use std::path::Path;

use aibom_semconv::provider;

use super::purl::generic_purl;
use super::{HubEnv, Origin};

/// tiktoken's cache key (sha1 of the blob URL) → (encoding, URL).
const TIKTOKEN_BLOBS: &[(&str, &str, &str)] = &[
    (
        "0ea1e91bbb3a60f729a8dc8f777fd2fc07cd8df4",
        "r50k_base",
        "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken",
    ),
    (
        "ec7223a39ce59f226a68acc30dc1af2788490e15",
        "p50k_base",
        "https://openaipublic.blob.core.windows.net/encodings/p50k_base.tiktoken",
    ),
    (
        "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
        "cl100k_base",
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    ),
    (
        "fb374d419588a4632f3f557e76b4b70aebbca790",
        "o200k_base",
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    ),
    (
        "6d1cbeee0f20b3d9449abfede4726ed8212e3aee",
        "gpt2",
        "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe",
    ),
    (
        "6c7ea1a7e38e3a7f062df639a5b80947f075ffe6",
        "gpt2",
        "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json",
    ),
];

/// Whisper checkpoint names (`whisper.load_model`'s file stems).
const WHISPER_MODELS: &[&str] = &[
    "tiny.en",
    "tiny",
    "base.en",
    "base",
    "small.en",
    "small",
    "medium.en",
    "medium",
    "large-v1",
    "large-v2",
    "large-v3",
    "large-v3-turbo",
];

fn tiktoken_origin(encoding: Option<&str>, url: Option<&str>) -> Origin {
    let mut o = Origin::new(provider::OPENAI);
    if let Some(enc) = encoding {
        o.name = Some(format!("tiktoken/{enc}"));
        o.id = Some(generic_purl(provider::OPENAI, "tiktoken", enc, None));
    }
    o.source_url = url.map(str::to_string);
    o
}

/// A file in a tiktoken cache dir, named by the sha1 of its URL (temp files add `.UUID.tmp`).
pub(super) fn tiktoken_cache(p: &Path, env: &HubEnv) -> Option<Origin> {
    let parent = p.parent()?;
    let in_cache = parent.file_name() == Some(OsStr::new("data-gym-cache"))
        || env.tiktoken_caches().iter().any(|r| r == parent);
    if !in_cache {
        return None;
    }
    let file = p.file_name()?.to_str().unwrap_or_default();
    let key = file.split('.').next().unwrap_or_default();
    match TIKTOKEN_BLOBS.iter().find(|(k, _, _)| *k == key) {
        Some((_, enc, url)) => Some(tiktoken_origin(Some(enc), Some(url))),
        None => Some(tiktoken_origin(None, None)),
    }
}

fn whisper_origin(model: &str) -> Origin {
    let mut o = Origin::new(provider::OPENAI);
    o.name = Some(format!("whisper/{model}"));
    o.id = Some(generic_purl(provider::OPENAI, "whisper", model, None));
    o.source_url = Some("https://github.com/openai/whisper".to_string());
    o
}

/// `~/.cache/whisper/NAME.pt` (or `$XDG_CACHE_HOME/whisper`).
pub(super) fn whisper_cache(p: &Path, env: &HubEnv) -> Option<Origin> {
    let parent = p.parent()?;
    let by_shape = parent.file_name() == Some(OsStr::new("whisper"))
        && parent.parent().and_then(Path::file_name) == Some(OsStr::new(".cache"));
    if !by_shape && !env.whisper_caches().iter().any(|r| r == parent) {
        return None;
    }
    let file = p.file_name()?.to_str()?;
    let stem = file.strip_suffix(".pt")?;
    Some(whisper_origin(stem))
}

/// Well-known file names outside any cache.
pub(super) fn by_known_name(p: &Path) -> Option<Origin> {
    let file = p.file_name()?.to_str()?;
    if let Some(enc) = file.strip_suffix(".tiktoken") {
        if let Some((_, enc, url)) = TIKTOKEN_BLOBS.iter().find(|(_, e, _)| *e == enc) {
            return Some(tiktoken_origin(Some(enc), Some(url)));
        }
    }
    if let Some(model) = file.strip_suffix(".pt") {
        let in_whisper_dir = p.parent().and_then(Path::file_name) == Some(OsStr::new("whisper"));
        if in_whisper_dir && WHISPER_MODELS.contains(&model) {
            return Some(whisper_origin(model));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::origin;
    use super::super::tests::none;

    #[test]
    fn tiktoken_cache_by_url_hash() {
        let t = tempfile::tempdir().unwrap();
        let env =
            HubEnv::from_environ(format!("TIKTOKEN_CACHE_DIR={}\0", t.path().display()).as_bytes());
        let p = t.path().join("9b5ad71b2ce5302211f9c61530b329a4922fc6a4");
        let o = origin(&p, &p, &none(), &env);
        assert_eq!(o.provider, provider::OPENAI);
        assert_eq!(o.name.as_deref(), Some("tiktoken/cl100k_base"));
        assert_eq!(
            o.id.as_deref(),
            Some("pkg:generic/openai/tiktoken/cl100k_base")
        );
        assert_eq!(
            o.source_url.as_deref(),
            Some("https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken")
        );
        // The default location, by shape, with no environment at all.
        let p = Path::new("/tmp/data-gym-cache/fb374d419588a4632f3f557e76b4b70aebbca790");
        let o = origin(p, p, &none(), &HubEnv::default());
        assert_eq!(o.name.as_deref(), Some("tiktoken/o200k_base"));
        // An encoding file by its well-known name, e.g. vendored in an app.
        let p = Path::new("/srv/app/assets/cl100k_base.tiktoken");
        let o = origin(p, p, &none(), &HubEnv::default());
        assert_eq!(o.provider, provider::OPENAI);
        assert_eq!(o.name.as_deref(), Some("tiktoken/cl100k_base"));
        // An unknown blob in the cache is still OpenAI's tokenizer cache.
        let p = Path::new("/tmp/data-gym-cache/1234");
        assert_eq!(
            origin(p, p, &none(), &HubEnv::default()).provider,
            provider::OPENAI
        );
    }

    #[test]
    fn whisper_cache() {
        let e = HubEnv::from_environ(b"HOME=/home/u\0");
        let p = Path::new("/home/u/.cache/whisper/base.en.pt");
        let o = origin(p, p, &none(), &e);
        assert_eq!(o.provider, provider::OPENAI);
        assert_eq!(o.name.as_deref(), Some("whisper/base.en"));
        assert_eq!(o.id.as_deref(), Some("pkg:generic/openai/whisper/base.en"));
        let e = HubEnv::from_environ(b"XDG_CACHE_HOME=/var/xdg\0");
        let p = Path::new("/var/xdg/whisper/large-v3.pt");
        assert_eq!(
            origin(p, p, &none(), &e).name.as_deref(),
            Some("whisper/large-v3")
        );
    }
}
