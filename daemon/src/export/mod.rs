//! The `export` stage: sinks that records leave through.
//!
//! Every sink sees the same flat attribute list ([`attributes`]), named by `semconv`.
pub mod bom;
pub mod budget;
mod config;
pub mod console;
pub mod fanout;
pub mod ids;
pub mod jsonl;
pub mod otel;
pub mod summary;

use std::borrow::Cow;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use aibom_semconv::attr;
use anyhow::Result;

use crate::model::{AccessRecord, Attribution, ScanReport};
pub use crate::text::{path_string, rfc3339};
pub use config::ExportConfig;

/// An attribute value, borrowed from the record where it can be.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Bool(bool),
}

impl Value<'_> {
    /// An owned copy.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Int(i) => Value::Int(i),
            Value::Bool(b) => Value::Bool(b),
        }
    }
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
    /// A sample of the accelerator memory process `pid` holds, in bytes.
    fn accelerator_memory(&mut self, _pid: u32, _bytes: u64) {}
    /// A scan started (its records follow, tagged with its id).
    fn scan_started(&mut self, _scan: &ScanReport) {}
    /// A scan ended; `scan` has its final counts.
    fn scan_ended(&mut self, _scan: &ScanReport) {}
    /// Last call: flush and release everything.
    fn close(&mut self) -> Result<()> {
        self.flush()
    }
}

/// A path as an attribute value: borrowed when it is UTF-8 (nearly always), escaped
/// otherwise (see [`path_string`]).
fn p(path: &Path) -> Value<'_> {
    match path.to_str() {
        Some(s) => Value::Str(Cow::Borrowed(s)),
        None => Value::Str(Cow::Owned(path_string(path.as_os_str().as_bytes()))),
    }
}

fn s(v: &str) -> Value<'_> {
    Value::Str(Cow::Borrowed(v))
}

fn os(v: &Option<String>) -> Option<Value<'_>> {
    v.as_deref().map(s)
}

/// The process, container and pod attributes of an attribution.
fn attribution_attributes<'a>(
    w: &'a Attribution,
    opt: &mut impl FnMut(&'static str, Option<Value<'a>>),
) {
    opt(
        attr::PROCESS_CREATION_TIME,
        w.start_time.map(|t| Value::Str(rfc3339(t).into())),
    );
    opt(
        attr::PROCESS_WORKING_DIRECTORY,
        w.working_directory.as_deref().map(p),
    );
    opt(
        attr::PROCESS_VPID,
        w.vpid.filter(|v| *v != w.pid).map(|v| Value::Int(v.into())),
    );
    if let Some(c) = &w.container {
        opt(attr::CONTAINER_ID, Some(s(&c.id)));
        opt(attr::CONTAINER_RUNTIME_NAME, c.runtime.map(s));
        if let Some(img) = &c.image {
            opt(attr::CONTAINER_IMAGE_NAME, os(&img.name));
            opt(attr::CONTAINER_IMAGE_ID, os(&img.id));
        }
    }
    opt(attr::K8S_POD_UID, os(&w.pod_uid));
    if let Some(pod) = &w.pod {
        opt(attr::K8S_POD_NAME, Some(s(&pod.name)));
        opt(attr::K8S_NAMESPACE_NAME, Some(s(&pod.namespace)));
    }
}

