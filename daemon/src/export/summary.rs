//! Summary sink: remembers each artifact seen and prints a table at the end of `aibomd run`.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Result;

use super::budget::{self, Budget};
use super::console::printable;
use super::{path_string, Sink};
use crate::model::AccessRecord;

/// One row of the table.
#[derive(Debug, Default, Clone)]
pub struct Row {
    pub accesses: u64,
    pub size: Option<u64>,
    pub modes: BTreeSet<&'static str>,
    pub processes: BTreeSet<String>,
    /// Paths the program used, when different from the resolved one (symlinks).
    pub via: BTreeSet<PathBuf>,
    /// The latest identification seen.
    pub artifact: Option<std::sync::Arc<crate::model::Artifact>>,
    /// Policy violations of accesses to it, as lines for the table.
    pub violations: BTreeSet<String>,
}

/// One API row: calls of a process to one provider, server, model and operation.
#[derive(Debug, Default, Clone)]
pub struct ApiRow {
    pub calls: u64,
    pub seen_by: BTreeSet<&'static str>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
}

/// (provider, server:port, model, operation, process) of an [`ApiRow`].
pub type ApiKey = (&'static str, String, String, String, String);

pub use super::budget::FileKey;

/// What `aibomd run` prints: files, then API calls.
#[derive(Debug, Default)]
pub struct Summary {
    pub files: BTreeMap<FileKey, Row>,
    pub apis: BTreeMap<ApiKey, ApiRow>,
    /// What the table may hold (`[export] summary_max_bytes`).
    pub budget: Budget,
}

/// Shared table, readable after the pipeline stops.
pub type Table = Arc<Mutex<Summary>>;

/// Collects rows into a [`Table`].
pub struct SummarySink {
    table: Table,
}

impl SummarySink {
    /// A sink whose table holds at most `max_bytes` (estimated, see [`Budget`]).
    pub fn new(max_bytes: u64) -> (Self, Table) {
        let t = Table::new(Mutex::new(Summary {
            budget: Budget::new(max_bytes),
            ..Default::default()
        }));
        (Self { table: t.clone() }, t)
    }
}

impl Sink for SummarySink {
    fn name(&self) -> &'static str {
        "summary"
    }

    fn emit(&mut self, r: &AccessRecord) -> Result<()> {
        let mut guard = self.table.lock().expect("summary lock");
        let t = &mut *guard;
        let proc_name = || format!("{}[{}]", r.process.comm.as_deref().unwrap_or("?"), r.pid());
        if let (Some(c), crate::model::RecordKind::ApiCall) = (&r.api, r.kind) {
            let key = (
                c.provider,
                format!("{}:{}", c.server_address, c.server_port),
                c.request_model.clone().unwrap_or_else(|| "-".into()),
                c.operation.unwrap_or("-").to_string(),
                proc_name(),
            );
            let bytes = key.1.len() + key.2.len() + key.3.len() + key.4.len();
            let Some(row) = budget::entry(&mut t.apis, key, bytes, &mut t.budget, ApiRow::default)
            else {
                return Ok(());
            };
            row.calls += c.count;
            row.seen_by.insert(c.seen_by);
            crate::model::add_tokens(&mut row.input_tokens, c.input_tokens);
            crate::model::add_tokens(&mut row.output_tokens, c.output_tokens);
            return Ok(());
        }
        if r.api.is_some() {
            return Ok(()); // a violation of an API call: shown in the console line
        }
        let embedded = r.artifact.as_ref().and_then(|a| a.embedded.clone());
        let key = (r.file_path.to_path_buf(), embedded);
        let bytes = budget::file_key_bytes(&key);
        let Some(row) = budget::entry(&mut t.files, key, bytes, &mut t.budget, Row::default) else {
            return Ok(());
        };
        let room = &mut t.budget;
        // what was read describes the artifact better than what was being written
        if r.artifact.is_some()
            && (row.artifact.is_none() || r.mode != crate::model::AccessMode::Write)
        {
            row.artifact.clone_from(&r.artifact);
        }
        if let Some(v) = &r.violation {
            let what = match (v.action, v.enforced) {
                (crate::model::Action::Alert, _) => "alerted".to_string(),
                (a, true) => format!("{}: enforced", a.as_str()),
                (a, false) => format!("{}: not enforced", a.as_str()),
            };
            let line = format!(
                "violates {:?} ({}, {what}) in {}",
                v.rule,
                v.severity.as_str(),
                proc_name()
            );
            let n = line.len();
            budget::insert(&mut row.violations, line, n, room);
        }
        if r.kind != crate::model::RecordKind::Access {
            return Ok(());
        }
        row.accesses += r.count;
        row.size = r.size.or(row.size);
        row.modes.insert(r.mode.as_str());
        let p = proc_name();
        let n = p.len();
        budget::insert(&mut row.processes, p, n, room);
        if r.absolute_path != r.file_path {
            let n = r.absolute_path.as_os_str().len();
            budget::insert(&mut row.via, r.absolute_path.to_path_buf(), n, room);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Renders the tables as aligned text.
pub fn render(sum: &Summary) -> String {
    let mut out = render_files(&sum.files);
    if !sum.apis.is_empty() {
        out.push_str(&render_apis(&sum.apis));
    }
    let n = sum.budget.left_out();
    if n > 0 {
        let _ = writeln!(
            out,
            "aibomd: the table is incomplete: {n} file(s), process(es) or path(s) left out at [export] summary_max_bytes = {} (the records are complete)",
            sum.budget.max()
        );
    }
    out
}

/// The API calls table.
fn render_apis(apis: &BTreeMap<ApiKey, ApiRow>) -> String {
    let mut out = String::new();
    let calls: u64 = apis.values().map(|r| r.calls).sum();
    let _ = writeln!(out, "aibomd: {calls} AI API call(s)");
    let line = |out: &mut String, c: [&str; 8]| {
        let _ = writeln!(
            out,
            "{:>5} {:<17} {:<34} {:<26} {:<16} {:<12} {:<14} {}",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
        );
    };
    line(
        &mut out,
        [
            "CALLS",
            "PROVIDER",
            "SERVER",
            "MODEL",
            "OPERATION",
            "TOKENS",
            "SEEN BY",
            "PROCESS",
        ],
    );
    for ((provider, server, model, op, process), r) in apis {
        let tokens = match (r.input_tokens, r.output_tokens) {
            (None, None) => "-".to_string(),
            (i, o) => format!(
                "{}/{}",
                i.map_or("-".into(), |n| n.to_string()),
                o.map_or("-".into(), |n| n.to_string())
            ),
        };
        let seen: Vec<_> = r.seen_by.iter().copied().collect();
        line(
            &mut out,
            [
                &r.calls.to_string(),
                &fit(provider, 17),
                &fit(&printable(server), 34),
                &fit(&printable(model), 26),
                op,
                &tokens,
                &seen.join(","),
                &printable(process),
            ],
        );
    }
    out
}

/// The whole a row's file is a part of (a sharded model, a dataset of many files).
fn part_of(row: &Row) -> Option<&crate::model::Whole> {
    let a = row.artifact.as_deref()?;
    a.whole.as_deref().filter(|_| a.embedded.is_none())
}

/// The files table: a many-file whole is one row, its parts listed under it.
fn render_files(table: &BTreeMap<FileKey, Row>) -> String {
    let mut out = String::new();
    if table.is_empty() {
        out.push_str("aibomd: no AI artifacts were accessed\n");
        return out;
    }
    let mut wholes: BTreeMap<&str, Vec<(&FileKey, &Row)>> = BTreeMap::new();
    for (k, row) in table {
        if let Some(w) = part_of(row) {
            wholes.entry(&w.id).or_default().push((k, row));
        }
    }
    let _ = write!(out, "aibomd: {} artifact file(s) accessed", table.len());
    if !wholes.is_empty() {
        let _ = write!(
            out,
            ", {} of them part(s) of {} many-file artifact(s)",
            wholes.values().map(Vec::len).sum::<usize>(),
            wholes.len()
        );
    }
    out.push('\n');
    // TYPE:FORMAT as wide as its widest value (`model/tokenizer:tokenizer.json`), capped
    let kw = table
        .values()
        .map(|r| kind_label(&r.artifact.as_deref().cloned().unwrap_or_default()).len())
        .max()
        .unwrap_or(0)
        .clamp("TYPE:FORMAT".len(), KIND_MAX);
    let t = Columns { kw };
    t.line(
        &mut out,
        [
            "ACC",
            "SIZE",
            "MODE",
            "TYPE:FORMAT",
            "PROVIDER",
            "NAME",
            "LICENSE",
            "SHA256",
            "PROCESS",
            "PATH",
        ],
    );
    let mut shown = BTreeSet::new();
    for (key, row) in table {
        match part_of(row) {
            Some(w) if shown.insert(w.id.as_str()) => t.whole(&mut out, w, &wholes[w.id.as_str()]),
            Some(_) => {}
            None => t.row(&mut out, key, row, None),
        }
    }
    out
}

/// The part index of a row's file.
fn part_index(row: &Row) -> Option<u64> {
    row.artifact.as_ref()?.whole.as_ref()?.part_index
}

/// Column layout of the files table.
struct Columns {
    /// Width of TYPE:FORMAT.
    kw: usize,
}

impl Columns {
    fn line(&self, out: &mut String, c: [&str; 10]) {
        let kw = self.kw;
        let _ = writeln!(
            out,
            "{:>4} {:>9} {:<10} {:<kw$} {:<11} {:<22} {:<12} {:<8} {:<14} {}",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]
        );
    }

    /// One file's row; `part` replaces the name with `part I/N` under its whole.
    fn row(&self, out: &mut String, (path, embedded): &FileKey, row: &Row, part: Option<String>) {
        let a = row.artifact.as_deref().cloned().unwrap_or_default();
        let kind = kind_label(&a);
        // an accelerator is named by what it is: `nvidia gpu 0`
        let name = a.accelerator.map(|acc| match acc.index {
            Some(i) => format!("{} {} {i}", acc.vendor, acc.kind),
            None => format!("{} {}", acc.vendor, acc.kind),
        });
        let name = part.as_deref().or(name.as_deref()).or(a.name.as_deref());
        let modes: Vec<_> = row.modes.iter().copied().collect();
        let procs: Vec<_> = row.processes.iter().cloned().collect();
        let or_dash = |s: Option<&str>| printable(s.unwrap_or("-"));
        let mut shown_path = printable(&path_string(path.as_os_str().as_bytes()));
        if let Some(e) = embedded {
            shown_path = format!("{shown_path} [{}]", printable(e));
        }
        self.line(
            out,
            [
                &row.accesses.to_string(),
                &row.size.map(human).unwrap_or_else(|| "-".into()),
                &modes.join(","),
                &fit(&kind, self.kw),
                &fit(&or_dash((!a.provider.is_empty()).then_some(a.provider)), 11),
                &fit(&or_dash(name), 22),
                &fit(&or_dash(a.license.as_deref()), 12),
                a.sha256
                    .as_deref()
                    .map(|s| &s[..s.len().min(8)])
                    .unwrap_or("-"),
                &fit(&procs.join(","), 14),
                &shown_path,
            ],
        );
        for v in &row.via {
            let via = format!("via {}", printable(&path_string(v.as_os_str().as_bytes())));
            self.line(out, ["", "", "", "", "", "", "", "", "", &via]);
        }
        if let Some(e) = &a.sha256_expected {
            let note = format!(
                "HASH MISMATCH: its name or store claims sha256 {e}…, the file's is {}",
                a.sha256.as_deref().unwrap_or("-")
            );
            self.line(
                out,
                ["!", "", "", "", "", "", "", "", "", &printable(&note)],
            );
        }
        if let Some(u) = &a.unsafe_scan {
            let note = match (u.reason(), &u.error) {
                (Some(r), _) => Some(format!("UNSAFE: loading it calls {r}")),
                (None, Some(e)) => Some(format!("unsafe-import scan incomplete: {e}")),
                (None, None) => None,
            };
            if let Some(n) = note {
                self.line(out, ["!", "", "", "", "", "", "", "", "", &printable(&n)]);
            }
        }
        for v in &row.violations {
            self.line(out, ["!", "", "", "", "", "", "", "", "", &printable(v)]);
        }
    }

    /// A many-file whole: one row (its listing's files, bytes and set digest), then
    /// its parts that were accessed.
    fn whole(&self, out: &mut String, w: &crate::model::Whole, parts: &[(&FileKey, &Row)]) {
        let first = parts[0].1.artifact.as_deref().cloned().unwrap_or_default();
        let listing = parts
            .iter()
            .rev()
            .find_map(|(_, r)| r.artifact.as_ref()?.whole.as_ref()?.listing.clone());
        let count = parts
            .iter()
            .find_map(|(_, r)| r.artifact.as_ref()?.whole.as_ref()?.part_count);
        let accesses: u64 = parts.iter().map(|(_, r)| r.accesses).sum();
        let modes: BTreeSet<_> = parts
            .iter()
            .flat_map(|(_, r)| r.modes.iter().copied())
            .collect();
        let procs: BTreeSet<_> = parts
            .iter()
            .flat_map(|(_, r)| r.processes.iter().cloned())
            .collect();
        let bytes = listing
            .as_ref()
            .map(|l| l.bytes)
            .or_else(|| parts.iter().map(|(_, r)| r.size).sum());
        let mut what = format!(
            "{} ({} of {} numbered part(s) accessed",
            printable(&w.id),
            parts
                .iter()
                .filter(|(_, r)| part_index(r).is_some())
                .count(),
            count.map_or("?".into(), |c| c.to_string())
        );
        if let Some(l) = &listing {
            let _ = write!(what, "; {} file(s), {} listed", l.files, human(l.bytes));
            if l.skipped > 0 {
                let _ = write!(what, ", {} skipped", l.skipped);
            }
        }
        what.push(')');
        let or_dash = |s: Option<&str>| printable(s.unwrap_or("-"));
        self.line(
            out,
            [
                &accesses.to_string(),
                &bytes.map(human).unwrap_or_else(|| "-".into()),
                &modes.into_iter().collect::<Vec<_>>().join(","),
                &fit(&kind_label(&first), self.kw),
                &fit(
                    &or_dash((!first.provider.is_empty()).then_some(first.provider)),
                    11,
                ),
                &fit(&or_dash(first.name.as_deref()), 22),
                &fit(&or_dash(first.license.as_deref()), 12),
                listing.as_ref().map(|l| &l.digest[..8]).unwrap_or("-"),
                &fit(&procs.into_iter().collect::<Vec<_>>().join(","), 14),
                &what,
            ],
        );
        for (key, row) in parts {
            let a = row.artifact.as_deref().and_then(|a| a.whole.as_deref());
            let part = match (a.and_then(|w| w.part_index), a.and_then(|w| w.part_count)) {
                (Some(i), Some(n)) => format!("  part {i}/{n}"),
                (Some(i), None) => format!("  part {i}"),
                _ => "  index".to_string(),
            };
            self.row(out, key, row, Some(part));
        }
    }
}

/// Widest TYPE:FORMAT column.
const KIND_MAX: usize = 34;

/// `TYPE/ROLE:FORMAT`, `(!)` marking a format mismatch.
fn kind_label(a: &crate::model::Artifact) -> String {
    let mut kind = match (a.artifact_type, a.role) {
        ("", _) => "-".to_string(),
        (t, Some(r)) => format!("{t}/{r}"),
        (t, None) => t.to_string(),
    };
    if !a.format.is_empty() {
        kind = format!("{kind}:{}", a.format);
    }
    if a.format_mismatch.is_some() {
        kind.push_str("(!)");
    }
    kind
}

/// `s` cut to `w` characters, marked with `~` when cut.
fn fit(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        return s.to_string();
    }
    let mut t: String = s.chars().take(w - 1).collect();
    t.push('~');
    t
}

fn human(n: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Artifact;

    #[test]
    fn type_and_format_are_shown_whole() {
        let a = Artifact {
            artifact_type: "model",
            role: Some("weights"),
            format: "safetensors",
            ..Default::default()
        };
        let row = Row {
            artifact: Some(Arc::new(a)),
            ..Default::default()
        };
        let table = Summary {
            files: BTreeMap::from([((PathBuf::from("/m/model.safetensors"), None), row)]),
            ..Default::default()
        };
        let out = render(&table);
        assert!(out.contains("model/weights:safetensors "), "{out}");
        assert!(!out.contains('~'), "{out}");
    }
}
