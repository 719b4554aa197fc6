//! The path filter: which opened paths are worth reporting.
//!
//! The same rules run in two places: in the kernel (the eBPF tracer pushes them into two
//! LPM tries, see `ebpf/aibom.bpf.c`) and here in userspace for the fanotify and procfs
//! tracers. Semantics, identical in both:
//! 1. absolute paths are matched against the prefix rules (first 64 bytes); the longest
//!    matching prefix wins: `keep` reports the path, `deny` drops it;
//! 2. otherwise the path is reported when it ends (case-insensitively, last 32 bytes) with
//!    one of the allowed suffixes;
//! 3. otherwise, with `store_blobs` on (the default), it is reported when its last two
//!    components are a content-addressed store blob: `blobs/sha256-` and 64 lowercase hex
//!    digits, with nothing after (see [`is_store_blob`]);
//! 4. otherwise it is reported when its last component has no `.` and a store folder of
//!    `store_dirs` follows one of the `/` before it (see [`in_store_dir`]).
//!
//! Rules 3 and 4 are how suffix-less model files in model stores get through without
//! letting every suffix-less file through. Rule 3 (Ollama's `blobs/sha256-HEX`, under
//! `$OLLAMA_MODELS`, any user's `~/.ollama/models` or the service's
//! `/usr/share/ollama/.ollama/models`) checks a shape at a fixed offset from the end of the
//! path (78 bytes, no scan, no per-user prefix): a name of exactly that shape is only made
//! by content-addressed stores. Rule 4 covers stores whose files keep their own names,
//! some without a suffix (KaggleHub's and NIM's checkpoint chunks, a ModelScope or LM
//! Studio repo's extension-less files): it runs only for a last component without a `.`
//! (rare among the opens of a program start: sources, libraries and data files have one),
//! and looks for a store folder *after any `/`*, not at the start of the path, so a store
//! in any user's home (`/home/ann/.cache/kagglehub/…`) matches the same entry as root's.
//! The kernel does it with two `bpf_loop`s (back to the last `/`, then forward over the
//! folder part) and one LPM-trie lookup per `/` (the next 32 bytes as key). A store folder
//! is at most 32 bytes and ends with `/`. Deny prefixes still win (rule 1 comes first).
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Longest prefix rule the kernel can match (bytes).
pub const PREFIX_MAX: usize = 64;
/// Longest suffix rule the kernel can match (bytes).
pub const SUFFIX_MAX: usize = 32;

/// Filter rules, as written in the config file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct FilterConfig {
    /// Report paths ending with one of these (case-insensitive, at most 32 bytes each).
    pub allow_suffixes: Vec<String>,
    /// Never report absolute paths under these prefixes (at most 64 bytes each)...
    pub deny_prefixes: Vec<String>,
    /// ...except under these longer ones, which are always reported (accelerator devices).
    pub keep_prefixes: Vec<String>,
    /// ...and these longer ones, whose files are judged by name like anywhere else:
    /// shared memory and per-user runtime folders, where models get staged.
    pub pass_prefixes: Vec<String>,
    /// ...and these, magic links to a file the process already has (`/proc/self/fd/N`,
    /// `/proc/self/root/…`; `/proc/PID/…` and `…/task/TID/…` are matched as
    /// `/proc/self/…`, so another process's or thread's links too): the eBPF tracer
    /// filters and reports the opened file under its own path instead.
    pub resolve_prefixes: Vec<String>,
    /// Report content-addressed store blobs (`…/blobs/sha256-<64 hex>`, Ollama's layout),
    /// which have no suffix.
    pub store_blobs: bool,
    /// Report files without a `.` in their name inside these store folders, matched after
    /// any `/` of the path (so in every home); each ends with `/`, at most 32 bytes.
    pub store_dirs: Vec<String>,
}

/// Longest store folder the kernel can match (bytes).
pub const STORE_DIR_MAX: usize = 32;

/// Default store folders whose files may have no suffix: LM Studio (current and older
/// folder), KaggleHub, ModelScope, PyTorch Hub checkpoints, and NVIDIA NIM's default cache.
/// Not Ollama's (`blobs/sha256-…` is rule 3; its suffix-less manifests are read by
/// aibomd, not reported) nor Hugging Face's (its `refs/main` would be reported at every
/// load; its snapshot files have their names).
pub const DEFAULT_STORE_DIRS: &[&str] = &[
    ".lmstudio/models/",
    ".cache/lm-studio/models/",
    ".cache/kagglehub/",
    ".cache/modelscope/hub/",
    ".cache/torch/hub/checkpoints/",
    "opt/nim/.cache/",
];

