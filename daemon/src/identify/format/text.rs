//! Text formats, judged on the UTF-8 head (at most 64 KiB): tokenizer JSON, JSON,
//! JSON Lines, CSV/TSV, Jinja templates and prompts.
//!
//! Binary heads (a NUL byte, invalid UTF-8) are refused. Order: a JSON document, then
//! JSON Lines, then (for text with no structure of its own) what the name claims for
//! prompts and templates, then Jinja markers, then consistent CSV delimiters.
//!
//! A Git LFS pointer (a clone made without LFS) is reported as unknown, with an error.
//!
//! Fields: JSON `model_type`, `architectures`, `_name_or_path`, `mcp_servers`,
//! `openapi`, `license`, `transformers_version`; tokenizer `tokenizer_model`,
//! `version`; CSV `delimiter` (`comma`/`tab`), `columns`; LFS pointer `lfs.oid`, `lfs.size`.
use serde::de::IgnoredAny;

use super::json::{self, Summary};
use super::{put, Format, Sniffed};

/// Most CSV records compared.
const CSV_RECORDS: usize = 50;

/// Why a head is not text.
pub fn binary_reason(head: &[u8], complete: bool) -> Option<String> {
    if let Some(i) = head.iter().position(|&b| b == 0) {
        return Some(format!("binary content: NUL byte at offset {i}"));
    }
    match std::str::from_utf8(head) {
        Ok(_) => None,
        // A multi-byte character cut by the end of the head is fine.
        Err(e) if e.error_len().is_none() && !complete => None,
        Err(e) => Some(format!(
            "binary content: invalid UTF-8 at offset {}",
            e.valid_up_to()
        )),
    }
}

/// Classifies a whole text file held in memory (no name claim).
pub fn parse_bytes(data: &[u8]) -> Sniffed {
    classify(data, true, None)
}

/// Classifies a head. `complete`: the head is the whole file. `claimed`: the format the
/// name claims. Binary heads give [`Format::Unknown`] with an error.
pub fn classify(head: &[u8], complete: bool, claimed: Option<Format>) -> Sniffed {
    if let Some(reason) = binary_reason(head, complete) {
        return Sniffed::failed(Format::Unknown, reason);
    }
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or(""),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(s) = lfs_pointer(text) {
        return s;
    }
    let mut json_error = None;
    if text.trim_start().starts_with(['{', '[']) {
        match json_doc(text, complete, claimed) {
            Ok(s) => return s,
            Err(e) => json_error = Some(e),
        }
    }
    if jsonl(text, complete, claimed) {
        return Sniffed::new(Format::Jsonl);
    }
    match claimed {
        Some(c @ (Format::Jinja | Format::Prompt | Format::Markdown)) => return Sniffed::new(c),
        Some(Format::Csv) => {
            let mut s = Sniffed::new(Format::Csv);
            if let Some((delim, cols)) = csv(text, complete, 1) {
                put(&mut s.fields, "delimiter", delim);
                put(&mut s.fields, "columns", &cols.to_string());
            }
            return s;
        }
        _ => {}
    }
    if is_jinja(text) {
        return Sniffed::new(Format::Jinja);
    }
    if let Some((delim, cols)) = csv(text, complete, 2) {
        let mut s = Sniffed::new(Format::Csv);
        put(&mut s.fields, "delimiter", delim);
        put(&mut s.fields, "columns", &cols.to_string());
        return s;
    }
    if let Some(Format::Json | Format::TokenizerJson | Format::Jsonl) = claimed {
        let why = json_error.unwrap_or_else(|| "not JSON".into());
        return Sniffed::failed(Format::Unknown, format!("invalid JSON: {why}"));
    }
    Sniffed::new(Format::Unknown)
}

/// A Git LFS pointer left where the real file should be (a clone without LFS).
fn lfs_pointer(text: &str) -> Option<Sniffed> {
    let body = text.strip_prefix("version https://git-lfs.github.com/spec/")?;
    let mut s = Sniffed::failed(Format::Unknown, "git LFS pointer, not the file's content");
    for line in body.lines().skip(1).take(8) {
        if let Some(oid) = line.strip_prefix("oid ") {
            put(&mut s.fields, "lfs.oid", oid.trim());
        } else if let Some(size) = line.strip_prefix("size ") {
            put(&mut s.fields, "lfs.size", size.trim());
        }
    }
    Some(s)
}

