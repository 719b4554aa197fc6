//! `GET /projects/{id}/runtime/summary`: the project's runtime AI-BOM at a glance.
//!
//! An artifact is keyed by `aibom.artifact.id`, else the `aibom.artifact.whole.id` of a part
//! of a many-file whole (a sharded model, a dataset of many files: one artifact listing its
//! parts' paths, with the whole's part count, files, bytes and set digest), else the file's
//! `aibom.artifact.sha256`, else `file.path`. Access counts sum `aibom.access.count` of access events only. An
//! `identified` event repeats its access event (same time, pid and path): when the exporter
//! lost event names (old exporters with old daemons), such twins are folded by (time, pid,
//! count) per path so accesses are not counted twice.
//!
//! Reads only the `runtime_artifacts` aggregate (migration 0007, one row per project, path and
//! month, kept up to date by a materialized view and rebuilt on DELETE): two small queries, the
//! per-path rows and the project totals; artifacts, counts and totals are derived here.
//! Policy violations and AI API calls come from their own tables (`runtime_violations`,
//! `runtime_api_calls`: [`super::api_calls::counts`]), in the same `try_join!`.
use super::api_calls::{self, ApiCallCounts};
use super::unsafe_scans::{self, UnsafeCounts};
use super::{put_num, put_str, Shared};
use crate::db::Db;
use crate::error::ApiError;
use crate::params;
use crate::tables::{ARTIFACTS_TABLE, EVENTS_TABLE, VIOLATIONS_TABLE};
use aibom_semconv::attr;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use utoipa::{IntoParams, ToSchema};

/// Artifacts listed when `limit` is absent.
pub const DEFAULT_ARTIFACTS: u32 = 1000;
/// Most artifacts listed.
pub const MAX_ARTIFACTS: u32 = 10_000;
/// Most values of each list inside an artifact (hashes, paths).
const LIST_CAP: u32 = 100;
/// Most (executable, pid) pairs listed per artifact: a sample (the aggregate keeps this many
/// per path and month; merging larger sets was most of the summary's time). Every process of
/// an artifact: `GET .../events?artifact=...`; the project's total: `totals.processes`.
pub const PROCESS_CAP: u32 = 10;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// Artifacts listed, most recently seen first: 1..=10000, default 1000. Counts and totals
    /// always cover every artifact.
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

/// Artifacts and accesses for one value of a dimension.
#[derive(Debug, Serialize, ToSchema)]
pub struct Count {
    /// The value; `null` when the attribute is absent (e.g. unknown license).
    pub value: Option<String>,
    pub artifacts: u64,
    pub accesses: u64,
}

/// Project totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct Totals {
    /// Events stored (access and identified).
    pub events: u64,
    /// Distinct artifacts.
    pub artifacts: u64,
    /// Sum of `aibom.access.count` over access events.
    pub accesses: u64,
    /// Distinct (executable name, pid) pairs.
    pub processes: u64,
    /// Artifacts with no license known.
    pub unknown_license: u64,
    /// Artifacts whose header contradicts their extension.
    pub format_mismatch: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
}

/// Violations for one value of a dimension (rule, severity, action).
#[derive(Debug, Serialize, ToSchema)]
pub struct ViolationCount {
    /// The `aibom.policy.rule`, `aibom.policy.severity` or `aibom.policy.action` value.
    pub value: String,
    pub violations: u64,
    /// Of these, the ones whose action took effect (`aibom.policy.enforced`).
    pub enforced: u64,
}

/// The project's policy violations (`aibom.policy.violation` records); every count covers all
/// of them. `GET .../violations` lists them.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViolationCounts {
    pub total: u64,
    /// Violations whose action took effect (open refused, process killed).
    pub enforced: u64,
    /// The latest violation; `null` when there is none.
    pub last_seen: Option<String>,
    /// Largest first, then by value.
    pub by_rule: Vec<ViolationCount>,
    pub by_severity: Vec<ViolationCount>,
    pub by_action: Vec<ViolationCount>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Summary {
    pub project: String,
    pub totals: Totals,
    pub by_type: Vec<Count>,
    pub by_provider: Vec<Count>,
    pub by_license: Vec<Count>,
    /// Artifacts, most recently seen first. Keys: `key`, semantic-convention names
    /// (`aibom.artifact.sha256` and `file.path` are lists), `first_seen`, `last_seen`,
    /// `aibom.access.count`, `processes` (up to 10 `process.executable.name`/`process.pid` pairs).
    #[schema(value_type = Vec<Object>)]
    pub artifacts: Vec<Map<String, Value>>,
    /// True when more artifacts exist than `limit`.
    pub truncated: bool,
    /// Policy violations: total, enforced, per rule, severity and action.
    pub violations: ViolationCounts,
    /// AI API calls (`aibom.api.call` records): totals, and calls per provider, server, model
    /// and operation. `GET .../api-calls` lists them.
    pub api_calls: ApiCallCounts,
    /// Pickle-based files scanned for dangerous imports, and the unsafe ones
    /// (`aibom.artifact.unsafe`, `aibom.artifact.unsafe_reason`).
    pub unsafe_artifacts: UnsafeCounts,
}

