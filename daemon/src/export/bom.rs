//! BOM sink: collects what the traced workload loaded and writes one AI-BOM document
//! (CycloneDX 1.6 JSON or SPDX 3.0.1 JSON-LD, see the `aibom-bom` crate) at `close()`.
//!
//! Only files the workload read, mapped or executed are listed: files it only wrote are
//! its outputs, not its materials. The file is written atomically (a temporary file in the
//! same directory, fsynced, renamed over FILE), so a reader never sees half a document.
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use aibom_bom::{ApiService, Evidence, FileObservation, Format, Process, Workload};
use anyhow::{Context, Result};

use super::budget::{self, Budget};
use super::{path_string, Sink};
use crate::model::{AccessMode, AccessRecord};

/// What is remembered of one accessed file.
#[derive(Default)]
struct Seen {
    loaded: bool,
    via: BTreeSet<PathBuf>,
    processes: BTreeSet<Process>,
    tracers: BTreeSet<&'static str>,
    project: String,
    artifact: Option<std::sync::Arc<crate::model::Artifact>>,
}

/// Writes an AI-BOM of everything loaded to a file when closed.
pub struct BomSink {
    path: PathBuf,
    format: Format,
    workload: Workload,
    /// By file, and where inside it an embedded artifact (a chat template) was read from.
    files: BTreeMap<budget::FileKey, Seen>,
    /// AI APIs called, by (provider, host, port).
    services: BTreeMap<(String, String, u16), ApiService>,
    /// Accelerators each process opened (`VENDOR/KIND[/INDEX]`), by pid.
    accelerators: BTreeMap<u32, BTreeSet<String>>,
    /// What all of the above may hold (`[export] bom_max_bytes`).
    budget: Budget,
}

impl BomSink {
    /// A sink writing `format` to `path` (`-`: stdout) for `workload`, keeping at most
    /// `max_bytes` of evidence (estimated, see [`Budget`]) until then.
    pub fn new(path: PathBuf, format: Format, workload: Workload, max_bytes: u64) -> Self {
        Self {
            path,
            format,
            workload,
            files: BTreeMap::new(),
            services: BTreeMap::new(),
            accelerators: BTreeMap::new(),
            budget: Budget::new(max_bytes),
        }
    }

    /// Adds an API call record to its service.
    fn api_call(&mut self, r: &AccessRecord, c: &crate::model::ApiCall) {
        let key = (
            c.provider.to_string(),
            c.server_address.clone(),
            c.server_port,
        );
        let bytes = key.0.len() + key.1.len();
        let Some(s) = budget::entry(&mut self.services, key, bytes, &mut self.budget, || {
            ApiService {
                provider: c.provider.to_string(),
                gen_ai_provider: c.gen_ai_provider.map(str::to_string),
                host: c.server_address.clone(),
                port: Some(c.server_port),
                paths: Vec::new(),
                models: Vec::new(),
                operations: Vec::new(),
                seen_by: Vec::new(),
                calls: 0,
                input_tokens: None,
                output_tokens: None,
                processes: Vec::new(),
            }
        }) else {
            return;
        };
        fn add(v: &mut Vec<String>, x: Option<&str>, room: &mut Budget) {
            if let Some(x) = x {
                if let Err(i) = v.binary_search_by(|y| y.as_str().cmp(x)) {
                    if room.take(x.len()) {
                        v.insert(i, x.to_string());
                    }
                }
            }
        }
        let room = &mut self.budget;
        add(&mut s.paths, c.path.as_deref(), room);
        add(&mut s.models, c.request_model.as_deref(), room);
        add(&mut s.operations, c.operation, room);
        add(&mut s.seen_by, Some(c.seen_by), room);
        s.calls += c.count;
        crate::model::add_tokens(&mut s.input_tokens, c.input_tokens);
        crate::model::add_tokens(&mut s.output_tokens, c.output_tokens);
        let p = Process {
            exe: r.process.comm.clone().unwrap_or_else(|| "?".into()),
            pid: Some(r.pid()),
        };
        if let Err(i) = s.processes.binary_search(&p) {
            if room.take(p.exe.len()) {
                s.processes.insert(i, p);
            }
        }
    }

    /// The evidence collected so far.
    pub fn evidence(&self) -> Evidence {
        let files = self
            .files
            .iter()
            // accelerator nodes are a use of hardware, not a component
            .filter(|(_, s)| {
                s.loaded && s.artifact.as_ref().is_none_or(|a| a.accelerator.is_none())
            })
            .map(|((path, _), s)| observation(path, s, &self.accelerators))
            .collect();
        let mut ev = Evidence::build(self.workload.clone(), files, env!("CARGO_PKG_VERSION"));
        ev.services = self.services.values().cloned().collect();
        let n = self.budget.left_out();
        if n > 0 {
            ev.incomplete = Some(format!(
                "{n} file(s), service(s), process(es) or path(s) left out at aibomd's [export] bom_max_bytes = {}",
                self.budget.max()
            ));
        }
        for c in ev
            .components
            .iter_mut()
            .filter(|c| c.kind == aibom_bom::Kind::Model)
        {
            aibom_bom::card::fill_from_disk(c);
        }
        ev
    }
}

fn ps(p: &Path) -> String {
    path_string(p.as_os_str().as_bytes())
}

