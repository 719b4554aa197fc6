//! Deferral: the host daemon leaves a process tree to an `aibomd run` that traces and
//! exports it itself, so a store gets the tree's records once, not once per observer.
//!
//! The daemon pins its `DEFERRED` map (tgid → the tgid of the run) on bpffs, readable and
//! writable by root only. A run that exports OTLP opens the pin and adds its own tgid; the
//! kernel side adds every process the run forks (its command and all descendants) and,
//! when the run exits, drops them all: the daemon traces them again from then on. Any
//! other run adds itself alone (value 0, not inherited by what it forks): the daemon
//! keeps reporting its command, but not the run's own reads of the files it identifies
//! (which are aibomd's work, not the workload's). So a
//! run that dies early never leaves a process unseen; one that keeps running while the
//! daemon restarts loses its deferral (the new daemon's map is empty): the store then
//! gets that run's records from both, as without deferral.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use aya::maps::{HashMap as BpfHashMap, Map, MapData};
use aya::Ebpf;

/// Where `[ebpf] defer_pin` puts the map unless configured.
pub const DEFAULT_PIN: &str = "/sys/fs/bpf/aibomd/deferred";

/// Where bpffs is mounted when it is not yet (as `mount -t bpf bpf /sys/fs/bpf` would).
const BPFFS: &str = "/sys/fs/bpf";

/// `BPF_FS_MAGIC` from `linux/magic.h`: what `statfs` says of a bpffs.
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

/// The daemon's pinned map; the pin is removed when this is dropped.
#[derive(Debug)]
pub struct Pinned {
    path: PathBuf,
    /// An exclusive `flock` on the pin's folder, held while the pin is this daemon's: the
    /// kernel drops it when the daemon exits, however it exits.
    _lock: nix::fcntl::Flock<std::fs::File>,
}

impl Pinned {
    /// Pins `DEFERRED` of `bpf` at `path`. A pin left by a dead daemon is replaced; one of
    /// a daemon still running (it holds the folder's lock) is not: that one keeps getting
    /// the hand-overs, and this daemon reports the runs' commands too.
    pub fn pin(bpf: &Ebpf, path: &Path) -> Result<Self> {
        let dir = path.parent().context("the pin path has no folder")?;
        if dir.starts_with(BPFFS) && !is_bpffs(Path::new(BPFFS)) {
            nix::mount::mount(
                Some("bpf"),
                BPFFS,
                Some("bpf"),
                nix::mount::MsFlags::empty(),
                None::<&str>,
            )
            .with_context(|| format!("bpffs is not mounted at {BPFFS} and mounting it failed"))?;
        }
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        set_mode(dir, 0o700)?;
        let folder =
            std::fs::File::open(dir).with_context(|| format!("opening {}", dir.display()))?;
        let lock = nix::fcntl::Flock::lock(folder, nix::fcntl::FlockArg::LockExclusiveNonblock)
            .map_err(|(_, e)| e)
            .with_context(|| {
                format!(
                    "another aibomd daemon holds {} (two daemons on one host report everything twice)",
                    dir.display()
                )
            })?;
        match std::fs::remove_file(path) {
            Ok(()) => tracing::info!(pin = %path.display(), "replaced a stale deferral pin"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
        }
        let map = bpf.map("DEFERRED").context("DEFERRED map missing")?;
        map.pin(path)
            .with_context(|| format!("pinning the deferral map at {}", path.display()))?;
        set_mode(path, 0o600)?;
        Ok(Self {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The run's side: its own tgid is written to a daemon's pinned map.
pub struct Deferral {
    _map: BpfHashMap<MapData, u32, u32>,
}

impl Deferral {
    /// Defers the calling process (with `tree`: and everything it starts from now on) to
    /// itself in the daemon's map at `path`. `None` when no daemon pinned one (none is
    /// running).
    pub fn defer_self(path: &Path, tree: bool) -> Result<Option<Self>> {
        if !path.exists() {
            return Ok(None);
        }
        let data = MapData::from_pin(path)
            .with_context(|| format!("opening the daemon's deferral map {}", path.display()))?;
        let mut map: BpfHashMap<MapData, u32, u32> = BpfHashMap::try_from(Map::HashMap(data))
            .context("the pinned deferral map is not a hash map of u32")?;
        let me = own_tgid()?;
        map.insert(me, if tree { me } else { 0 }, 0)
            .with_context(|| format!("adding pid {me} to the deferral map"))?;
        Ok(Some(Self { _map: map }))
    }
}

/// Our pid as the daemon's kernel side numbers it: the host's pid when `/proc` is the
/// host's (the only case where a host daemon and this run agree on numbers).
fn own_tgid() -> Result<u32> {
    if !super::ProcPidns::proc_is_hosts() {
        bail!("this run's /proc is not the host's: a host daemon would not know its pids");
    }
    Ok(std::process::id())
}

fn is_bpffs(dir: &Path) -> bool {
    nix::sys::statfs::statfs(dir).is_ok_and(|s| s.filesystem_type().0 == BPF_FS_MAGIC)
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))
}