/// Per-path rows of a project from the `runtime_artifacts` aggregate: the latest non-empty
/// value of each attribute, first/last seen, accesses, processes. Parameter: `project`.
/// Grouping paths into artifacts happens in Rust ([`group_by_key`]): cheaper than a second
/// SQL level over aggregate states (measured: 40 ms instead of 120 ms at 3 M events).
fn paths_sql() -> String {
    let attrs = [
        ("artifact_id", "id"),
        ("artifact_name", "name"),
        ("artifact_type", "atype"),
        ("artifact_provider", "provider"),
        ("artifact_license", "license"),
        ("artifact_format", "format"),
        ("artifact_format_mismatch", "mismatch"),
        ("artifact_sha256", "sha"),
    ];
    let by_path = attrs
        .iter()
        .map(|(col, alias)| format!("argMaxIfMerge({col}) AS {alias}"))
        .collect::<Vec<_>>()
        .join(",\n        ");
    format!(
        "SELECT
        file_path,
        {by_path},
        toUnixTimestamp64Nano(min(first_seen)) AS first_ns,
        toUnixTimestamp64Nano(max(last_seen)) AS last_ns,
        sum(accesses) + arraySum(x -> tupleElement(x, 3), groupUniqArrayIfMerge(legacy)) AS accesses,
        groupUniqArrayMerge({PROCESS_CAP})(processes) AS processes
    FROM {ARTIFACTS_TABLE}
    WHERE project_id = {{project:String}}
    GROUP BY file_path"
    )
}

/// The many-file whole of each part's path (`aibom.artifact.whole.*`, migration 0012): the
/// latest values. Parameter: `project`. Reads `runtime_events`, but only the rows of parts
/// (`artifact_whole_id` set; embedded artifacts are stored under their own `PATH#KEY`).
fn wholes_sql() -> String {
    let num = |c: &str, a: &str| format!("argMaxIf({c}, time, isNotNull({c})) AS {a}");
    format!(
        "SELECT
        file_path,
        toString(argMax(artifact_whole_id, time)) AS id,
        {},
        {},
        {},
        toString(argMaxIf(artifact_whole_sha256, time, artifact_whole_sha256 != '')) AS sha256
    FROM {EVENTS_TABLE}
    WHERE project_id = {{project:String}} AND artifact_whole_id != '' AND artifact_embedded = ''
    GROUP BY file_path",
        num("artifact_part_count", "part_count"),
        num("artifact_whole_files", "files"),
        num("artifact_whole_bytes", "bytes"),
    )
}

/// The many-file whole a path is a part of (see [`wholes_sql`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Row, Deserialize)]
pub struct Whole {
    file_path: String,
    /// `aibom.artifact.whole.id`.
    pub id: String,
    /// `aibom.artifact.part.count`.
    pub part_count: Option<u64>,
    /// `aibom.artifact.whole.files`, `.bytes`, `.sha256`: the latest listing.
    pub files: Option<u64>,
    pub bytes: Option<u64>,
    pub sha256: String,
}

/// One file path's aggregate (see [`paths_sql`]).
#[derive(Debug, Row, Deserialize)]
struct PathRow {
    file_path: String,
    id: String,
    name: String,
    atype: String,
    provider: String,
    license: String,
    format: String,
    mismatch: String,
    sha: String,
    first_ns: i64,
    last_ns: i64,
    accesses: u64,
    processes: Vec<(String, u32)>,
}

