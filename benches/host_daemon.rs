//! The whole host traced by `aibomd daemon --events /dev/null`, for benches that time a
//! workload with and without it.
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};

/// `aibomd daemon --events /dev/null` (no control socket), started with `env` added and
/// stopped (SIGTERM, drained) when dropped.
pub struct Daemon(Child);

impl Daemon {
    pub fn start(env: &[(&str, &str)]) -> Result<Self> {
        let mut c = Command::new(env!("CARGO_BIN_EXE_aibomd"))
            .args(["daemon", "--tracer", "ebpf", "--events", "/dev/null"])
            .args(["--control-socket", ""])
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .spawn()?;
        let err = c.stderr.take().context("stderr")?;
        let mut lines = BufReader::new(err).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.contains("aibomd: ready") => break,
                Some(_) => {}
                None => bail!("aibomd daemon exited before it was ready"),
            }
        }
        // keep reading so the daemon never blocks on a full pipe
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Self(c))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.0.wait();
    }
}
