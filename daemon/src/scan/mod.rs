//! On-demand scans: collection windows for one project, started through the control API.
//!
//! A scan is an inventory of what the project's processes already hold (open files and
//! file mappings, so a model loaded before the scan started is found) plus the live
//! accesses of the project's processes for `duration` seconds. Every record of a scan
//! carries `aibom.scan.id`; overlapping scans of one project each get their own copy of a
//! record, so each scan's evidence is complete on its own. The book of scans is shared
//! between the control API (which starts, stops and reads scans) and the pipeline (which
//! tags records, runs inventories and ends scans).
pub mod inventory;
pub mod limits;
pub mod route;

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aibom_semconv::scan_state;
use tokio::sync::mpsc;

pub use crate::model::ScanReport;

/// Distinct paths and pids remembered per scan for its counts; beyond it counts stop
/// growing (the records themselves are never dropped).
const MAX_DISTINCT: usize = 100_000;

/// What the control API asks of the pipeline.
#[derive(Debug, Clone)]
pub enum ScanRequest {
    /// Take the inventory of a scan that just started.
    Inventory { scan_id: String },
}

/// Why a control call was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScanError {
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("scan {0} already exists")]
    Exists(String),
    #[error("no scan {0}")]
    NotFound(String),
    #[error("scan {0} has already ended")]
    Ended(String),
    #[error("too many scans running ({0}); stop one or wait")]
    TooMany(usize),
    #[error("the pipeline is shutting down")]
    ShuttingDown,
}

#[derive(Debug)]
struct Scan {
    id: String,
    project: String,
    duration: u64,
    started: SystemTime,
    ends: SystemTime,
    stopped: bool,
    /// Summary emitted; no more tagging.
    finished: bool,
    inventory_done: bool,
    records: u64,
    inventory_records: u64,
    paths: HashSet<PathBuf>,
    pids: HashSet<u32>,
}

impl Scan {
    fn state(&self) -> &'static str {
        match (self.finished, self.stopped) {
            (false, _) => scan_state::RUNNING,
            (true, true) => scan_state::STOPPED,
            (true, false) => scan_state::COMPLETED,
        }
    }

    fn report(&self) -> ScanReport {
        ScanReport {
            scan_id: self.id.clone(),
            project: self.project.clone(),
            state: self.state(),
            duration: self.duration,
            started: crate::text::rfc3339(self.started),
            ends: crate::text::rfc3339(self.ends),
            inventory_done: self.inventory_done,
            records: self.records,
            inventory_records: self.inventory_records,
            artifacts: self.paths.len() as u64,
            processes: self.pids.len() as u64,
        }
    }
}

/// Limits of the scan book.
#[derive(Debug, Clone, Copy)]
pub struct ScanLimits {
    /// Longest live window, seconds.
    pub max_duration: u64,
    /// Scans running at once.
    pub max_running: usize,
    /// Ended scans remembered for `GET` (oldest forgotten first).
    pub max_remembered: usize,
}

#[derive(Debug)]
struct Book {
    scans: VecDeque<Scan>,
    limits: ScanLimits,
    /// False once the pipeline stopped: no new scans.
    open: bool,
}

/// The shared book of scans. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Scans {
    book: Arc<Mutex<Book>>,
    /// Scans not finished; lets the pipeline skip the lock when none runs.
    running: Arc<AtomicUsize>,
    requests: mpsc::UnboundedSender<ScanRequest>,
}

