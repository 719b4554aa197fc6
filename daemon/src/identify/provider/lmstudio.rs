//! LM Studio model folders: `~/.lmstudio/models/PUBLISHER/MODEL/FILE…` (any home), and
//! the older `~/.cache/lm-studio/models/PUBLISHER/MODEL/FILE…`.
//!
//! LM Studio downloads a model into `PUBLISHER/MODEL/` (the Hugging Face repo it came
//! from, e.g. `lmstudio-community/Qwen2.5-7B-Instruct-GGUF`) and records nothing else
//! about it on disk, so the name is the folder pair and there is no revision. The id is
//! `pkg:generic/lmstudio/models/PUBLISHER/MODEL`. A models folder moved elsewhere in the
//! app's settings has no recognizable shape and is not attributed.
use std::path::Path;

use aibom_semconv::provider;

use super::purl::generic_purl;
use super::{after_seq, plain_comps, prefix, Origin};

/// The store roots' trailing components, as LM Studio names them.
const ROOTS: &[&[&str]] = &[&[".lmstudio", "models"], &[".cache", "lm-studio", "models"]];

/// The origin of `p` when it lies in an LM Studio models folder.
pub(super) fn lmstudio(p: &Path) -> Option<Origin> {
    let c = plain_comps(p)?;
    let n = ROOTS.iter().find_map(|r| after_seq(&c, r))?;
    let mut o = Origin::new(provider::LMSTUDIO);
    // PUBLISHER/MODEL/FILE at least; files above that are LM Studio's but nameless
    if c.len() < n + 3 {
        return Some(o);
    }
    let (Some(publisher), Some(model)) = (c[n], c[n + 1]) else {
        return Some(o);
    };
    let handle = format!("{publisher}/{model}");
    o.id = Some(generic_purl(provider::LMSTUDIO, "models", &handle, None));
    o.name = Some(handle);
    o.repo_root = Some(prefix(p, n + 2));
    Some(o)
}

#[cfg(test)]
mod tests {
    use super::super::origin;
    use super::super::tests::{env, none};
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn publisher_and_model_name_the_file_in_any_home() {
        for home in ["/root", "/home/ann", "/var/lib/svc"] {
            for root in [".lmstudio/models", ".cache/lm-studio/models"] {
                let p = Path::new(home)
                    .join(root)
                    .join("lmstudio-community/Qwen2.5-0.5B-Instruct-GGUF/q4.gguf");
                let o = origin(&p, &p, &none(), &env());
                assert_eq!(o.provider, provider::LMSTUDIO, "{p:?}");
                assert_eq!(
                    o.name.as_deref(),
                    Some("lmstudio-community/Qwen2.5-0.5B-Instruct-GGUF")
                );
                assert_eq!(
                    o.id.as_deref(),
                    Some(
                        "pkg:generic/lmstudio/models/lmstudio-community/Qwen2.5-0.5B-Instruct-GGUF"
                    )
                );
                assert_eq!(o.repo_root, Some(p.parent().unwrap().to_path_buf()));
            }
        }
    }

    #[test]
    fn hostile_paths_are_not_named_by_position() {
        // `..` would shift the components: not parsed at all
        let p = Path::new("/home/a/.lmstudio/models/../../../etc/x/y");
        assert_eq!(lmstudio(p), None);
        // too shallow: LM Studio's, no name
        let p = Path::new("/home/a/.lmstudio/models/pub/file.gguf");
        let o = lmstudio(p).unwrap();
        assert_eq!((o.provider, o.name), (provider::LMSTUDIO, None));
        // a non-UTF-8 publisher: no name, no panic
        let bad = std::ffi::OsStr::from_bytes(b"p\xffub");
        let p = Path::new("/home/a/.lmstudio/models")
            .join(bad)
            .join("m/f.gguf");
        assert_eq!(lmstudio(&p).unwrap().name, None);
        // a very long name is kept whole and escaped in the id
        let long = "m".repeat(255);
        let p = Path::new("/home/a/.lmstudio/models/p q")
            .join(&long)
            .join("f.gguf");
        let o = lmstudio(&p).unwrap();
        assert_eq!(o.name, Some(format!("p q/{long}")));
        assert!(o
            .id
            .unwrap()
            .starts_with("pkg:generic/lmstudio/models/p%20q/mmm"));
        // other folders named models are not LM Studio's
        let p = Path::new("/srv/models/pub/m/f.gguf");
        assert_eq!(lmstudio(p), None);
    }
}
