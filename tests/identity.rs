//! Identity is read only through the file the process opened (issue 17), with the real
//! eBPF tracer and real processes.
//!
//! An unprivileged user (`nobody`) tries to make the root daemon read a 0600 root file
//! for it: a symlink swapped in after the open (descriptor held, and closed), `link/../x`
//! (a lexically cleaned path names another file), a relative open from deep below (the
//! daemon's own working directory holds a link to the secret under the same name), a
//! model card linked to a root-only card. No record may carry the secret's hash, size or
//! mtime, or the card's license, and the daemon must never open them (watched with
//! fanotify). FIFOs, `/dev/zero`, a growing and a sparse file swapped in
//! must not delay a later model's hash.
mod common;

use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use common::*;
use nix::sys::fanotify::{EventFFlags, Fanotify, InitFlags, MarkFlags, MaskFlags};
use serde_json::Value;

macro_rules! need_root {
    () => {
        if !common::kernel_tests_possible(module_path!()) {
            return;
        }
    };
}

/// A directory `nobody` can write in, below a fresh test directory.
fn user_dir(dir: &Path) -> std::path::PathBuf {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let u = dir.join("u");
    std::fs::create_dir(&u).unwrap();
    nix::unistd::chown(&u, Some(65534.into()), Some(65534.into())).unwrap();
    u
}

/// The root-only secret: 0600, a size and mtime found nowhere else. Returns its sha256.
fn secret(path: &Path) -> String {
    use sha2::Digest;
    let data: Vec<u8> = (0..77_777u32).map(|i| (i * 7 + i / 255) as u8).collect();
    std::fs::write(path, &data).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000))
        .unwrap();
    hex::encode(sha2::Sha256::digest(&data))
}

/// `aibomd run --tracer ebpf` of `script` run by `/usr/bin/python3` as `nobody` in `cwd`
/// (the daemon's own working directory is `dir`); returns the events and the daemon's pid.
fn run_as_nobody(dir: &Path, cwd: &Path, script: &str, args: &[&str]) -> (Traced, u32) {
    let events = dir.join("events.jsonl");
    let child = aibomd()
        .args(["run", "--tracer", "ebpf", "--events"])
        .arg(&events)
        .args([
            "--",
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ])
        .args([
            "sh",
            "-c",
            "cd \"$1\" && shift && exec /usr/bin/python3 \"$@\"",
            "sh",
        ])
        .arg(cwd)
        .args(["-c", script])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run aibomd");
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let text = std::fs::read_to_string(&events).unwrap_or_default();
    let events = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (Traced { out, events }, pid)
}

/// Asserts no event carries the secret's hash, size or mtime.
fn assert_no_secret(t: &Traced, sha: &str) {
    for e in &t.events {
        let text = e.to_string();
        assert!(!text.contains(sha), "the secret's hash leaked: {e:#}");
        assert_ne!(e[attr::FILE_SIZE].as_i64(), Some(77_777), "its size: {e:#}");
        let modified = e[attr::FILE_MODIFIED].to_string();
        assert!(
            !modified.contains("2001-09-09") && !modified.contains("1000000000"),
            "its mtime: {e:#}"
        );
    }
}

/// The identified event of the file whose access path ends with `suffix`.
fn identified<'a>(t: &'a Traced, suffix: &str) -> Vec<&'a Value> {
    t.events
        .iter()
        .filter(|e| e[record::EVENT_NAME] == aibom_semconv::event::ARTIFACT_IDENTIFIED)
        .filter(|e| {
            e[attr::ACCESS_PATH]
                .as_str()
                .is_some_and(|p| p.ends_with(suffix))
        })
        .collect()
}

/// Pids that opened or read `path` while fanotify watched it.
struct Watch(Fanotify);

