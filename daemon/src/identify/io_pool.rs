//! A small, bounded pool of threads for file I/O the pipeline waits for (opening and
//! sniffing an artifact), with a timeout: a stalled filesystem (FUSE, NFS) blocks a
//! pool thread, never the pipeline. A job still blocked keeps its thread busy; once
//! every thread is busy, new jobs are refused at once instead of queued. Timeouts and
//! refusals are counted.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Job = Box<dyn FnOnce() + Send>;

/// Why a job gave no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoError {
    /// It did not finish in time (it goes on in its thread).
    TimedOut(Duration),
    /// Every thread is busy with a job that has not finished.
    Busy,
}

impl std::fmt::Display for IoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IoError::TimedOut(d) => write!(f, "file I/O timed out after {} ms", d.as_millis()),
            IoError::Busy => f.write_str("file I/O pool busy (stalled reads)"),
        }
    }
}

/// The pool (see the module docs).
pub struct IoPool {
    jobs: Option<mpsc::Sender<Job>>,
    busy: Arc<AtomicUsize>,
    threads: usize,
    timeout: Duration,
    /// Jobs that timed out so far.
    pub timeouts: u64,
    /// Jobs refused because every thread was busy.
    pub refused: u64,
}

impl IoPool {
    /// `threads` threads; the caller waits at most `timeout` per job.
    pub fn new(threads: usize, timeout: Duration) -> Self {
        let threads = threads.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("aibomd-io-{i}"))
                .spawn(move || loop {
                    let job = rx.lock().expect("io queue lock").recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                })
                .expect("spawn io thread");
        }
        Self {
            jobs: Some(tx),
            busy: Arc::new(AtomicUsize::new(0)),
            threads,
            timeout,
            timeouts: 0,
            refused: 0,
        }
    }

    /// Runs `f` on a pool thread and waits for its result, at most the timeout.
    pub fn run<T: Send + 'static>(
        &mut self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, IoError> {
        if self.busy.load(Ordering::Acquire) >= self.threads {
            self.refused += 1;
            return Err(IoError::Busy);
        }
        self.busy.fetch_add(1, Ordering::AcqRel);
        let (tx, rx) = mpsc::sync_channel(1);
        let busy = self.busy.clone();
        let job: Job = Box::new(move || {
            let r = f();
            busy.fetch_sub(1, Ordering::AcqRel); // free before the caller sees the result
            let _ = tx.send(r);
        });
        if self.jobs.as_ref().is_none_or(|j| j.send(job).is_err()) {
            self.busy.fetch_sub(1, Ordering::AcqRel);
            self.refused += 1;
            return Err(IoError::Busy);
        }
        rx.recv_timeout(self.timeout).map_err(|_| {
            self.timeouts += 1;
            IoError::TimedOut(self.timeout)
        })
    }
}

impl Drop for IoPool {
    /// Threads end after their current job (a stalled one is left to the OS).
    fn drop(&mut self) {
        self.jobs = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stalled_job_times_out_and_a_full_pool_refuses_at_once() {
        let mut p = IoPool::new(1, Duration::from_millis(100));
        assert_eq!(p.run(|| 5).unwrap(), 5);
        let (release, wait) = mpsc::channel::<()>();
        let e = p.run(move || wait.recv().ok()).unwrap_err();
        assert_eq!(e, IoError::TimedOut(Duration::from_millis(100)));
        let t = std::time::Instant::now();
        assert_eq!(p.run(|| 1).unwrap_err(), IoError::Busy);
        assert!(t.elapsed() < Duration::from_millis(50));
        assert_eq!((p.timeouts, p.refused), (1, 1));
        release.send(()).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while p.run(|| 2).is_err() {
            assert!(std::time::Instant::now() < deadline, "thread never freed");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
