//! ONNX (a protobuf `ModelProto`) and other protobuf files.
//!
//! Only top-level `ModelProto` fields are read, streaming: `ir_version` (1),
//! `producer_name` (2), `producer_version` (3), `domain` (4), `model_version` (5),
//! `opset_import` (8) and `metadata_props` (14). The graph (7), which holds the weights
//! and may be gigabytes, is skipped by seeking, as are unknown fields.
//!
//! Detection: the file starts with tag `0x08` (`ir_version`, a varint) in 1..=20, and the
//! message then parses consistently and has a graph or an opset import. Protobuf has no
//! magic, so a non-ONNX protobuf is recognized only when its name claims `.pb`.
//!
//! Fields: `ir_version`, `producer`, `producer_version`, `domain`, `model_version`,
//! `opset` (default domain), `opset.<domain>`, `metadata.<key>`.
use super::io::{invalid, Error, Src, Stream};
use super::proto::{self, Slice, Wire, LEN, VARINT};
use super::{put, Fields, Format, Sniffed};

/// Longest short string (producer, domain, ...) accepted.
const MAX_SHORT: u64 = 4096;
/// Largest `opset_import` / `metadata_props` entry read; larger ones are skipped.
const MAX_ENTRY: u64 = 1 << 20;
/// Most top-level fields walked.
const MAX_TOP_FIELDS: u64 = 100_000;

/// Whether the head starts like an ONNX model: `ir_version` first, in 1..=20.
pub(crate) fn looks_like(head: &[u8]) -> bool {
    if head.first() != Some(&0x08) {
        return false;
    }
    let mut s = Slice::new(&head[1..], "ONNX");
    proto::varint(&mut s).is_ok_and(|v| (1..=20).contains(&v))
}

/// Parses a whole ONNX file held in memory; `None` if it is not ONNX.
pub fn parse_bytes(data: &[u8]) -> Option<Sniffed> {
    let mut cur = std::io::Cursor::new(data);
    let mut src = Src::new(&mut cur, data.len() as u64).ok()?;
    if !looks_like(src.head()) {
        return None;
    }
    parse(&mut src)
}

/// Parses a source whose head [`looks_like`] ONNX; `None` if it turns out not to be.
pub(crate) fn parse(src: &mut Src) -> Option<Sniffed> {
    let mut m = Model::default();
    let mut s = Stream::new(src, 0, "ONNX");
    let res = m.read(&mut s);
    let mut out = Sniffed::new(Format::Onnx);
    out.fields = m.fields;
    match res {
        Ok(()) if m.strong => Some(out),
        Ok(()) => None,
        Err(e) => {
            let cut_short = matches!(e, Error::Truncated(_) | Error::Io(_) | Error::Budget);
            if m.strong || (cut_short && m.other) {
                out.set_error(e.to_string());
                Some(out)
            } else {
                None
            }
        }
    }
}

/// Whether a whole source is a well-formed protobuf message (top level only).
pub(crate) fn parse_protobuf(src: &mut Src) -> Option<Sniffed> {
    let mut s = Stream::new(src, 0, "protobuf");
    let mut n = 0;
    while !s.at_end() {
        n += 1;
        if n > MAX_TOP_FIELDS {
            break;
        }
        let (f, wt) = proto::tag(&mut s).ok()?;
        proto::skip(&mut s, f, wt).ok()?;
    }
    Some(Sniffed::new(Format::Protobuf))
}

#[derive(Default)]
struct Model {
    fields: Fields,
    /// A graph or opset import was seen.
    strong: bool,
    /// Another ModelProto field was seen.
    other: bool,
}

impl Model {
    fn read(&mut self, s: &mut Stream) -> Result<(), Error> {
        let mut n = 0;
        while !s.at_end() {
            n += 1;
            if n > MAX_TOP_FIELDS {
                return invalid("too many top-level ONNX fields");
            }
            let (field, wt) = proto::tag(s)?;
            let key = match field {
                1 => "ir_version",
                2 => "producer",
                3 => "producer_version",
                4 => "domain",
                5 => "model_version",
                _ => "",
            };
            match (field, wt) {
                (1 | 5, VARINT) => {
                    let v = proto::varint(s)?;
                    put(&mut self.fields, key, &v.to_string());
                    self.other |= field == 5;
                }
                (2..=4, LEN) => {
                    let v = short_string(s)?;
                    put(&mut self.fields, key, &v);
                    self.other = true;
                }
                (6, LEN) => {
                    proto::skip(s, field, wt)?;
                    self.other = true;
                }
                (7, LEN) => {
                    self.strong = true;
                    proto::skip(s, field, wt)?;
                }
                (8, LEN) => {
                    self.strong = true;
                    if let Some(m) = entry(s)? {
                        self.opset(&m)?;
                    }
                }
                (14, LEN) => {
                    if let Some(m) = entry(s)? {
                        self.metadata(&m)?;
                    }
                    self.other = true;
                }
                (1..=8 | 14, _) => {
                    return invalid(format!("ONNX field {field} has wire type {wt}"));
                }
                _ => proto::skip(s, field, wt)?,
            }
        }
        Ok(())
    }

