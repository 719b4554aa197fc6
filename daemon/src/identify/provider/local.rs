//! `local` or `unknown`: names of files outside any hub, and whether a path is in the
//! user's own tree.
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::{comps, inside, HubEnv};

/// File stems that say nothing about which model they belong to: such files are named after
/// their folder.
const GENERIC_STEMS: &[&str] = &[
    "adapter_config",
    "adapter_model",
    "added_tokens",
    "chat_template",
    "checkpoint",
    "config",
    "data",
    "diffusion_pytorch_model",
    "flax_model",
    "generation_config",
    "index",
    "merges",
    "model",
    "model_index",
    "modules",
    "params",
    "preprocessor_config",
    "pytorch_model",
    "readme",
    "saved_model",
    "sentencepiece",
    "special_tokens_map",
    "spiece",
    "test",
    "tf_model",
    "tokenizer",
    "tokenizer_config",
    "train",
    "valid",
    "validation",
    "variables",
    "vocab",
    "weights",
];

/// Sub-folders that hold a part of a model (diffusers components, exports): a file in one is
/// named after the folder above.
const GENERIC_DIRS: &[&str] = &[
    "1_pooling",
    "checkpoints",
    "data",
    "feature_extractor",
    "image_encoder",
    "onnx",
    "openvino",
    "original",
    "scheduler",
    "text_encoder",
    "text_encoder_2",
    "tokenizer",
    "tokenizer_2",
    "transformer",
    "unet",
    "vae",
    "variables",
];

/// Stems of single-file dataset splits.
const SPLIT_STEMS: &[&str] = &["train", "test", "valid", "validation"];

/// The file name without its last extension.
pub(super) fn stem(file: &str) -> &str {
    match file.rfind('.') {
        Some(i) if i > 0 => &file[..i],
        _ => file,
    }
}

/// Whether a stem is generic: listed, or a shard (`model-00001-of-00004`).
fn is_generic_stem(stem: &str) -> bool {
    let s = stem.to_ascii_lowercase();
    let base = s.split(['.', '-']).next().unwrap_or_default();
    GENERIC_STEMS.contains(&s.as_str())
        || GENERIC_STEMS.contains(&base)
        || s.contains("-of-")
        || s.starts_with("model.")
}

/// Name and folder of a file outside any hub: a file with a generic name (`model.safetensors`,
/// `config.json`, shards) is named after its model folder, skipping component sub-folders
/// (`unet/`, `onnx/`); other files by their stem. The folder is the model folder.
pub(super) fn local_name(p: &Path) -> (Option<String>, Option<PathBuf>) {
    let Some(file) = p.file_name().and_then(OsStr::to_str) else {
        return (None, p.parent().map(Path::to_path_buf));
    };
    let mut dir = p.parent();
    let st = stem(file);
    // numbered shards (`shard-000123.tar`) are named after their folder, as `-of-` shards are
    let numbered = crate::identify::whole::part_name(file, None).is_some();
    if !is_generic_stem(st) && !numbered {
        return (Some(st.to_string()), dir.map(Path::to_path_buf));
    }
    // a split file (`train.parquet`) in a generic folder (`data/`) belongs to no model
    // folder above it: it is named by its split, not its grandparent
    let split = SPLIT_STEMS.contains(&st.to_ascii_lowercase().as_str());
    let mut hops = 0;
    while let Some(d) = dir {
        let Some(n) = d.file_name().and_then(OsStr::to_str) else {
            break;
        };
        let generic = GENERIC_DIRS.contains(&n.to_ascii_lowercase().as_str());
        if split && generic {
            return (Some(st.to_string()), Some(d.to_path_buf()));
        }
        if hops < 2 && generic {
            if let Some(up) = d.parent().filter(|u| u.file_name().is_some()) {
                dir = Some(up);
                hops += 1;
                continue;
            }
        }
        return (Some(n.to_string()), Some(d.to_path_buf()));
    }
    (Some(st.to_string()), p.parent().map(Path::to_path_buf))
}

/// System and software trees: never `local`.
const SYSTEM_PREFIXES: &[&str] = &[
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/share",
    "/usr/include",
    "/usr/local/bin",
    "/usr/local/sbin",
    "/usr/local/lib",
    "/usr/local/lib64",
    "/usr/local/share",
    "/usr/local/include",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/bin",
    "/sbin",
    "/etc",
    "/boot",
    "/nix",
    "/gnu",
    "/snap",
    "/proc",
    "/sys",
    "/run",
    "/var/lib",
    "/var/cache",
    "/var/log",
    "/var/spool",
];

/// Folders whose content was installed or cached by a tool, not made by the user.
const TOOL_DIRS: &[&str] = &[
    ".cache",
    ".ollama",
    "dist-packages",
    "node_modules",
    "site-packages",
];

/// Top-level folders that hold users' own files (besides `$HOME` and the process's cwd).
const USER_PREFIXES: &[&str] = &[
    "/home",
    "/root",
    "/srv",
    "/data",
    "/mnt",
    "/media",
    "/tmp",
    "/var/tmp",
    "/dev/shm",
    "/opt",
    "/workspace",
    "/workspaces",
    "/work",
    "/content",
    "/models",
    "/app",
    "/scratch",
];

