//! Google: the Keras, TF-Hub and KaggleHub caches, and Gemma by name.
use std::path::Path;

use aibom_semconv::provider;

use super::local::stem;
use super::purl::generic_purl;
use super::url::{self, HubUrl};
use super::{comps, inside, is_hex, plain_comps, prefix, read_prefix, HubEnv, Origin};

/// `KERAS_HOME/models/FILE` (weights fetched by `keras.utils.get_file`, Keras Applications)
/// and `KERAS_HOME/datasets/…` (`keras.datasets`).
pub(super) fn keras_cache(p: &Path, env: &HubEnv) -> Option<Origin> {
    let c = comps(p);
    let mut root_len = (0..c.len())
        .find(|&i| c[i] == Some(".keras"))
        .map(|i| i + 1);
    if root_len.is_none() {
        root_len = env.keras_homes().iter().find_map(|r| inside(p, r));
    }
    let n = root_len?;
    let sub = c.get(n).copied().flatten();
    let entry = c.get(n + 1).copied().flatten();
    let mut o = Origin::new(provider::GOOGLE);
    match (sub, entry) {
        (Some("models"), Some(file)) => {
            let stem = stem(file);
            o.name = Some(format!("keras/{stem}"));
            o.id = Some(generic_purl(provider::GOOGLE, "keras", stem, None));
            o.repo_root = (c.len() > n + 2).then(|| prefix(p, n + 2));
        }
        (Some("datasets"), Some(entry)) => {
            let stem = stem(entry);
            o.name = Some(format!("keras/datasets/{stem}"));
            o.id = Some(generic_purl(
                provider::GOOGLE,
                "keras",
                &format!("datasets/{stem}"),
                None,
            ));
            o.repo_root = (c.len() > n + 2).then(|| prefix(p, n + 2));
        }
        _ => {}
    }
    Some(o)
}

/// TF-Hub: `CACHE/SHA1(handle)/…`, with `CACHE/SHA1.descriptor.txt` holding `Module: URL`.
pub(super) fn tfhub_cache(p: &Path, env: &HubEnv) -> Option<Origin> {
    let c = comps(p);
    let mut root_len = (0..c.len())
        .find(|&i| c[i] == Some("tfhub_modules"))
        .map(|i| i + 1);
    if root_len.is_none() {
        root_len = env.tfhub_caches().iter().find_map(|r| inside(p, r));
    }
    let n = root_len?;
    let mut o = Origin::new(provider::GOOGLE);
    let Some(module) = c.get(n).copied().flatten() else {
        return Some(o);
    };
    if c.len() < n + 2 || !is_hex(module, 40) {
        return Some(o);
    }
    let module_dir = prefix(p, n + 1);
    o.repo_root = Some(module_dir.clone());
    let desc = prefix(p, n).join(format!("{module}.descriptor.txt"));
    let url = read_prefix(&desc, 4096).and_then(|b| {
        String::from_utf8_lossy(&b)
            .lines()
            .find_map(|l| l.strip_prefix("Module:").map(|u| u.trim().to_string()))
    });
    if let Some(url) = url {
        if let Some(k) = url::parse(&url).as_ref().and_then(from_url) {
            return Some(Origin {
                repo_root: Some(module_dir),
                ..k
            });
        }
        o.source_url = Some(url);
    }
    Some(o)
}

pub(super) fn kaggle_model(
    owner: &str,
    model: &str,
    fw: &str,
    var: &str,
    ver: Option<&str>,
) -> Origin {
    let handle = format!("{owner}/{model}/{fw}/{var}");
    let mut o = Origin::new(provider::GOOGLE);
    o.id = Some(generic_purl(provider::GOOGLE, "kaggle", &handle, ver));
    o.source_url = Some(match ver {
        Some(v) => format!("https://www.kaggle.com/models/{handle}/{v}"),
        None => format!("https://www.kaggle.com/models/{handle}"),
    });
    o.revision = ver.map(str::to_string);
    o.name = Some(handle);
    o
}

pub(super) fn kaggle_dataset(owner: &str, dataset: &str, ver: Option<&str>) -> Origin {
    let handle = format!("{owner}/{dataset}");
    let mut o = Origin::new(provider::GOOGLE);
    o.id = Some(generic_purl(
        provider::GOOGLE,
        "kaggle",
        &format!("datasets/{handle}"),
        ver,
    ));
    o.source_url = Some(match ver {
        Some(v) => format!("https://www.kaggle.com/datasets/{handle}/versions/{v}"),
        None => format!("https://www.kaggle.com/datasets/{handle}"),
    });
    o.revision = ver.map(str::to_string);
    o.name = Some(handle);
    o
}

