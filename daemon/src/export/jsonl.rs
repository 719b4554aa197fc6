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
        })
    }
}

/// Writes one record as a JSON object (no newline): `"timestamp"`, `"event.name"`, then
/// its attributes, straight from the record (no intermediate map).
pub fn write_record(out: &mut impl Write, r: &AccessRecord) -> std::io::Result<()> {
    write_object(out, r.time, r.event_name(), |f| visit_attributes(r, f))
}

/// Writes `{"timestamp":…,"event.name":…,` and the attributes `each` yields, then `}`.
fn write_object<'a>(
    out: &mut impl Write,
    time: std::time::SystemTime,
    event: &str,
    each: impl FnOnce(&mut dyn FnMut(&'static str, Value<'a>)),
) -> std::io::Result<()> {
    out.write_all(b"{")?;
    json_str(out, record::TIMESTAMP)?;
    out.write_all(b":")?;
    json_str(out, &rfc3339(time))?;
    out.write_all(b",")?;
    json_str(out, record::EVENT_NAME)?;
    out.write_all(b":")?;
    json_str(out, event)?;
    let mut res = Ok(());
    each(&mut |k, v| {
        if res.is_ok() {
            res = write_pair(out, k, &v);
        }
    });
    res?;
    out.write_all(b"}")
}

fn write_pair(out: &mut impl Write, k: &str, v: &Value) -> std::io::Result<()> {
    out.write_all(b",")?;
    json_str(out, k)?;
    out.write_all(b":")?;
    match v {
        Value::Str(s) => json_str(out, s),
        Value::Int(i) => write!(out, "{i}"),
    }
}

/// A JSON string with serde_json's escaping.
fn json_str(out: &mut impl Write, s: &str) -> std::io::Result<()> {
    serde_json::to_writer(out, s).map_err(std::io::Error::other)
}

impl JsonlSink {
    /// Writes one object as a line.
    fn write_line(
        &mut self,
        write: impl FnOnce(&mut BufWriter<Box<dyn Write + Send>>) -> std::io::Result<()>,
    ) -> Result<()> {
        write(&mut self.out)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }
}

impl Sink for JsonlSink {
    fn name(&self) -> &'static str {
        "jsonl"
    }

    fn emit(&mut self, rec: &AccessRecord) -> Result<()> {
        self.write_line(|out| write_record(out, rec))
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
