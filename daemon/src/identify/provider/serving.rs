//! Caches of serving runtimes: NVIDIA NIM and vLLM.
//!
//! - **NIM** (`$NIM_CACHE_PATH`, default `/opt/nim/.cache`) keeps what it pulls from NGC in
//!   a hub layout like Hugging Face's: `ngc/hub/models--ORG[--TEAM]--NAME/snapshots/VERSION/…`
//!   and `…/blobs/…`. Such files are `nvidia`, named `ORG/TEAM/NAME` with the version as
//!   revision and id `pkg:generic/nvidia/ngc/ORG/TEAM/NAME@VERSION`. Models NIM takes from
//!   Hugging Face land in the Hugging Face layout and are attributed there. Anything else
//!   under the NIM cache (engines NIM builds, its own bookkeeping) is `nvidia` without a name:
//!   nothing on disk says which model an engine was built from that aibomd could trust.
//! - **vLLM** loads its models from the Hugging Face cache (or ModelScope's with
//!   `VLLM_USE_MODELSCOPE`), attributed there. Its own cache (`$VLLM_CACHE_ROOT`, default
//!   `~/.cache/vllm`) holds compiled graphs and downloaded assets: `vllm`, without a name.
use std::path::Path;

use aibom_semconv::provider;

use super::purl::generic_purl;
use super::{after_seq, inside, plain_comps, prefix, HubEnv, Origin};

/// The origin of `p` when it lies in an NGC hub cache (`…/ngc/hub/models--…/…`).
pub(super) fn nim_ngc(p: &Path) -> Option<Origin> {
    let c = plain_comps(p)?;
    let n = after_seq(&c, &["ngc", "hub"])?;
    let folder = c.get(n).copied().flatten()?.strip_prefix("models--")?;
    let parts: Vec<&str> = folder.split("--").collect();
    if parts.len() < 2 || parts.iter().any(|s| s.is_empty()) {
        return Some(Origin::new(provider::NVIDIA));
    }
    let handle = parts.join("/");
    let mut o = Origin::new(provider::NVIDIA);
    let rev = match c.get(n + 1).copied().flatten() {
        Some("snapshots") if c.len() > n + 3 => c[n + 2],
        _ => None,
    };
    o.id = Some(generic_purl(provider::NVIDIA, "ngc", &handle, rev));
    o.source_url = Some(match parts.as_slice() {
        [org, team, name] => {
            format!("https://catalog.ngc.nvidia.com/orgs/{org}/teams/{team}/models/{name}")
        }
        _ => format!("https://catalog.ngc.nvidia.com/orgs/{handle}"),
    });
    o.name = Some(handle);
    o.revision = rev.map(str::to_string);
    if rev.is_some() {
        o.repo_root = Some(prefix(p, n + 3));
    }
    Some(o)
}

/// Files of a NIM or vLLM cache that no layout names: the runtime's provider, no name.
pub(super) fn under_serving_cache(p: &Path, env: &HubEnv) -> Option<Origin> {
    if env.nim_caches().iter().any(|r| inside(p, r).is_some()) {
        return Some(Origin::new(provider::NVIDIA));
    }
    let vllm_shape = plain_comps(p).is_some_and(|c| after_seq(&c, &[".cache", "vllm"]).is_some());
    if vllm_shape || env.vllm_caches().iter().any(|r| inside(p, r).is_some()) {
        return Some(Origin::new(provider::VLLM));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at as o, env};
    use super::*;

    #[test]
    fn ngc_models_in_the_nim_cache() {
        let s = o(
            "/opt/nim/.cache/ngc/hub/models--nim--meta--llama-3.1-8b-instruct/snapshots/hf/config.json",
            &env(),
        );
        assert_eq!(s.provider, provider::NVIDIA);
        assert_eq!(s.name.as_deref(), Some("nim/meta/llama-3.1-8b-instruct"));
        assert_eq!(s.revision.as_deref(), Some("hf"));
        assert_eq!(
            s.id.as_deref(),
            Some("pkg:generic/nvidia/ngc/nim/meta/llama-3.1-8b-instruct@hf")
        );
        assert_eq!(
            s.source_url.as_deref(),
            Some("https://catalog.ngc.nvidia.com/orgs/nim/teams/meta/models/llama-3.1-8b-instruct")
        );
        // a blob: the model, no version; not mistaken for a Hugging Face repo
        let b = o(
            "/srv/cache/ngc/hub/models--nvidia--parakeet/blobs/0123abcd",
            &env(),
        );
        assert_eq!(b.provider, provider::NVIDIA);
        assert_eq!(b.name.as_deref(), Some("nvidia/parakeet"));
        assert_eq!(b.revision, None);
    }

    #[test]
    fn other_files_of_the_runtime_caches_are_nameless() {
        let e = HubEnv {
            nim_cache_path: Some("/models/nim".into()),
            vllm_cache_root: Some("/data/vllm".into()),
            ..Default::default()
        };
        for (p, want) in [
            (
                "/opt/nim/.cache/local_cache/engine/rank0.engine",
                provider::NVIDIA,
            ),
            ("/models/nim/local_cache/x.engine", provider::NVIDIA),
            (
                "/data/vllm/torch_compile_cache/abc/rank_0_0/model.pt",
                provider::VLLM,
            ),
            ("/home/u/.cache/vllm/assets/x.jpg", provider::VLLM),
        ] {
            let got = o(p, &e);
            assert_eq!((got.provider, got.name), (want, None), "{p}");
        }
        // Hugging Face files under NIM's cache stay Hugging Face's
        let hf = o(
            "/opt/nim/.cache/huggingface/hub/models--a--b/snapshots/0123456789012345678901234567890123456789/w.safetensors",
            &e,
        );
        assert_eq!(hf.provider, provider::HUGGINGFACE);
    }

    #[test]
    fn hostile_ngc_names() {
        assert_eq!(
            nim_ngc(Path::new("/x/ngc/hub/models--a--b/../../y/z")),
            None
        );
        let odd = nim_ngc(Path::new("/x/ngc/hub/models----b/blobs/z")).unwrap();
        assert_eq!(odd.name, None);
        let long = "n".repeat(250);
        let l = nim_ngc(Path::new(&format!("/x/ngc/hub/models--o--{long}/blobs/z"))).unwrap();
        assert_eq!(l.name, Some(format!("o/{long}")));
    }
}