/// What ends a store blob's path: the folder, then the algorithm of the name.
pub const STORE_BLOB_MARK: &[u8] = b"blobs/sha256-";
/// Bytes of the hex digest that end a store blob's name.
pub const STORE_BLOB_HEX: usize = 64;

/// True when `path` ends with `blobs/sha256-` and 64 lowercase hex digits, the mark being
/// the whole first component or preceded by `/` (the kernel checks the same bytes).
pub fn is_store_blob(path: &[u8]) -> bool {
    let n = STORE_BLOB_MARK.len() + STORE_BLOB_HEX;
    if path.len() < n {
        return false;
    }
    let at = path.len() - n;
    let (mark, hex) = path[at..].split_at(STORE_BLOB_MARK.len());
    (at == 0 || path[at - 1] == b'/')
        && mark == STORE_BLOB_MARK
        && hex
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// True when the last component of `path` has no `.` and one of `dirs` follows a `/`
/// before it: the kernel's `in_store_dir` on the same bytes (see the module docs).
pub fn in_store_dir(path: &[u8], dirs: &[Vec<u8>]) -> bool {
    let Some(last) = path.iter().rposition(|&c| c == b'/' || c == b'.') else {
        return false;
    };
    if path[last] == b'.' || last == 0 {
        return false;
    }
    path[..last]
        .iter()
        .enumerate()
        .any(|(i, &c)| c == b'/' && dirs.iter().any(|d| path[i + 1..].starts_with(d)))
}

/// Default denied prefixes: kernel pseudo files, devices, shared libraries, locales.
pub const DEFAULT_DENY_PREFIXES: &[&str] = &[
    "/proc/",
    "/sys/",
    "/dev/",
    "/run/",
    "/etc/ld.so",
    "/lib/x86_64-linux-gnu/",
    "/lib/aarch64-linux-gnu/",
    "/usr/lib/x86_64-linux-gnu/",
    "/usr/lib/aarch64-linux-gnu/",
    "/usr/lib64/",
    "/lib64/",
    "/usr/share/locale/",
    "/usr/share/zoneinfo/",
];

/// Default prefixes inside denied ones whose files are judged by name: shared memory (a
/// model staged in `/dev/shm` for fast loads) and per-user runtime folders.
pub const DEFAULT_PASS_PREFIXES: &[&str] = &["/dev/shm/", "/run/user/"];

/// Default magic-link prefixes resolved to the opened file (eBPF): the process's own
/// descriptors, root and working directory.
pub const DEFAULT_RESOLVE_PREFIXES: &[&str] = &[
    "/proc/self/fd/",
    "/proc/self/root/",
    "/proc/self/cwd/",
    "/proc/thread-self/fd/",
    "/proc/thread-self/root/",
    "/proc/thread-self/cwd/",
    "/dev/fd/",
];

/// Default kept prefixes: accelerator device nodes.
pub const DEFAULT_KEEP_PREFIXES: &[&str] = &[
    "/dev/nvidia",
    "/dev/dri/",
    "/dev/accel/",
    "/dev/kfd",
    "/dev/neuron",
];

impl Default for FilterConfig {
    fn default() -> Self {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Self {
            allow_suffixes: crate::identify::names::reported_by_default()
                .map(str::to_string)
                .collect(),
            deny_prefixes: own(DEFAULT_DENY_PREFIXES),
            keep_prefixes: own(DEFAULT_KEEP_PREFIXES),
            pass_prefixes: own(DEFAULT_PASS_PREFIXES),
            resolve_prefixes: own(DEFAULT_RESOLVE_PREFIXES),
            store_blobs: true,
            store_dirs: own(DEFAULT_STORE_DIRS),
        }
    }
}

/// What a rule does with a matching path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Keep = 1,
    Drop = 2,
    /// Neither: the name decides (the kernel falls through to its suffix check).
    Pass = 3,
    /// A magic link: the opened file's own path decides (eBPF); a dropped name elsewhere.
    Resolve = 4,
}

impl Rule {
    /// True when a path under the prefix is never reported under that name (userspace
    /// tracers see a file's own path, never a magic link to it).
    pub fn drops_name(self) -> bool {
        matches!(self, Rule::Drop | Rule::Resolve)
    }
}

