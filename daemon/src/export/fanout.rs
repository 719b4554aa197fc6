//! The last stage: every record to every sink, with its id, counted in [`Stats`].
use crate::model::{AccessRecord, ExecInfo, ScanReport};
use crate::stats::Stats;

use super::ids::RecordIds;
use super::Sink;

/// The configured sinks.
pub struct Fanout {
    sinks: Vec<Box<dyn Sink>>,
    ids: RecordIds,
}

impl Fanout {
    /// Fans out to `sinks`.
    pub fn new(sinks: Vec<Box<dyn Sink>>) -> Self {
        Self {
            sinks,
            ids: RecordIds::new(),
        }
    }

    /// Gives `rec` its id and hands it to every sink: every sink sees the same id.
    pub fn emit(&mut self, rec: &mut AccessRecord, stats: &Stats) {
        rec.id = self.ids.give();
        let rec = &*rec;
        Stats::add(&stats.exported, 1);
        for s in &mut self.sinks {
            if let Err(e) = s.emit(rec) {
                Stats::add(&stats.export_failures, 1);
                tracing::error!(sink = s.name(), error = %e, "sink write failed");
            }
        }
    }

    /// A traced process started a program.
    pub fn exec(&mut self, e: &ExecInfo) {
        self.sinks.iter_mut().for_each(|s| s.process_exec(e));
    }

    /// A traced process exited.
    pub fn exit(&mut self, pid: u32) {
        self.sinks.iter_mut().for_each(|s| s.process_exit(pid));
    }

    /// A sample of a process's accelerator memory.
    pub fn accelerator_memory(&mut self, pid: u32, bytes: u64) {
        self.sinks
            .iter_mut()
            .for_each(|s| s.accelerator_memory(pid, bytes));
    }

    /// A scan started.
    pub fn scan_started(&mut self, r: &ScanReport) {
        self.sinks.iter_mut().for_each(|s| s.scan_started(r));
    }

    /// A scan ended.
    pub fn scan_ended(&mut self, r: &ScanReport) {
        self.sinks.iter_mut().for_each(|s| s.scan_ended(r));
    }

    /// Flushes (`close`: and releases) every sink; failures are logged and counted.
    pub fn flush(&mut self, close: bool, stats: &Stats) {
        for s in &mut self.sinks {
            let res = if close { s.close() } else { s.flush() };
            if let Err(e) = res {
                Stats::add(&stats.export_failures, 1);
                tracing::error!(sink = s.name(), error = %e, close, "sink flush failed");
            }
        }
    }
}
