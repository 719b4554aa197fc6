//! The `export` stage: sinks that records leave through.
//!
//! Every sink sees the same flat attribute list ([`attributes`]), named by `semconv`.
pub mod bom;
mod config;
pub mod console;
pub mod jsonl;
pub mod otel;
pub mod summary;

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use aibom_semconv::attr;
use anyhow::Result;

use crate::model::{AccessRecord, Attribution, ScanReport};
pub use crate::text::{path_string, rfc3339};
pub use config::ExportConfig;

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
}

/// A destination for records.
pub trait Sink: Send {
    /// Short name for logs.
    fn name(&self) -> &'static str;
    /// Takes one record.
    fn emit(&mut self, rec: &AccessRecord) -> Result<()>;
    /// Writes out anything buffered.
    fn flush(&mut self) -> Result<()>;
    /// A traced process started a program.
    fn process_exec(&mut self, _e: &crate::model::ExecInfo) {}
    /// A traced process exited.
    fn process_exit(&mut self, _pid: u32) {}
    /// A scan started (its records follow, tagged with its id).
    fn scan_started(&mut self, _scan: &ScanReport) {}
    /// A scan ended; `scan` has its final counts.
    fn scan_ended(&mut self, _scan: &ScanReport) {}
    /// Last call: flush and release everything.
    fn close(&mut self) -> Result<()> {
        self.flush()
    }
}

fn p(path: &Path) -> Value {
    Value::Str(path_string(path.as_os_str().as_bytes()))
}

/// The process, container and pod attributes of an attribution.
fn attribution_attributes(w: &Attribution, opt: &mut impl FnMut(&'static str, Option<Value>)) {
    let s = |v: &Option<String>| v.clone().map(Value::Str);
    opt(attr::PROCESS_COMMAND_LINE, s(&w.command_line));
    opt(
        attr::PROCESS_CREATION_TIME,
        w.start_time.map(|t| Value::Str(rfc3339(t))),
    );
    opt(
        attr::PROCESS_WORKING_DIRECTORY,
        w.working_directory.as_deref().map(p),
    );
    if let Some(c) = &w.container {
        opt(attr::CONTAINER_ID, Some(Value::Str(c.id.clone())));
        opt(
            attr::CONTAINER_RUNTIME_NAME,
            c.runtime.map(|r| Value::Str(r.into())),
        );
    }
    opt(attr::K8S_POD_UID, s(&w.pod_uid));
    if let Some(pod) = &w.pod {
        opt(attr::K8S_POD_NAME, Some(Value::Str(pod.name.clone())));
        opt(
            attr::K8S_NAMESPACE_NAME,
            Some(Value::Str(pod.namespace.clone())),
        );
    }
}

/// The record's attributes, in a stable order, absent values left out.
pub fn attributes(r: &AccessRecord) -> Vec<(&'static str, Value)> {
    let w = &*r.process;
    let mut a = vec![
        (attr::FILE_PATH, p(&r.file_path)),
        (attr::ACCESS_PATH, Value::Str(path_string(&r.access_path))),
        (attr::ACCESS_ABSOLUTE_PATH, p(&r.absolute_path)),
        (attr::ACCESS_RESOLUTION, Value::Str(r.resolution.into())),
        (attr::ACCESS_MODE, Value::Str(r.mode.as_str().into())),
        (attr::ACCESS_COUNT, Value::Int(r.count as i64)),
        (attr::PROCESS_PID, Value::Int(w.pid.into())),
        (attr::TRACER, Value::Str(r.tracer.into())),
        (attr::PROJECT_ID, Value::Str(w.project.to_string())),
        (attr::ACCESS_ORIGIN, Value::Str(r.origin.into())),
    ];
    let mut opt = |k: &'static str, v: Option<Value>| {
        if let Some(v) = v {
            a.push((k, v));
        }
    };
    opt(attr::SCAN_ID, r.scan_id.clone().map(Value::Str));
    opt(attr::FILE_SIZE, r.size.map(|s| Value::Int(s as i64)));
    opt(
        attr::FILE_MODIFIED,
        r.modified.map(|t| Value::Str(rfc3339(t))),
    );
    opt(
        attr::FILE_INODE,
        r.inode.map(|i| Value::Str(i.to_string())), /* OTel: file.inode is a string */
    );
    opt(
        attr::ACCESS_SYSCALL,
        r.syscall.map(|s| Value::Str(s.into())),
    );
    opt(attr::ACCESS_FLAGS, r.flags.map(|f| Value::Int(f as i64)));
    opt(
        attr::PROCESS_PARENT_PID,
        w.ppid.map(|v| Value::Int(v.into())),
    );
    opt(
        attr::PROCESS_EXECUTABLE_NAME,
        w.comm.clone().map(Value::Str),
    );
    opt(attr::PROCESS_EXECUTABLE_PATH, w.exe.as_deref().map(p));
    opt(attr::PROCESS_OWNER, w.owner.clone().map(Value::Str));
    opt(attr::PROCESS_UID, w.uid.map(|v| Value::Int(v.into())));
    opt(
        attr::PROCESS_CGROUP_ID,
        w.cgroup_id.map(|v| Value::Int(v as i64)),
    );
    opt(
        attr::PROJECT_SOURCE,
        Some(Value::Str(w.project_source.into())),
    );
    attribution_attributes(w, &mut opt);
    if let Some(x) = &r.artifact {
        let s = |v: &str| Some(Value::Str(v.to_string()));
        let os = |v: &Option<String>| v.clone().map(Value::Str);
        opt(attr::ARTIFACT_TYPE, s(x.artifact_type));
        opt(attr::ARTIFACT_ROLE, x.role.and_then(s));
        opt(attr::ARTIFACT_FORMAT, s(x.format));
        opt(
            attr::ARTIFACT_FORMAT_MISMATCH,
            x.format_mismatch.and_then(s),
        );
        opt(attr::ARTIFACT_FORMAT_ERROR, os(&x.format_error));
        opt(attr::ARTIFACT_PROVIDER, s(x.provider));
        opt(attr::ARTIFACT_ID, os(&x.id));
        opt(attr::ARTIFACT_NAME, os(&x.name));
        opt(attr::ARTIFACT_REVISION, os(&x.revision));
        opt(attr::ARTIFACT_SOURCE_URL, os(&x.source_url));
        opt(attr::ARTIFACT_LICENSE, os(&x.license));
        opt(attr::ARTIFACT_LICENSE_SOURCE, x.license_source.and_then(s));
        opt(attr::ARTIFACT_SHA256, os(&x.sha256));
        opt(attr::ARTIFACT_SHA256_SOURCE, x.sha256_source.and_then(s));
        opt(attr::ARTIFACT_SHA256_ERROR, os(&x.sha256_error));
    }
    a
}

/// The attributes of a scan's `aibom.scan.summary` event (and of its span at the end).
pub fn scan_attributes(s: &ScanReport) -> Vec<(&'static str, Value)> {
    vec![
        (attr::SCAN_ID, Value::Str(s.scan_id.clone())),
        (attr::PROJECT_ID, Value::Str(s.project.clone())),
        (attr::SCAN_STATE, Value::Str(s.state.into())),
        (attr::SCAN_DURATION, Value::Int(s.duration as i64)),
        (attr::SCAN_RECORDS, Value::Int(s.records as i64)),
        (
            attr::SCAN_INVENTORY_RECORDS,
            Value::Int(s.inventory_records as i64),
        ),
        (attr::SCAN_ARTIFACTS, Value::Int(s.artifacts as i64)),
        (attr::SCAN_PROCESSES, Value::Int(s.processes as i64)),
    ]
}
