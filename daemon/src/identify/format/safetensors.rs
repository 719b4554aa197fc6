//! safetensors: an 8-byte little-endian header length `N`, then `N` bytes of JSON
//! mapping tensor names to `{dtype, shape, data_offsets}`, plus an optional
//! `__metadata__` string map. The JSON is read only up to [`HEADER_CAP`] bytes and only
//! after `N` is checked against the file size, so a claimed 2^63 allocates nothing.
//!
//! Fields: `tensors`, `dtypes` (comma-separated), `parameters`, `metadata.<key>`.
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use super::io::Src;
use super::{put, Format, Sniffed};

/// Largest header accepted.
pub const HEADER_CAP: u64 = 100 * 1024 * 1024;
/// At most this many distinct dtypes are listed.
const MAX_DTYPES: usize = 32;

/// Whether the head is certainly a safetensors header: a plausible length that fits in
/// the file, followed by `{`.
pub(crate) fn looks_like(head: &[u8], len: u64) -> bool {
    header_len(head).is_some_and(|n| {
        (2..=HEADER_CAP).contains(&n) && n <= len - 8 && head.get(8) == Some(&b'{')
    })
}

/// Whether the head looks like a damaged safetensors header (`{` after a length that
/// does not fit): a zero byte in the length (text never has one), or the name claims
/// safetensors.
pub(crate) fn looks_damaged(head: &[u8], claimed: bool) -> bool {
    head.len() >= 9 && head[8] == b'{' && (claimed || head[..8].contains(&0))
}

fn header_len(head: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(head.get(..8)?.try_into().ok()?))
}

/// Parses a whole safetensors file held in memory.
pub fn parse_bytes(data: &[u8]) -> Sniffed {
    let mut cur = std::io::Cursor::new(data);
    match Src::new(&mut cur, data.len() as u64) {
        Ok(mut src) => parse(&mut src),
        Err(e) => Sniffed::failed(Format::Safetensors, e.to_string()),
    }
}

/// Parses the header of a source already judged to be safetensors.
pub(crate) fn parse(src: &mut Src) -> Sniffed {
    let mut out = Sniffed::new(Format::Safetensors);
    let Some(n) = header_len(src.head()) else {
        out.set_error("truncated safetensors header");
        return out;
    };
    if n > HEADER_CAP {
        out.set_error(format!("header length {n} exceeds cap of {HEADER_CAP}"));
        return out;
    }
    let present = src.len() - 8;
    if n > present {
        out.set_error(format!(
            "truncated safetensors header: {n} bytes claimed, {present} present"
        ));
        return out;
    }
    let json = match src.bytes_at(8, n, "safetensors") {
        Ok(j) => j,
        Err(e) => {
            out.set_error(e.to_string());
            return out;
        }
    };
    let header: Header = match serde_json::from_slice(&json) {
        Ok(h) => h,
        Err(e) => {
            out.set_error(format!("invalid safetensors header JSON: {e}"));
            return out;
        }
    };
    let f = &mut out.fields;
    put(f, "tensors", &header.tensors.to_string());
    if !header.dtypes.is_empty() {
        let dtypes: Vec<&str> = header.dtypes.iter().map(String::as_str).collect();
        put(f, "dtypes", &dtypes.join(","));
    }
    if let Some(p) = header.parameters {
        put(f, "parameters", &p.to_string());
    }
    for (k, v) in &header.metadata {
        put(f, &format!("metadata.{k}"), v);
    }
    let data = present - n;
    if header.data_end > data {
        out.set_error(format!(
            "truncated safetensors data: tensors end at byte {}, file has {data}",
            header.data_end
        ));
    }
    if let Some(e) = header.error {
        out.set_error(e);
    }
    out
}

