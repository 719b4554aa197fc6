//! The llama.cpp download cache in its flat layout: `$LLAMA_CACHE`, else
//! `$XDG_CACHE_HOME/llama.cpp` or `~/.cache/llama.cpp`.
//!
//! `llama-cli -hf ORG/REPO[:TAG]` (and `llama-server`) asks the hub which file TAG means,
//! keeps the answer as `manifest=ORG=REPO=TAG.json` (`ggufFile.rfilename`,
//! `mmprojFile.rfilename`) and downloads the file to `ORG_REPO_RFILENAME` with every `/`
//! made `_` (its `-NNNNN-of-MMMMM.gguf` split parts beside it, and an `.etag` per file).
//! A file's own name cannot be split back (ORG, REPO and the file name may all hold `_`),
//! so the manifests of the folder name it: the GGUF is `ORG/REPO` from the Hugging Face
//! hub, id `pkg:huggingface/ORG/REPO` (the purl spec's type; no `@` since only the tag is
//! known), revision the tag. Newer llama.cpp releases write the Hugging Face hub layout
//! (`models--ORG--REPO/…`) instead, recognized as `huggingface`; a GGUF pulled from a
//! Docker registry (`-dr`, `ai_NAME_TAG.gguf`) has no manifest and gets no name.
use std::path::Path;

use aibom_semconv::{artifact_role as role, artifact_type as ty, provider};
use serde::Deserialize;

use super::super::classify::Kind;
use super::{read_prefix, HubEnv, Origin};

/// Directory entries looked at, manifests read and bytes read per manifest, at most.
const MAX_ENTRIES: usize = 4096;
const MAX_MANIFESTS: usize = 256;
const MANIFEST_MAX: u64 = 64 << 10;

/// `ORG/REPO` and the tag of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Repo {
    org: String,
    repo: String,
    tag: String,
}

#[derive(Deserialize)]
struct RawManifest {
    #[serde(rename = "ggufFile")]
    gguf: Option<RawFile>,
    #[serde(rename = "mmprojFile")]
    mmproj: Option<RawFile>,
}

#[derive(Deserialize)]
struct RawFile {
    rfilename: String,
}

/// The origin of `p` when it is a file of a llama.cpp cache folder.
pub(super) fn llama_cpp_cache(p: &Path, env: &HubEnv) -> Option<Origin> {
    let dir = p.parent()?;
    let in_cache =
        dir.ends_with(".cache/llama.cpp") || env.llama_cpp_caches().iter().any(|r| r == dir);
    if !in_cache || p.components().any(|c| c.as_os_str() == "..") {
        return None;
    }
    let mut o = Origin::new(provider::LLAMA_CPP);
    let Some(file) = p.file_name().and_then(|f| f.to_str()) else {
        return Some(o);
    };
    let named = match manifest_repo(file) {
        Some(r) => {
            o.kind = Some(Kind {
                artifact_type: ty::MODEL,
                role: Some(role::MANIFEST),
            });
            Some(r)
        }
        None => owner(dir, file),
    };
    if let Some(r) = named {
        let handle = format!("{}/{}", r.org, r.repo);
        o.id = Some(format!("pkg:huggingface/{handle}"));
        o.source_url = Some(format!("https://huggingface.co/{handle}"));
        o.name = Some(handle);
        o.revision = Some(r.tag);
    }
    Some(o)
}

/// `manifest=ORG=REPO=TAG.json` → its repo (llama.cpp lists exactly these four parts).
fn manifest_repo(file: &str) -> Option<Repo> {
    let inner = file.strip_prefix("manifest=")?.strip_suffix(".json")?;
    let mut parts = inner.split('=');
    let (org, repo, tag) = (parts.next()?, parts.next()?, parts.next()?);
    let ok = [org, repo, tag].iter().all(|s| !s.is_empty()) && parts.next().is_none();
    ok.then(|| Repo {
        org: org.into(),
        repo: repo.into(),
        tag: tag.into(),
    })
}

/// The repo whose manifest in `dir` names `file` (as its GGUF, a split part of it, or its
/// projector); the `latest` tag first, then by name.
fn owner(dir: &Path, file: &str) -> Option<Repo> {
    let rd = std::fs::read_dir(dir).ok()?;
    let mut manifests: Vec<(Repo, std::path::PathBuf)> = rd
        .take(MAX_ENTRIES)
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            Some((manifest_repo(&name)?, e.path()))
        })
        .collect();
    manifests.sort_by(|a, b| {
        let key = |r: &Repo| {
            (
                r.tag != "latest",
                r.org.clone(),
                r.repo.clone(),
                r.tag.clone(),
            )
        };
        key(&a.0).cmp(&key(&b.0))
    });
    manifests
        .into_iter()
        .take(MAX_MANIFESTS)
        .find(|(r, path)| names(r, path, file))
        .map(|(r, _)| r)
}

/// True when the manifest at `path` (of repo `r`) names `file`.
fn names(r: &Repo, path: &Path, file: &str) -> bool {
    let Some(bytes) = read_prefix(path, MANIFEST_MAX) else {
        return false;
    };
    let Ok(m) = serde_json::from_slice::<RawManifest>(&bytes) else {
        return false;
    };
    [m.gguf, m.mmproj].into_iter().flatten().any(|f| {
        let local = format!("{}_{}_{}", r.org, r.repo, f.rfilename).replace('/', "_");
        local == file || split_stem(&local).is_some_and(|s| split_stem(file) == Some(s))
    })
}

