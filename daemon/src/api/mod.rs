//! The `api` stage: AI API calls from the tracers' [`ApiEvent`]s — assembled per
//! connection ([`assemble`]), named ([`providers`]) and folded per window ([`fold`]).
pub mod assemble;
mod config;
pub mod fold;
pub mod providers;

use std::time::{Duration, Instant};

pub use assemble::{Attribute, Finished, Who};
pub use config::ApiConfig;

use crate::model::ApiEvent;

/// The stage (see the module docs).
pub struct ApiStage {
    asm: assemble::Assembler,
    fold: fold::Folder,
}

impl ApiStage {
    /// A stage with `cfg`'s settings folding over `window`.
    pub fn new(cfg: &ApiConfig, window: Duration) -> anyhow::Result<Self> {
        Ok(Self {
            asm: assemble::Assembler::new(
                cfg.extra_hosts()?,
                Duration::from_millis(cfg.quiet_ms),
                cfg.max_connections,
            ),
            fold: fold::Folder::new(window, cfg.max_connections),
        })
    }

    /// Takes one event; returns the records that leave now.
    pub fn on_event(&mut self, ev: ApiEvent, now: Instant, attr: Attribute) -> Vec<Finished> {
        let done = self.asm.on_event(ev, now, attr);
        self.fold_all(done, now)
    }

    /// Completes quiet calls; returns records whose window ended.
    pub fn tick(&mut self, now: Instant) -> Vec<Finished> {
        let done = self.asm.tick(now);
        let mut out = self.fold_all(done, now);
        out.extend(self.fold.expired(now));
        out
    }

    /// Process `pid` exited: its calls complete at a coming [`ApiStage::tick`] (they
    /// still fold until the window ends).
    pub fn exit(&mut self, pid: u32, now: Instant) {
        self.asm.exit(pid, now);
    }

    /// Everything, complete or not (shutdown).
    pub fn finish(&mut self) -> Vec<Finished> {
        let now = Instant::now();
        let done = self.asm.drain();
        let mut out = self.fold_all(done, now);
        out.extend(self.fold.drain());
        out
    }

    /// Connections followed and records held.
    pub fn held(&self) -> usize {
        self.asm.len() + self.fold.len()
    }

    fn fold_all(&mut self, done: Vec<Finished>, now: Instant) -> Vec<Finished> {
        done.into_iter()
            .flat_map(|f| self.fold.push(f, now))
            .collect()
    }
}
