//! One record per (process, provider, host, model, operation, how seen) per window:
//! calls within it are folded into the first, counted, their token usage summed.
use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::assemble::Finished;
use crate::model::add_tokens;

type Key = (
    u32,
    &'static str,
    String,
    u16,
    Option<String>,
    Option<&'static str>,
    &'static str,
);

fn key(f: &Finished) -> Key {
    let c = &f.call;
    (
        f.who.pid,
        c.provider,
        c.server_address.clone(),
        c.server_port,
        c.request_model.clone(),
        c.operation,
        c.seen_by,
    )
}

/// Calls held for folding (see the module docs).
pub struct Folder {
    window: Duration,
    max: usize,
    held: HashMap<Key, (Finished, Instant)>,
}

impl Folder {
    /// Folds over `window` (zero: every call is its own record), holding `max` at most.
    pub fn new(window: Duration, max: usize) -> Self {
        Self {
            window,
            max: max.max(1),
            held: HashMap::new(),
        }
    }

    /// Takes a call; returns what leaves now (nothing while it can still fold, unless
    /// the window is zero or too many are held).
    pub fn push(&mut self, f: Finished, now: Instant) -> Vec<Finished> {
        if self.window.is_zero() {
            return vec![f];
        }
        let k = key(&f);
        if let Some((held, _)) = self.held.get_mut(&k) {
            let (a, b) = (&mut held.call, f.call);
            a.count += b.count;
            add_tokens(&mut a.input_tokens, b.input_tokens);
            add_tokens(&mut a.output_tokens, b.output_tokens);
            a.response_model = b.response_model.or(a.response_model.take());
            a.status = b.status.or(a.status);
            return Vec::new();
        }
        let mut out = Vec::new();
        if self.held.len() >= self.max {
            if let Some(oldest) = self
                .held
                .iter()
                .min_by_key(|(_, v)| v.1)
                .map(|(k, _)| k.clone())
            {
                out.extend(self.held.remove(&oldest).map(|v| v.0));
            }
        }
        self.held.insert(k, (f, now + self.window));
        out
    }

    /// The records whose window ended by `now`.
    pub fn expired(&mut self, now: Instant) -> Vec<Finished> {
        let done: Vec<Key> = self
            .held
            .iter()
            .filter(|(_, v)| v.1 <= now)
            .map(|(k, _)| k.clone())
            .collect();
        let mut out: Vec<Finished> = done
            .into_iter()
            .filter_map(|k| self.held.remove(&k).map(|v| v.0))
            .collect();
        out.sort_by_key(|f| f.time);
        out
    }

    /// Everything held (shutdown).
    pub fn drain(&mut self) -> Vec<Finished> {
        let mut out: Vec<Finished> = self.held.drain().map(|(_, v)| v.0).collect();
        out.sort_by_key(|f| f.time);
        out
    }

    /// Records held now.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Who;
    use crate::model::{ApiCall, Attribution};
    use std::sync::Arc;
    use std::time::SystemTime;

    fn call(model: &str, tokens: u64) -> Finished {
        Finished {
            call: ApiCall {
                provider: "openai",
                gen_ai_provider: Some("openai"),
                server_address: "api.openai.com".into(),
                server_port: 443,
                request_model: Some(model.into()),
                response_model: None,
                operation: Some("chat"),
                path: None,
                method: None,
                status: None,
                input_tokens: Some(tokens),
                output_tokens: None,
                seen_by: "uprobe",
                tls_library: None,
                count: 1,
            },
            time: SystemTime::UNIX_EPOCH,
            who: Who {
                pid: 1,
                ppid: None,
                uid: None,
                cgroup_id: None,
                comm: None,
                tracer: "test",
            },
            process: Arc::new(Attribution::bare(1)),
        }
    }

    #[test]
    fn calls_fold_per_model_within_the_window_with_summed_tokens() {
        let mut f = Folder::new(Duration::from_secs(5), 16);
        let t = Instant::now();
        for _ in 0..3 {
            assert!(f.push(call("gpt-4o", 10), t).is_empty());
        }
        assert!(f.push(call("gpt-4o-mini", 1), t).is_empty());
        assert!(f.expired(t + Duration::from_secs(1)).is_empty());
        let mut out = f.expired(t + Duration::from_secs(5));
        out.sort_by_key(|x| x.call.count);
        assert_eq!(out.len(), 2);
        assert_eq!((out[1].call.count, out[1].call.input_tokens), (3, Some(30)));
        assert_eq!(out[0].call.request_model.as_deref(), Some("gpt-4o-mini"));
        let mut none = Folder::new(Duration::ZERO, 16);
        assert_eq!(none.push(call("m", 1), t).len(), 1, "no window: no folding");
    }
}
