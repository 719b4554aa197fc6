//! `GET /projects/{id}/runtime/aibom`: the project's runtime AI-BOM as a standard document,
//! CycloneDX 1.6 JSON (default) or SPDX 3.0.1 JSON-LD (`?format=spdx3-json`), built by the
//! `aibom-bom` crate from what the project's processes really loaded.
//!
//! One row per accessed file (`file.path`) that was read, mapped or executed at least once
//! (files only written are outputs, not materials); the crate groups files into components
//! (by `aibom.artifact.id`, else `aibom.artifact.whole.id` — the parts of a sharded model or
//! a dataset of many files are one component listing its parts — else
//! `aibom.artifact.sha256`, else path). A chat template read from inside a file is its own
//! component (its rows are stored under `PATH#KEY`, see migration 0012). For each attribute the
//! latest non-empty value wins. At most [`MAX_FILES`] files, most recently seen first.
//! A component whose files broke policy rules (`aibom.policy.violation` records of the same
//! path) lists them: CycloneDX property `aibom:policy.violation`, SPDX `Annotation`.
//! The AI APIs the project called (`aibom.api.call` records, one per provider, server address
//! and port) are CycloneDX `services`, SPDX `software_Package`s (see `aibom_bom::spdx3`).
use super::{api_calls, unsafe_scans, violations, Shared};
use crate::error::ApiError;
use crate::params;
use crate::tables::EVENTS_TABLE;
use aibom_bom::{Evidence, FileObservation, Format, Process, WholeFacts, Workload};
use aibom_semconv::{access_mode, artifact_type};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use clickhouse::Row;
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use utoipa::IntoParams;

/// Most files a document is built from.
pub const MAX_FILES: u32 = 10_000;
/// Most AI API services a document lists.
pub const MAX_SERVICES: u32 = 1000;
/// Most processes and tracers listed per file.
const LIST_CAP: u32 = 100;
/// Most processes whose accelerators are looked up.
const MAX_ACCELERATED: u32 = 10_000;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AibomQuery {
    /// `cyclonedx-json` (CycloneDX 1.6, the default) or `spdx3-json` (SPDX 3.0.1 JSON-LD with
    /// the AI and Dataset profiles).
    #[param(inline)]
    pub format: Option<BomFormat>,
}

/// The document format of `GET /projects/{id}/runtime/aibom`.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BomFormat {
    CyclonedxJson,
    Spdx3Json,
}

/// Per-file rows. Parameters: `project`, `write`, `lim`.
fn files_sql() -> String {
    let latest =
        |col: &str, alias: &str| format!("toString(argMaxIf({col}, time, {col} != '')) AS {alias}");
    let cols = [
        ("artifact_type", "atype"),
        ("artifact_role", "role"),
        ("artifact_format", "format"),
        ("artifact_format_mismatch", "mismatch"),
        ("artifact_provider", "provider"),
        ("artifact_id", "id"),
        ("artifact_name", "name"),
        ("artifact_revision", "revision"),
        ("artifact_license", "license"),
        ("artifact_sha256", "sha256"),
        ("artifact_whole_id", "whole_id"),
        ("artifact_whole_sha256", "whole_sha256"),
        ("artifact_embedded", "embedded"),
    ]
    .iter()
    .map(|(c, a)| latest(c, a))
    .chain(
        [
            ("artifact_part_index", "part_index"),
            ("artifact_part_count", "part_count"),
            ("artifact_whole_files", "whole_files"),
            ("artifact_whole_bytes", "whole_bytes"),
        ]
        .iter()
        .map(|(c, a)| format!("argMaxIf({c}, time, isNotNull({c})) AS {a}")),
    )
    .collect::<Vec<_>>()
    .join(",\n        ");
    format!(
        "SELECT
        file_path AS path,
        {cols},
        max(file_size) AS size,
        groupUniqArray({LIST_CAP})(tuple(toString(process_executable_name), process_pid, toString(host_name))) AS processes,
        groupUniqArray({LIST_CAP})(toString(tracer)) AS tracers
    FROM {EVENTS_TABLE}
    WHERE project_id = {{project:String}}
    GROUP BY file_path
    HAVING countIf(access_mode != {{write:String}}) > 0
    ORDER BY max(time) DESC, path
    LIMIT {{lim:UInt32}}"
    )
}

