//! Process facts read from `/proc/PID`: parent, owner, start time, command line (with
//! secrets redacted), working directory, cgroup, `AIBOM_PROJECT`, mount namespace.
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use regex::Regex;

use crate::model::Environment;

/// The environment variable naming a process's project.
pub const PROJECT_ENV: &str = "AIBOM_PROJECT";

/// Most bytes of `/proc/PID/environ` read (once per exec, for every stage's variables).
const ENVIRON_MAX: u64 = 1 << 20;

/// What `/proc/PID` told about one process (absent facts: unreadable or exited).
#[derive(Debug, Clone, Default)]
pub struct ProcFacts {
    pub ppid: Option<u32>,
    pub uid: Option<u32>,
    pub comm: Option<String>,
    pub exe: Option<PathBuf>,
    pub start_time: Option<SystemTime>,
    /// Raw, NUL-separated, at most the configured length + 1 bytes.
    pub cmdline: Option<Vec<u8>>,
    pub cwd: Option<PathBuf>,
    pub cgroup: Option<String>,
    /// `Some(None)`: environ read, no `AIBOM_PROJECT`; `None`: unreadable.
    pub env_project: Option<Option<String>>,
    /// The watched variables of the environment (empty when unreadable).
    pub environment: Environment,
    /// The pid in the process's own pid namespace, when it is another one (`NSpid`).
    pub vpid: Option<u32>,
    /// The process's root or mount namespace differs from ours: paths it reports are
    /// relative to `/proc/PID/root`.
    pub foreign_root: bool,
}

/// Reads every fact of `pid` (about eight small `/proc` reads; the uid from
/// `/proc/PID/status` only when `want_uid`).
/// `env_keys`: the environment variables kept (see [`Environment`]).
pub fn read(
    pid: u32,
    cmdline_max: usize,
    host: &Host,
    want_uid: bool,
    env_keys: &[&str],
) -> ProcFacts {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    let mut f = ProcFacts::default();
    if let Ok(stat) = std::fs::read_to_string(dir.join("stat")) {
        parse_stat(&stat, host, &mut f);
    }
    if let Ok(status) = std::fs::read_to_string(dir.join("status")) {
        if want_uid {
            f.uid = status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok());
        }
        f.vpid = vpid(&status);
    }
    f.exe = std::fs::read_link(dir.join("exe")).ok();
    f.cwd = std::fs::read_link(dir.join("cwd")).ok();
    if cmdline_max > 0 {
        f.cmdline = read_bounded(&dir.join("cmdline"), cmdline_max as u64 + 1);
    }
    f.cgroup = std::fs::read_to_string(dir.join("cgroup"))
        .ok()
        .and_then(|t| super::container::path_from_proc(&t));
    if let Some(block) = read_bounded(&dir.join("environ"), ENVIRON_MAX) {
        f.env_project = Some(env_value(&block));
        f.environment = Environment::parse(&block, env_keys);
    }
    f.foreign_root = host.foreign_root(pid);
    f
}

/// The pid in the innermost pid namespace, from a `/proc/PID/status` text's `NSpid:` line
/// (pids from the outermost namespace, as we see it, to the process's own): `None` when
/// the process is in our namespace (one entry).
///
/// The pid exported (`process.pid`) is always the one of aibomd's namespace; this is the
/// one the process and its logs know (`process.vpid`).
pub fn vpid(status: &str) -> Option<u32> {
    let ids: Vec<u32> = status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))?
        .split_whitespace()
        .map_while(|v| v.parse().ok())
        .collect();
    if ids.len() > 1 {
        ids.last().copied()
    } else {
        None
    }
}

fn read_bounded(path: &std::path::Path, max: u64) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(max)
        .read_to_end(&mut buf)
        .ok()?;
    Some(buf)
}

/// `ppid`, `comm` and start time out of a `/proc/PID/stat` line.
fn parse_stat(stat: &str, host: &Host, f: &mut ProcFacts) {
    // comm may hold spaces and parens: it runs from the first '(' to the last ')'.
    let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
        return;
    };
    f.comm = Some(stat[open + 1..close].to_string());
    let rest: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    // fields after comm: state(3) ppid(4) ... starttime(22)
    f.ppid = rest.get(1).and_then(|s| s.parse().ok()).filter(|p| *p != 0);
    f.start_time = rest
        .get(19)
        .and_then(|s| s.parse::<u64>().ok())
        .map(|ticks| host.boot_time + Duration::from_secs_f64(ticks as f64 / host.clk_tck));
}

