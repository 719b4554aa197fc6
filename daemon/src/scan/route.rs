//! The route stage: a record goes to every running scan of its project (a tagged copy
//! each, counted in the scan's book), else through its project's sampling and rate limit.
use std::time::Instant;

use super::limits::{Limiter, Verdict};
use super::Scans;
use crate::model::{AccessRecord, RecordKind};
use crate::stats::Stats;

/// Routes records to scans and applies per-project limits.
#[derive(Default)]
pub struct Router {
    /// The scan book, when the control API is on (`aibomd daemon`).
    pub book: Option<Scans>,
    pub limiter: Limiter,
}

impl Router {
    /// Ends the scans whose window is over (after the dedup `window`, so held records are
    /// tagged first), or all of them when `closing`; returns their final reports.
    pub fn finish_scans(
        &self,
        closing: bool,
        window: std::time::Duration,
        stats: &Stats,
    ) -> Vec<crate::model::ScanReport> {
        let Some(book) = &self.book else {
            return Vec::new();
        };
        let done = if closing {
            book.close()
        } else {
            book.finish_due(
                std::time::SystemTime::now(),
                window + std::time::Duration::from_millis(500),
            )
        };
        Stats::set(&stats.scans_active, book.running() as u64);
        for r in &done {
            tracing::info!(scan = %r.scan_id, state = r.state, records = r.records, "scan ended");
        }
        done
    }

    /// Calls `deliver` with each copy of `rec` that leaves (none when held back; those
    /// are counted in `stats`).
    pub fn route(
        &mut self,
        mut rec: AccessRecord,
        stats: &Stats,
        mut deliver: impl FnMut(&mut AccessRecord),
    ) {
        let access = rec.kind == RecordKind::Access;
        if let Some(book) = &self.book {
            let inventory = rec.origin == aibom_semconv::access_origin::INVENTORY;
            if let Some(id) = &rec.scan_id {
                book.count(id, &rec.file_path, rec.pid(), access, inventory);
                return deliver(&mut rec);
            }
            let ids = book.matching(rec.project(), rec.time);
            if !ids.is_empty() {
                let mut r = rec;
                for id in ids {
                    book.count(&id, &r.file_path, r.pid(), access, inventory);
                    r.scan_id = Some(id);
                    deliver(&mut r);
                }
                return;
            }
        }
        if access {
            match self.limiter.check(rec.project(), Instant::now()) {
                Verdict::Keep => {}
                Verdict::SampledOut => return Stats::add(&stats.project_sampled_out, 1),
                Verdict::RateLimited => return Stats::add(&stats.project_rate_limited, 1),
            }
        }
        deliver(&mut rec)
    }
}
