//! A scan's inventory: what every process (but aibomd) holds open or mapped right now,
//! as raw accesses the pipeline normalizes like live ones.
use tokio::sync::mpsc;

use super::ScanRequest;
use crate::filter::PathFilter;
use crate::model::RawAccess;
use crate::tracer::procfs::Inventory;

/// Serves the control API's inventory requests.
pub struct Inventories {
    /// Requests from the control API (taken by the pipeline's loop).
    pub requests: Option<mpsc::UnboundedReceiver<ScanRequest>>,
    reader: Inventory,
}

impl Inventories {
    /// Reads held files through `filter`, for `requests`.
    pub fn new(requests: mpsc::UnboundedReceiver<ScanRequest>, filter: PathFilter) -> Self {
        Self {
            requests: Some(requests),
            reader: Inventory::new(filter),
        }
    }

    /// The held files of every process but this one.
    pub fn take(&mut self) -> Vec<RawAccess> {
        let me = std::process::id();
        Inventory::pids()
            .into_iter()
            .filter(|p| *p != me)
            .flat_map(|p| self.reader.process(p))
            .collect()
    }
}
