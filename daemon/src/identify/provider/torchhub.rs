//! PyTorch Hub (`torch.hub.get_dir()`: `$TORCH_HOME/hub`, else `~/.cache/torch/hub`):
//! checkpoints `checkpoints/NAME-<sha256 prefix>.EXT` and repos `OWNER_REPO_REF/…`.
//!
//! `torch.hub.load_state_dict_from_url` names a checkpoint after its URL and, with
//! `check_hash=True`, checks that the file's sha256 begins with the hex digits between the
//! first `-` and the following `.` (torch's `HASH_REGEX`, `-([a-f0-9]*)\.`). aibomd reads
//! the prefix the same way and checks it once it has hashed the file (see
//! [`Origin::sha256_prefix`]). Ids: `pkg:generic/pytorch/hub/NAME@PREFIX` for checkpoints,
//! `pkg:github/OWNER/REPO@REF` for repos (`torch.hub.load("OWNER/REPO:REF", …)` clones
//! GitHub). A repo folder's name joins owner, repo and ref with `_`; GitHub owners have
//! no `_`, repo names and refs may: the ref is taken as the part after the last `_`, which
//! misreads a ref that has one (said in the README).
use std::path::Path;

use aibom_semconv::provider;

use super::purl::{generic_purl, purl_seg};
use super::{after_seq, inside, plain_comps, prefix, HubEnv, Origin};

/// The origin of `p` when it lies in a PyTorch Hub folder.
pub(super) fn torch_hub(p: &Path, env: &HubEnv) -> Option<Origin> {
    let c = plain_comps(p)?;
    let n = after_seq(&c, &[".cache", "torch", "hub"])
        .or_else(|| env.torch_hubs().iter().find_map(|r| inside(p, r)))?;
    let mut o = Origin::new(provider::PYTORCH);
    let Some(first) = c.get(n).copied().flatten() else {
        return Some(o);
    };
    if first == "checkpoints" && c.len() == n + 2 {
        let Some((name, hash)) = c[n + 1].and_then(checkpoint_name) else {
            return Some(o);
        };
        let rev = (!hash.is_empty()).then_some(hash);
        o.id = Some(generic_purl(provider::PYTORCH, "hub", name, rev));
        o.name = Some(name.to_string());
        o.revision = rev.map(str::to_string);
        o.sha256_prefix = rev.map(str::to_string);
        return Some(o);
    }
    if c.len() >= n + 2 {
        if let Some((owner, repo, reference)) = repo_dir(first) {
            o.id = Some(format!(
                "pkg:github/{}/{}@{}",
                purl_seg(&owner.to_ascii_lowercase()),
                purl_seg(&repo.to_ascii_lowercase()),
                purl_seg(reference)
            ));
            o.name = Some(format!("{owner}/{repo}"));
            o.revision = Some(reference.to_string());
            o.source_url = Some(format!("https://github.com/{owner}/{repo}"));
            o.repo_root = Some(prefix(p, n + 1));
        }
    }
    Some(o)
}