impl FilterConfig {
    /// Rejects rules the kernel cannot hold.
    pub fn validate(&self) -> Result<()> {
        for s in &self.allow_suffixes {
            if s.is_empty() || s.len() > SUFFIX_MAX {
                bail!("filter.allow_suffixes: {s:?} must be 1..={SUFFIX_MAX} bytes");
            }
        }
        for d in &self.store_dirs {
            if d.len() < 2 || d.len() > STORE_DIR_MAX || d.starts_with('/') || !d.ends_with('/') {
                bail!(
                    "filter.store_dirs: {d:?} must be 2..={STORE_DIR_MAX} bytes, end with '/' and not start with it"
                );
            }
        }
        let all = self.deny_prefixes.iter().chain(&self.keep_prefixes);
        for p in all.chain(&self.pass_prefixes).chain(&self.resolve_prefixes) {
            if !p.starts_with('/') || p.len() > PREFIX_MAX {
                bail!("filter prefix {p:?} must be absolute and at most {PREFIX_MAX} bytes");
            }
        }
        Ok(())
    }

    /// Prefix rules as (bytes, rule), pass then keep rules after deny rules so a duplicate
    /// passes, then keeps.
    pub fn prefix_rules(&self) -> Vec<(Vec<u8>, Rule)> {
        let deny = self.deny_prefixes.iter().map(|p| (p, Rule::Drop));
        let pass = self.pass_prefixes.iter().map(|p| (p, Rule::Pass));
        let keep = self.keep_prefixes.iter().map(|p| (p, Rule::Keep));
        let resolve = self.resolve_prefixes.iter().map(|p| (p, Rule::Resolve));
        deny.chain(pass)
            .chain(keep)
            .chain(resolve)
            .map(|(p, r)| (p.as_bytes().to_vec(), r))
            .collect()
    }

    /// Suffix rules as the kernel stores them: lowercased and reversed.
    pub fn reversed_suffixes(&self) -> Vec<Vec<u8>> {
        self.allow_suffixes
            .iter()
            .map(|s| s.to_ascii_lowercase().bytes().rev().collect())
            .collect()
    }

    /// Store folders as the kernel stores them (bytes, as written).
    pub fn store_dir_rules(&self) -> Vec<Vec<u8>> {
        self.store_dirs
            .iter()
            .map(|d| d.as_bytes().to_vec())
            .collect()
    }

    /// Builds the userspace matcher.
    pub fn matcher(&self) -> PathFilter {
        PathFilter {
            prefixes: self.prefix_rules(),
            suffixes: self.reversed_suffixes(),
            store_blobs: self.store_blobs,
            store_dirs: self.store_dir_rules(),
        }
    }
}

/// `/proc/PID/…`, `/proc/PID/task/TID/…` and `/proc/self/task/TID/…` as `/proc/self/…`
/// (ids: 1 to 10 digits), for the prefix rules: a magic link of another process or
/// thread is judged like the opener's own (the kernel's `proc_link_rest` does the same).
fn proc_pid_as_self(path: &[u8]) -> Option<Vec<u8>> {
    // the length of `digits` before a `/` at the start of `s`, 1 to 10 digits
    let id = |s: &[u8]| {
        let d = s.iter().take_while(|c| c.is_ascii_digit()).count();
        ((1..=10).contains(&d) && s.get(d) == Some(&b'/')).then_some(d)
    };
    let after = path.strip_prefix(b"/proc/")?;
    // `rest` starts with the `/` after the pid (or `self`)
    let mut rest = if after.starts_with(b"self/") {
        &after[4..]
    } else {
        &after[id(after)?..]
    };
    if let Some(t) = rest.strip_prefix(b"/task/") {
        rest = &t[id(t)?..];
    }
    Some([b"/proc/self".as_slice(), rest].concat())
}

/// Userspace twin of the kernel filter (fanotify and procfs tracers).
#[derive(Debug, Clone)]
pub struct PathFilter {
    prefixes: Vec<(Vec<u8>, Rule)>,
    suffixes: Vec<Vec<u8>>,
    store_blobs: bool,
    store_dirs: Vec<Vec<u8>>,
}

impl PathFilter {
    /// True when an absolute `path` lies under a denied prefix (and no longer kept one):
    /// checked again on the resolved path, which a relative open, `//proc`, `/./dev` or a
    /// symlink hides from the check on the path as passed.
    pub fn denied(&self, path: &[u8]) -> bool {
        self.prefix_rule(path).is_some_and(Rule::drops_name)
    }