/// A single JSON document (whole, or cut off by the head's end).
fn json_doc(text: &str, complete: bool, claimed: Option<Format>) -> Result<Sniffed, String> {
    let sum = json::scan(text).map_err(|at| format!("syntax error at byte {at}"))?;
    if sum.complete {
        if !text[sum.end..].trim().is_empty() {
            return Err("trailing content after the JSON document".into());
        }
        if complete {
            serde_json::from_str::<IgnoredAny>(text).map_err(|e| e.to_string())?;
        }
    } else if complete {
        return Err("unexpected end of JSON".into());
    }
    let single_line = !text.trim().contains('\n');
    if claimed == Some(Format::Jsonl) && sum.object && (single_line || !sum.complete) {
        return Ok(Sniffed::new(Format::Jsonl));
    }
    Ok(summarize(&sum))
}

/// Tokenizer JSON or plain JSON, with the fields of interest.
fn summarize(sum: &Summary) -> Sniffed {
    let has = |k: &str| sum.keys.iter().any(|x| x == k);
    let model_has = |k: &str| sum.model_keys.iter().any(|x| x == k);
    let tokenizer = (model_has("type") && model_has("vocab"))
        || has("added_tokens")
        || has("normalizer")
        || has("pre_tokenizer");
    if tokenizer {
        let mut s = Sniffed::new(Format::TokenizerJson);
        if let Some(t) = &sum.model_type {
            put(&mut s.fields, "tokenizer_model", t);
        }
        if let Some(v) = sum.scalars.get("version") {
            put(&mut s.fields, "version", v);
        }
        return s;
    }
    let mut s = Sniffed::new(Format::Json);
    for key in [
        "model_type",
        "_name_or_path",
        "openapi",
        "license",
        "transformers_version",
    ] {
        if let Some(v) = sum.scalars.get(key) {
            put(&mut s.fields, key, v);
        }
    }
    if let Some(a) = sum.arrays.get("architectures") {
        put(&mut s.fields, "architectures", &a.join(","));
    }
    if let Some(n) = sum.mcp_servers {
        put(&mut s.fields, "mcp_servers", &n.to_string());
    }
    s
}

/// JSON Lines: at least two lines (one if the name claims `.jsonl`), each a JSON
/// object or array. A line cut by the head's end is ignored.
fn jsonl(text: &str, complete: bool, claimed: Option<Format>) -> bool {
    let mut lines: Vec<&str> = text.split('\n').collect();
    if !complete {
        lines.pop();
    }
    let mut n = 0;
    for line in lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
        let ok = line.starts_with(['{', '[']) && serde_json::from_str::<IgnoredAny>(line).is_ok();
        if !ok {
            return false;
        }
        n += 1;
    }
    n >= 2 || (n == 1 && claimed == Some(Format::Jsonl))
}

/// Jinja markers: `{{ }}`, `{% %}` or `{# #}`.
fn is_jinja(text: &str) -> bool {
    [("{{", "}}"), ("{%", "%}"), ("{#", "#}")]
        .iter()
        .any(|(o, c)| text.find(o).is_some_and(|i| text[i + 2..].contains(c)))
}