/// Groups path rows into artifacts keyed by id, else sha256, else path. An artifact's
/// attributes come from its most recently seen path that has them; lists are distinct and
/// capped at [`LIST_CAP`] ([`PROCESS_CAP`] for processes). Most recently seen first, then by key.
fn group_by_key(mut rows: Vec<PathRow>, wholes: &HashMap<String, Whole>) -> Vec<Artifact> {
    let cap = LIST_CAP as usize;
    rows.sort_by(|a, b| {
        b.last_ns
            .cmp(&a.last_ns)
            .then_with(|| a.file_path.cmp(&b.file_path))
    });
    let mut out: Vec<Artifact> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for r in rows {
        let whole = wholes.get(&r.file_path);
        let whole_id = whole.map(|w| w.id.clone()).unwrap_or_default();
        let key = [&r.id, &whole_id, &r.sha, &r.file_path]
            .into_iter()
            .find(|v| !v.is_empty())
            .cloned()
            .unwrap_or_default();
        let i = *index.entry(key.clone()).or_insert_with(|| {
            out.push(Artifact {
                key,
                id: String::new(),
                name: String::new(),
                atype: String::new(),
                provider: String::new(),
                license: String::new(),
                format: String::new(),
                mismatch: String::new(),
                sha256: Vec::new(),
                paths: Vec::new(),
                first_ns: r.first_ns,
                last_ns: r.last_ns,
                accesses: 0,
                processes: Vec::new(),
                whole: None,
            });
            out.len() - 1
        });
        let a = &mut out[i];
        if a.whole.is_none() {
            a.whole = whole.cloned();
        }
        for (dst, src) in [
            (&mut a.id, r.id),
            (&mut a.name, r.name),
            (&mut a.atype, r.atype),
            (&mut a.provider, r.provider),
            (&mut a.license, r.license),
            (&mut a.format, r.format),
            (&mut a.mismatch, r.mismatch),
        ] {
            if dst.is_empty() {
                *dst = src;
            }
        }
        if !r.sha.is_empty() && a.sha256.len() < cap && !a.sha256.contains(&r.sha) {
            a.sha256.push(r.sha);
        }
        if a.paths.len() < cap {
            a.paths.push(r.file_path);
        }
        a.first_ns = a.first_ns.min(r.first_ns);
        a.last_ns = a.last_ns.max(r.last_ns);
        a.accesses += r.accesses;
        for p in r.processes {
            if a.processes.len() >= PROCESS_CAP as usize {
                break;
            }
            if !a.processes.contains(&p) {
                a.processes.push(p);
            }
        }
    }
    // Rows came most recent first, so each artifact's last_ns is its first row's: `out` is
    // already in last-seen order; ties by key.
    out.sort_by(|a, b| b.last_ns.cmp(&a.last_ns).then_with(|| a.key.cmp(&b.key)));
    out
}

/// One artifact of a project's runtime AI-BOM, as the summary lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// `aibom.artifact.id`, else the file's sha256, else its path.
    pub key: String,
    /// `aibom.artifact.id` (`''` when absent, as every string field here).
    pub id: String,
    /// `aibom.artifact.name`.
    pub name: String,
    /// `aibom.artifact.type`.
    pub atype: String,
    /// `aibom.artifact.provider`.
    pub provider: String,
    /// `aibom.artifact.license`.
    pub license: String,
    /// `aibom.artifact.format`.
    pub format: String,
    /// `aibom.artifact.format_mismatch`: the format the header shows when it contradicts the
    /// extension.
    pub mismatch: String,
    /// Hashes seen (at most 100).
    pub sha256: Vec<String>,
    /// File paths seen (at most 100).
    pub paths: Vec<String>,
    /// First and last event, ns since the epoch.
    pub first_ns: i64,
    pub last_ns: i64,
    /// Sum of `aibom.access.count` over access events.
    pub accesses: u64,
    /// (executable name, pid) pairs that opened it: up to [`PROCESS_CAP`].
    pub processes: Vec<(String, u32)>,
    /// The many-file whole it is (a sharded model, a dataset of many files): its paths are
    /// the parts seen.
    pub whole: Option<Whole>,
}