/// `NAME` of a split part `NAME-NNNNN-of-MMMMM.gguf` (llama.cpp's `llama_split_path`).
fn split_stem(file: &str) -> Option<&str> {
    let stem = file.strip_suffix(".gguf")?;
    let (head, total) = stem.rsplit_once("-of-")?;
    let (name, index) = head.rsplit_once('-')?;
    let digits = |s: &str| s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
    (digits(total) && digits(index)).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::super::origin;
    use super::super::tests::none;
    use super::*;

    /// A cache folder with `manifests` (repo, tag, gguf, mmproj) and empty `files`.
    fn cache(manifests: &[(&str, &str, &str, Option<&str>)], files: &[&str]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (repo, tag, gguf, mmproj) in manifests {
            let mut m = serde_json::json!({"ggufFile": {"rfilename": gguf, "size": 1}});
            if let Some(mm) = mmproj {
                m["mmprojFile"] = serde_json::json!({"rfilename": mm});
            }
            let name = format!("manifest={}={tag}.json", repo.replace('/', "="));
            std::fs::write(d.path().join(name), m.to_string()).unwrap();
        }
        for f in files {
            std::fs::write(d.path().join(f), b"GGUF").unwrap();
        }
        d
    }

    fn env_at(d: &Path) -> HubEnv {
        HubEnv {
            llama_cache: Some(d.to_path_buf()),
            ..Default::default()
        }
    }

    #[test]
    fn manifests_name_downloaded_files_their_splits_and_projector() {
        let d = cache(
            &[
                (
                    "ggml-org/gemma-3-1b-it-GGUF",
                    "latest",
                    "gemma-3-1b-it-Q4_K_M.gguf",
                    Some("mmproj-model-f16.gguf"),
                ),
                (
                    "un_sloth/Big_Model-GGUF",
                    "Q8_0",
                    "Q8_0/Big_Model-Q8_0-00001-of-00002.gguf",
                    None,
                ),
            ],
            &[],
        );
        let e = env_at(d.path());
        let at = |f: &str| {
            let p = d.path().join(f);
            origin(&p, &p, &none(), &e)
        };
        let g = at("ggml-org_gemma-3-1b-it-GGUF_gemma-3-1b-it-Q4_K_M.gguf");
        assert_eq!(g.provider, provider::LLAMA_CPP);
        assert_eq!(g.name.as_deref(), Some("ggml-org/gemma-3-1b-it-GGUF"));
        assert_eq!(
            g.id.as_deref(),
            Some("pkg:huggingface/ggml-org/gemma-3-1b-it-GGUF")
        );
        assert_eq!(g.revision.as_deref(), Some("latest"));
        assert_eq!(
            g.source_url.as_deref(),
            Some("https://huggingface.co/ggml-org/gemma-3-1b-it-GGUF")
        );
        let mm = at("ggml-org_gemma-3-1b-it-GGUF_mmproj-model-f16.gguf");
        assert_eq!(mm.name.as_deref(), Some("ggml-org/gemma-3-1b-it-GGUF"));
        // `_` in org and repo, a subfolder in the file name, and a later split part
        let s = at("un_sloth_Big_Model-GGUF_Q8_0_Big_Model-Q8_0-00002-of-00002.gguf");
        assert_eq!(s.name.as_deref(), Some("un_sloth/Big_Model-GGUF"));
        assert_eq!(s.revision.as_deref(), Some("Q8_0"));
        // the manifest itself
        let m = at("manifest=ggml-org=gemma-3-1b-it-GGUF=latest.json");
        assert_eq!(m.kind.unwrap().role, Some(role::MANIFEST));
        assert_eq!(m.name.as_deref(), Some("ggml-org/gemma-3-1b-it-GGUF"));
        // a file no manifest names (a Docker registry pull): llama.cpp's, nameless
        let x = at("ai_smollm2_135M-Q4_0.gguf");
        assert_eq!((x.provider, x.name), (provider::LLAMA_CPP, None));
    }

    #[test]
    fn only_the_cache_folder_itself_and_not_hostile_names() {
        let p = Path::new("/home/u/.cache/llama.cpp/a_b_c.gguf");
        assert_eq!(
            llama_cpp_cache(p, &HubEnv::default()).unwrap().provider,
            provider::LLAMA_CPP
        );
        // deeper files are not the flat layout
        let p = Path::new("/home/u/.cache/llama.cpp/sub/a.gguf");
        assert_eq!(llama_cpp_cache(p, &HubEnv::default()), None);
        let p = Path::new("/home/u/.cache/llama.cpp/../llama.cpp/a.gguf");
        assert_eq!(llama_cpp_cache(p, &HubEnv::default()), None);
        for bad in [
            "manifest=a=b.json",
            "manifest=a=b=c=d.json",
            "manifest===.json",
            "manifest=a=b=c.txt",
        ] {
            assert_eq!(manifest_repo(bad), None, "{bad}");
        }
        let long = "r".repeat(240);
        let m = manifest_repo(&format!("manifest=o={long}=latest.json")).unwrap();
        assert_eq!(m.repo, long);
        assert_eq!(split_stem("a-00001-of-00003.gguf"), Some("a"));
        assert_eq!(split_stem("a-1-of-3.gguf"), None);
        // a non-UTF-8 name: llama.cpp's, nameless
        use std::os::unix::ffi::OsStrExt;
        let p =
            Path::new("/home/u/.cache/llama.cpp").join(std::ffi::OsStr::from_bytes(b"a\xff.gguf"));
        let o = llama_cpp_cache(&p, &HubEnv::default()).unwrap();
        assert_eq!((o.provider, o.name), (provider::LLAMA_CPP, None));
        // a manifest that is not JSON names nothing
        let d = cache(&[], &[]);
        std::fs::write(d.path().join("manifest=o=r=latest.json"), b"\xff{").unwrap();
        let p = d.path().join("o_r_f.gguf");
        let o = llama_cpp_cache(&p, &env_at(d.path())).unwrap();
        assert_eq!(o.name, None);
    }
}