/// Project ids and scan ids: the same rule as the query sidecar.
pub fn valid_id(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl Scans {
    /// A book, and the receiver of the requests the pipeline must serve.
    pub fn new(limits: ScanLimits) -> (Self, mpsc::UnboundedReceiver<ScanRequest>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let s = Self {
            book: Arc::new(Mutex::new(Book {
                scans: VecDeque::new(),
                limits,
                open: true,
            })),
            running: Arc::new(AtomicUsize::new(0)),
            requests: tx,
        };
        (s, rx)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a scan of `project` for `duration` seconds; `id` is generated when absent.
    pub fn start(
        &self,
        project: &str,
        duration: u64,
        id: Option<String>,
    ) -> Result<ScanReport, ScanError> {
        if !valid_id(project) {
            return Err(ScanError::Invalid {
                field: "project",
                reason: "must match ^[A-Za-z0-9._-]{1,128}$".into(),
            });
        }
        let id = id.unwrap_or_else(new_id);
        if !valid_id(&id) {
            return Err(ScanError::Invalid {
                field: "scan_id",
                reason: "must match ^[A-Za-z0-9._-]{1,128}$".into(),
            });
        }
        let mut book = self.lock();
        if !book.open {
            return Err(ScanError::ShuttingDown);
        }
        if duration == 0 || duration > book.limits.max_duration {
            return Err(ScanError::Invalid {
                field: "duration",
                reason: format!("must be 1..={} seconds", book.limits.max_duration),
            });
        }
        if book.scans.iter().any(|s| s.id == id) {
            return Err(ScanError::Exists(id));
        }
        let running = book.scans.iter().filter(|s| !s.finished).count();
        if running >= book.limits.max_running {
            return Err(ScanError::TooMany(running));
        }
        while book.scans.len() >= book.limits.max_remembered + book.limits.max_running {
            // forget the oldest ended scan
            match book.scans.iter().position(|s| s.finished) {
                Some(i) => {
                    book.scans.remove(i);
                }
                None => break,
            }
        }
        let now = SystemTime::now();
        let scan = Scan {
            id: id.clone(),
            project: project.to_string(),
            duration,
            started: now,
            ends: now + Duration::from_secs(duration),
            stopped: false,
            finished: false,
            inventory_done: false,
            records: 0,
            inventory_records: 0,
            paths: HashSet::new(),
            pids: HashSet::new(),
        };
        let report = scan.report();
        book.scans.push_back(scan);
        self.running.fetch_add(1, Ordering::Relaxed);
        drop(book);
        if self
            .requests
            .send(ScanRequest::Inventory {
                scan_id: id.clone(),
            })
            .is_err()
        {
            return Err(ScanError::ShuttingDown);
        }
        Ok(report)
    }

    /// Ends a scan's live window now; its summary follows within the grace period.
    pub fn stop(&self, id: &str) -> Result<ScanReport, ScanError> {
        let mut book = self.lock();
        let s = book
            .scans
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or_else(|| ScanError::NotFound(id.to_string()))?;
        let now = SystemTime::now();
        if s.finished || s.ends <= now {
            return Err(ScanError::Ended(id.to_string()));
        }
        s.stopped = true;
        s.ends = now;
        Ok(s.report())
    }

    /// One scan.
    pub fn get(&self, id: &str) -> Option<ScanReport> {
        self.lock()
            .scans
            .iter()
            .find(|s| s.id == id)
            .map(Scan::report)
    }

    /// Every remembered scan, oldest first.
    pub fn list(&self) -> Vec<ScanReport> {
        self.lock().scans.iter().map(Scan::report).collect()
    }

    /// Scans not yet finished.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// The project of scan `id`, when it is still collecting.
    pub fn project_of(&self, id: &str) -> Option<String> {
        let book = self.lock();
        let s = book.scans.iter().find(|s| s.id == id && !s.finished)?;
        Some(s.project.clone())
    }

    /// Ids of the scans an access of `project` at `time` belongs to.
    pub fn matching(&self, project: &str, time: SystemTime) -> Vec<String> {
        if self.running() == 0 {
            return Vec::new();
        }
        self.lock()
            .scans
            .iter()
            .filter(|s| !s.finished && s.project == project && time >= s.started && time <= s.ends)
            .map(|s| s.id.clone())
            .collect()
    }

    /// Counts one record exported for scan `id`.
    pub fn count(&self, id: &str, path: &std::path::Path, pid: u32, access: bool, inventory: bool) {
        let mut book = self.lock();
        let Some(s) = book.scans.iter_mut().find(|s| s.id == id) else {
            return;
        };
        if access {
            s.records += 1;
            if inventory {
                s.inventory_records += 1;
            }
        }
        if s.paths.len() < MAX_DISTINCT && !s.paths.contains(path) {
            s.paths.insert(path.to_path_buf());
        }
        if s.pids.len() < MAX_DISTINCT {
            s.pids.insert(pid);
        }
    }

    /// Marks scan `id`'s inventory as taken.
    pub fn inventory_done(&self, id: &str) {
        if let Some(s) = self.lock().scans.iter_mut().find(|s| s.id == id) {
            s.inventory_done = true;
        }
    }

    /// Finishes the scans whose window ended at least `grace` ago (so that records held
    /// back by deduplication are tagged first) and returns their final reports.
    pub fn finish_due(&self, now: SystemTime, grace: Duration) -> Vec<ScanReport> {
        if self.running() == 0 {
            return Vec::new();
        }
        let mut done = Vec::new();
        let mut book = self.lock();
        for s in book.scans.iter_mut().filter(|s| !s.finished) {
            if s.ends + grace <= now {
                s.finished = true;
                done.push(s.report());
            }
        }
        self.running.fetch_sub(done.len(), Ordering::Relaxed);
        done
    }

    /// Shutdown: no new scans; every running scan is stopped and finished now.
    pub fn close(&self) -> Vec<ScanReport> {
        let mut book = self.lock();
        book.open = false;
        let now = SystemTime::now();
        let mut done = Vec::new();
        for s in book.scans.iter_mut().filter(|s| !s.finished) {
            if s.ends > now {
                s.stopped = true;
                s.ends = now;
            }
            s.finished = true;
            done.push(s.report());
        }
        self.running.fetch_sub(done.len(), Ordering::Relaxed);
        done
    }
}

/// A new scan id: time-ordered and unique enough for one host (nanoseconds + pid + counter).
fn new_id() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let t = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "scan-{:x}-{:x}-{}",
        t.as_nanos(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> (Scans, mpsc::UnboundedReceiver<ScanRequest>) {
        Scans::new(ScanLimits {
            max_duration: 3600,
            max_running: 4,
            max_remembered: 8,
        })
    }

    #[test]
    fn start_asks_for_an_inventory_and_tags_only_its_project_and_window() {
        let (s, mut rx) = book();
        let r = s.start("demo", 10, Some("a".into())).unwrap();
        assert_eq!(r.state, scan_state::RUNNING);
        assert!(matches!(rx.try_recv(), Ok(ScanRequest::Inventory { scan_id }) if scan_id == "a"));
        let now = SystemTime::now();
        assert_eq!(s.matching("demo", now), vec!["a".to_string()]);
        assert!(s.matching("other", now).is_empty());
        assert!(s.matching("demo", now - Duration::from_secs(60)).is_empty());
        assert!(s.matching("demo", now + Duration::from_secs(60)).is_empty());
    }

    #[test]
    fn overlapping_scans_of_one_project_both_match() {
        let (s, _rx) = book();
        s.start("demo", 10, Some("a".into())).unwrap();
        s.start("demo", 10, Some("b".into())).unwrap();
        s.start("x", 10, Some("c".into())).unwrap();
        let m = s.matching("demo", SystemTime::now());
        assert_eq!(m, vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn bad_requests_are_refused_with_the_reason() {
        let (s, _rx) = book();
        assert!(matches!(
            s.start("../x", 10, None),
            Err(ScanError::Invalid {
                field: "project",
                ..
            })
        ));
        assert!(matches!(
            s.start("demo", 0, None),
            Err(ScanError::Invalid {
                field: "duration",
                ..
            })
        ));
        assert!(matches!(
            s.start("demo", 3601, None),
            Err(ScanError::Invalid {
                field: "duration",
                ..
            })
        ));
        assert!(matches!(
            s.start("demo", 1, Some("a b".into())),
            Err(ScanError::Invalid {
                field: "scan_id",
                ..
            })
        ));
        s.start("demo", 1, Some("a".into())).unwrap();
        assert_eq!(
            s.start("demo", 1, Some("a".into())),
            Err(ScanError::Exists("a".into()))
        );
        for i in 0..3 {
            s.start("demo", 1, Some(format!("n{i}"))).unwrap();
        }
        assert_eq!(s.start("demo", 1, None), Err(ScanError::TooMany(4)));
        assert_eq!(s.stop("nope"), Err(ScanError::NotFound("nope".into())));
    }

    #[test]
    fn counts_and_finish() {
        let (s, _rx) = book();
        s.start("demo", 1, Some("a".into())).unwrap();
        let p = std::path::Path::new("/m/x.gguf");
        s.count("a", p, 1, true, true);
        s.count("a", p, 2, true, false);
        s.count("a", p, 2, false, false);
        let now = SystemTime::now();
        assert!(s.finish_due(now, Duration::from_secs(5)).is_empty());
        let done = s.finish_due(now + Duration::from_secs(10), Duration::from_secs(5));
        assert_eq!(done.len(), 1);
        let r = &done[0];
        assert_eq!(
            (
                r.state,
                r.records,
                r.inventory_records,
                r.artifacts,
                r.processes
            ),
            (scan_state::COMPLETED, 2, 1, 1, 2)
        );
        assert_eq!(s.running(), 0);
        assert!(s.matching("demo", now).is_empty());
        assert_eq!(s.get("a").unwrap().state, scan_state::COMPLETED);
    }

    #[test]
    fn stop_ends_the_window_and_close_stops_everything() {
        let (s, _rx) = book();
        s.start("demo", 100, Some("a".into())).unwrap();
        s.start("demo", 100, Some("b".into())).unwrap();
        s.stop("a").unwrap();
        assert_eq!(s.stop("a"), Err(ScanError::Ended("a".into())));
        let later = SystemTime::now() + Duration::from_secs(1);
        assert_eq!(s.matching("demo", later), vec!["b".to_string()]);
        let closed = s.close();
        assert_eq!(closed.len(), 2);
        assert!(closed.iter().all(|r| r.state == scan_state::STOPPED));
        assert_eq!(s.start("demo", 1, None), Err(ScanError::ShuttingDown));
    }
}