/// CSV/TSV: at least `min` records with the same non-zero count of one delimiter
/// (outside double quotes). Returns the delimiter's name and the column count.
fn csv(text: &str, complete: bool, min: usize) -> Option<(&'static str, usize)> {
    let mut records: Vec<[usize; 2]> = Vec::new();
    let mut cur = [0usize; 2];
    let mut quoted = false;
    let mut empty = true;
    for b in text.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b'\t' if !quoted => cur[0] += 1,
            b',' if !quoted => cur[1] += 1,
            b'\n' if !quoted => {
                if !empty {
                    records.push(cur);
                }
                if records.len() >= CSV_RECORDS {
                    break;
                }
                cur = [0; 2];
                empty = true;
                continue;
            }
            b'\r' => continue,
            _ => {}
        }
        empty = false;
    }
    if !empty && complete && records.len() < CSV_RECORDS {
        records.push(cur);
    }
    if records.len() < min {
        return None;
    }
    [(0, "tab"), (1, "comma")]
        .into_iter()
        .find_map(|(i, name)| {
            let n = records[0][i];
            (n > 0 && records.iter().all(|r| r[i] == n)).then_some((name, n + 1))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff(t: &str, claimed: Option<Format>) -> Sniffed {
        classify(t.as_bytes(), true, claimed)
    }

    #[test]
    fn json_family() {
        let s = sniff(
            r#"{"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                "_name_or_path": "meta/x"}"#,
            None,
        );
        assert_eq!(s.format, Format::Json);
        assert_eq!(s.fields["model_type"], "llama");
        assert_eq!(s.fields["architectures"], "LlamaForCausalLM");
        assert_eq!(s.fields["_name_or_path"], "meta/x");

        let s = sniff(r#"{"mcpServers": {"a": {"command": "x"}}}"#, None);
        assert_eq!(s.fields["mcp_servers"], "1");

        let tok =
            r#"{"version": "1.0", "added_tokens": [], "model": {"type": "BPE", "vocab": {}}}"#;
        let s = sniff(tok, None);
        assert_eq!(s.format, Format::TokenizerJson);
        assert_eq!(s.fields["tokenizer_model"], "BPE");
        // A cut-off head still classifies.
        let s = classify(&tok.as_bytes()[..40], false, None);
        assert_eq!((s.format, s.error), (Format::TokenizerJson, None));

        let s = sniff("{\"a\": 1}\n{\"a\": 2}\n", None);
        assert_eq!(s.format, Format::Jsonl);
        assert_eq!(
            sniff("{\"a\": 1}\n", Some(Format::Jsonl)).format,
            Format::Jsonl
        );
        assert_eq!(sniff("{\"a\": 1}\n", None).format, Format::Json);

        let s = sniff("{\"a\": 1", Some(Format::Json));
        assert_eq!(s.format, Format::Unknown);
        assert!(s.error.unwrap().starts_with("invalid JSON"));
        assert_eq!(sniff("[1, 2]", None).format, Format::Json);
    }

    #[test]
    fn csv_jinja_prompt() {
        let s = sniff("a,b,c\n1,\"x,y\",3\n4,5,6\n", None);
        assert_eq!(s.format, Format::Csv);
        assert_eq!(s.fields["columns"], "3");
        assert_eq!(s.fields["delimiter"], "comma");
        assert_eq!(sniff("a\tb\n1\t2\n", None).fields["delimiter"], "tab");
        assert_eq!(sniff("a,b\n1\n", None).format, Format::Unknown);
        assert_eq!(sniff("one column\n", Some(Format::Csv)).format, Format::Csv);

        assert_eq!(sniff("Hi {{ name }}!", None).format, Format::Jinja);
        assert_eq!(
            sniff("{% for m in messages %}x{% endfor %}", None).format,
            Format::Jinja
        );
        assert_eq!(
            sniff("You are helpful.", Some(Format::Prompt)).format,
            Format::Prompt
        );
        assert_eq!(
            sniff("Hi {{ x }}", Some(Format::Prompt)).format,
            Format::Prompt
        );
        assert_eq!(sniff("plain words", None).format, Format::Unknown);
    }

    #[test]
    fn lfs_pointer_is_flagged() {
        let t = "version https://git-lfs.github.com/spec/v1\noid sha256:ab12\nsize 42\n";
        let s = sniff(t, Some(Format::Safetensors));
        assert_eq!(s.format, Format::Unknown);
        assert_eq!(s.fields["lfs.oid"], "sha256:ab12");
        assert_eq!(s.fields["lfs.size"], "42");
        assert!(s.error.unwrap().contains("LFS pointer"));
    }

    #[test]
    fn binary_is_refused() {
        let s = classify(b"ab\0c", true, Some(Format::Csv));
        assert_eq!(s.format, Format::Unknown);
        assert_eq!(
            s.error.as_deref(),
            Some("binary content: NUL byte at offset 2")
        );
        let s = classify(b"ab\xffc", true, None);
        assert!(s.error.unwrap().contains("invalid UTF-8 at offset 2"));
        // A character cut at the head's end is not binary.
        let s = classify(
            "{\"a\": \"é".as_bytes().split_last().unwrap().1,
            false,
            None,
        );
        assert_eq!(s.error, None);
        // BOM.
        assert_eq!(sniff("\u{feff}{\"a\": 1}", None).format, Format::Json);
    }

    #[test]
    fn a_model_card_is_markdown_and_a_prompt_stays_a_prompt() {
        use crate::identify::format::sniff_bytes;
        let card = b"---\nlicense: apache-2.0\n---\n# tiny-bert\n\nA demo model.\n";
        assert_eq!(
            sniff_bytes(card, "models/x/README.md").format,
            Format::Markdown
        );
        assert_eq!(sniff_bytes(card, "README.md").mismatch, None);
        assert_eq!(
            sniff_bytes(b"You are helpful.", "app/prompts/system.md").format,
            Format::Prompt
        );
    }
}
