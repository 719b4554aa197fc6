//! [`HubEnv`]: cache roots read from a traced process's environment.
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use crate::model::Environment;

/// Cache roots from a traced process's environment. Only absolute, non-empty values are
/// kept (a relative one would be relative to a working directory we may not know).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubEnv {
    /// `HOME`.
    pub home: Option<PathBuf>,
    /// `XDG_CACHE_HOME`.
    pub xdg_cache_home: Option<PathBuf>,
    /// `HF_HOME`.
    pub hf_home: Option<PathBuf>,
    /// `HF_HUB_CACHE`, else the legacy `HUGGINGFACE_HUB_CACHE`.
    pub hf_hub_cache: Option<PathBuf>,
    /// `TRANSFORMERS_CACHE` (legacy hub cache of `transformers`).
    pub transformers_cache: Option<PathBuf>,
    /// `HF_DATASETS_CACHE`.
    pub hf_datasets_cache: Option<PathBuf>,
    /// `TIKTOKEN_CACHE_DIR`.
    pub tiktoken_cache_dir: Option<PathBuf>,
    /// `DATA_GYM_CACHE_DIR`.
    pub data_gym_cache_dir: Option<PathBuf>,
    /// `TMPDIR`, else `TEMP`, else `TMP` (Python's `tempfile.gettempdir()` order).
    pub tmpdir: Option<PathBuf>,
    /// `KERAS_HOME`.
    pub keras_home: Option<PathBuf>,
    /// `TFHUB_CACHE_DIR`.
    pub tfhub_cache_dir: Option<PathBuf>,
    /// `KAGGLEHUB_CACHE`.
    pub kagglehub_cache: Option<PathBuf>,
    /// `OLLAMA_MODELS` (an Ollama store root).
    pub ollama_models: Option<PathBuf>,
    /// `LLAMA_CACHE` (llama.cpp's download cache).
    pub llama_cache: Option<PathBuf>,
    /// `TORCH_HOME` (PyTorch Hub lives in `TORCH_HOME/hub`).
    pub torch_home: Option<PathBuf>,
    /// `MODELSCOPE_CACHE`.
    pub modelscope_cache: Option<PathBuf>,
    /// `NIM_CACHE_PATH` (NVIDIA NIM's cache).
    pub nim_cache_path: Option<PathBuf>,
    /// `VLLM_CACHE_ROOT`.
    pub vllm_cache_root: Option<PathBuf>,
    /// The process's working directory (part of the user's tree when it is not a system dir).
    pub cwd: Option<PathBuf>,
}

/// The environment variables [`HubEnv`] reads (the attribute stage keeps them in each
/// process's [`Environment`]).
pub const ENV_KEYS: &[&str] = &[
    "HOME",
    "XDG_CACHE_HOME",
    "HF_HOME",
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "TRANSFORMERS_CACHE",
    "HF_DATASETS_CACHE",
    "TIKTOKEN_CACHE_DIR",
    "DATA_GYM_CACHE_DIR",
    "TMPDIR",
    "TEMP",
    "TMP",
    "KERAS_HOME",
    "TFHUB_CACHE_DIR",
    "KAGGLEHUB_CACHE",
    "OLLAMA_MODELS",
    "LLAMA_CACHE",
    "TORCH_HOME",
    "MODELSCOPE_CACHE",
    "NIM_CACHE_PATH",
    "VLLM_CACHE_ROOT",
];

impl HubEnv {
    /// Parses `/proc/PID/environ` content: `KEY=VALUE` entries separated by NUL bytes.
    pub fn from_environ(bytes: &[u8]) -> HubEnv {
        Self::from_process_env(&Environment::parse(bytes, ENV_KEYS), None)
    }