fn observation(
    path: &Path,
    s: &Seen,
    accelerators: &BTreeMap<u32, BTreeSet<String>>,
) -> FileObservation {
    let a = s.artifact.as_deref().cloned().unwrap_or_default();
    let devices: BTreeSet<&String> = s
        .processes
        .iter()
        .filter_map(|p| accelerators.get(&p.pid?))
        .flatten()
        .collect();
    let opt = |v: &str| Some(v.to_string()).filter(|v| !v.is_empty());
    FileObservation {
        path: ps(path),
        via: s.via.iter().map(|v| ps(v)).collect(),
        artifact_type: a.artifact_type.to_string(),
        role: a.role.map(str::to_string),
        format: opt(a.format),
        format_mismatch: a.format_mismatch.map(str::to_string),
        provider: opt(a.provider),
        id: a.id,
        name: a.name,
        revision: a.revision,
        source_url: a.source_url,
        license: a.license,
        license_source: a.license_source.map(str::to_string),
        sha256: a.sha256,
        sha256_source: a.sha256_source.map(str::to_string),
        size: a.version.map(|v| v.size),
        processes: s.processes.iter().cloned().collect(),
        accelerators: devices.into_iter().cloned().collect(),
        tracers: s.tracers.iter().map(|t| t.to_string()).collect(),
        project: s.project.clone(),
        whole: a.whole.as_deref().map(|w| aibom_bom::WholeFacts {
            id: w.id.clone(),
            part_index: w.part_index,
            part_count: w.part_count,
            files: w.listing.as_ref().map(|l| l.files),
            bytes: w.listing.as_ref().map(|l| l.bytes),
            sha256: w.listing.as_ref().map(|l| l.digest.clone()),
            skipped: w.listing.as_ref().map(|l| l.skipped),
        }),
        embedded: a.embedded,
        unsafe_reason: a.unsafe_scan.as_ref().and_then(|u| u.reason()),
        sha256_expected: a.sha256_expected,
    }
}

impl Sink for BomSink {
    fn name(&self) -> &'static str {
        "bom"
    }

    fn emit(&mut self, r: &AccessRecord) -> Result<()> {
        if let Some(c) = &r.api {
            if r.kind == crate::model::RecordKind::ApiCall {
                self.api_call(r, c);
            }
            return Ok(());
        }
        if let Some(acc) = r.artifact.as_ref().and_then(|a| a.accelerator) {
            let device = acc.device();
            let n = device.len();
            let devices = self.accelerators.entry(r.pid()).or_default();
            budget::insert(devices, device, n, &mut self.budget);
        }
        let embedded = r.artifact.as_ref().and_then(|a| a.embedded.clone());
        let key = (r.file_path.to_path_buf(), embedded);
        let bytes = budget::file_key_bytes(&key);
        let Some(s) = budget::entry(&mut self.files, key, bytes, &mut self.budget, Seen::default)
        else {
            return Ok(());
        };
        let room = &mut self.budget;
        // what was read describes the artifact better than what was being written; an
        // `identified` record completes it with the hash
        if r.artifact.is_some() && (s.artifact.is_none() || r.mode != AccessMode::Write) {
            s.artifact.clone_from(&r.artifact);
        }
        s.loaded |= r.mode != AccessMode::Write;
        if r.absolute_path != r.file_path {
            let n = r.absolute_path.as_os_str().len();
            budget::insert(&mut s.via, r.absolute_path.to_path_buf(), n, room);
        }
        let p = Process {
            exe: r.process.comm.clone().unwrap_or_else(|| "?".into()),
            pid: Some(r.pid()),
        };
        let n = p.exe.len();
        budget::insert(&mut s.processes, p, n, room);
        s.tracers.insert(r.tracer);
        if s.project.is_empty() {
            s.project = r.project().to_string();
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        let ev = self.evidence();
        if let Some(why) = &ev.incomplete {
            tracing::warn!("the BOM is incomplete: {why}");
        }
        let doc = aibom_bom::render(&ev, self.format);
        if self.path.as_os_str() == "-" {
            std::io::stdout().write_all(doc.as_bytes())?;
            return Ok(());
        }
        write_atomically(&self.path, doc.as_bytes())
            .with_context(|| format!("cannot write the BOM to {}", self.path.display()))
    }
}

/// The workload of `aibomd run -- CMD`: named after the program.
pub fn run_workload(command: &[String], project: &str) -> Workload {
    let name = command
        .first()
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
        .unwrap_or_default();
    Workload {
        name,
        command: command.to_vec(),
        project: project.to_string(),
    }
}

/// `aibomd bom merge`: reads two CycloneDX JSON files, writes the merge to `out` (`None`
/// or `-`: stdout) and returns what it found.
pub fn merge_files(
    static_bom: &Path,
    runtime: &Path,
    out: Option<&Path>,
) -> Result<aibom_bom::merge::MergeReport> {
    let read = |p: &Path| -> Result<serde_json::Value> {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", p.display()))
    };
    let (merged, report) = aibom_bom::merge::merge(&read(static_bom)?, &read(runtime)?)?;
    let mut doc = serde_json::to_string_pretty(&merged)?;
    doc.push('\n');
    match out {
        Some(p) if p.as_os_str() != "-" => write_atomically(p, doc.as_bytes())
            .with_context(|| format!("cannot write {}", p.display()))?,
        _ => std::io::stdout().write_all(doc.as_bytes())?,
    }
    Ok(report)
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().context("the BOM path names no file")?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let res = (|| -> Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("bom.json");
        std::fs::write(&p, "old").unwrap();
        write_atomically(&p, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
        assert!(write_atomically(&d.path().join("no/such/dir/bom.json"), b"x").is_err());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