/// The accelerators each process (host and pid: pids repeat across a fleet) opened
/// (`aibom.artifact.name` of its `accelerator` records: `VENDOR/KIND[/INDEX]`).
/// Parameters: `project`, `accel`, `lim`.
fn accelerators_sql() -> String {
    format!(
        "SELECT toString(host_name) AS host, process_pid AS pid,
        groupUniqArray({LIST_CAP})(toString(artifact_name)) AS devices
    FROM {EVENTS_TABLE}
    WHERE project_id = {{project:String}} AND artifact_type = {{accel:String}} AND artifact_name != ''
    GROUP BY host_name, process_pid
    LIMIT {{lim:UInt32}}"
    )
}

#[derive(Debug, Row, Deserialize)]
struct AcceleratorRow {
    host: String,
    pid: u32,
    devices: Vec<String>,
}

/// A process of the fleet: (host name, pid).
type HostPid = (String, u32);

#[derive(Debug, Row, Deserialize)]
struct FileRow {
    path: String,
    atype: String,
    role: String,
    format: String,
    mismatch: String,
    provider: String,
    id: String,
    name: String,
    revision: String,
    license: String,
    sha256: String,
    whole_id: String,
    whole_sha256: String,
    embedded: String,
    part_index: Option<u64>,
    part_count: Option<u64>,
    whole_files: Option<u64>,
    whole_bytes: Option<u64>,
    size: Option<u64>,
    /// (executable, pid, host)
    processes: Vec<(String, u32, String)>,
    tracers: Vec<String>,
}

fn non_empty(s: String) -> Option<String> {
    Some(s).filter(|s| !s.is_empty())
}

impl FileRow {
    /// The observation of this path; `accel`: the accelerators of each process;
    /// `unsafe_reason`: its latest scan's dangerous imports.
    fn observation(
        self,
        project: &str,
        accel: &HashMap<HostPid, Vec<String>>,
        unsafe_reason: Option<String>,
    ) -> FileObservation {
        let devices: BTreeSet<&String> = self
            .processes
            .iter()
            .filter_map(|(_, pid, host)| accel.get(&(host.clone(), *pid)))
            .flatten()
            .collect();
        // one process per (executable, pid), whichever hosts ran one
        let processes: BTreeSet<(String, u32)> = self
            .processes
            .into_iter()
            .map(|(exe, pid, _)| (exe, pid))
            .collect();
        FileObservation {
            path: self.path,
            via: Vec::new(),
            artifact_type: self.atype,
            role: non_empty(self.role),
            format: non_empty(self.format),
            format_mismatch: non_empty(self.mismatch),
            provider: non_empty(self.provider),
            id: non_empty(self.id),
            name: non_empty(self.name),
            revision: non_empty(self.revision),
            source_url: None,
            license: non_empty(self.license),
            license_source: None,
            sha256: non_empty(self.sha256),
            sha256_source: None,
            size: self.size,
            processes: processes
                .into_iter()
                .map(|(exe, pid)| Process {
                    exe: if exe.is_empty() { "?".into() } else { exe },
                    pid: Some(pid).filter(|p| *p != 0),
                })
                .collect(),
            accelerators: devices.into_iter().cloned().collect(),
            tracers: self.tracers.into_iter().filter(|t| !t.is_empty()).collect(),
            project: project.to_string(),
            whole: non_empty(self.whole_id).map(|id| WholeFacts {
                id,
                part_index: self.part_index,
                part_count: self.part_count,
                files: self.whole_files,
                bytes: self.whole_bytes,
                sha256: non_empty(self.whole_sha256),
                skipped: None,
            }),
            embedded: non_empty(self.embedded),
            unsafe_reason,
            // not stored by the sidecar yet (only in the raw log records)
            sha256_expected: None,
        }
    }
}