    /// The rule of the longest prefix of an absolute `path` (its first [`PREFIX_MAX`]
    /// bytes, as the kernel's trie sees them).
    fn prefix_rule(&self, path: &[u8]) -> Option<Rule> {
        if path.first() != Some(&b'/') {
            return None;
        }
        let own = proc_pid_as_self(path);
        let path = own.as_deref().unwrap_or(path);
        let head = &path[..path.len().min(PREFIX_MAX)];
        self.prefixes
            .iter()
            .filter(|(p, _)| head.starts_with(p))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, r)| *r)
    }

    /// True when `path` would be reported.
    pub fn matches(&self, path: &[u8]) -> bool {
        match self.prefix_rule(path) {
            Some(Rule::Keep) => return true,
            Some(r) if r.drops_name() => return false,
            _ => {}
        }
        let tail: Vec<u8> = path
            .iter()
            .rev()
            .take(SUFFIX_MAX)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        self.suffixes.iter().any(|s| tail.starts_with(s))
            || (self.store_blobs && is_store_blob(path))
            || in_store_dir(path, &self.store_dirs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f() -> PathFilter {
        FilterConfig::default().matcher()
    }

    #[test]
    fn model_files_pass_and_noise_does_not() {
        let f = f();
        assert!(f.matches(b"/data/m/model.safetensors"));
        assert!(f.matches(b"MODEL.GGUF"));
        assert!(f.matches(b"/x/tokenizer.json"));
        assert!(!f.matches(b"/usr/lib/python3.11/os.py"));
        assert!(!f.matches(b"/usr/lib/x86_64-linux-gnu/libc.so.6"));
        assert!(!f.matches(b"/proc/self/config.json"));
    }

    #[test]
    fn accelerator_devices_are_kept_despite_dev_deny() {
        let f = f();
        assert!(f.matches(b"/dev/nvidia0"));
        assert!(f.matches(b"/dev/dri/renderD128"));
        assert!(!f.matches(b"/dev/null"));
        assert!(!f.matches(b"/dev/shm/sem.lock"));
    }

    #[test]
    fn shared_memory_and_user_runtime_files_are_judged_by_name() {
        let f = f();
        assert!(f.matches(b"/dev/shm/staged/model.safetensors"));
        assert!(f.matches(b"/run/user/1000/m.gguf"));
        assert!(!f.matches(b"/dev/shm/pym-123-abc"));
        assert!(
            !f.matches(b"/run/lock/x.gguf"),
            "the rest of /run stays denied"
        );
        assert!(!f.denied(b"/dev/shm/m.onnx"));
        assert!(f.denied(b"/dev/sda"));
    }

    #[test]
    fn magic_links_are_not_reported_under_their_own_name() {
        let f = f();
        assert!(!f.matches(b"/proc/self/fd/5"));
        assert!(!f.matches(b"/proc/self/root/m/model.gguf"));
        assert!(f.denied(b"/proc/self/fd/5"));
        let rules = FilterConfig::default().prefix_rules();
        assert!(rules.contains(&(b"/proc/self/fd/".to_vec(), Rule::Resolve)));
    }

    #[test]
    fn another_process_links_are_judged_like_its_own() {
        let f = f();
        assert_eq!(f.prefix_rule(b"/proc/4194304/fd/3"), Some(Rule::Resolve));
        assert_eq!(f.prefix_rule(b"/proc/1/root/m.gguf"), Some(Rule::Resolve));
        assert_eq!(f.prefix_rule(b"/proc/77/cwd/m.gguf"), Some(Rule::Resolve));
        assert_eq!(f.prefix_rule(b"/proc/77/task/78/fd/3"), Some(Rule::Resolve));
        assert_eq!(
            f.prefix_rule(b"/proc/self/task/78/root/m"),
            Some(Rule::Resolve)
        );
        assert_eq!(f.prefix_rule(b"/proc/self/fd/3"), Some(Rule::Resolve));
        for other in [
            &b"/proc/77/fdinfo/3"[..],
            b"/proc/77/stat",
            b"/proc/77",
            b"/proc/12345678901/fd/3",
            b"/proc/7x/fd/3",
            b"/proc/sys/fd/3",
            b"/proc/77/task/78/stat",
            b"/proc/77/task/x/fd/3",
            b"/proc/self/task/fd/3",
        ] {
            assert_eq!(f.prefix_rule(other), Some(Rule::Drop), "{other:?}");
        }
    }

    #[test]
    fn store_blobs_pass_and_other_suffixless_files_do_not() {
        let f = f();
        let hex = "0123456789abcdef".repeat(4);
        for home in ["/root/.ollama/models", "/home/ann/.ollama/models", "/srv/m"] {
            assert!(f.matches(format!("{home}/blobs/sha256-{hex}").as_bytes()));
        }
        assert!(
            f.matches(format!("blobs/sha256-{hex}").as_bytes()),
            "relative"
        );
        for no in [
            format!("/m/blobs/sha256-{hex}-partial"),
            format!("/m/blobs/sha256-{}", hex.to_uppercase()),
            format!("/m/blobs/sha256-{}", &hex[1..]),
            format!("/m/xblobs/sha256-{hex}"),
            format!("/m/other/sha256-{hex}"),
            format!("/run/m/blobs/sha256-{hex}"),
            "/usr/bin/python3".to_string(),
            "/home/ann/.ollama/models/manifests/registry.ollama.ai/library/x/latest".into(),
        ] {
            assert!(!f.matches(no.as_bytes()), "{no}");
        }
        let off = FilterConfig {
            store_blobs: false,
            ..Default::default()
        };
        assert!(!off
            .matcher()
            .matches(format!("/m/blobs/sha256-{hex}").as_bytes()));
    }

    #[test]
    fn suffixless_files_pass_inside_store_folders_of_any_home_only() {
        let f = f();
        for yes in [
            "/root/.cache/kagglehub/models/google/gemma/flax/2b/1/2b/d/0a1b2c3d",
            "/home/ann/.cache/kagglehub/models/google/gemma/flax/2b/1/2b/checkpoint",
            "/home/ann/.lmstudio/models/pub/model/weights",
            "/var/lib/svc/.cache/lm-studio/models/pub/model/weights",
            "/home/bo/.cache/modelscope/hub/models/org/name/tokenizer",
            "/home/bo/.cache/torch/hub/checkpoints/model",
            "/opt/nim/.cache/ngc/hub/models--nim--meta--x/blobs/abc123",
            "rel/.cache/kagglehub/x/y",
        ] {
            assert!(f.matches(yes.as_bytes()), "{yes}");
        }
        for no in [
            // a suffix that is not a model's: the suffix list decides
            "/home/ann/.cache/kagglehub/models/a/b/c/d/1/notes.txt",
            "/home/ann/.cache/kagglehub/models/a/b/c/d/1/.complete",
            // suffix-less files elsewhere
            "/usr/bin/python3",
            "/etc/passwd",
            "/home/ann/.cache/huggingface/hub/models--a--b/refs/main",
            "/home/ann/.ollama/models/manifests/registry.ollama.ai/library/x/latest",
            "/home/ann/x.cache/kagglehub/y",
            "/home/ann/.cache/kagglehubx/y",
            // the folder itself, or the store's name as the file
            "/home/ann/.cache/kagglehub",
            ".cache/kagglehub/x",
            // deny prefixes win
            "/run/u/.cache/kagglehub/x",
        ] {
            assert!(!f.matches(no.as_bytes()), "{no}");
        }
        // a non-UTF-8 name is bytes like any other
        assert!(f.matches(b"/home/a/.cache/kagglehub/m/\xff\xfe"));
        // a 4 KiB path
        let deep = format!("/home/a/{}.cache/kagglehub/x/y", "d/".repeat(2000));
        assert!(f.matches(deep.as_bytes()));
        let none = FilterConfig {
            store_dirs: vec![],
            ..Default::default()
        };
        assert!(!none.matcher().matches(b"/home/a/.lmstudio/models/p/m/w"));
    }

    #[test]
    fn oversize_rules_are_rejected() {
        let mut c = FilterConfig::default();
        c.allow_suffixes.push("x".repeat(33));
        assert!(c.validate().is_err());
        let mut c = FilterConfig::default();
        c.deny_prefixes.push("relative/".into());
        assert!(c.validate().is_err());
        for bad in ["/abs/", "no-slash", &format!("{}/", "x".repeat(32)), "/"] {
            let mut c = FilterConfig::default();
            c.store_dirs.push(bad.to_string());
            assert!(c.validate().is_err(), "{bad}");
        }
        assert!(FilterConfig::default().validate().is_ok());
    }
}