/// Whether `p` is in the user's own tree, i.e. reported as `local`:
/// 1. never when a component is a tool's folder (`.cache`, `site-packages`, `dist-packages`,
///    `node_modules`, `.ollama`): installed or downloaded by software;
/// 2. never under system trees (`/usr/{bin,sbin,lib*,libexec,share,include}`, the same under
///    `/usr/local`, `/lib*`, `/bin`, `/sbin`, `/etc`, `/boot`, `/nix`, `/gnu`, `/snap`, `/proc`,
///    `/sys`, `/run`, `/var/{lib,cache,log,spool}`), even when `$HOME` is there (service
///    accounts);
/// 3. yes under `$HOME`, under the process's cwd (unless it is `/` or in a system tree: a
///    container's `WORKDIR /usr/src/app` counts), or under `/home`, `/root`,
///    `/srv`, `/data`, `/mnt`, `/media`, `/tmp`, `/var/tmp`, `/dev/shm`, `/opt`, `/workspace(s)`,
///    `/work`, `/content`, `/models`, `/app`, `/scratch`;
/// 4. no otherwise (`unknown`).
pub fn is_user_tree(p: &Path, env: &HubEnv) -> bool {
    let c = comps(p);
    if c.iter().any(|x| x.is_some_and(|x| TOOL_DIRS.contains(&x))) {
        return false;
    }
    let under = |prefix: &str| inside(p, Path::new(prefix)).is_some();
    if SYSTEM_PREFIXES.iter().any(|&s| under(s)) {
        return false;
    }
    let home = env.home.as_deref().filter(|h| *h != Path::new("/"));
    let cwd = env
        .cwd
        .as_deref()
        .filter(|c| *c != Path::new("/") && !SYSTEM_PREFIXES.iter().any(|s| c.starts_with(s)));
    home.into_iter().chain(cwd).any(|r| inside(p, r).is_some())
        || USER_PREFIXES.iter().any(|&s| under(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aibom_semconv::provider;

    use super::super::origin;
    use super::super::tests::none;

    #[test]
    fn local_files_are_named_after_their_model_folder_or_stem() {
        let e = HubEnv::from_environ(b"HOME=/home/alice\0");
        let p = Path::new("/home/alice/work/my-bert/model-00001-of-00002.safetensors");
        let o = origin(p, p, &none(), &e);
        assert_eq!(o.provider, provider::LOCAL);
        assert_eq!(o.name.as_deref(), Some("my-bert"));
        assert_eq!(
            o.repo_root.as_deref(),
            Some(Path::new("/home/alice/work/my-bert"))
        );
        assert_eq!(o.id, None);
        let p = Path::new("/srv/sd/my-pipeline/unet/diffusion_pytorch_model.safetensors");
        assert_eq!(
            origin(p, p, &none(), &e).name.as_deref(),
            Some("my-pipeline")
        );
        // a split file in `data/` is not named after the folder above (the example
        // app's `train.parquet` was named `aibomd-example`); shards of a split still
        // take their dataset folder's name
        let p = Path::new("/tmp/aibomd-example/data/train.parquet");
        assert_eq!(origin(p, p, &none(), &e).name.as_deref(), Some("train"));
        let p = Path::new("/srv/squad/data/train-00000-of-00002.parquet");
        assert_eq!(origin(p, p, &none(), &e).name.as_deref(), Some("squad"));
        let p = Path::new("/srv/wds/shard-000123.tar");
        assert_eq!(origin(p, p, &none(), &e).name.as_deref(), Some("wds"));
        let p = Path::new("/srv/squad/train.parquet");
        assert_eq!(origin(p, p, &none(), &e).name.as_deref(), Some("squad"));
        let p = Path::new("/data/llama-3-8b.Q4_K_M.gguf");
        let o = origin(p, p, &none(), &e);
        assert_eq!(
            (o.provider, o.name.as_deref()),
            (provider::LOCAL, Some("llama-3-8b.Q4_K_M"))
        );
    }

    #[test]
    fn local_vs_unknown() {
        let mut e = HubEnv::from_environ(b"HOME=/var/lib/svc\0");
        e.cwd = Some(PathBuf::from("/code/proj"));
        for p in [
            "/home/bob/m.onnx",
            "/tmp/aibomd-example/data/train.parquet",
            "/code/proj/models/x.pt",
            "/mnt/nfs/m.gguf",
        ] {
            assert!(is_user_tree(Path::new(p), &e), "{p}");
        }
        for p in [
            "/usr/share/model.bin",
            "/home/bob/.venv/lib/python3.11/site-packages/pkg/vocab.txt",
            "/home/bob/.cache/torch/hub/checkpoints/resnet50.pth",
            "/etc/app/config.json",
            "/weird/place/m.bin",
        ] {
            assert!(!is_user_tree(Path::new(p), &e), "{p}");
        }
        // $HOME counts even under a system-looking prefix? No: system trees win.
        assert!(!is_user_tree(Path::new("/var/lib/svc/m.bin"), &e));
        let p = Path::new("/usr/share/ollama/x.gguf");
        assert_eq!(origin(p, p, &none(), &e).provider, provider::UNKNOWN);
        // A container's WORKDIR under /usr is the user's project.
        e.cwd = Some(PathBuf::from("/usr/src/app"));
        assert!(is_user_tree(Path::new("/usr/src/app/model.onnx"), &e));
        assert!(!is_user_tree(Path::new("/usr/src/other/model.onnx"), &e));
        // A cwd of / makes nothing local.
        e.cwd = Some(PathBuf::from("/"));
        assert!(!is_user_tree(Path::new("/weird/m.bin"), &e));
    }
}