/// What the header JSON says, gathered without building a JSON tree of the tensors.
#[derive(Default)]
struct Header {
    tensors: u64,
    dtypes: BTreeSet<String>,
    /// Sum of shape products; `None` on overflow.
    parameters: Option<u128>,
    metadata: Vec<(String, String)>,
    /// Largest `data_offsets` end.
    data_end: u64,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
struct Tensor {
    dtype: String,
    shape: Vec<u64>,
    data_offsets: (u64, u64),
}

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(HeaderVisitor)
    }
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = Header;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a safetensors header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
        let mut h = Header {
            parameters: Some(0),
            ..Header::default()
        };
        while let Some(key) = map.next_key::<String>()? {
            if key == "__metadata__" {
                match map.next_value::<serde_json::Value>()? {
                    serde_json::Value::Object(m) => {
                        for (k, v) in m {
                            let v = match v {
                                serde_json::Value::String(s) => s,
                                other => other.to_string(),
                            };
                            h.metadata.push((k, v));
                        }
                    }
                    serde_json::Value::Null => {}
                    _ => h.error = Some("__metadata__ is not an object".into()),
                }
                continue;
            }
            let t: Tensor = map.next_value()?;
            h.tensors += 1;
            if h.dtypes.len() < MAX_DTYPES {
                h.dtypes.insert(t.dtype);
            }
            let count = t
                .shape
                .iter()
                .try_fold(1u128, |acc, &d| acc.checked_mul(d as u128));
            h.parameters = h.parameters.zip(count).and_then(|(a, c)| a.checked_add(c));
            h.data_end = h.data_end.max(t.data_offsets.1);
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(json: impl AsRef<[u8]>, data: usize) -> Vec<u8> {
        let json = json.as_ref();
        let mut v = (json.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(json);
        v.resize(v.len() + data, 0);
        v
    }

    #[test]
    fn reads_metadata_and_tensors() {
        let json = r#"{"__metadata__":{"license":"mit","format":"pt"},
            "a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},
            "b":{"dtype":"F16","shape":[4],"data_offsets":[24,32]}}"#;
        let s = parse_bytes(&file(json, 32));
        assert_eq!(s.format, Format::Safetensors);
        assert_eq!(s.error, None);
        assert_eq!(s.fields["metadata.license"], "mit");
        assert_eq!(s.fields["tensors"], "2");
        assert_eq!(s.fields["dtypes"], "F16,F32");
        assert_eq!(s.fields["parameters"], "10");
        assert!(looks_like(&file(json, 32), 8 + json.len() as u64 + 32));
    }

    #[test]
    fn huge_length_does_not_allocate() {
        let mut v = (1u64 << 63).to_le_bytes().to_vec();
        v.extend_from_slice(b"{\"a\":1}");
        let s = parse_bytes(&v);
        assert_eq!(s.format, Format::Safetensors);
        assert!(s.error.unwrap().contains("exceeds cap"));
        assert!(!looks_like(&v, v.len() as u64));
        assert!(looks_damaged(&v, false));
    }

    #[test]
    fn truncated() {
        let s = parse_bytes(&[1, 2, 3]);
        assert!(s.error.unwrap().contains("truncated safetensors header"));
        let mut v = 100u64.to_le_bytes().to_vec();
        v.extend_from_slice(b"{\"a\"");
        let s = parse_bytes(&v);
        assert!(s.error.unwrap().starts_with("truncated safetensors header"));
        let json = r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
        let s = parse_bytes(&file(json, 8));
        assert!(s.error.unwrap().contains("truncated safetensors data"));
        assert_eq!(s.fields["tensors"], "1");
    }

    #[test]
    fn bad_json() {
        let s = parse_bytes(&file("{\"a\":{\"dtype\":1}}", 0));
        assert_eq!(s.format, Format::Safetensors);
        assert!(s.error.unwrap().contains("invalid safetensors header JSON"));
        let s = parse_bytes(&file(b"{\"a\xff\":2}", 0));
        assert!(s.error.is_some());
    }

    #[test]
    fn overflowing_shapes() {
        let m = u64::MAX;
        let json =
            format!(r#"{{"a":{{"dtype":"F32","shape":[{m},{m},{m}],"data_offsets":[0,0]}}}}"#);
        let s = parse_bytes(&file(&json, 0));
        assert_eq!(s.error, None);
        assert!(!s.fields.contains_key("parameters"));
    }
}