impl Watch {
    fn on(paths: &[&Path]) -> Self {
        let f = Fanotify::init(
            InitFlags::FAN_CLASS_NOTIF | InitFlags::FAN_NONBLOCK | InitFlags::FAN_CLOEXEC,
            EventFFlags::O_RDONLY,
        )
        .expect("fanotify_init");
        for path in paths {
            f.mark(
                MarkFlags::FAN_MARK_ADD,
                MaskFlags::FAN_OPEN | MaskFlags::FAN_ACCESS | MaskFlags::FAN_OPEN_EXEC,
                None,
                Some(*path),
            )
            .expect("fanotify_mark");
        }
        Watch(f)
    }

    fn pids(&self) -> Vec<i32> {
        let mut pids = Vec::new();
        while let Ok(evs) = self.0.read_events() {
            if evs.is_empty() {
                break;
            }
            pids.extend(evs.iter().map(|e| e.pid()));
        }
        pids
    }
}

const SWAPS: &str = r#"
import os, sys, time
S = sys.argv[1]
def model(name, fill):
    with open(name, 'wb') as f:
        f.write(b'GGUF' + bytes([fill]) * 100)
# 1. the path is swapped for a link to the secret while the file is held open
model('held.gguf', 1)
f = open('held.gguf', 'rb'); f.read(4)
os.rename('held.gguf', 'held.old'); os.symlink(S, 'held.gguf')
time.sleep(1.5); f.close()
# 2. ... and after it was closed
model('closed.gguf', 2)
open('closed.gguf', 'rb').read(4)
os.remove('closed.gguf'); os.symlink(S, 'closed.gguf')
# 3. link/../x: the kernel goes to other/x.gguf, a lexical clean to ./x.gguf (the secret)
os.makedirs('other/sub'); os.symlink('other/sub', 'link')
model('other/x.gguf', 3)
os.symlink(S, 'x.gguf')
open('link/../x.gguf', 'rb').read(4)
open(os.getcwd() + '/link/../x.gguf', 'rb').read(4)
# 4. a relative open from very deep; the daemon's working directory has deep.gguf -> secret
for _ in range(30):
    os.mkdir('d' * 200); os.chdir('d' * 200)
model('deep.gguf', 4)
open('deep.gguf', 'rb').read(4)
os.chdir(sys.argv[3])
# 5. a model card linked to a root-only card (its license must not be exported)
os.mkdir('card'); os.symlink(sys.argv[2], 'card/README.md')
model('card/m.gguf', 5)
open('card/m.gguf', 'rb').read(4)
time.sleep(1.5)
"#;

#[test]
fn a_user_cannot_make_the_daemon_read_a_root_only_file() {
    need_root!();
    let (_g, dir) = tempdir();
    let u = user_dir(&dir);
    let secret_path = dir.join("secret.bin");
    let sha = secret(&secret_path);
    // what a path resolved against the daemon's own working directory would reach
    std::os::unix::fs::symlink(&secret_path, dir.join("deep.gguf")).unwrap();
    let card = dir.join("secret-card.md");
    std::fs::write(&card, "---\nlicense: gpl-3.0\n---\n").unwrap();
    std::fs::set_permissions(&card, std::fs::Permissions::from_mode(0o600)).unwrap();
    let watch = Watch::on(&[&secret_path, &card]);
    let args = [&secret_path, &card, &u].map(|p| p.to_str().unwrap());
    let (t, daemon) = run_as_nobody(&dir, &u, SWAPS, &args);
    assert!(t.out.status.success(), "{}", t.stderr());
    let openers = watch.pids();
    assert!(
        !openers.contains(&(daemon as i32)),
        "aibomd opened a secret (fanotify saw pids {openers:?})"
    );
    assert_no_secret(&t, &sha);
    for e in &t.events {
        assert!(
            !e.to_string().contains("GPL-3.0"),
            "the root-only card's license: {e:#}"
        );
    }
    assert!(
        !identified(&t, "card/m.gguf").is_empty(),
        "no identified card/m.gguf: {:#?}",
        t.events
    );
    // the legitimate files were identified through the process's own descriptor, or
    // refused with a reason: never with the secret's bytes
    let held = identified(&t, "held.gguf");
    assert!(!held.is_empty(), "no identified held.gguf: {:#?}", t.events);
    for e in &held {
        assert_eq!(e[attr::ARTIFACT_FORMAT], "gguf", "{e:#}");
    }
    let closed = identified(&t, "closed.gguf");
    assert!(
        !closed.is_empty(),
        "no identified closed.gguf: {:#?}",
        t.events
    );
    for e in closed {
        let why = e[attr::ARTIFACT_IDENTITY_ERROR]
            .as_str()
            .unwrap_or_default();
        assert!(why.contains("not the opened file"), "{e:#}");
        assert!(e[attr::ARTIFACT_SHA256].is_null(), "{e:#}");
    }
    for e in identified(&t, "x.gguf")
        .into_iter()
        .chain(identified(&t, "deep.gguf"))
    {
        // either the right file (the kernel's inode) or no identity at all
        let ok = e[attr::ARTIFACT_FORMAT] == "gguf" || !e[attr::ARTIFACT_IDENTITY_ERROR].is_null();
        assert!(ok, "{e:#}");
    }
}

