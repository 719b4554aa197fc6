//! What Grafana and the `grafana-clickhouse-datasource` plugin (v4) do to a query's SQL before
//! ClickHouse sees it, so the tests run exactly what a dashboard would:
//!
//! 1. the plugin's frontend replaces `$__conditionalAll(COND, $var)` by `1=1` when `var` is
//!    "All" (or empty), else by `COND` (`CHDatasource.applyConditionalAll`);
//! 2. Grafana's template service replaces `$var`, `${var}` and `${var:format}` (the plugin's
//!    own formatter for the plain forms: several values become `'a','b'`, one stays as is;
//!    "All" becomes every option unless the variable has a custom all value);
//! 3. the plugin's backend expands its macros (`pkg/macros/macros.go`): `$__timeFilter(c)` is
//!    `c >= toDateTime(FROM) AND c <= toDateTime(TO)` (seconds), `$__timeInterval(c)` is
//!    `toStartOfInterval(toDateTime(c), INTERVAL N second)`, and so on.
//!
//! A macro this module does not know is an error, so a dashboard cannot use one the plugin
//! lacks without a test noticing.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// The dashboard's time range and the interval Grafana derived from it.
#[derive(Debug, Clone, Copy)]
pub struct TimeRange {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// `$__interval` in milliseconds (panel width / range; at least 1 ms).
    pub interval_ms: i64,
}

/// A template variable's current selection.
#[derive(Debug, Clone)]
pub struct Var {
    /// Selected values; `None` is "All" (`$__all`).
    pub selected: Option<Vec<String>>,
    /// Every option the variable's query returned (what "All" expands to).
    pub options: Vec<String>,
}

impl Var {
    /// One selected value.
    pub fn one(v: &str) -> Self {
        Var {
            selected: Some(vec![v.to_string()]),
            options: vec![v.to_string()],
        }
    }

    /// "All" of `options`.
    pub fn all(options: Vec<String>) -> Self {
        Var {
            selected: None,
            options,
        }
    }

    fn values(&self) -> &[String] {
        self.selected.as_deref().unwrap_or(&self.options)
    }

    /// What the plugin's `applyConditionalAll` compares with `''` and `'$__all'`.
    fn is_all_or_empty(&self) -> bool {
        match &self.selected {
            None => true,
            Some(v) => v.join(",").is_empty(),
        }
    }
}

/// Variables by name.
pub type Vars = BTreeMap<String, Var>;

/// Steps 1 to 3 on `sql`.
pub fn interpolate(sql: &str, vars: &Vars, range: &TimeRange) -> Result<String, String> {
    let s = conditional_all(sql, vars)?;
    let s = template_replace(&s, vars)?;
    macros(&s, range)
}

