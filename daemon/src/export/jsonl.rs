//! JSON Lines sink: one flat object per record, `"timestamp"`, `"event.name"`, then one
//! key per attribute.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use aibom_semconv::record;
use anyhow::{Context, Result};

use super::{rfc3339, visit_attributes, Sink, Value};
use crate::model::AccessRecord;

/// Writes JSON Lines to a file or stdout.
pub struct JsonlSink {
    out: BufWriter<Box<dyn Write + Send>>,
    /// The line being built.
    line: Vec<u8>,
}

impl JsonlSink {
    /// Opens `path` for writing (truncating); `-` is stdout.
    pub fn open(path: &Path) -> Result<Self> {
        let w: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(std::io::stdout())
        } else {
            Box::new(
                File::create(path)
                    .with_context(|| format!("creating events file {}", path.display()))?,
            )
        };
        Ok(Self {
            out: BufWriter::with_capacity(1 << 16, w),
            line: Vec::with_capacity(4096),
        })
    }
}

/// Writes one record as a JSON object (no newline): `"timestamp"`, `"event.name"`, then
/// its attributes, straight from the record (no intermediate map).
pub fn write_record(out: &mut Vec<u8>, r: &AccessRecord) {
    write_object(out, r.time, r.event_name(), |f| visit_attributes(r, f))
}

/// Appends `{"timestamp":…,"event.name":…,` and the attributes `each` yields, then `}`.
fn write_object<'a>(
    out: &mut Vec<u8>,
    time: std::time::SystemTime,
    event: &str,
    each: impl FnOnce(&mut dyn FnMut(&'static str, Value<'a>)),
) {
    out.push(b'{');
    json_str(out, record::TIMESTAMP);
    out.push(b':');
    json_str(out, &rfc3339(time));
    out.push(b',');
    json_str(out, record::EVENT_NAME);
    out.push(b':');
    json_str(out, event);
    each(&mut |k, v| {
        json_key(out, k);
        match v {
            Value::Str(s) => json_str(out, &s),
            Value::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
            Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        }
    });
    out.push(b'}');
}

/// Appends `,"k":`. Keys are semconv names (dotted ASCII identifiers, checked by a test
/// over the whole registry): they never need escaping.
fn json_key(out: &mut Vec<u8>, k: &str) {
    debug_assert!(is_plain_key(k), "{k}");
    out.extend_from_slice(b",\"");
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

fn is_plain_key(k: &str) -> bool {
    k.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
}

/// Appends `s` as a JSON string. Most strings (paths, names) need no escape and are
/// copied as they are; the others go through serde_json's escaping.
fn json_str(out: &mut Vec<u8>, s: &str) {
    // no early exit: the compiler vectorizes this scan
    let needs_escape = s
        .bytes()
        .fold(false, |e, b| e | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if !needs_escape {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
    }
}

impl JsonlSink {
    /// Writes one object as a line (built in a reused buffer, then written at once).
    fn write_line(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Result<()> {
        self.line.clear();
        write(&mut self.line);
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        Ok(())
    }
}

impl Sink for JsonlSink {
    fn name(&self) -> &'static str {
        "jsonl"
    }

    fn emit(&mut self, rec: &AccessRecord) -> Result<()> {
        self.write_line(|out| write_record(out, rec))?;
        if rec.violation.is_some() {
            self.flush()?; // alerts are not held back until the next tick
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.out.flush().context("flushing events file")
    }

    fn scan_ended(&mut self, s: &crate::model::ScanReport) {
        let attrs = super::scan_attributes(s);
        let res = self.write_line(|out| {
            write_object(
                out,
                std::time::SystemTime::now(),
                aibom_semconv::event::SCAN_SUMMARY,
                |f| attrs.into_iter().for_each(|(k, v)| f(k, v)),
            )
        });
        if let Err(e) = res {
            tracing::error!(error = %e, "writing scan summary");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_semconv_attribute_is_a_plain_key() {
        for k in aibom_semconv::ALL_ATTRIBUTES {
            assert!(is_plain_key(k), "{k} would need escaping as a JSON key");
        }
    }

    #[test]
    fn strings_are_escaped_exactly_as_serde_json_does() {
        for s in [
            "/m/model.safetensors",
            "a\"b",
            "back\\slash",
            "new\nline",
            "tab\t",
            "\u{1}",
            "é ü",
            "\u{7f}",
            "",
        ] {
            let mut out = Vec::new();
            json_str(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
        }
    }
}
