//! Attributor tests on real processes of this host.
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use aibom_semconv::project_source as src;

use super::*;

fn attributor(cfg: &AttributeConfig, cli: Option<&str>) -> Attributor {
    Attributor::new(cfg, "fallback", cli.map(str::to_string)).unwrap()
}

/// A shell that sleeps, started with `env` (the environment replaced) in `cwd`, with
/// `args` as its positional parameters: `sh -c 'sleep 30; exit 0' sh ARGS...`.
fn sleeper(env: &[(&str, &str)], cwd: &std::path::Path, args: &[&str]) -> Child {
    let mut c = Command::new("/bin/sh");
    c.args(["-c", "sleep 30; exit 0", "sh"])
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(cwd)
        .stdout(Stdio::null());
    let child = c.spawn().unwrap();
    wait_exec(child.id(), "sh");
    child
}

fn wait_exec(pid: u32, comm: &str) {
    for _ in 0..500 {
        let c = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if c.trim() == comm {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("pid {pid} never became {comm}");
}

struct Reap(Vec<Child>);
impl Drop for Reap {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn a_live_process_is_described_from_proc() {
    let d = tempfile::tempdir().unwrap();
    let cwd = std::fs::canonicalize(d.path()).unwrap();
    let child = sleeper(&[], &cwd, &["--token=abc", "HF_TOKEN=x"]);
    let pid = child.id();
    let _r = Reap(vec![child]);
    let mut a = attributor(&AttributeConfig::default(), None);
    let w = a.lookup(pid, Hints::default());
    assert!(w.from_proc, "{w:#?}");
    assert_eq!(w.ppid, Some(std::process::id()));
    assert_eq!(w.comm.as_deref(), Some("sh"));
    let exe = std::fs::canonicalize("/bin/sh").unwrap();
    assert_eq!(w.exe.as_deref(), Some(exe.as_path()), "{w:#?}");
    assert_eq!(
        w.command_line.as_deref(),
        Some("/bin/sh -c sleep 30; exit 0 sh --token=*** HF_TOKEN=***")
    );
    assert_eq!(w.working_directory.as_deref(), Some(cwd.as_path()));
    assert_eq!(w.uid, Some(nix::unistd::getuid().as_raw()));
    assert!(w.owner.is_some());
    let age = SystemTime::now()
        .duration_since(w.start_time.unwrap())
        .unwrap();
    assert!(age < Duration::from_secs(60), "{age:?}");
    assert_eq!((&*w.project, w.project_source), ("fallback", src::DEFAULT));
    // a hit is the same allocation
    assert!(Arc::ptr_eq(&w, &a.lookup(pid, Hints::default())));
    // its ancestors were cached on the way (looking for an inherited project)
    let cached = a.len();
    assert!(a.cache.contains(&std::process::id()), "parent cached");
    a.on_exit(pid);
    assert_eq!(a.len(), cached - 1);
    assert!(!a.cache.contains(&pid));
}

#[test]
fn project_order_cli_environment_rule_default() {
    let d = tempfile::tempdir().unwrap();
    let ml = std::fs::canonicalize(d.path()).unwrap().join("srv-ml");
    std::fs::create_dir_all(ml.join("sub")).unwrap();
    let env = sleeper(&[(process::PROJECT_ENV, "from-env")], &ml, &[]);
    let ruled = sleeper(&[], &ml.join("sub"), &[]);
    let other = sleeper(&[], Path::new("/"), &[]);
    let pids: Vec<u32> = [&env, &ruled, &other].iter().map(|c| c.id()).collect();
    let _r = Reap(vec![env, ruled, other]);
    let cfg = AttributeConfig {
        rules: vec![ProjectRule {
            project: "ml".into(),
            working_directory: Some(format!("{}/*", ml.display())),
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut a = attributor(&cfg, None);
    let got: Vec<(String, &str)> = pids
        .iter()
        .map(|p| {
            let w = a.lookup(*p, Hints::default());
            (w.project.to_string(), w.project_source)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("from-env".into(), src::ENVIRONMENT),
            ("ml".into(), src::RULE),
            ("fallback".into(), src::DEFAULT)
        ]
    );
    let mut cli = attributor(&cfg, Some("demo"));
    for p in pids {
        let w = cli.lookup(p, Hints::default());
        assert_eq!((&*w.project, w.project_source), ("demo", src::CLI));
    }
}

use std::path::Path;

#[test]
fn a_child_without_the_variable_inherits_its_parents() {
    // sh has AIBOM_PROJECT; its child `sleep` runs with an empty environment.
    let mut sh = Command::new("sh")
        .args(["-c", "env -i sleep 30 & echo $!; wait"])
        .env(process::PROJECT_ENV, "parent-proj")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(sh.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let child: u32 = line.trim().parse().unwrap();
    wait_exec(child, "sleep");
    let mut a = attributor(&AttributeConfig::default(), None);
    // the parent is cached first (as when its exec was seen)
    let p = a.lookup(sh.id(), Hints::default());
    assert_eq!(p.project_source, src::ENVIRONMENT);
    let w = a.lookup(child, Hints::default());
    let env = std::fs::read(format!("/proc/{child}/environ")).unwrap();
    assert!(process::env_value(&env).is_none(), "child env not empty");
    assert_eq!(
        (&*w.project, w.project_source),
        ("parent-proj", src::ENVIRONMENT)
    );
    // and without the parent cached, from the parent's /proc
    let mut fresh = attributor(&AttributeConfig::default(), None);
    assert_eq!(
        &*fresh.lookup(child, Hints::default()).project,
        "parent-proj"
    );
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = sh.wait();
}

#[test]
fn exec_keeps_the_project_and_refreshes_the_command_line() {
    let d = tempfile::tempdir().unwrap();
    let child = sleeper(&[(process::PROJECT_ENV, "kept")], d.path(), &[]);
    let pid = child.id();
    let _r = Reap(vec![child]);
    let mut a = attributor(&AttributeConfig::default(), None);
    a.lookup(pid, Hints::default());
    // as if the process had exec'd a program with an empty environment: the project
    // read from its earlier environment stays
    let mut e = a.cache.pop(&pid).unwrap();
    e.env_project = Some("kept-before-exec".into());
    a.cache.push(pid, e);
    std::fs::write(d.path().join("x"), b"").unwrap();
    a.on_exec(&crate::model::ExecInfo {
        time: SystemTime::now(),
        pid,
        ppid: None,
        comm: Some("sh".into()),
        path: "/bin/sh".into(),
    });
    let w = a.lookup(pid, Hints::default());
    // its own environ still has AIBOM_PROJECT=kept: the new image's environment wins
    assert_eq!(&*w.project, "kept");
    assert_eq!(a.len(), 1);
}

#[test]
fn a_gone_process_keeps_what_the_tracer_saw() {
    let mut a = attributor(&AttributeConfig::default(), None);
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let own = container::path_from_proc(&own).unwrap();
    let root = cgroups::v2_mount().unwrap();
    let id = std::fs::metadata(format!("{}{own}", root.display()))
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .ok();
    // a pid beyond pid_max is never a live process
    let w = a.lookup(
        u32::MAX - 7,
        Hints {
            comm: Some("ghost"),
            uid: Some(0),
            ppid: Some(1),
            cgroup_id: id,
        },
    );
    assert!(!w.from_proc);
    assert_eq!(w.comm.as_deref(), Some("ghost"));
    assert_eq!(w.owner.as_deref(), Some("root"));
    assert_eq!(w.ppid, Some(1));
    if id.is_some() {
        assert_eq!(w.cgroup.as_deref(), Some(own.as_str()));
    }
    assert_eq!(w.project_source, src::DEFAULT);
}

#[test]
fn the_cache_is_capped_and_counts_evictions() {
    let cfg = AttributeConfig {
        cache_capacity: 3,
        ..Default::default()
    };
    let mut a = attributor(&cfg, None);
    for pid in 0..10u32 {
        a.lookup(u32::MAX - 100 + pid, Hints::default());
    }
    assert_eq!((a.len(), a.evictions()), (3, 7));
    // exits are not evictions
    a.on_exit(u32::MAX - 100 + 9);
    assert_eq!((a.len(), a.evictions()), (2, 7));
}

#[test]
fn the_cache_is_capped_in_bytes_too() {
    // gone processes with 4,000-byte command names (what the tracer hints): ~5 KiB each
    let comm = "c".repeat(4000);
    let one = {
        let mut a = attributor(&AttributeConfig::default(), None);
        let h = Hints {
            comm: Some(&comm),
            ..Default::default()
        };
        a.lookup(u32::MAX - 200, h);
        a.bytes()
    };
    assert!(one > 4000, "{one} bytes for one process");
    let cfg = AttributeConfig {
        cache_bytes: 3 * one,
        ..Default::default()
    };
    let mut a = attributor(&cfg, None);
    for pid in 0..10u32 {
        let h = Hints {
            comm: Some(&comm),
            ..Default::default()
        };
        a.lookup(u32::MAX - 200 + pid, h);
        assert!(a.bytes() <= 3 * one, "{} bytes", a.bytes());
    }
    assert_eq!((a.len(), a.evictions()), (3, 7));
    let newest = a.lookup(u32::MAX - 200 + 9, Hints::default());
    assert_eq!(
        newest.comm.as_deref(),
        Some(comm.as_str()),
        "the newest stay"
    );
    for pid in 7..10 {
        a.on_exit(u32::MAX - 200 + pid);
    }
    assert_eq!(
        (a.len(), a.bytes()),
        (0, 0),
        "every byte counted is given back"
    );
}
