//! Report helpers shared by the bench binaries: medians, ratios, Markdown tables.
#![allow(dead_code)]

use anyhow::{Context, Result};

/// Parses a count such as `1000000` or `1_000_000`.
pub fn parse_count(s: &str) -> Result<u64> {
    s.replace('_', "")
        .parse()
        .with_context(|| format!("not a count: {s:?}"))
}

/// The count in environment variable `var` (as [`parse_count`] reads it), else `default`.
pub fn count_from_env(var: &str, default: u64) -> Result<u64> {
    match std::env::var(var) {
        Ok(v) => parse_count(&v).with_context(|| var.to_string()),
        Err(_) => Ok(default),
    }
}

/// Whether bench `name`, which needs root for `why`, runs: `cargo bench` passes
/// `--bench` (under `cargo test` the bench says it skipped and returns `false`); not
/// being root is an error.
pub fn root_bench(name: &str, why: &str) -> Result<bool> {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("{name}: skipped; run it with `cargo bench -p aibomd --bench {name}`");
        return Ok(false);
    }
    if !nix::unistd::geteuid().is_root() {
        anyhow::bail!("the {name} bench needs root ({why})");
    }
    Ok(true)
}

/// Median of the samples (mean of the middle two for an even count).
pub fn median(samples: &[f64]) -> f64 {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

pub fn ratio(value: f64, base: f64) -> String {
    format!("{:.2}×", value / base)
}

/// `1234567` → `1,234,567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|g| std::str::from_utf8(g).expect("ASCII digits"))
        .collect();
    groups.join(",")
}

/// Prints a Markdown table: first column left-aligned, the rest right-aligned.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let cells: Vec<String> = cells
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, &w))| {
                if i == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        println!("| {} |", cells.join(" | "));
    };
    line(&mut headers.iter().copied());
    let rule: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let dashes = "-".repeat(w.max(3) - 1);
            if i == 0 {
                format!(":{dashes}")
            } else {
                format!("{dashes}:")
            }
        })
        .collect();
    println!("| {} |", rule.join(" | "));
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
}