const SPECIALS: &str = r#"
import os, sys, time
def model(name):
    with open(name, 'wb') as f:
        f.write(b'GGUF' + b'\0' * 100)
def swap(name, make):
    model(name)
    open(name, 'rb').read(4)
    os.remove(name); make(name)
# a growing file, appended to for 3 s by a child
if os.fork() == 0:
    with open('growing.data', 'wb') as g:
        end = time.time() + 3
        while time.time() < end:
            g.write(b'\0' * (1 << 20)); g.flush()
    os._exit(0)
time.sleep(0.2)
with open('sparse.data', 'wb') as s:
    s.truncate(1 << 40)
swap('fifo.gguf', os.mkfifo)
swap('zero.gguf', lambda n: os.symlink('/dev/zero', n))
swap('grow.gguf', lambda n: os.symlink('growing.data', n))
swap('sparse.gguf', lambda n: os.symlink('sparse.data', n))
# a FIFO opened as a model (without blocking the opener)
os.mkfifo('direct.gguf')
os.close(os.open('direct.gguf', os.O_RDONLY | os.O_NONBLOCK))
time.sleep(0.5)
with open('later.gguf', 'wb') as f:
    f.write(b'GGUF' + b'later' * 1000)
open('later.gguf', 'rb').read()
print(time.time(), flush=True)
time.sleep(0.5)
os._exit(0)
"#;

#[test]
fn specials_swapped_in_do_not_delay_a_later_models_hash() {
    need_root!();
    let (_g, dir) = tempdir();
    let u = user_dir(&dir);
    let started = Instant::now();
    let (t, _) = run_as_nobody(&dir, &u, SPECIALS, &[]);
    let took = started.elapsed();
    assert!(t.out.status.success(), "{}", t.stderr());
    use sha2::Digest;
    let later = std::fs::read(u.join("later.gguf")).unwrap();
    let want = hex::encode(sha2::Sha256::digest(&later));
    let ev = identified(&t, "later.gguf");
    assert!(
        ev.iter().any(|e| e[attr::ARTIFACT_SHA256] == want.as_str()),
        "later.gguf has no sha256 {want}: {ev:#?}\n{}",
        t.stderr()
    );
    // the script runs about 1.5 s (its writer child 3 s); everything, hashes included,
    // is out within 10 s after it
    assert!(took < Duration::from_secs(12), "took {took:?}");
    let direct = identified(&t, "direct.gguf");
    for e in direct {
        let why = e[attr::ARTIFACT_IDENTITY_ERROR]
            .as_str()
            .unwrap_or_default();
        assert!(why.contains("FIFO"), "{e:#}");
    }
    for name in ["fifo.gguf", "zero.gguf", "grow.gguf", "sparse.gguf"] {
        for e in identified(&t, name) {
            assert!(e[attr::ARTIFACT_SHA256].is_null(), "{e:#}");
        }
    }
}

const STALL: &str = r#"
import time
open('stall.gguf', 'rb').read()
time.sleep(0.5)
open('later.gguf', 'rb').read()
time.sleep(1.0)
"#;

