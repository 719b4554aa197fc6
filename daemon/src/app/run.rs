//! `aibomd run -- CMD`: trace one command and all its descendants.
use std::os::unix::process::{CommandExt, ExitStatusExt};

use anyhow::{bail, Context, Result};
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::export::otel::Workload;
use crate::export::summary::{self, SummarySink};
use crate::pipeline;
use crate::tracer::{self, Scope};

/// What `aibomd run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The command and its arguments.
    pub command: Vec<String>,
    /// Print the artifact table to stderr at the end.
    pub summary: bool,
    /// Write an AI-BOM of what was loaded to this file (`-`: stdout) in this format.
    pub bom: Option<(std::path::PathBuf, aibom_bom::Format)>,
    /// Exit with [`VIOLATION_EXIT`] (unless the command failed) when a rule was violated.
    pub fail_on_violation: bool,
    /// Run the command as root even when aibomd was started through sudo.
    pub as_root: bool,
}

/// Who the command runs as: under `sudo`, the user who ran sudo (`SUDO_UID`, `SUDO_GID`
/// and that user's groups), so a malicious model file does not run as root.
struct Invoker {
    uid: nix::unistd::Uid,
    gid: nix::unistd::Gid,
    groups: Vec<nix::unistd::Gid>,
}

impl Invoker {
    /// The sudo user, unless `as_root`, aibomd is not root, or sudo was run by root.
    fn from_env(as_root: bool) -> Result<Option<Self>> {
        use nix::unistd::{Gid, Uid};
        if as_root || !nix::unistd::geteuid().is_root() {
            return Ok(None);
        }
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let (Some(uid), Some(gid)) = (var("SUDO_UID"), var("SUDO_GID")) else {
            return Ok(None);
        };
        let uid: u32 = uid.parse().context("SUDO_UID is not a number")?;
        let gid: u32 = gid.parse().context("SUDO_GID is not a number")?;
        if uid == 0 {
            return Ok(None);
        }
        let gid = Gid::from_raw(gid);
        let groups = var("SUDO_USER")
            .and_then(|u| std::ffi::CString::new(u).ok())
            .and_then(|u| nix::unistd::getgrouplist(&u, gid).ok())
            .unwrap_or_else(|| vec![gid]);
        Ok(Some(Self {
            uid: Uid::from_raw(uid),
            gid,
            groups,
        }))
    }

    /// Drops to the user in a freshly forked child (async-signal-safe: three syscalls on
    /// memory allocated before the fork).
    fn drop_privileges(&self) -> std::io::Result<()> {
        nix::unistd::setgroups(&self.groups)?;
        nix::unistd::setgid(self.gid)?;
        nix::unistd::setuid(self.uid)?;
        Ok(())
    }
}

/// Takes the command's process tree over from a host daemon, when this run exports OTLP
/// with the eBPF tracer: the daemon then does not report it too (the store would get every
/// record twice). Any other run hands over only itself: the daemon keeps reporting the
/// command, not this run's own reads of the files it identifies. No daemon: nothing.
fn hand_over(cfg: &Config, tracer_name: &str) -> Option<tracer::ebpf::defer::Deferral> {
    let tree = cfg.export.otlp.enabled() && tracer_name == aibom_semconv::tracer::EBPF;
    let pin = &cfg.ebpf.defer_pin;
    if pin.as_os_str().is_empty() {
        return None;
    }
    match tracer::ebpf::defer::Deferral::defer_self(pin, tree) {
        Ok(Some(d)) if tree => {
            tracing::info!("the host daemon leaves this command to this run");
            Some(d)
        }
        Ok(d) => d,
        Err(e) if tree => {
            tracing::warn!(
                error = format!("{e:#}"),
                "the host daemon reports this command too"
            );
            None
        }
        Err(e) => {
            tracing::debug!(
                error = format!("{e:#}"),
                "the host daemon may report this run's own reads"
            );
            None
        }
    }
}

/// The exit code of `aibomd run --fail-on-violation` when the command succeeded but a
/// policy rule was violated.
pub const VIOLATION_EXIT: i32 = 3;