/// Calls `out` with each of the record's attributes, in a stable order, absent values
/// left out. Values borrow from the record: no copy of a path or name is made.
pub fn visit_attributes<'a>(r: &'a AccessRecord, mut out: impl FnMut(&'static str, Value<'a>)) {
    if r.id.is_set() {
        out(attr::RECORD_ID, Value::Str(ids::text(r.id).into()));
    }
    if let Some(call) = &r.api {
        return visit_api_attributes(r, call, out);
    }
    let w = &*r.process;
    out(attr::FILE_PATH, p(&r.file_path));
    out(
        attr::ACCESS_PATH,
        match std::str::from_utf8(&r.access_path) {
            Ok(v) => s(v),
            Err(_) => Value::Str(path_string(&r.access_path).into()),
        },
    );
    out(attr::ACCESS_ABSOLUTE_PATH, p(&r.absolute_path));
    out(attr::ACCESS_RESOLUTION, s(r.resolution));
    out(attr::ACCESS_MODE, s(r.mode.as_str()));
    out(attr::ACCESS_COUNT, Value::Int(r.count as i64));
    out(attr::PROCESS_PID, Value::Int(w.pid.into()));
    out(attr::TRACER, s(r.tracer));
    out(attr::PROJECT_ID, s(&w.project));
    out(attr::ACCESS_ORIGIN, s(r.origin));
    let mut opt = |k: &'static str, v: Option<Value<'a>>| {
        if let Some(v) = v {
            out(k, v);
        }
    };
    opt(attr::SCAN_ID, os(&r.scan_id));
    opt(attr::FILE_SIZE, r.size.map(|s| Value::Int(s as i64)));
    opt(
        attr::FILE_MODIFIED,
        r.modified.map(|t| Value::Str(rfc3339(t).into())),
    );
    opt(
        attr::FILE_INODE,
        r.inode.map(|i| Value::Str(i.to_string().into())), /* OTel: file.inode is a string */
    );
    opt(attr::ACCESS_SYSCALL, r.syscall.map(s));
    opt(attr::ACCESS_FLAGS, r.flags.map(|f| Value::Int(f as i64)));
    process_attributes(w, true, &mut opt);
    if let Some(x) = &r.artifact {
        opt(attr::ARTIFACT_TYPE, Some(s(x.artifact_type)));
        opt(attr::ARTIFACT_ROLE, x.role.map(s));
        opt(
            attr::ARTIFACT_FORMAT,
            Some(x.format).filter(|f| !f.is_empty()).map(s),
        );
        opt(attr::ARTIFACT_FORMAT_MISMATCH, x.format_mismatch.map(s));
        opt(attr::ARTIFACT_FORMAT_ERROR, os(&x.format_error));
        opt(
            attr::ARTIFACT_PROVIDER,
            Some(x.provider).filter(|p| !p.is_empty()).map(s),
        );
        opt(attr::ARTIFACT_ID, os(&x.id));
        opt(attr::ARTIFACT_NAME, os(&x.name));
        opt(attr::ARTIFACT_REVISION, os(&x.revision));
        opt(attr::ARTIFACT_SOURCE_URL, os(&x.source_url));
        opt(attr::ARTIFACT_LICENSE, os(&x.license));
        opt(attr::ARTIFACT_LICENSE_SOURCE, x.license_source.map(s));
        opt(attr::ARTIFACT_SHA256, os(&x.sha256));
        opt(attr::ARTIFACT_SHA256_SOURCE, x.sha256_source.map(s));
        opt(attr::ARTIFACT_SHA256_EXPECTED, os(&x.sha256_expected));
        opt(attr::ARTIFACT_SHA256_ERROR, os(&x.sha256_error));
        opt(attr::ARTIFACT_IDENTITY_ERROR, os(&x.identity_error));
        opt(attr::ARTIFACT_EMBEDDED, os(&x.embedded));
        if let Some(w) = &x.whole {
            let int = |n: u64| Value::Int(n as i64);
            opt(attr::ARTIFACT_WHOLE_ID, Some(s(&w.id)));
            opt(attr::ARTIFACT_PART_INDEX, w.part_index.map(int));
            opt(attr::ARTIFACT_PART_COUNT, w.part_count.map(int));
            if let Some(l) = &w.listing {
                opt(attr::ARTIFACT_WHOLE_FILES, Some(int(l.files)));
                opt(attr::ARTIFACT_WHOLE_BYTES, Some(int(l.bytes)));
                opt(attr::ARTIFACT_WHOLE_SHA256, Some(s(&l.digest)));
                opt(attr::ARTIFACT_WHOLE_SKIPPED, Some(int(l.skipped)));
            }
        }
        if let Some(u) = &x.unsafe_scan {
            opt(attr::ARTIFACT_UNSAFE, u.verdict().map(Value::Bool));
            opt(
                attr::ARTIFACT_UNSAFE_REASON,
                u.reason().map(|r| Value::Str(r.into())),
            );
            opt(attr::ARTIFACT_UNSAFE_SCAN_ERROR, os(&u.error));
        }
        if let Some(acc) = &x.accelerator {
            opt(attr::ACCELERATOR_VENDOR, Some(s(acc.vendor)));
            opt(attr::ACCELERATOR_KIND, Some(s(acc.kind)));
            opt(
                attr::ACCELERATOR_INDEX,
                acc.index.map(|i| Value::Int(i.into())),
            );
        }
    }
    if let Some(v) = &r.violation {
        violation_attributes(v, &mut opt);
    }
}

/// A policy verdict's attributes.
fn violation_attributes<'a>(
    v: &'a crate::model::Violation,
    opt: &mut impl FnMut(&'static str, Option<Value<'a>>),
) {
    opt(attr::POLICY_RULE, Some(s(&v.rule)));
    opt(attr::POLICY_ACTION, Some(s(v.action.as_str())));
    opt(attr::POLICY_SEVERITY, Some(s(v.severity.as_str())));
    opt(attr::POLICY_ENFORCED, Some(Value::Bool(v.enforced)));
}