/// A file whose opens by aibomd hang (a fanotify permission listener that never answers
/// aibomd, like a hung FUSE or NFS server) costs at most the I/O timeout: it gets an
/// identity error, is counted and reported, and a later model is still hashed.
#[test]
fn a_stalled_filesystem_does_not_stall_the_pipeline() {
    use nix::sys::fanotify::{FanotifyResponse, Response};
    need_root!();
    let (_g, dir) = tempdir();
    let u = user_dir(&dir);
    for (name, fill) in [("stall.gguf", b's'), ("later.gguf", b'l')] {
        std::fs::write(u.join(name), [b"GGUF".as_slice(), &[fill; 200]].concat()).unwrap();
    }
    let f = Fanotify::init(
        InitFlags::FAN_CLASS_CONTENT | InitFlags::FAN_CLOEXEC,
        EventFFlags::O_RDONLY,
    )
    .expect("fanotify_init");
    f.mark(
        MarkFlags::FAN_MARK_ADD,
        MaskFlags::FAN_OPEN_PERM,
        None,
        Some(&u.join("stall.gguf")),
    )
    .expect("fanotify_mark");
    let daemon_pid = std::sync::Arc::new(std::sync::atomic::AtomicI32::new(-1));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (dp, st) = (daemon_pid.clone(), stop.clone());
    // answers every open but aibomd's, which it holds until the test ends
    let listener = std::thread::spawn(move || {
        let mut held = Vec::new();
        let mut daemon_opens = 0;
        while !st.load(std::sync::atomic::Ordering::Acquire) {
            let mut pfd = [nix::poll::PollFd::new(
                f.as_fd(),
                nix::poll::PollFlags::POLLIN,
            )];
            if nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(100u16)).unwrap_or(0) == 0 {
                continue;
            }
            for e in f.read_events().unwrap_or_default() {
                if e.pid() == dp.load(std::sync::atomic::Ordering::Acquire) {
                    daemon_opens += 1;
                    held.push(e);
                } else if let Some(fd) = e.fd() {
                    let _ = f.write_response(FanotifyResponse::new(fd, Response::FAN_ALLOW));
                }
            }
        }
        for e in &held {
            if let Some(fd) = e.fd() {
                let _ = f.write_response(FanotifyResponse::new(fd, Response::FAN_ALLOW));
            }
        }
        daemon_opens
    });
    let events = dir.join("events.jsonl");
    let child = aibomd()
        .args(["run", "--tracer", "ebpf", "--events"])
        .arg(&events)
        .args([
            "--",
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ])
        .args([
            "sh",
            "-c",
            "cd \"$1\" && shift && exec /usr/bin/python3 \"$@\"",
            "sh",
        ])
        .arg(&u)
        .args(["-c", STALL])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run aibomd");
    daemon_pid.store(child.id() as i32, std::sync::atomic::Ordering::Release);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Release);
    let daemon_opens = listener.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let evs: Vec<Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let t = Traced { out, events: evs };
    assert!(
        daemon_opens >= 1,
        "aibomd never tried the stalled file: {stderr}"
    );
    let stalled = identified(&t, "stall.gguf");
    assert!(!stalled.is_empty(), "{:#?}", t.events);
    let why = stalled[0][attr::ARTIFACT_IDENTITY_ERROR]
        .as_str()
        .unwrap_or_default();
    assert!(why.contains("timed out"), "{:#}", stalled[0]);
    use sha2::Digest;
    let want = hex::encode(sha2::Sha256::digest(
        std::fs::read(u.join("later.gguf")).unwrap(),
    ));
    let later = identified(&t, "later.gguf");
    assert!(
        later
            .iter()
            .any(|e| e[attr::ARTIFACT_SHA256] == want.as_str()),
        "later.gguf not hashed: {later:#?}"
    );
    assert!(stderr.contains("artifact reads stalled"), "{stderr}");
    assert!(took < Duration::from_secs(12), "took {took:?}");
}