/// Runs the command under the tracer; returns the exit code to exit with (the command's,
/// or 128 + signal number when a signal killed it).
pub async fn run(cfg: &Config, opts: RunOptions) -> Result<i32> {
    let Some((prog, args)) = opts.command.split_first() else {
        bail!("no command given: use `aibomd run [OPTIONS] -- CMD [ARGS...]`");
    };
    if opts.fail_on_violation && cfg.policy.file.is_none() {
        bail!("--fail-on-violation needs a policy: --policy FILE (or [policy] file in the config)");
    }
    let mut tracer = tracer::open(cfg.tracer, Scope::Follow, cfg.tracer_settings())?;
    let tracer_name = tracer.name();
    tracing::info!(tracer = tracer_name, "tracer attached");
    // kept to the end; the kernel side ends the hand-over when this process exits
    let _deferral = hand_over(cfg, tracer_name);

    let (sum_sink, table) = SummarySink::new(cfg.export.summary_max_bytes);
    let workload = Workload {
        command: opts.command.clone(),
        project: cfg.project.clone(),
    };
    let mut extra: Vec<Box<dyn crate::export::Sink>> = vec![Box::new(sum_sink)];
    if let Some((path, format)) = &opts.bom {
        let w = crate::export::bom::run_workload(&opts.command, &cfg.project);
        extra.push(Box::new(crate::export::bom::BomSink::new(
            path.clone(),
            *format,
            w,
            cfg.export.bom_max_bytes,
        )));
    }
    let built = crate::app::build_pipeline(cfg, Some(workload), extra)?;
    tracer.attach_stats(built.stats.clone());
    let pipe = built.pipeline.with_kill_switch(tracer.kill_switch());
    let (tx, rx) = tracer::queue(
        cfg.pipeline.queue_batches,
        cfg.pipeline.queue_bytes,
        built.stats.clone(),
    );
    // the enforcer marks its directories before the command can open anything
    let follow = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let enforcer = crate::app::start_enforcer(
        cfg,
        built.policy.as_ref(),
        Some(follow.clone()),
        &tx,
        &built.stats,
    )?;
    let mut cmd = std::process::Command::new(prog);
    cmd.args(args);
    if let Some(p) = &cfg.attribute.cli_project {
        cmd.env(crate::attribute::process::PROJECT_ENV, p);
    }
    if let Some(hook) = tracer.pre_exec_follow() {
        // SAFETY: the hook is async-signal-safe (one raw syscall), as the trait requires.
        unsafe { cmd.pre_exec(hook) };
    }
    // after the tracer's hook: following needs root, the command does not
    if let Some(user) = Invoker::from_env(opts.as_root)? {
        tracing::info!(
            uid = user.uid.as_raw(),
            "running the command as the sudo user (--as-root keeps root)"
        );
        // SAFETY: setgroups/setgid/setuid on data allocated before the fork.
        unsafe { cmd.pre_exec(move || user.drop_privileges()) };
    }
    let mut child = tokio::process::Command::from(cmd)
        .spawn()
        .with_context(|| format!("cannot start `{prog}`"))?;
    let pid = child.id().context("child has no pid")?;
    follow.store(pid, std::sync::atomic::Ordering::Release);
    tracer.follow(pid)?;

    let stop = CancellationToken::new();
    let nvml = tracer::nvml::spawn(&cfg.accelerator, &tx, stop.clone())?;
    let tracer_task = tracer.spawn(tx, stop.clone());
    let pipe_task = tokio::spawn(pipeline::run(rx, pipe));
    // the command is started and followed: full root is not needed any more
    let needs = crate::sandbox::Needs {
        tracer: tracer_name,
        api: cfg.api.enabled,
        kill: true,
        write_anywhere: opts.bom.as_ref().is_some_and(|(p, _)| p.as_os_str() != "-"),
    };
    crate::sandbox::lock_down(&cfg.sandbox, needs)?;

    let status = wait_forwarding_signals(&mut child, pid).await?;
    if let Some(e) = enforcer {
        tokio::task::block_in_place(|| e.stop());
    }
    stop.cancel();
    let tstats = tracer_task.await.context("tracer task panicked")??;
    if let Some(n) = nvml {
        // ends at `stop`, giving up its queue sender so the pipeline can drain
        let _ = n.await;
    }
    pipe_task.await.context("pipeline task panicked")??;
    if let Some(otel) = built.otel {
        otel.shutdown().await;
    }

    if opts.summary {
        let t = table.lock().expect("summary lock");
        eprint!("{}", summary::render(&t));
        eprintln!(
            "{}",
            crate::app::stats_line(tracer_name, &tstats, &built.stats)
        );
    }
    if tstats.dropped > 0 {
        tracing::warn!(
            dropped = tstats.dropped,
            "events were lost in the kernel (ring buffer full); raise ebpf.ring_buffer_bytes"
        );
    }
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Ok(policy_outcome(
        prog,
        code,
        &built.stats,
        opts.fail_on_violation,
    ))
}

/// Says what the policy did (which rule killed the command), and the exit code.
fn policy_outcome(prog: &str, code: i32, stats: &crate::stats::Stats, fail: bool) -> i32 {
    let v = stats.violations();
    if v.is_empty() {
        return code;
    }
    let total: u64 = v.iter().map(|x| x.2).sum();
    let rules: Vec<_> = v.iter().map(|(r, _, n)| format!("{r} ({n})")).collect();
    eprintln!("aibomd: {total} policy violation(s): {}", rules.join(", "));
    let killers: Vec<_> = v
        .iter()
        .filter(|x| x.1 == crate::model::Action::Kill)
        .map(|x| x.0.to_string())
        .collect();
    if code == 128 + libc::SIGKILL && !killers.is_empty() {
        eprintln!(
            "aibomd: `{prog}` was killed (SIGKILL) by policy rule {}",
            killers.join(", ")
        );
    }
    if fail && code == 0 {
        VIOLATION_EXIT
    } else {
        code
    }
}

/// Waits for the child; SIGINT/SIGTERM/SIGHUP received meanwhile are passed on to it, so
/// it decides how to stop, and we still drain everything it did.
async fn wait_forwarding_signals(
    child: &mut tokio::process::Child,
    pid: u32,
) -> Result<std::process::ExitStatus> {
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let forward = |sig: nix::sys::signal::Signal| {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig);
    };
    loop {
        tokio::select! {
            s = child.wait() => return Ok(s?),
            _ = int.recv() => forward(nix::sys::signal::Signal::SIGINT),
            _ = term.recv() => forward(nix::sys::signal::Signal::SIGTERM),
            _ = hup.recv() => forward(nix::sys::signal::Signal::SIGHUP),
        }
    }
}
