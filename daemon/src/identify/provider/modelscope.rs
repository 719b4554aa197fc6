//! The ModelScope hub cache: `ROOT/hub/models/ORG/NAME/…` and `ROOT/hub/datasets/ORG/NAME/…`
//! (`modelscope` ≥ 1.20), and the older `ROOT/hub/ORG/NAME/…`.
//!
//! `ROOT` is `$MODELSCOPE_CACHE` (older releases pointed it at the `hub` folder itself) or
//! `~/.cache/modelscope`. ModelScope writes a `.` of a repo name as `___` in the folder name
//! (`Qwen2___5-0___5B-Instruct`), which is undone here. The cache keeps no commit beside
//! the files that aibomd could trust, so there is no revision. Ids:
//! `pkg:generic/modelscope/modelscope.cn/ORG/NAME` and
//! `pkg:generic/modelscope/modelscope.cn/datasets/ORG/NAME`.
use std::path::Path;

use aibom_semconv::provider;

use super::purl::generic_purl;
use super::{after_seq, inside, plain_comps, prefix, HubEnv, Origin};

const HUB: &str = "modelscope.cn";

/// The origin of `p` when it lies in a ModelScope cache.
pub(super) fn modelscope(p: &Path, env: &HubEnv) -> Option<Origin> {
    let c = plain_comps(p)?;
    let n = match after_seq(&c, &["modelscope", "hub"]) {
        Some(n) => n,
        None => {
            let r = env.modelscope_cache.as_deref().and_then(|r| inside(p, r))?;
            r + usize::from(c.get(r) == Some(&Some("hub")))
        }
    };
    let at = |k: usize| c.get(n + k).copied().flatten();
    let (datasets, o0) = match at(0) {
        Some("models") => (false, 1),
        Some("datasets") => (true, 1),
        _ => (false, 0),
    };
    let mut o = Origin::new(provider::MODELSCOPE);
    // ORG/NAME/FILE at least; hidden folders are ModelScope's own (`._____temp`, locks)
    if c.len() < n + o0 + 3 {
        return Some(o);
    }
    let (Some(org), Some(name)) = (at(o0), at(o0 + 1)) else {
        return Some(o);
    };
    if org.starts_with('.') || name.starts_with('.') {
        return Some(o);
    }
    let handle = format!("{org}/{}", name.replace("___", "."));
    let kind = if datasets { "datasets" } else { "models" };
    let purl_handle = if datasets {
        format!("datasets/{handle}")
    } else {
        handle.clone()
    };
    o.id = Some(generic_purl(provider::MODELSCOPE, HUB, &purl_handle, None));
    o.source_url = Some(format!("https://www.{HUB}/{kind}/{handle}"));
    o.name = Some(handle);
    o.repo_root = Some(prefix(p, n + o0 + 2));
    Some(o)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at as o, env};
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn models_and_datasets_in_both_layouts() {
        let e = env();
        let m = o(
            "/home/u/.cache/modelscope/hub/models/Qwen/Qwen2___5-0___5B-Instruct/model.safetensors",
            &e,
        );
        assert_eq!(m.provider, provider::MODELSCOPE);
        assert_eq!(m.name.as_deref(), Some("Qwen/Qwen2.5-0.5B-Instruct"));
        assert_eq!(
            m.id.as_deref(),
            Some("pkg:generic/modelscope/modelscope.cn/Qwen/Qwen2.5-0.5B-Instruct")
        );
        assert_eq!(
            m.source_url.as_deref(),
            Some("https://www.modelscope.cn/models/Qwen/Qwen2.5-0.5B-Instruct")
        );
        assert_eq!(
            m.repo_root,
            Some(PathBuf::from(
                "/home/u/.cache/modelscope/hub/models/Qwen/Qwen2___5-0___5B-Instruct"
            ))
        );
        let old = o(
            "/root/.cache/modelscope/hub/damo/nlp_bert/pytorch_model.bin",
            &e,
        );
        assert_eq!(old.name.as_deref(), Some("damo/nlp_bert"));
        let d = o(
            "/root/.cache/modelscope/hub/datasets/ann/tiny-set/train.parquet",
            &e,
        );
        assert_eq!(d.name.as_deref(), Some("ann/tiny-set"));
        assert_eq!(
            d.id.as_deref(),
            Some("pkg:generic/modelscope/modelscope.cn/datasets/ann/tiny-set")
        );
    }

    #[test]
    fn the_environment_root_with_or_without_hub() {
        for (root, p) in [
            ("/data/ms", "/data/ms/hub/models/a/b/w.bin"),
            ("/data/ms-hub", "/data/ms-hub/models/a/b/w.bin"),
            ("/data/ms-old", "/data/ms-old/a/b/w.bin"),
        ] {
            let e = HubEnv {
                modelscope_cache: Some(root.into()),
                ..Default::default()
            };
            assert_eq!(o(p, &e).name.as_deref(), Some("a/b"), "{p}");
        }
        // not under it: not ModelScope's
        assert_ne!(
            o("/data/other/a/b/w.bin", &env()).provider,
            provider::MODELSCOPE
        );
    }

    #[test]
    fn hostile_and_internal_paths_get_no_name() {
        let e = env();
        assert_eq!(
            modelscope(
                Path::new("/r/.cache/modelscope/hub/models/a/../../x/y/z"),
                &e
            ),
            None
        );
        let t = o("/r/.cache/modelscope/hub/models/._____temp/a/b", &e);
        assert_eq!((t.provider, t.name), (provider::MODELSCOPE, None));
        let shallow = o("/r/.cache/modelscope/hub/models/a/b", &e);
        assert_eq!(shallow.name, None);
        let long = "n".repeat(255);
        let l = o(
            &format!("/r/.cache/modelscope/hub/models/o/{long}/f.bin"),
            &e,
        );
        assert_eq!(l.name, Some(format!("o/{long}")));
    }
}