/// The value of `AIBOM_PROJECT` in a NUL-separated environment block (the last one
/// wins, as `getenv` would see after duplicates; empty counts as unset).
pub fn env_value(environ: &[u8]) -> Option<String> {
    let key = PROJECT_ENV.as_bytes();
    environ
        .split(|b| *b == 0)
        .filter_map(|kv| kv.strip_prefix(key)?.strip_prefix(b"="))
        .next_back()
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Facts about the host, read once.
#[derive(Debug, Clone)]
pub struct Host {
    /// Wall-clock time of boot (process start times count from it).
    pub boot_time: SystemTime,
    /// Clock ticks per second of `/proc/PID/stat` times.
    pub clk_tck: f64,
    /// (device, inode) of our root and our mount namespace.
    root: Option<(u64, u64)>,
    mnt_ns: Option<u64>,
}

impl Host {
    /// Reads the boot time and our own root.
    pub fn new() -> Self {
        let since_boot = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME)
            .map(|t| Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32))
            .unwrap_or_default();
        // SAFETY: sysconf has no preconditions.
        let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        Self {
            boot_time: SystemTime::now() - since_boot,
            clk_tck: if tck > 0 { tck as f64 } else { 100.0 },
            root: std::fs::metadata("/").ok().map(|m| (m.dev(), m.ino())),
            mnt_ns: std::fs::metadata("/proc/self/ns/mnt").ok().map(|m| m.ino()),
        }
    }

    /// True when `pid` sees another root directory or mount namespace than we do.
    pub fn foreign_root(&self, pid: u32) -> bool {
        let root = std::fs::metadata(format!("/proc/{pid}/root"))
            .ok()
            .map(|m| (m.dev(), m.ino()));
        let ns = std::fs::metadata(format!("/proc/{pid}/ns/mnt"))
            .ok()
            .map(|m| m.ino());
        (root.is_some() && root != self.root) || (ns.is_some() && ns != self.mnt_ns)
    }
}

impl Default for Host {
    fn default() -> Self {
        Self::new()
    }
}

/// Joins and redacts command lines.
#[derive(Debug, Clone)]
pub struct Redactor {
    patterns: Vec<Regex>,
    replacement: String,
    max: usize,
}