impl Artifact {
    /// The artifact as the summary's JSON: semantic-convention keys, absent values left out.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("key".into(), Value::String(self.key.clone()));
        put_str(&mut m, attr::ARTIFACT_ID, self.id.clone());
        put_str(&mut m, attr::ARTIFACT_NAME, self.name.clone());
        put_str(&mut m, attr::ARTIFACT_TYPE, self.atype.clone());
        put_str(&mut m, attr::ARTIFACT_PROVIDER, self.provider.clone());
        put_str(&mut m, attr::ARTIFACT_LICENSE, self.license.clone());
        put_str(&mut m, attr::ARTIFACT_FORMAT, self.format.clone());
        put_str(
            &mut m,
            attr::ARTIFACT_FORMAT_MISMATCH,
            self.mismatch.clone(),
        );
        m.insert(
            attr::ARTIFACT_SHA256.into(),
            Value::from(self.sha256.clone()),
        );
        m.insert(attr::FILE_PATH.into(), Value::from(self.paths.clone()));
        if let Some(w) = &self.whole {
            put_str(&mut m, attr::ARTIFACT_WHOLE_ID, w.id.clone());
            put_num(&mut m, attr::ARTIFACT_PART_COUNT, w.part_count);
            put_num(&mut m, attr::ARTIFACT_WHOLE_FILES, w.files);
            put_num(&mut m, attr::ARTIFACT_WHOLE_BYTES, w.bytes);
            put_str(&mut m, attr::ARTIFACT_WHOLE_SHA256, w.sha256.clone());
        }
        m.insert(
            "first_seen".into(),
            Value::String(params::rfc3339(self.first_ns)),
        );
        m.insert(
            "last_seen".into(),
            Value::String(params::rfc3339(self.last_ns)),
        );
        put_num(&mut m, attr::ACCESS_COUNT, Some(self.accesses));
        let procs = self
            .processes
            .iter()
            .map(|(exe, pid)| {
                let mut p = Map::new();
                put_str(&mut p, attr::PROCESS_EXECUTABLE_NAME, exe.clone());
                put_num(
                    &mut p,
                    attr::PROCESS_PID,
                    Some(u64::from(*pid)).filter(|p| *p != 0),
                );
                Value::Object(p)
            })
            .collect::<Vec<_>>();
        m.insert("processes".into(), Value::Array(procs));
        m
    }
}

/// Every artifact of `project` (already validated with [`params::project_id`]), most recently
/// seen first: one query over the `runtime_artifacts` aggregate (per path), grouped by key
/// here, so its cost follows the number of files, not of events. Used by the summary; other
/// routes (e.g. the runtime AI-BOM) may build on it.
pub async fn artifacts(db: &Db, project: &str) -> Result<Vec<Artifact>, ApiError> {
    let (rows, wholes) = tokio::try_join!(
        db.run(
            db.client()
                .query_raw(&paths_sql())
                .param("project", project)
                .fetch_all::<PathRow>(),
        ),
        db.run(
            db.client()
                .query_raw(&wholes_sql())
                .param("project", project)
                .fetch_all::<Whole>(),
        ),
    )?;
    let wholes = wholes
        .into_iter()
        .map(|w| (w.file_path.clone(), w))
        .collect();
    Ok(group_by_key(rows, &wholes))
}

#[derive(Debug, Row, Deserialize)]
struct ProjectTotals {
    events: u64,
    processes: u64,
    first_ns: i64,
    last_ns: i64,
}

/// Counts by type, provider and license, largest first, then by value (`None` last).
fn counts(arts: &[Artifact], dim: impl Fn(&Artifact) -> &str) -> Vec<Count> {
    let mut by: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for a in arts {
        let e = by.entry(dim(a)).or_default();
        e.0 += 1;
        e.1 += a.accesses;
    }
    let mut v: Vec<Count> = by
        .into_iter()
        .map(|(value, (artifacts, accesses))| Count {
            value: Some(value.to_string()).filter(|v| !v.is_empty()),
            artifacts,
            accesses,
        })
        .collect();
    v.sort_by(|a, b| {
        b.artifacts
            .cmp(&a.artifacts)
            .then_with(|| a.value.is_none().cmp(&b.value.is_none()))
            .then_with(|| a.value.cmp(&b.value))
    });
    v
}

/// The violation counts of a project, one row per (rule, severity, action). Parameter:
/// `project`.
fn violations_sql() -> String {
    format!(
        "SELECT toString(policy_rule) AS rule, toString(policy_severity) AS severity, \
         toString(policy_action) AS action, count() AS n, countIf(policy_enforced) AS enforced, \
         toUnixTimestamp64Nano(max(time)) AS last_ns \
         FROM {VIOLATIONS_TABLE} WHERE project_id = {{project:String}} \
         GROUP BY rule, severity, action"
    )
}

#[derive(Debug, Row, Deserialize)]
struct ViolationGroup {
    rule: String,
    severity: String,
    action: String,
    n: u64,
    enforced: u64,
    last_ns: i64,
}

