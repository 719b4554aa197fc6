//! A scan's public state.
use serde::Serialize;

/// A scan's public state (the control API's JSON).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScanReport {
    pub scan_id: String,
    pub project: String,
    /// `running`, `completed` or `stopped` (`aibom.scan.state` values).
    pub state: &'static str,
    /// Requested live window, seconds.
    pub duration: u64,
    /// RFC 3339.
    pub started: String,
    /// When live tagging ends (RFC 3339): start + duration, or the stop time.
    pub ends: String,
    /// True once the inventory of already-held files was taken.
    pub inventory_done: bool,
    /// Access records tagged with the scan.
    pub records: u64,
    /// Of `records`, found by the inventory.
    pub inventory_records: u64,
    /// Distinct files.
    pub artifacts: u64,
    /// Distinct processes.
    pub processes: u64,
}