/// Sets each component's broken policy rules: those of its files' paths.
fn mark_violations(ev: &mut Evidence, rules: &HashMap<String, Vec<String>>) {
    if rules.is_empty() {
        return;
    }
    for c in &mut ev.components {
        let broken: BTreeSet<&String> = c
            .files
            .iter()
            .map(|f| &f.path)
            .chain(&c.paths)
            .filter_map(|p| rules.get(p))
            .flatten()
            .collect();
        c.policy_violations = broken.into_iter().cloned().collect();
    }
}

/// The project's runtime AI-BOM.
#[utoipa::path(get, path = "/projects/{id}/runtime/aibom",
    params(("id" = String, Path, description = "Project id"), AibomQuery),
    responses(
        (status = 200, description = "CycloneDX 1.6 JSON (`application/vnd.cyclonedx+json`) or SPDX 3.0.1 JSON-LD \
            (`application/spdx+json`): one component per AI artifact the project's processes loaded, \
            with hash, license, purl, the paths it was loaded from and the processes that loaded it; \
            the accelerators those processes opened (CycloneDX property `aibom:accelerator.devices`, SPDX comment); \
            the project is the root component; a component whose files broke policy rules names each rule \
            (CycloneDX property `aibom:policy.violation`, SPDX `Annotation`); an unsafe pickle-based file (dangerous imports) \
            gives its component the CycloneDX properties `aibom:unsafe` and `aibom:unsafe_reason` and an SPDX `Annotation`; the AI APIs it called are CycloneDX `services` \
            (endpoints, properties `aibom:api.provider`, `aibom:api.model`, `aibom:api.operation`, `aibom:api.calls`, `aibom:api.seen_by`), \
            SPDX `software_Package`s with annotations. A project with no events gets a document with no components.",
            content(
                (Object = "application/vnd.cyclonedx+json"),
                (Object = "application/spdx+json"),
            )),
        (status = 400, description = "Invalid id or format", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or invalid token", body = crate::error::ErrorBody),
        (status = 503, description = "ClickHouse unavailable", body = crate::error::ErrorBody),
    ))]
pub async fn get(
    State(st): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<AibomQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id?;
    let Query(q) = q?;
    let project = params::project_id(&id)?;
    // The query extractor already refused unknown names (400 naming the accepted ones).
    let format = match q.format {
        None => Format::default(),
        Some(BomFormat::CyclonedxJson) => Format::CycloneDxJson,
        Some(BomFormat::Spdx3Json) => Format::Spdx3Json,
    };
    let (rows, rules, services, accel, unsafe_files) = tokio::try_join!(
        st.db.run(
            st.db
                .client()
                .query_raw(&files_sql())
                .param("project", project)
                .param("write", access_mode::WRITE)
                .param("lim", MAX_FILES)
                .fetch_all::<FileRow>(),
        ),
        violations::rules_by_path(&st.db, project, MAX_FILES),
        api_calls::services(&st.db, project, MAX_SERVICES),
        st.db.run(
            st.db
                .client()
                .query_raw(&accelerators_sql())
                .param("project", project)
                .param("accel", artifact_type::ACCELERATOR)
                .param("lim", MAX_ACCELERATED)
                .fetch_all::<AcceleratorRow>(),
        ),
        unsafe_scans::counts(&st.db, project),
    )?;
    let accel: HashMap<HostPid, Vec<String>> = accel
        .into_iter()
        .map(|r| ((r.host, r.pid), r.devices))
        .collect();
    let workload = Workload {
        name: project.to_string(),
        command: Vec::new(),
        project: project.to_string(),
    };
    let mut reasons: HashMap<String, String> = unsafe_files
        .artifacts
        .into_iter()
        .map(|a| (a.path, a.reason))
        .collect();
    let files = rows
        .into_iter()
        // accelerator nodes are a use of hardware, not a component: their models say it
        .filter(|r| r.atype != artifact_type::ACCELERATOR)
        .map(|r| {
            let reason = reasons.remove(&r.path);
            r.observation(project, &accel, reason)
        })
        .collect();
    let mut ev = Evidence::build(workload, files, env!("CARGO_PKG_VERSION"));
    mark_violations(&mut ev, &rules);
    ev.services = services;
    Ok((
        [(header::CONTENT_TYPE, format.media_type())],
        aibom_bom::render(&ev, format),
    )
        .into_response())
}