/// Totals and per-dimension counts of the groups (largest first, then by value).
fn violation_counts(groups: &[ViolationGroup]) -> ViolationCounts {
    let by = |dim: fn(&ViolationGroup) -> &str| {
        let mut m: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for g in groups {
            let e = m.entry(dim(g)).or_default();
            e.0 += g.n;
            e.1 += g.enforced;
        }
        let mut v: Vec<ViolationCount> = m
            .into_iter()
            .map(|(value, (violations, enforced))| ViolationCount {
                value: value.to_string(),
                violations,
                enforced,
            })
            .collect();
        v.sort_by(|a, b| {
            b.violations
                .cmp(&a.violations)
                .then_with(|| a.value.cmp(&b.value))
        });
        v
    };
    ViolationCounts {
        total: groups.iter().map(|g| g.n).sum(),
        enforced: groups.iter().map(|g| g.enforced).sum(),
        last_seen: groups.iter().map(|g| g.last_ns).max().map(params::rfc3339),
        by_rule: by(|g| &g.rule),
        by_severity: by(|g| &g.severity),
        by_action: by(|g| &g.action),
    }
}

/// Summarizes a project's runtime events.
#[utoipa::path(get, path = "/projects/{id}/runtime/summary",
    params(("id" = String, Path, description = "Project id"), SummaryQuery),
    responses(
        (status = 200, description = "The summary (zeros for a project with no events)", body = Summary),
        (status = 400, description = "Invalid id or limit", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or invalid token", body = crate::error::ErrorBody),
        (status = 503, description = "ClickHouse unavailable", body = crate::error::ErrorBody),
    ))]