impl Redactor {
    /// Compiles `patterns`; an invalid one is an error naming it.
    pub fn new(patterns: &[String], replacement: &str, max: usize) -> anyhow::Result<Self> {
        let patterns = patterns
            .iter()
            .map(|p| {
                Regex::new(p).map_err(|e| anyhow::anyhow!("attribute.redact_patterns: {p:?}: {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            patterns,
            replacement: replacement.to_string(),
            max,
        })
    }

    /// The command line of a raw `/proc/PID/cmdline`: arguments joined by spaces,
    /// secrets replaced, cut to the configured length. `None` when empty (kernel threads,
    /// zombies) or disabled.
    pub fn command_line(&self, raw: &[u8]) -> Option<String> {
        if self.max == 0 {
            return None;
        }
        let raw = raw.strip_suffix(b"\0").unwrap_or(raw);
        if raw.is_empty() {
            return None;
        }
        let joined: Vec<u8> = raw.iter().map(|&b| if b == 0 { b' ' } else { b }).collect();
        let mut line = String::from_utf8_lossy(&joined).into_owned();
        for re in &self.patterns {
            line = self.redact(re, &line);
        }
        if line.len() > self.max {
            let mut cut = self.max;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push('…');
        }
        Some(line)
    }

    fn redact(&self, re: &Regex, line: &str) -> String {
        let mut out = String::with_capacity(line.len());
        let mut last = 0;
        for caps in re.captures_iter(line) {
            let m = caps.get(1).or_else(|| caps.get(0)).expect("match");
            out.push_str(&line[last..m.start()]);
            out.push_str(&self.replacement);
            last = m.end();
        }
        out.push_str(&line[last..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::config::AttributeConfig;

    #[test]
    fn the_namespaced_pid_is_the_innermost_nspid() {
        assert_eq!(
            vpid("Name:\tpython3\nNSpid:\t9817\t1\nNSpgid:\t9817\t1\n"),
            Some(1)
        );
        assert_eq!(vpid("NSpid:\t9817\t40\t7\n"), Some(7));
        assert_eq!(vpid("NSpid:\t9817\n"), None);
        assert_eq!(vpid("Name:\tx\n"), None);
    }

    fn redactor(max: usize) -> Redactor {
        let c = AttributeConfig::default();
        Redactor::new(&c.redact_patterns, &c.redaction, max).unwrap()
    }

    fn line(args: &[&str]) -> String {
        let raw: Vec<u8> = args
            .iter()
            .flat_map(|a| [a.as_bytes(), b"\0"].concat())
            .collect();
        redactor(4096).command_line(&raw).unwrap()
    }

    #[test]
    fn default_patterns_redact_secrets_and_keep_the_rest() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["python", "serve.py", "--token=hf_abc123", "--port", "80"],
                "python serve.py --token=*** --port 80",
            ),
            (
                &["app", "--password", "hunter2", "-v"],
                "app --password *** -v",
            ),
            (&["app", "--api-key=sk-live-1"], "app --api-key=***"),
            (&["app", "--client-secret", "s3"], "app --client-secret ***"),
            (
                &[
                    "curl",
                    "-H",
                    "Authorization: Bearer abc.def",
                    "https://x/v1",
                ],
                "curl -H Authorization: Bearer *** https://x/v1",
            ),
            (
                &[
                    "wget",
                    "--header=x-api-key: k-123",
                    "https://x/?key=AIzaX&alt=1",
                ],
                "wget --header=x-api-key: *** https://x/?key=***&alt=1",
            ),
            (
                &["node", "-e", "f({auth:\"sk-proj-abcdefgh12\"})"],
                "node -e f({auth:\"***\"})",
            ),
            (
                &[
                    "env",
                    "OPENAI_API_KEY=sk-1",
                    "HF_TOKEN=hf_2",
                    "AWS_SECRET=x",
                    "python",
                ],
                "env OPENAI_API_KEY=*** HF_TOKEN=*** AWS_SECRET=*** python",
            ),
            (
                &["git", "clone", "https://bob:pa55@example.com/r.git"],
                "git clone https://bob:***@example.com/r.git",
            ),
            // near misses stay
            (
                &[
                    "app",
                    "--passthrough",
                    "x",
                    "--tokens-per-batch",
                    "8",
                    "KEYBOARD=us",
                ],
                "app --passthrough x --tokens-per-batch 8 KEYBOARD=us",
            ),
        ];
        for (args, want) in cases {
            assert_eq!(line(args), *want, "{args:?}");
        }
    }

    #[test]
    fn custom_pattern_without_group_replaces_the_whole_match() {
        let r = Redactor::new(&["sk-[a-z0-9]+".into()], "<x>", 100).unwrap();
        assert_eq!(
            r.command_line(b"curl\0-H\0auth: sk-abc\0").unwrap(),
            "curl -H auth: <x>"
        );
        assert!(Redactor::new(&["(".into()], "x", 1).is_err());
    }

    #[test]
    fn long_lines_are_cut_at_a_char_boundary() {
        let r = redactor(10);
        assert_eq!(
            r.command_line(b"abcdefghijklmnop\0").unwrap(),
            "abcdefghij…"
        );
        // 'é' is two bytes: cutting at 10 would split it
        assert_eq!(
            r.command_line("abcdefghié\0".as_bytes()).unwrap(),
            "abcdefghi…"
        );
        assert_eq!(r.command_line(b""), None);
        assert_eq!(redactor(0).command_line(b"a\0"), None);
    }

    #[test]
    fn project_from_environ_block() {
        assert_eq!(
            env_value(b"A=1\0AIBOM_PROJECT=ml\0B=2\0").as_deref(),
            Some("ml")
        );
        assert_eq!(env_value(b"XAIBOM_PROJECT=no\0AIBOM_PROJECTS=no\0"), None);
        assert_eq!(env_value(b"AIBOM_PROJECT=\0"), None);
        assert_eq!(env_value(b""), None);
    }

    #[test]
    fn own_process_facts() {
        let host = Host::new();
        let f = read(std::process::id(), 4096, &host, true, &[PROJECT_ENV]);
        assert_eq!(f.exe, std::env::current_exe().ok());
        assert_eq!(f.ppid, Some(std::os::unix::process::parent_id()));
        assert_eq!(f.uid, Some(nix::unistd::getuid().as_raw()));
        assert_eq!(f.cwd, std::env::current_dir().ok());
        assert!(!f.foreign_root);
        let started = f.start_time.unwrap();
        let age = SystemTime::now().duration_since(started).unwrap();
        assert!(age < Duration::from_secs(3600), "started {age:?} ago?");
        assert!(f.cgroup.unwrap().starts_with('/'));
        assert!(f
            .cmdline
            .unwrap()
            .starts_with(std::env::args().next().unwrap().as_bytes()));
    }
}