    /// The roots of a process's `environment` (as the attribute stage read it) and its
    /// working directory.
    pub fn from_process_env(environment: &Environment, cwd: Option<&Path>) -> HubEnv {
        let mut env = HubEnv::default();
        let (mut legacy_hub, mut temp, mut tmp) = (None, None, None);
        for (key, value) in &environment.vars {
            let key = key.as_bytes();
            let Some(value) = abs_path(value) else {
                continue;
            };
            let slot = match key {
                b"HOME" => &mut env.home,
                b"XDG_CACHE_HOME" => &mut env.xdg_cache_home,
                b"HF_HOME" => &mut env.hf_home,
                b"HF_HUB_CACHE" => &mut env.hf_hub_cache,
                b"HUGGINGFACE_HUB_CACHE" => &mut legacy_hub,
                b"TRANSFORMERS_CACHE" => &mut env.transformers_cache,
                b"HF_DATASETS_CACHE" => &mut env.hf_datasets_cache,
                b"TIKTOKEN_CACHE_DIR" => &mut env.tiktoken_cache_dir,
                b"DATA_GYM_CACHE_DIR" => &mut env.data_gym_cache_dir,
                b"TMPDIR" => &mut env.tmpdir,
                b"TEMP" => &mut temp,
                b"TMP" => &mut tmp,
                b"KERAS_HOME" => &mut env.keras_home,
                b"TFHUB_CACHE_DIR" => &mut env.tfhub_cache_dir,
                b"KAGGLEHUB_CACHE" => &mut env.kagglehub_cache,
                b"OLLAMA_MODELS" => &mut env.ollama_models,
                b"LLAMA_CACHE" => &mut env.llama_cache,
                b"TORCH_HOME" => &mut env.torch_home,
                b"MODELSCOPE_CACHE" => &mut env.modelscope_cache,
                b"NIM_CACHE_PATH" => &mut env.nim_cache_path,
                b"VLLM_CACHE_ROOT" => &mut env.vllm_cache_root,
                _ => continue,
            };
            // The kernel keeps duplicates; getenv() returns the first.
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        env.hf_hub_cache = env.hf_hub_cache.or(legacy_hub);
        env.tmpdir = env.tmpdir.or(temp).or(tmp);
        env.cwd = cwd.filter(|p| p.is_absolute()).map(Path::to_path_buf);
        env
    }

    /// `$XDG_CACHE_HOME`, else `$HOME/.cache`.
    fn cache_home(&self) -> Option<PathBuf> {
        self.xdg_cache_home
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".cache")))
    }

    /// `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface` (as `huggingface_hub` does).
    pub(super) fn hf_home(&self) -> Option<PathBuf> {
        self.hf_home
            .clone()
            .or_else(|| self.cache_home().map(|c| c.join("huggingface")))
    }

    /// Hub caches: `HF_HUB_CACHE`, `TRANSFORMERS_CACHE`, `HF_HOME/hub`.
    pub(super) fn hf_hub_caches(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        v.extend(self.hf_hub_cache.clone());
        v.extend(self.transformers_cache.clone());
        v.extend(self.hf_home().map(|h| h.join("hub")));
        v
    }

    /// `datasets` caches: `HF_DATASETS_CACHE`, `HF_HOME/datasets`.
    pub(super) fn hf_datasets_caches(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        v.extend(self.hf_datasets_cache.clone());
        v.extend(self.hf_home().map(|h| h.join("datasets")));
        v
    }

    fn tmp(&self) -> PathBuf {
        self.tmpdir.clone().unwrap_or_else(|| PathBuf::from("/tmp"))
    }

    pub(super) fn tiktoken_caches(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        v.extend(self.tiktoken_cache_dir.clone());
        v.extend(self.data_gym_cache_dir.clone());
        v.push(self.tmp().join("data-gym-cache"));
        v
    }

    pub(super) fn whisper_caches(&self) -> Vec<PathBuf> {
        self.cache_home()
            .map(|c| c.join("whisper"))
            .into_iter()
            .collect()
    }

    pub(super) fn keras_homes(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        v.extend(self.keras_home.clone());
        v.extend(self.home.as_ref().map(|h| h.join(".keras")));
        v
    }

    pub(super) fn tfhub_caches(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        v.extend(self.tfhub_cache_dir.clone());
        v.push(self.tmp().join("tfhub_modules"));
        v
    }

    /// Ollama store roots: `OLLAMA_MODELS`, `$HOME/.ollama/models`, and the Linux
    /// service's `/usr/share/ollama/.ollama/models`.
    pub(super) fn ollama_roots(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        v.extend(self.ollama_models.clone());
        v.extend(
            self.home
                .as_ref()
                .map(|h| h.join(crate::identify::names::OLLAMA_HOME_STORE)),
        );
        v.push(PathBuf::from(crate::identify::names::OLLAMA_SERVICE_STORE));
        v
    }

    /// llama.cpp's cache: `LLAMA_CACHE`, else `$XDG_CACHE_HOME/llama.cpp` or
    /// `~/.cache/llama.cpp` (`fs_get_cache_directory` in llama.cpp's `common`).
    pub(super) fn llama_cpp_caches(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        v.extend(self.llama_cache.clone());
        v.extend(self.cache_home().map(|c| c.join("llama.cpp")));
        v
    }

    /// PyTorch Hub: `$TORCH_HOME/hub`, else `$XDG_CACHE_HOME/torch/hub` or
    /// `~/.cache/torch/hub` (`torch.hub.get_dir`).
    pub(super) fn torch_hubs(&self) -> Vec<PathBuf> {
        let home = self
            .torch_home
            .clone()
            .or_else(|| self.cache_home().map(|c| c.join("torch")));
        home.map(|h| h.join("hub")).into_iter().collect()
    }

    /// NVIDIA NIM: `NIM_CACHE_PATH`, else `/opt/nim/.cache`.
    pub(super) fn nim_caches(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        v.extend(self.nim_cache_path.clone());
        v.push(PathBuf::from(crate::identify::names::NIM_DEFAULT_CACHE));
        v
    }

    /// vLLM: `VLLM_CACHE_ROOT`, else `$XDG_CACHE_HOME/vllm` or `~/.cache/vllm`.
    pub(super) fn vllm_caches(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        v.extend(self.vllm_cache_root.clone());
        v.extend(self.cache_home().map(|c| c.join("vllm")));
        v
    }

    pub(super) fn kagglehub_caches(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        v.extend(self.kagglehub_cache.clone());
        v.extend(
            self.home
                .as_ref()
                .map(|h| h.join(".cache").join("kagglehub")),
        );
        v
    }
}

