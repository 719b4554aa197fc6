//! Summary sink: remembers each artifact seen and prints a table at the end of `aibomd run`.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Result;

use super::console::printable;
use super::{path_string, Sink};
use crate::event::AccessRecord;

/// One row of the table.
#[derive(Debug, Default, Clone)]
pub struct Row {
    pub accesses: u64,
    pub size: Option<u64>,
    pub modes: BTreeSet<&'static str>,
    pub processes: BTreeSet<String>,
    /// Paths the program used, when different from the resolved one (symlinks).
    pub via: BTreeSet<PathBuf>,
}

/// Shared table, readable after the pipeline stops.
pub type Table = Arc<Mutex<BTreeMap<PathBuf, Row>>>;

/// Collects rows into a [`Table`].
pub struct SummarySink {
    table: Table,
}

impl SummarySink {
    pub fn new() -> (Self, Table) {
        let t = Table::default();
        (Self { table: t.clone() }, t)
    }
}

impl Sink for SummarySink {
    fn name(&self) -> &'static str {
        "summary"
    }

    fn emit(&mut self, r: &AccessRecord) -> Result<()> {
        let mut t = self.table.lock().expect("summary lock");
        let row = t.entry(r.file_path.clone()).or_default();
        row.accesses += r.count;
        row.size = r.size.or(row.size);
        row.modes.insert(r.mode.as_str());
        row.processes.insert(format!(
            "{}[{}]",
            r.exe_name.as_deref().unwrap_or("?"),
            r.pid
        ));
        if r.absolute_path != r.file_path {
            row.via.insert(r.absolute_path.clone());
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Renders the table as aligned text.
pub fn render(table: &BTreeMap<PathBuf, Row>) -> String {
    let mut out = String::new();
    if table.is_empty() {
        out.push_str("aibomd: no AI artifacts were accessed\n");
        return out;
    }
    let _ = writeln!(out, "aibomd: {} artifact file(s) accessed", table.len());
    let _ = writeln!(
        out,
        "{:>8}  {:>10}  {:<10}  {:<24}  PATH",
        "ACCESSES", "SIZE", "MODE", "PROCESS"
    );
    for (path, row) in table {
        let modes: Vec<_> = row.modes.iter().copied().collect();
        let procs: Vec<_> = row.processes.iter().cloned().collect();
        let mut procs = procs.join(",");
        if procs.len() > 24 {
            procs.truncate(procs.char_indices().nth(21).map(|(i, _)| i).unwrap_or(21));
            procs.push_str("...");
        }
        let size = row.size.map(human).unwrap_or_else(|| "-".into());
        let shown = printable(&path_string(path.as_os_str().as_bytes()));
        let _ = writeln!(
            out,
            "{:>8}  {:>10}  {:<10}  {:<24}  {shown}",
            row.accesses,
            size,
            modes.join(","),
            procs
        );
        for v in &row.via {
            let _ = writeln!(
                out,
                "{:>60}  via {}",
                "",
                printable(&path_string(v.as_os_str().as_bytes()))
            );
        }
    }
    out
}

fn human(n: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}
