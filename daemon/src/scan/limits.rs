//! Per-project sampling and rate limits for continuous collection (between scans).
//!
//! They apply to `aibom.artifact.access` records only: `aibom.artifact.identified` records
//! (one per artifact version) and records of a running scan are never held back. Every
//! record held back is counted (`aibom.project.sampled_out`, `aibom.project.rate_limited`).
use std::collections::HashMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Limits of one project (`[projects.<id>]` in the config).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectLimits {
    /// Fraction of access records exported, 0.0..=1.0 (1.0: all). Systematic: with 0.25,
    /// every fourth record of the project is kept.
    pub sample_rate: f64,
    /// Access records per second at most, after sampling (0: no limit). Bursts of up to
    /// one second's worth pass.
    pub rate_limit: u32,
}

impl Default for ProjectLimits {
    fn default() -> Self {
        Self {
            sample_rate: 1.0,
            rate_limit: 0,
        }
    }
}

impl ProjectLimits {
    /// Checks the values; the error names the project and the field.
    pub fn validate(&self, project: &str) -> anyhow::Result<()> {
        if !(0.0..=1.0).contains(&self.sample_rate) || self.sample_rate.is_nan() {
            anyhow::bail!(
                "projects.{project}.sample_rate = {}: must be between 0.0 and 1.0",
                self.sample_rate
            );
        }
        Ok(())
    }
}

/// What to do with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    SampledOut,
    RateLimited,
}

#[derive(Debug)]
struct State {
    limits: ProjectLimits,
    /// Sampling accumulator: a record is kept each time it reaches 1.
    credit: f64,
    tokens: f64,
    last: Instant,
}

/// The limiter of every configured project; projects without limits pass everything.
#[derive(Debug, Default)]
pub struct Limiter {
    projects: HashMap<String, State>,
}

impl Limiter {
    /// A limiter for the configured projects.
    pub fn new(cfg: &HashMap<String, ProjectLimits>) -> Self {
        let now = Instant::now();
        let projects = cfg
            .iter()
            .filter(|(_, l)| **l != ProjectLimits::default())
            .map(|(p, l)| {
                (
                    p.clone(),
                    State {
                        limits: l.clone(),
                        credit: 0.0,
                        tokens: l.rate_limit as f64,
                        last: now,
                    },
                )
            })
            .collect();
        Self { projects }
    }

    /// Decides on one access record of `project` at `now`.
    pub fn check(&mut self, project: &str, now: Instant) -> Verdict {
        let Some(st) = self.projects.get_mut(project) else {
            return Verdict::Keep;
        };
        st.credit += st.limits.sample_rate;
        if st.credit < 1.0 - 1e-9 {
            return Verdict::SampledOut;
        }
        st.credit -= 1.0;
        if st.limits.rate_limit == 0 {
            return Verdict::Keep;
        }
        let rate = st.limits.rate_limit as f64;
        let dt = now.saturating_duration_since(st.last).as_secs_f64();
        st.last = now;
        st.tokens = (st.tokens + dt * rate).min(rate);
        if st.tokens >= 1.0 {
            st.tokens -= 1.0;
            Verdict::Keep
        } else {
            Verdict::RateLimited
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limiter(p: &str, sample_rate: f64, rate_limit: u32) -> Limiter {
        let mut m = HashMap::new();
        m.insert(
            p.to_string(),
            ProjectLimits {
                sample_rate,
                rate_limit,
            },
        );
        Limiter::new(&m)
    }

    #[test]
    fn sampling_keeps_the_configured_fraction() {
        let mut l = limiter("demo", 0.25, 0);
        let now = Instant::now();
        let kept = (0..1000)
            .filter(|_| l.check("demo", now) == Verdict::Keep)
            .count();
        assert_eq!(kept, 250);
        assert_eq!(l.check("other", now), Verdict::Keep);
    }

    #[test]
    fn rate_limit_passes_one_second_then_refills() {
        let mut l = limiter("demo", 1.0, 10);
        let t0 = Instant::now();
        let kept = (0..100)
            .filter(|_| l.check("demo", t0) == Verdict::Keep)
            .count();
        assert_eq!(kept, 10);
        assert_eq!(l.check("demo", t0), Verdict::RateLimited);
        let t1 = t0 + Duration::from_millis(500);
        let kept = (0..100)
            .filter(|_| l.check("demo", t1) == Verdict::Keep)
            .count();
        assert_eq!(kept, 5);
    }

    #[test]
    fn zero_sample_rate_drops_all_and_bad_rates_are_refused() {
        let mut l = limiter("demo", 0.0, 0);
        assert_eq!(l.check("demo", Instant::now()), Verdict::SampledOut);
        let bad = ProjectLimits {
            sample_rate: 1.5,
            rate_limit: 0,
        };
        let e = bad.validate("demo").unwrap_err().to_string();
        assert!(e.contains("projects.demo.sample_rate"), "{e}");
    }
}