/// KaggleHub (`kagglehub.cache`): `CACHE/models/OWNER/MODEL/FRAMEWORK/VARIATION/VERSION/…`,
/// `CACHE/datasets/OWNER/DATASET/versions/VERSION/…` (unversioned handles:
/// `CACHE/datasets/OWNER/DATASET/…`), `CACHE/competitions/NAME/…`. Its completion markers
/// (`…/.complete/…`, `VERSION.complete`) and archives (`VERSION.archive`) are KaggleHub's,
/// nameless. A path with `..` is not parsed.
pub(super) fn kagglehub_cache(p: &Path, env: &HubEnv) -> Option<Origin> {
    let c = plain_comps(p)?;
    let kinds = [Some("models"), Some("datasets"), Some("competitions")];
    let mut root_len = (0..c.len())
        .find(|&i| c[i] == Some("kagglehub") && kinds.contains(&c.get(i + 1).copied().flatten()))
        .map(|i| i + 1);
    if root_len.is_none() {
        root_len = env.kagglehub_caches().iter().find_map(|r| inside(p, r));
    }
    let n = root_len?;
    let at = |k: usize| c.get(n + k).copied().flatten();
    // KaggleHub's own bookkeeping: the marker folder and `*.complete` / `*.archive` files
    let internal = |k: usize| {
        c.len() <= n + k + 1
            || c[n + 1..=n + k]
                .iter()
                .any(|s| s.is_none_or(|s| s.starts_with('.')))
    };
    let mut o = match at(0) {
        Some("models") if c.len() > n + 6 && !internal(5) => {
            kaggle_model(at(1)?, at(2)?, at(3)?, at(4)?, Some(at(5)?))
        }
        Some("datasets") if c.len() > n + 5 && at(3) == Some("versions") && !internal(4) => {
            kaggle_dataset(at(1)?, at(2)?, Some(at(4)?))
        }
        Some("datasets")
            if at(3).is_some_and(|s| s != "versions" && !s.starts_with('.')) && !internal(2) =>
        {
            kaggle_dataset(at(1)?, at(2)?, None)
        }
        Some("competitions") if c.len() > n + 2 => {
            let comp = at(1)?;
            let mut o = Origin::new(provider::GOOGLE);
            o.name = Some(comp.to_string());
            o.id = Some(generic_purl(
                provider::GOOGLE,
                "kaggle",
                &format!("competitions/{comp}"),
                None,
            ));
            o.source_url = Some(format!("https://www.kaggle.com/competitions/{comp}"));
            o.repo_root = Some(prefix(p, n + 2));
            return Some(o);
        }
        _ => return Some(Origin::new(provider::GOOGLE)),
    };
    let root_depth = match (at(0), at(3)) {
        (Some("models"), _) => 6,
        (_, Some("versions")) => 5,
        _ => 3,
    };
    o.repo_root = Some(prefix(p, n + root_depth));
    Some(o)
}

pub(super) fn is_gemma(name: &Option<String>) -> bool {
    name.as_deref()
        .is_some_and(|n| n.to_ascii_lowercase().contains("gemma"))
}

