//! Daemon configuration: defaults, then a TOML file, then `AIBOM_*` environment overrides
//! (`AIBOM_TRACER=procfs`, `AIBOM_EBPF__WAKEUP_BYTES=65536`, `AIBOM_FILTER__ALLOW_SUFFIXES=.gguf,.onnx`).
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::export::ExportConfig;
use crate::filter::FilterConfig;
use crate::identify::IdentifyConfig;
use crate::normalize::NormalizeConfig;
use crate::pipeline::PipelineConfig;
use crate::tracer::ebpf::EbpfConfig;
use crate::tracer::procfs::ProcfsConfig;
use crate::tracer::{Settings, TracerChoice};

/// Everything `aibomd` can be configured with. Every field has a default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Tracer backend: `auto` (best that works), `ebpf`, `fanotify` or `procfs`.
    pub tracer: TracerChoice,
    /// Project every access is attributed to when nothing more specific applies.
    pub project: String,
    /// Which paths are reported (pushed into the kernel for the eBPF tracer).
    pub filter: FilterConfig,
    /// eBPF tracer settings.
    pub ebpf: EbpfConfig,
    /// procfs polling tracer settings.
    pub procfs: ProcfsConfig,
    /// Pipeline settings between tracer and sinks.
    pub pipeline: PipelineConfig,
    /// The normalize stage's cache (`[normalize]`).
    pub normalize: NormalizeConfig,
    /// The identify stage's cache (`[identify]`).
    pub identify: IdentifyConfig,
    /// Where events go.
    pub export: ExportConfig,
    /// Who an access is attributed to: process, container, pod, project (`[attribute]`).
    pub attribute: crate::attribute::AttributeConfig,
    /// The control API (scans) of `aibomd daemon`.
    pub control: crate::control::ControlConfig,
    /// Policy rules and their enforcement (`[policy]`).
    pub policy: crate::policy::PolicyConfig,
    /// AI API calls (`[api]`).
    pub api: crate::api::ApiConfig,
    /// Accelerator memory samples through NVML (`[accelerator]`).
    pub accelerator: crate::tracer::nvml::AcceleratorConfig,
    /// Least privilege once tracing is set up (`[sandbox]`).
    pub sandbox: crate::sandbox::SandboxConfig,
    /// Per-project sampling and rate limits between scans (`[projects.<id>]`).
    pub projects: std::collections::HashMap<String, crate::scan::limits::ProjectLimits>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tracer: TracerChoice::Auto,
            project: "default".into(),
            filter: FilterConfig::default(),
            ebpf: EbpfConfig::default(),
            procfs: ProcfsConfig::default(),
            pipeline: PipelineConfig::default(),
            normalize: Default::default(),
            identify: Default::default(),
            export: ExportConfig::default(),
            attribute: Default::default(),
            control: Default::default(),
            policy: Default::default(),
            api: Default::default(),
            accelerator: Default::default(),
            sandbox: Default::default(),
            projects: Default::default(),
        }
    }
}

impl Config {
    /// Loads defaults, then `file` (an error if given and missing), then `AIBOM_*` env.
    pub fn load(file: Option<&Path>) -> Result<Self> {
        let mut b = config::Config::builder();
        if let Some(f) = file {
            b = b.add_source(config::File::from(f).required(true));
        }
        b = b.add_source(
            config::Environment::with_prefix("AIBOM")
                .prefix_separator("_")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("filter.allow_suffixes")
                .with_list_parse_key("filter.deny_prefixes")
                .with_list_parse_key("filter.keep_prefixes")
                .with_list_parse_key("filter.pass_prefixes")
                .with_list_parse_key("filter.resolve_prefixes")
                .try_parsing(true),
        );
        let built = b.build().with_context(|| match file {
            Some(f) => format!("reading config file {}", f.display()),
            None => "reading AIBOM_* environment".into(),
        })?;
        let mut unknown = Vec::new();
        let mut cfg: Config =
            serde_ignored::deserialize(built, |key| unknown.push(key.to_string()))
                .context("invalid configuration")?;
        reject_unknown(&unknown, file, |k| std::env::var_os(k).is_some())?;
        cfg.filter.validate()?;
        cfg.identify.validate()?;
        for (p, l) in &cfg.projects {
            l.validate(p)?;
        }
        cfg.export.otlp.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
    }

    /// What the tracers take from it.
    pub fn tracer_settings(&self) -> Settings<'_> {
        Settings {
            filter: &self.filter,
            ebpf: &self.ebpf,
            procfs: &self.procfs,
            api: &self.api,
        }
    }

    /// The effective configuration as TOML (`aibomd config`).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serializes")
    }
}

/// The `AIBOM_*` variable that sets `key` (`ebpf.wakeup_bytes` → `AIBOM_EBPF__WAKEUP_BYTES`).
fn env_name(key: &str) -> String {
    format!("AIBOM_{}", key.replace('.', "__").to_ascii_uppercase())
}

/// Fails on the first key no setting has: a typo in the file (`wakeup_byte`) or a nested
/// `AIBOM_A__B` variable. Top-level `AIBOM_*` variables that are not settings
/// (`AIBOM_LOG`, `AIBOM_CONFIG`, `AIBOM_PROJECT` of a workload…) are not configuration.
fn reject_unknown(
    unknown: &[String],
    file: Option<&Path>,
    env_has: impl Fn(&str) -> bool,
) -> Result<()> {
    for key in unknown {
        let var = env_name(key);
        if env_has(&var) {
            if key.contains('.') {
                anyhow::bail!("unknown setting `{key}` in environment variable {var}; `aibomd config` lists every setting");
            }
            continue;
        }
        match file {
            Some(f) => anyhow::bail!(
                "unknown key `{key}` in config file {}; `aibomd config` lists every setting",
                f.display()
            ),
            None => anyhow::bail!("unknown setting `{key}`; `aibomd config` lists every setting"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_toml(text: &str) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("aibomd.toml");
        std::fs::write(&f, text).unwrap();
        Config::load(Some(&f))
    }

    #[test]
    fn a_typo_in_the_file_names_the_key_and_the_file() {
        let err = load_toml("[ebpf]\nwakeup_byte = 4096\n").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("`ebpf.wakeup_byte`"), "{msg}");
        assert!(msg.contains("aibomd.toml"), "{msg}");
        let err = load_toml("tracr = \"procfs\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("`tracr`"), "{err:#}");
        let err =
            load_toml("[attribute]\n[[attribute.rules]]\nproject = \"x\"\nnamespce = \"a\"\n")
                .unwrap_err();
        assert!(format!("{err:#}").contains("namespce"), "{err:#}");
    }

    #[test]
    fn known_keys_load() {
        let cfg = load_toml("tracer = \"procfs\"\n[ebpf]\nwakeup_bytes = 4096\n[projects.demo]\nsample_rate = 0.5\n")
            .unwrap();
        assert_eq!(cfg.ebpf.wakeup_bytes, 4096);
        assert_eq!(cfg.tracer, TracerChoice::Procfs);
    }

    #[test]
    fn only_nested_environment_variables_must_be_settings() {
        let env = |k: &str| k == "AIBOM_LOG" || k == "AIBOM_EBPF__WAKEUP_BYTE";
        reject_unknown(&["log".into()], None, env).unwrap();
        let err = reject_unknown(&["ebpf.wakeup_byte".into()], None, env).unwrap_err();
        assert!(err.to_string().contains("AIBOM_EBPF__WAKEUP_BYTE"), "{err}");
    }
}
