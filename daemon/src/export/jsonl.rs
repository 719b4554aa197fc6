//! JSON Lines sink: one flat object per record, `"timestamp"`, `"event.name"`, then one
//! key per attribute.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use aibom_semconv::record;
use anyhow::{Context, Result};
use serde_json::{Map, Value as Json};

use super::{attributes, rfc3339, Sink, Value};
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

/// The JSON object of one record.
pub fn to_json(r: &AccessRecord) -> Map<String, Json> {
    object(r.time, r.event_name(), attributes(r))
}

fn object(
    time: std::time::SystemTime,
    event: &str,
    attrs: Vec<(&'static str, Value)>,
) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert(record::TIMESTAMP.into(), Json::String(rfc3339(time)));
    m.insert(record::EVENT_NAME.into(), Json::String(event.into()));
    for (k, v) in attrs {
        let v = match v {
            Value::Str(s) => Json::String(s),
            Value::Int(i) => Json::from(i),
        };
        m.insert(k.into(), v);
    }
    m
}

impl JsonlSink {
    /// Writes one object as a line.
    fn write_line(&mut self, m: &Map<String, Json>) -> Result<()> {
        serde_json::to_writer(&mut self.out, m)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }
}

impl Sink for JsonlSink {
    fn name(&self) -> &'static str {
        "jsonl"
    }

    fn emit(&mut self, rec: &AccessRecord) -> Result<()> {
        self.write_line(&to_json(rec))
    }

    fn flush(&mut self) -> Result<()> {
        self.out.flush().context("flushing events file")
    }

    fn scan_ended(&mut self, s: &crate::model::ScanReport) {
        let m = object(
            std::time::SystemTime::now(),
            aibom_semconv::event::SCAN_SUMMARY,
            super::scan_attributes(s),
        );
        if let Err(e) = self.write_line(&m) {
            tracing::error!(error = %e, "writing scan summary");
        }
    }
}