pub async fn get(
    State(st): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<SummaryQuery>, QueryRejection>,
) -> Result<Json<Summary>, ApiError> {
    let Path(id) = id?;
    let Query(q) = q?;
    let project = params::project_id(&id)?;
    let limit = params::limit(q.limit, DEFAULT_ARTIFACTS, MAX_ARTIFACTS)?;
    let totals_sql = format!(
        "SELECT sum(events) AS events, uniqExactMerge(process_set) AS processes, \
         toUnixTimestamp64Nano(min(first_seen)) AS first_ns, \
         toUnixTimestamp64Nano(max(last_seen)) AS last_ns \
         FROM {ARTIFACTS_TABLE} WHERE project_id = {{project:String}}"
    );
    // The statements at once (a ClickHouse server runs them in parallel; chdb-http in turn).
    let (arts, pt, vg, api, unsafe_artifacts) = tokio::try_join!(
        artifacts(&st.db, project),
        st.db.run(
            st.db
                .client()
                .query_raw(&totals_sql)
                .param("project", project)
                .fetch_one::<ProjectTotals>(),
        ),
        st.db.run(
            st.db
                .client()
                .query_raw(&violations_sql())
                .param("project", project)
                .fetch_all::<ViolationGroup>(),
        ),
        api_calls::counts(&st.db, project),
        unsafe_scans::counts(&st.db, project),
    )?;
    let by_type = counts(&arts, |a| &a.atype);
    let by_provider = counts(&arts, |a| &a.provider);
    let by_license = counts(&arts, |a| &a.license);
    let seen = |ns: i64| (pt.events > 0).then(|| params::rfc3339(ns));
    let truncated = arts.len() > limit as usize;
    let totals = Totals {
        events: pt.events,
        artifacts: arts.len() as u64,
        accesses: arts.iter().map(|a| a.accesses).sum(),
        processes: pt.processes,
        unknown_license: arts.iter().filter(|a| a.license.is_empty()).count() as u64,
        format_mismatch: arts.iter().filter(|a| !a.mismatch.is_empty()).count() as u64,
        first_seen: seen(pt.first_ns),
        last_seen: seen(pt.last_ns),
    };
    Ok(Json(Summary {
        project: project.to_string(),
        totals,
        by_type,
        by_provider,
        by_license,
        artifacts: arts
            .iter()
            .take(limit as usize)
            .map(Artifact::to_json)
            .collect(),
        truncated,
        violations: violation_counts(&vg),
        api_calls: api,
        unsafe_artifacts,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aibom_semconv::artifact_type;

    fn row(path: &str, id: &str, sha: &str, license: &str, last: i64, pid: u32) -> PathRow {
        PathRow {
            file_path: path.into(),
            id: id.into(),
            name: String::new(),
            atype: artifact_type::MODEL.into(),
            provider: String::new(),
            license: license.into(),
            format: String::new(),
            mismatch: String::new(),
            sha: sha.into(),
            first_ns: last - 10,
            last_ns: last,
            accesses: 2,
            processes: vec![("python3".into(), pid)],
        }
    }

    #[test]
    fn violations_are_counted_per_rule_severity_and_action() {
        use aibom_semconv::{policy_action, policy_severity};
        let g = |rule: &str, severity: &str, action: &str, n: u64, enforced: u64| ViolationGroup {
            rule: rule.into(),
            severity: severity.into(),
            action: action.into(),
            n,
            enforced,
            last_ns: n as i64,
        };
        let c = violation_counts(&[
            g(
                "no-pickle",
                policy_severity::CRITICAL,
                policy_action::DENY,
                3,
                2,
            ),
            g(
                "no-pickle",
                policy_severity::CRITICAL,
                policy_action::ALERT,
                1,
                0,
            ),
            g("mit-only", policy_severity::LOW, policy_action::ALERT, 4, 0),
        ]);
        assert_eq!((c.total, c.enforced), (8, 2));
        assert_eq!(c.last_seen, Some(params::rfc3339(4)));
        let rules: Vec<_> = c
            .by_rule
            .iter()
            .map(|v| (v.value.as_str(), v.violations, v.enforced))
            .collect();
        assert_eq!(
            rules,
            [("mit-only", 4, 0), ("no-pickle", 4, 2)],
            "ties by value"
        );
        assert_eq!(c.by_action[0].value, policy_action::ALERT);
        assert_eq!(c.by_action[0].violations, 5);
        assert_eq!(c.by_severity.len(), 2);
        let none = violation_counts(&[]);
        assert_eq!((none.total, none.last_seen), (0, None));
        assert!(none.by_rule.is_empty());
    }

    #[test]
    fn paths_group_into_artifacts_by_id_then_sha_then_path() {
        let arts = group_by_key(
            vec![
                row("/hf/a/model.safetensors", "pkg:hf/a", "s1", "", 100, 1),
                row(
                    "/hf/a/tokenizer.json",
                    "pkg:hf/a",
                    "s2",
                    "Apache-2.0",
                    50,
                    1,
                ),
                row("/copy/model.safetensors", "", "s1", "", 300, 2),
                row("/m/x.gguf", "", "", "MIT", 200, 3),
            ],
            &HashMap::new(),
        );
        let keys: Vec<&str> = arts.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["s1", "/m/x.gguf", "pkg:hf/a"], "last seen first");
        let hf = &arts[2];
        assert_eq!(hf.paths.len(), 2);
        assert_eq!(hf.sha256, ["s1", "s2"]);
        assert_eq!(hf.license, "Apache-2.0", "from the path that has it");
        assert_eq!((hf.first_ns, hf.last_ns, hf.accesses), (40, 100, 4));
        assert_eq!(hf.processes, [("python3".to_string(), 1)], "distinct");
        assert_eq!(arts[1].license, "MIT");
    }

    #[test]
    fn the_parts_of_a_whole_are_one_artifact_unless_they_have_an_id() {
        let whole = |path: &str| {
            let w = Whole {
                file_path: path.into(),
                id: "file:///m#model.safetensors".into(),
                part_count: Some(2),
                files: Some(2),
                bytes: Some(20),
                sha256: "d".into(),
            };
            (path.to_string(), w)
        };
        let wholes = HashMap::from([
            whole("/m/model-00001-of-00002.safetensors"),
            whole("/m/model-00002-of-00002.safetensors"),
        ]);
        let arts = group_by_key(
            vec![
                row("/m/model-00001-of-00002.safetensors", "", "s1", "", 100, 1),
                row("/m/model-00002-of-00002.safetensors", "", "s2", "", 90, 1),
                row("/m/other.safetensors", "", "s3", "", 80, 1),
            ],
            &wholes,
        );
        assert_eq!(arts.len(), 2, "{arts:#?}");
        assert_eq!(arts[0].key, "file:///m#model.safetensors");
        assert_eq!(arts[0].paths.len(), 2);
        assert_eq!(arts[0].sha256, ["s1", "s2"]);
        let j = arts[0].to_json();
        assert_eq!(j[attr::ARTIFACT_WHOLE_FILES], 2);
        assert_eq!(j[attr::ARTIFACT_WHOLE_BYTES], 20);
        assert!(arts[1].to_json().get(attr::ARTIFACT_WHOLE_ID).is_none());
    }
}