fn abs_path(value: &[u8]) -> Option<PathBuf> {
    if value.first() != Some(&b'/') {
        return None;
    }
    Some(PathBuf::from(std::ffi::OsString::from_vec(value.to_vec())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    use super::super::origin;
    use super::super::tests::none;
    use aibom_semconv::provider;

    #[test]
    fn environ_parsing() {
        let e = HubEnv::from_environ(
            b"HOME=/home/u\0HF_HOME=/data/hf\0HF_HOME=/ignored\0TMPDIR=relative\0TMP=/scratch/t\0HUGGINGFACE_HUB_CACHE=/legacy\0KAGGLEHUB_CACHE=\0garbage\0=x\0",
        );
        assert_eq!(e.home.as_deref(), Some(Path::new("/home/u")));
        assert_eq!(e.hf_home.as_deref(), Some(Path::new("/data/hf")));
        assert_eq!(e.tmpdir.as_deref(), Some(Path::new("/scratch/t")));
        assert_eq!(e.hf_hub_cache.as_deref(), Some(Path::new("/legacy")));
        assert_eq!(e.kagglehub_cache, None);
        // HF_HOME: a hub file there without the repo shape is still Hugging Face's.
        let p = Path::new("/data/hf/xet/chunk-cache/abc");
        assert_eq!(origin(p, p, &none(), &e).provider, provider::HUGGINGFACE);
    }

    #[test]
    fn roots_come_from_the_environment_the_attribute_stage_read() {
        let mut at = crate::attribute::Attributor::new(&Default::default(), "p", None)
            .unwrap()
            .with_env_keys(ENV_KEYS);
        let me = at.lookup(std::process::id(), Default::default());
        let e = HubEnv::from_process_env(&me.environment, me.working_directory.as_deref());
        assert_eq!(e.cwd, std::env::current_dir().ok());
        if let Some(home) = std::env::var_os("HOME").filter(|h| h.as_bytes().first() == Some(&b'/'))
        {
            assert_eq!(e.home.as_deref(), Some(Path::new(&home)));
        }
        // A process that does not exist: defaults, no panic.
        let gone = at.lookup(u32::MAX, Default::default());
        assert_eq!(
            HubEnv::from_process_env(&gone.environment, gone.working_directory.as_deref()),
            HubEnv::default()
        );
    }
}