    /// `OperatorSetIdProto { domain = 1; version = 2 }`.
    fn opset(&mut self, msg: &[u8]) -> Result<(), Error> {
        let mut s = Slice::new(msg, "ONNX opset");
        let (mut domain, mut version) = (String::new(), None);
        while !s.at_end() {
            match proto::tag(&mut s)? {
                (1, LEN) => domain = short_string(&mut s)?,
                (2, VARINT) => version = Some(proto::varint(&mut s)?),
                (f, wt) => proto::skip(&mut s, f, wt)?,
            }
        }
        if let Some(v) = version {
            let key = match domain.as_str() {
                "" | "ai.onnx" => "opset".to_owned(),
                d => format!("opset.{d}"),
            };
            put(&mut self.fields, &key, &v.to_string());
        }
        Ok(())
    }

    /// `StringStringEntryProto { key = 1; value = 2 }`.
    fn metadata(&mut self, msg: &[u8]) -> Result<(), Error> {
        let mut s = Slice::new(msg, "ONNX metadata");
        let (mut key, mut value) = (None, String::new());
        while !s.at_end() {
            match proto::tag(&mut s)? {
                (1, LEN) => key = Some(short_string(&mut s)?),
                (2, LEN) => {
                    let n = proto::varint(&mut s)?;
                    value = String::from_utf8_lossy(&s.take(n)?).into_owned();
                }
                (f, wt) => proto::skip(&mut s, f, wt)?,
            }
        }
        if let Some(k) = key {
            put(&mut self.fields, &format!("metadata.{k}"), &value);
        }
        Ok(())
    }
}

/// A short UTF-8 string field (after its tag).
fn short_string(w: &mut dyn Wire) -> Result<String, Error> {
    let n = proto::varint(w)?;
    if n > MAX_SHORT {
        return invalid(format!("ONNX string field of {n} bytes exceeds cap"));
    }
    String::from_utf8(w.take(n)?).or_else(|_| invalid("invalid UTF-8 in ONNX string field"))
}

/// A length-delimited sub-message, or `None` (skipped) when larger than [`MAX_ENTRY`].
fn entry(w: &mut dyn Wire) -> Result<Option<Vec<u8>>, Error> {
    let n = proto::varint(w)?;
    if n > MAX_ENTRY {
        w.skip(n)?;
        return Ok(None);
    }
    w.take(n).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(field: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![(field << 3) | 2];
        let mut n = body.len();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                v.push(b);
                break;
            }
            v.push(b | 0x80);
        }
        v.extend_from_slice(body);
        v
    }

    fn model() -> Vec<u8> {
        let mut v = vec![0x08, 0x08];
        v.extend(ld(2, b"pytorch"));
        v.extend(ld(3, b"2.1"));
        v.extend(ld(7, &[0x0a, 0x00]));
        let mut op = ld(1, b"");
        op.extend([0x10, 17]);
        v.extend(ld(8, &op));
        let mut op = ld(1, b"ai.onnx.ml");
        op.extend([0x10, 3]);
        v.extend(ld(8, &op));
        let mut kv = ld(1, b"license");
        kv.extend(ld(2, b"mit"));
        v.extend(ld(14, &kv));
        v
    }

    #[test]
    fn reads_model_fields() {
        let s = parse_bytes(&model()).unwrap();
        assert_eq!(s.error, None);
        assert_eq!(s.fields["ir_version"], "8");
        assert_eq!(s.fields["producer"], "pytorch");
        assert_eq!(s.fields["producer_version"], "2.1");
        assert_eq!(s.fields["opset"], "17");
        assert_eq!(s.fields["opset.ai.onnx.ml"], "3");
        assert_eq!(s.fields["metadata.license"], "mit");
    }

    #[test]
    fn truncated_graph_is_still_onnx() {
        let mut v = vec![0x08, 0x07];
        v.extend(ld(2, b"x"));
        v.extend([0x3a, 0xff, 0xff, 0x03, 0x0a]);
        let s = parse_bytes(&v).unwrap();
        assert_eq!(s.error.as_deref(), Some("truncated ONNX header"));
    }

    #[test]
    fn rejects_non_onnx() {
        assert!(parse_bytes(b"\x08\x07").is_none());
        assert!(parse_bytes(b"\x08\x00\x12\x01x").is_none());
        assert!(parse_bytes(b"\x08\x15\x3a\x00").is_none());
        // SavedModel-like: field 2 is a large binary message, not a producer name.
        let mut v = vec![0x08, 0x01];
        v.extend(ld(2, &[0x0a, 0xff, 0x00, 0x01]));
        assert!(parse_bytes(&v).is_none());
        assert!(parse_bytes(b"\x08\x07\x3a").is_none_or(|s| s.error.is_some()));
    }

    #[test]
    fn protobuf_scan() {
        let mut cur = std::io::Cursor::new(model());
        let mut src = Src::new(&mut cur, model().len() as u64).unwrap();
        assert!(parse_protobuf(&mut src).is_some());
        let bad = b"\x0a\x05ab";
        let mut cur = std::io::Cursor::new(&bad[..]);
        let mut src = Src::new(&mut cur, bad.len() as u64).unwrap();
        assert!(parse_protobuf(&mut src).is_none());
    }
}
