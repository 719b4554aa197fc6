//! Unsafe serialized models (migration 0012, `runtime_unsafe_scans`): the pickle-based files
//! of a project whose latest scan found a dangerous import, for the summary and the AI-BOM.
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::Db;
use crate::error::ApiError;
use crate::params;
use crate::tables::UNSAFE_SCANS_TABLE;

/// Most unsafe files listed in a summary (the count covers all).
pub const MAX_LISTED: u64 = 1000;

/// One pickle-based file whose latest scan found dangerous imports.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnsafeArtifact {
    /// `file.path`.
    pub path: String,
    /// `aibom.artifact.name`, `aibom.artifact.sha256` (empty when unknown).
    pub name: String,
    pub sha256: String,
    /// `aibom.artifact.unsafe_reason`: the dangerous callables, comma-separated.
    pub reason: String,
    /// Whether the scan still stopped early (`aibom.artifact.unsafe_scan_error`).
    pub scan_error: String,
    pub last_seen: String,
}

/// The project's scans of pickle-based files: the unsafe ones, most recent first.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnsafeCounts {
    /// Files scanned (distinct paths).
    pub scanned: u64,
    /// Of these, the ones whose latest verdict is unsafe.
    pub r#unsafe: u64,
    /// Of the others, the ones whose latest scan stopped early without a verdict.
    pub unknown: u64,
    /// The unsafe files (at most 1,000).
    pub artifacts: Vec<UnsafeArtifact>,
}

#[derive(Debug, Row, Deserialize)]
struct PathVerdict {
    file_path: String,
    name: String,
    sha256: String,
    verdict: Option<bool>,
    reason: String,
    scan_error: String,
    last_ns: i64,
}

/// The latest verdict per path. Parameter: `project`.
fn sql() -> String {
    format!(
        "SELECT file_path, argMax(artifact_name, time) AS name, \
         argMax(artifact_sha256, time) AS sha256, \
         argMax(artifact_unsafe, time) AS verdict, \
         argMax(artifact_unsafe_reason, time) AS reason, \
         argMax(artifact_unsafe_scan_error, time) AS scan_error, \
         toUnixTimestamp64Nano(max(time)) AS last_ns \
         FROM {UNSAFE_SCANS_TABLE} WHERE project_id = {{project:String}} \
         GROUP BY file_path ORDER BY last_ns DESC, file_path"
    )
}

/// The project's unsafe files and counts.
pub async fn counts(db: &Db, project: &str) -> Result<UnsafeCounts, ApiError> {
    let rows: Vec<PathVerdict> = db
        .run(
            db.client()
                .query_raw(&sql())
                .param("project", project)
                .fetch_all(),
        )
        .await?;
    Ok(tally(rows))
}

fn tally(rows: Vec<PathVerdict>) -> UnsafeCounts {
    let scanned = rows.len() as u64;
    let unknown = rows.iter().filter(|r| r.verdict.is_none()).count() as u64;
    let bad: Vec<_> = rows
        .into_iter()
        .filter(|r| r.verdict == Some(true))
        .collect();
    UnsafeCounts {
        scanned,
        r#unsafe: bad.len() as u64,
        unknown,
        artifacts: bad
            .into_iter()
            .take(MAX_LISTED as usize)
            .map(|r| UnsafeArtifact {
                path: r.file_path,
                name: r.name,
                sha256: r.sha256,
                reason: r.reason,
                scan_error: r.scan_error,
                last_seen: params::rfc3339(r.last_ns),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(path: &str, verdict: Option<bool>, reason: &str, last_ns: i64) -> PathVerdict {
        PathVerdict {
            file_path: path.into(),
            name: String::new(),
            sha256: String::new(),
            verdict,
            reason: reason.into(),
            scan_error: String::new(),
            last_ns,
        }
    }

    #[test]
    fn only_unsafe_verdicts_are_listed_and_unknown_ones_counted() {
        let c = tally(vec![
            row("/a.pkl", Some(true), "os.system", 3),
            row("/b.pt", Some(false), "", 2),
            row("/c.pkl", None, "", 1),
        ]);
        assert_eq!((c.scanned, c.r#unsafe, c.unknown), (3, 1, 1));
        assert_eq!(c.artifacts.len(), 1);
        assert_eq!(c.artifacts[0].reason, "os.system");
    }
}