/// A Google origin from a Kaggle model or dataset URL, or a TF-Hub handle URL.
pub(super) fn from_url(u: &HubUrl) -> Option<Origin> {
    let segs = &u.segs;
    match u.host.as_str() {
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
            o.source_url = Some(u.url.to_string());
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
            o.source_url = Some(u.url.to_string());
            Some(o)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::origin;
    use super::super::tests::{env, none};

    #[test]
    fn kagglehub_models_and_datasets() {
        let p = Path::new(
            "/home/u/.cache/kagglehub/models/google/gemma/pyTorch/2b-it/3/model.safetensors",
        );
        let o = origin(p, p, &none(), &env());
        assert_eq!(o.provider, provider::GOOGLE);
        assert_eq!(o.name.as_deref(), Some("google/gemma/pyTorch/2b-it"));
        assert_eq!(o.revision.as_deref(), Some("3"));
        assert_eq!(
            o.id.as_deref(),
            Some("pkg:generic/google/kaggle/google/gemma/pyTorch/2b-it@3")
        );
        assert_eq!(
            o.source_url.as_deref(),
            Some("https://www.kaggle.com/models/google/gemma/pyTorch/2b-it/3")
        );
        assert_eq!(
            o.repo_root.as_deref(),
            Some(Path::new(
                "/home/u/.cache/kagglehub/models/google/gemma/pyTorch/2b-it/3"
            ))
        );
        // Not Google's model, still obtained from Google's hub.
        let p = Path::new(
            "/home/u/.cache/kagglehub/models/metaresearch/llama-3/transformers/8b/1/config.json",
        );
        assert_eq!(origin(p, p, &none(), &env()).provider, provider::GOOGLE);
        // A custom cache root from the environment.
        let e = HubEnv::from_environ(b"KAGGLEHUB_CACHE=/srv/kh\0");
        let p = Path::new("/srv/kh/datasets/uciml/iris/versions/2/Iris.csv");
        let o = origin(p, p, &none(), &e);
        assert_eq!(o.name.as_deref(), Some("uciml/iris"));
        assert_eq!(o.revision.as_deref(), Some("2"));
        assert_eq!(
            o.id.as_deref(),
            Some("pkg:generic/google/kaggle/datasets/uciml/iris@2")
        );
    }

    #[test]
    fn kagglehub_unversioned_datasets_markers_and_hostile_paths() {
        let at = |p: &str| {
            let p = Path::new(p);
            origin(p, p, &none(), &env())
        };
        let d = at("/home/u/.cache/kagglehub/datasets/uciml/iris/Iris.csv");
        assert_eq!(d.name.as_deref(), Some("uciml/iris"));
        assert_eq!(d.revision, None);
        assert_eq!(
            d.id.as_deref(),
            Some("pkg:generic/google/kaggle/datasets/uciml/iris")
        );
        assert_eq!(
            d.repo_root.as_deref(),
            Some(Path::new("/home/u/.cache/kagglehub/datasets/uciml/iris"))
        );
        for internal in [
            "/r/.cache/kagglehub/models/o/m/fw/v/.complete/1/w.bin.complete",
            "/r/.cache/kagglehub/models/o/m/fw/v/1.complete",
            "/r/.cache/kagglehub/models/o/m/fw/v/1.archive",
            "/r/.cache/kagglehub/datasets/o/d/.complete/1/x.csv.complete",
        ] {
            let o = at(internal);
            assert_eq!((o.provider, o.name), (provider::GOOGLE, None), "{internal}");
        }
        // `..` would shift the components: not KaggleHub's layout at all
        let p = Path::new("/r/.cache/kagglehub/models/o/m/../../../../etc/a/b/c/d");
        assert_eq!(kagglehub_cache(p, &env()), None);
        let long = "v".repeat(255);
        let l = at(&format!("/r/.cache/kagglehub/models/o/m/fw/{long}/2/w.bin"));
        assert_eq!(l.name, Some(format!("o/m/fw/{long}")));
    }

    #[test]
    fn keras_and_tfhub_caches() {
        let e = HubEnv::from_environ(b"HOME=/home/u\0");
        let p = Path::new("/home/u/.keras/models/resnet50_weights_tf_dim_ordering_tf_kernels.h5");
        let o = origin(p, p, &none(), &e);
        assert_eq!(o.provider, provider::GOOGLE);
        assert_eq!(
            o.name.as_deref(),
            Some("keras/resnet50_weights_tf_dim_ordering_tf_kernels")
        );
        let e = HubEnv::from_environ(b"KERAS_HOME=/opt/k\0");
        let p = Path::new("/opt/k/datasets/mnist.npz");
        assert_eq!(
            origin(p, p, &none(), &e).name.as_deref(),
            Some("keras/datasets/mnist")
        );

        let t = tempfile::tempdir().unwrap();
        let e =
            HubEnv::from_environ(format!("TFHUB_CACHE_DIR={}\0", t.path().display()).as_bytes());
        let module = "063d866c06683311b44b4992fd46003be952409c";
        let pb = t.path().join(module).join("saved_model.pb");
        std::fs::create_dir_all(pb.parent().unwrap()).unwrap();
        std::fs::write(&pb, b"x").unwrap();
        std::fs::write(
            t.path().join(format!("{module}.descriptor.txt")),
            "Module: https://tfhub.dev/google/universal-sentence-encoder/4\nDownload Time: x\n",
        )
        .unwrap();
        let o = origin(&pb, &pb, &none(), &e);
        assert_eq!(o.provider, provider::GOOGLE);
        assert_eq!(o.name.as_deref(), Some("google/universal-sentence-encoder"));
        assert_eq!(o.revision.as_deref(), Some("4"));
        assert_eq!(
            o.id.as_deref(),
            Some("pkg:generic/google/tfhub/google/universal-sentence-encoder@4")
        );
        assert_eq!(o.repo_root.as_deref(), pb.parent());
    }

    #[test]
    fn gemma_by_name() {
        let p = Path::new("/srv/models/gemma-2b-it/model.safetensors");
        let o = origin(p, p, &none(), &env());
        assert_eq!(o.provider, provider::GOOGLE);
        assert_eq!(o.name.as_deref(), Some("gemma-2b-it"));
    }
}