/// A checkpoint file name split as torch does: the part before the first `-HEX.` and
/// the hex digits (possibly none). `None` when the name has no such part.
fn checkpoint_name(file: &str) -> Option<(&str, &str)> {
    let b = file.as_bytes();
    b.iter().enumerate().find_map(|(i, &ch)| {
        if ch != b'-' {
            return None;
        }
        let hex = b[i + 1..]
            .iter()
            .take_while(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
            .count();
        (b.get(i + 1 + hex) == Some(&b'.') && i > 0)
            .then(|| (&file[..i], &file[i + 1..i + 1 + hex]))
    })
}

/// `OWNER_REPO_REF` → (owner, repo, ref), see the module docs.
fn repo_dir(dir: &str) -> Option<(&str, &str, &str)> {
    let (owner, rest) = dir.split_once('_')?;
    let (repo, reference) = rest.rsplit_once('_')?;
    let ok = |s: &str| !s.is_empty() && !s.starts_with('.');
    (ok(owner) && ok(repo) && ok(reference)).then_some((owner, repo, reference))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at as o, env};
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn checkpoints_carry_their_hash_prefix() {
        let c = o(
            "/home/u/.cache/torch/hub/checkpoints/resnet18-f37072fd.pth",
            &env(),
        );
        assert_eq!(c.provider, provider::PYTORCH);
        assert_eq!(c.name.as_deref(), Some("resnet18"));
        assert_eq!(c.revision.as_deref(), Some("f37072fd"));
        assert_eq!(c.sha256_prefix.as_deref(), Some("f37072fd"));
        assert_eq!(
            c.id.as_deref(),
            Some("pkg:generic/pytorch/hub/resnet18@f37072fd")
        );
        // torch's regex: the first `-hex.`; names with dashes keep them
        assert_eq!(
            checkpoint_name("vit-b-16-swag-9ac1b537.pth"),
            Some(("vit-b-16-swag", "9ac1b537"))
        );
        assert_eq!(
            checkpoint_name("efficientnet_b0_rwightman-3dd342df.pth"),
            Some(("efficientnet_b0_rwightman", "3dd342df"))
        );
        assert_eq!(checkpoint_name("m-.pth"), Some(("m", "")));
        assert_eq!(checkpoint_name("plain.pth"), None);
        assert_eq!(
            checkpoint_name("m-F37072FD.pth"),
            None,
            "torch's regex is lowercase"
        );
        // TORCH_HOME moves the hub
        let e = HubEnv {
            torch_home: Some("/data/torch".into()),
            ..Default::default()
        };
        // `-owt.` is no match (`o` is not hex): the search goes on to the next `-`
        let t = o("/data/torch/hub/checkpoints/alexnet-owt-7be5be79.pth", &e);
        assert_eq!(t.name.as_deref(), Some("alexnet-owt"));
        assert_eq!(t.sha256_prefix.as_deref(), Some("7be5be79"));
        // a checkpoint without a prefix: named by its file, nothing to check
        let n = o("/root/.cache/torch/hub/checkpoints/plain.pth", &env());
        assert_eq!((n.provider, n.name), (provider::PYTORCH, None));
    }

    #[test]
    fn hub_repos_name_owner_repo_and_ref() {
        let r = o(
            "/root/.cache/torch/hub/pytorch_vision_main/hubconf.py",
            &env(),
        );
        assert_eq!(r.name.as_deref(), Some("pytorch/vision"));
        assert_eq!(r.revision.as_deref(), Some("main"));
        assert_eq!(r.id.as_deref(), Some("pkg:github/pytorch/vision@main"));
        assert_eq!(
            r.source_url.as_deref(),
            Some("https://github.com/pytorch/vision")
        );
        let r = o(
            "/root/.cache/torch/hub/NVIDIA_DeepLearningExamples_torchhub/x/w.pt",
            &env(),
        );
        assert_eq!(r.name.as_deref(), Some("NVIDIA/DeepLearningExamples"));
        assert_eq!(
            r.id.as_deref(),
            Some("pkg:github/nvidia/deeplearningexamples@torchhub")
        );
        // files at the hub's top (trusted_list) are PyTorch's, nameless
        let t = o("/root/.cache/torch/hub/trusted_list", &env());
        assert_eq!((t.provider, t.name), (provider::PYTORCH, None));
    }

    #[test]
    fn hostile_paths() {
        let e = env();
        assert_eq!(
            torch_hub(
                Path::new("/r/.cache/torch/hub/checkpoints/../../../etc/passwd"),
                &e
            ),
            None
        );
        let bad = std::ffi::OsStr::from_bytes(b"m-ab\xff.pth");
        let p = Path::new("/r/.cache/torch/hub/checkpoints").join(bad);
        assert_eq!(torch_hub(&p, &e).unwrap().name, None);
        let long = format!("{}-{}.pth", "x".repeat(200), "a".repeat(50));
        let l = o(&format!("/r/.cache/torch/hub/checkpoints/{long}"), &e);
        assert_eq!(l.sha256_prefix.map(|s| s.len()), Some(50));
        assert_eq!(repo_dir("_a_b"), None);
        assert_eq!(repo_dir("noseparator"), None);
        // deeper checkpoints folders are not torch's layout
        let d = o("/r/.cache/torch/hub/checkpoints/sub/m-ab.pth", &e);
        assert_eq!(d.name, None);
    }
}