/// The arguments of the call whose `(` is at `open`, split on top-level commas, and the index
/// just past its `)`.
fn call_args(s: &str, open: usize) -> Result<(Vec<String>, usize), String> {
    let b = s.as_bytes();
    debug_assert_eq!(b[open], b'(');
    let (mut depth, mut start, mut args, mut quote) = (0usize, open + 1, Vec::new(), false);
    for (i, &c) in b.iter().enumerate().skip(open) {
        match c {
            b'\'' => quote = !quote,
            b'(' if !quote => depth += 1,
            b')' if !quote => {
                depth -= 1;
                if depth == 0 {
                    args.push(s[start..i].to_string());
                    return Ok((args, i + 1));
                }
            }
            b',' if !quote && depth == 1 => {
                args.push(s[start..i].to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    Err(format!("unbalanced parentheses after {:?}", &s[..open]))
}

/// The name a `$var` or `${var...}` argument refers to.
fn var_name(arg: &str) -> Option<&str> {
    let a = arg.trim().strip_prefix('$')?;
    let a = a
        .strip_prefix('{')
        .map_or(a, |x| x.split([':', '}']).next().unwrap_or(""));
    let end = a
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(a.len());
    (end > 0).then(|| &a[..end])
}

/// `$__conditionalAll(COND, $var)`, innermost-last as the plugin does (from the end).
pub fn conditional_all(sql: &str, vars: &Vars) -> Result<String, String> {
    const M: &str = "$__conditionalAll(";
    let mut s = sql.to_string();
    while let Some(at) = s.rfind(M) {
        let (args, end) = call_args(&s, at + M.len() - 1)?;
        let [cond, var] = args.as_slice() else {
            return Err(format!("$__conditionalAll takes 2 arguments: {args:?}"));
        };
        let name = var_name(var).ok_or_else(|| format!("not a variable: {var:?}"))?;
        let v = vars
            .get(name)
            .ok_or_else(|| format!("$__conditionalAll on undefined variable {name}"))?;
        let phrase = if v.is_all_or_empty() {
            "1=1".to_string()
        } else {
            cond.clone()
        };
        s.replace_range(at..end, &phrase);
    }
    Ok(s)
}

/// The variables the `$__conditionalAll(COND, $var)` calls of `sql` test.
pub fn conditional_all_vars(sql: &str) -> Result<Vec<String>, String> {
    const M: &str = "$__conditionalAll(";
    let mut out = Vec::new();
    for (at, _) in sql.match_indices(M) {
        let (args, _) = call_args(sql, at + M.len() - 1)?;
        let var = args.get(1).and_then(|a| var_name(a));
        out.push(
            var.ok_or_else(|| format!("bad $__conditionalAll args {args:?}"))?
                .to_string(),
        );
    }
    Ok(out)
}

/// Grafana's `singlequote` format of one value.
fn singlequote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "\\'"))
}

fn format_value(v: &Var, format: Option<&str>) -> Result<String, String> {
    let vals = v.values();
    Ok(match format {
        Some("singlequote") => vals
            .iter()
            .map(|x| singlequote(x))
            .collect::<Vec<_>>()
            .join(","),
        Some("raw") => vals.join(","),
        // the plugin's own formatter: several values are quoted, one is left as is
        None if vals.len() == 1 && v.selected.is_some() => vals[0].clone(),
        None => format!("'{}'", vals.join("','")),
        Some(f) => return Err(format!("format {f:?} is not emulated; use singlequote")),
    })
}

/// `$var`, `${var}`, `${var:format}` (not `$__macros`).
pub fn template_replace(sql: &str, vars: &Vars) -> Result<String, String> {
    let re = regex::Regex::new(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)").unwrap();
    let mut err = None;
    let out = re.replace_all(sql, |c: &regex::Captures| {
        let name = c.get(1).or(c.get(3)).unwrap().as_str();
        if name.starts_with("__") {
            return c[0].to_string();
        }
        match vars.get(name) {
            None => {
                err = Some(format!("undefined variable ${name}"));
                String::new()
            }
            Some(v) => format_value(v, c.get(2).map(|m| m.as_str())).unwrap_or_else(|e| {
                err = Some(e);
                String::new()
            }),
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(out.into_owned()),
    }
}

/// The backend macros of the plugin.
pub fn macros(sql: &str, r: &TimeRange) -> Result<String, String> {
    let dt = |t: DateTime<Utc>| format!("toDateTime({})", t.timestamp());
    let dt64 = |t: DateTime<Utc>| format!("fromUnixTimestamp64Milli({})", t.timestamp_millis());
    let secs = (r.interval_ms / 1000).max(1);
    let mut s = sql.to_string();
    let re = regex::Regex::new(r"\$__(\w+)").unwrap();
    while let Some(m) = re.captures(&s) {
        let whole = m.get(0).unwrap();
        let name = m[1].to_string();
        let (start, mut end) = (whole.start(), whole.end());
        let args = if s[end..].starts_with('(') {
            let (a, e) = call_args(&s, end)?;
            end = e;
            a.into_iter().map(|x| x.trim().to_string()).collect()
        } else {
            Vec::new()
        };
        let arg = |n: usize| -> Result<&str, String> {
            if args.len() != n {
                return Err(format!("$__{name} takes {n} argument(s): {args:?}"));
            }
            Ok(args.first().map(String::as_str).unwrap_or(""))
        };
        let rep = match name.as_str() {
            "fromTime" => dt(r.from),
            "toTime" => dt(r.to),
            "fromTime_ms" => dt64(r.from),
            "toTime_ms" => dt64(r.to),
            "timeFilter" => {
                let c = arg(1)?;
                format!("{c} >= {} AND {c} <= {}", dt(r.from), dt(r.to))
            }
            "timeFilter_ms" => {
                let c = arg(1)?;
                format!("{c} >= {} AND {c} <= {}", dt64(r.from), dt64(r.to))
            }
            "timeInterval" => format!(
                "toStartOfInterval(toDateTime({}), INTERVAL {secs} second)",
                arg(1)?
            ),
            "timeInterval_ms" => format!(
                "toStartOfInterval(toDateTime64({}, 3), INTERVAL {} millisecond)",
                arg(1)?,
                r.interval_ms.max(1)
            ),
            "interval_s" => secs.to_string(),
            other => return Err(format!("macro $__{other} is not one of the plugin's")),
        };
        s.replace_range(start..end, &rep);
    }
    Ok(s)
}
