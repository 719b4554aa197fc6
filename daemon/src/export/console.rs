//! Console sink: one readable line per record on stderr (daemon mode default).
use std::io::Write;

use anyhow::Result;

use super::{path_string, Sink};
use crate::model::AccessRecord;
use std::os::unix::ffi::OsStrExt;

/// Prints `time pid comm mode path (size)` lines.
#[derive(Default)]
pub struct ConsoleSink;

/// Escapes control characters so a hostile file name cannot forge output lines.
pub fn printable(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

impl Sink for ConsoleSink {
    fn name(&self) -> &'static str {
        "console"
    }

    fn emit(&mut self, r: &AccessRecord) -> Result<()> {
        let t = chrono::DateTime::<chrono::Local>::from(r.time).format("%H:%M:%S%.3f");
        let path = printable(&path_string(r.file_path.as_os_str().as_bytes()));
        let size = r.size.map(|s| format!(" {s}B")).unwrap_or_default();
        let count = if r.count > 1 {
            format!(" x{}", r.count)
        } else {
            String::new()
        };
        let comm = printable(r.process.comm.as_deref().unwrap_or("?"));
        let path = match &r.api {
            Some(c) => printable(&format!("API {} ({})", c.body(), c.seen_by)),
            None => path,
        };
        if let Some(v) = &r.violation {
            let done = if v.enforced {
                "enforced"
            } else {
                "not enforced"
            };
            return Ok(writeln!(
                std::io::stderr(),
                "{t} {:>7} {comm:<15} VIOLATION {} ({}, {} {done}) {path}",
                r.pid(),
                printable(&v.rule),
                v.severity.as_str(),
                v.action.as_str(),
            )?);
        }
        let danger = r
            .artifact
            .as_ref()
            .and_then(|a| a.unsafe_scan.as_ref()?.reason())
            .map(|c| format!(" UNSAFE (loading calls {})", printable(&c)))
            .unwrap_or_default();
        writeln!(
            std::io::stderr(),
            "{t} {:>7} {comm:<15} {:<5} {path}{size}{count}{danger}",
            r.pid(),
            r.mode.as_str()
        )?;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(std::io::stderr().flush()?)
    }

    fn scan_started(&mut self, s: &crate::model::ScanReport) {
        eprintln!(
            "scan {} started: project {} for {}s",
            s.scan_id, s.project, s.duration
        );
    }

    fn scan_ended(&mut self, s: &crate::model::ScanReport) {
        eprintln!(
            "scan {} {}: {} records ({} from the inventory), {} files, {} processes",
            s.scan_id, s.state, s.records, s.inventory_records, s.artifacts, s.processes
        );
    }
}