/// The process attributes every record carries. API calls leave the command line out:
/// it is where prompts and keys are given to `curl -d`, `llm "…"`, `ollama run m "…"`.
fn process_attributes<'a>(
    w: &'a Attribution,
    with_command_line: bool,
    opt: &mut impl FnMut(&'static str, Option<Value<'a>>),
) {
    opt(
        attr::PROCESS_PARENT_PID,
        w.ppid.map(|v| Value::Int(v.into())),
    );
    opt(attr::PROCESS_EXECUTABLE_NAME, os(&w.comm));
    opt(attr::PROCESS_EXECUTABLE_PATH, w.exe.as_deref().map(p));
    opt(attr::PROCESS_OWNER, os(&w.owner));
    opt(attr::PROCESS_UID, w.uid.map(|v| Value::Int(v.into())));
    opt(
        attr::PROCESS_CGROUP_ID,
        w.cgroup_id.map(|v| Value::Int(v as i64)),
    );
    opt(attr::PROJECT_SOURCE, Some(s(w.project_source)));
    if with_command_line {
        opt(attr::PROCESS_COMMAND_LINE, os(&w.command_line));
    }
    attribution_attributes(w, opt);
}

/// The attributes of an `aibom.api.call` record (and of a violation of one).
fn visit_api_attributes<'a>(
    r: &'a AccessRecord,
    c: &'a crate::model::ApiCall,
    mut out: impl FnMut(&'static str, Value<'a>),
) {
    let w = &*r.process;
    out(attr::API_PROVIDER, s(c.provider));
    out(attr::SERVER_ADDRESS, s(&c.server_address));
    out(attr::SERVER_PORT, Value::Int(c.server_port.into()));
    out(attr::API_SEEN_BY, s(c.seen_by));
    out(attr::API_COUNT, Value::Int(c.count as i64));
    out(attr::PROCESS_PID, Value::Int(w.pid.into()));
    out(attr::TRACER, s(r.tracer));
    out(attr::PROJECT_ID, s(&w.project));
    let mut opt = |k: &'static str, v: Option<Value<'a>>| {
        if let Some(v) = v {
            out(k, v);
        }
    };
    opt(attr::GEN_AI_PROVIDER_NAME, c.gen_ai_provider.map(s));
    opt(attr::GEN_AI_REQUEST_MODEL, os(&c.request_model));
    opt(attr::GEN_AI_OPERATION_NAME, c.operation.map(s));
    opt(attr::GEN_AI_RESPONSE_MODEL, os(&c.response_model));
    opt(
        attr::GEN_AI_USAGE_INPUT_TOKENS,
        c.input_tokens.map(|n| Value::Int(n as i64)),
    );
    opt(
        attr::GEN_AI_USAGE_OUTPUT_TOKENS,
        c.output_tokens.map(|n| Value::Int(n as i64)),
    );
    opt(attr::URL_PATH, os(&c.path));
    opt(attr::HTTP_REQUEST_METHOD, os(&c.method));
    opt(
        attr::HTTP_RESPONSE_STATUS_CODE,
        c.status.map(|n| Value::Int(n.into())),
    );
    opt(attr::API_TLS_LIBRARY, c.tls_library.as_deref().map(s));
    opt(attr::SCAN_ID, os(&r.scan_id));
    process_attributes(w, false, &mut opt);
    if let Some(v) = &r.violation {
        violation_attributes(v, &mut opt);
    }
}

/// The record's attributes as a list (see [`visit_attributes`]).
pub fn attributes(r: &AccessRecord) -> Vec<(&'static str, Value<'_>)> {
    let mut a = Vec::with_capacity(40);
    visit_attributes(r, |k, v| a.push((k, v)));
    a
}

/// The attributes of a scan's `aibom.scan.summary` event (and of its span at the end).
pub fn scan_attributes(sc: &ScanReport) -> Vec<(&'static str, Value<'_>)> {
    vec![
        (attr::SCAN_ID, s(&sc.scan_id)),
        (attr::PROJECT_ID, s(&sc.project)),
        (attr::SCAN_STATE, s(sc.state)),
        (attr::SCAN_DURATION, Value::Int(sc.duration as i64)),
        (attr::SCAN_RECORDS, Value::Int(sc.records as i64)),
        (
            attr::SCAN_INVENTORY_RECORDS,
            Value::Int(sc.inventory_records as i64),
        ),
        (attr::SCAN_ARTIFACTS, Value::Int(sc.artifacts as i64)),
        (attr::SCAN_PROCESSES, Value::Int(sc.processes as i64)),
    ]
}
