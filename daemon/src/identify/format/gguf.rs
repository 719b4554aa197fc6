//! GGUF: magic `GGUF`, `u32` version (1–3), tensor count, key/value count, then the
//! key/value metadata. Version 1 used `u32` counts and string lengths, later versions
//! `u64`. Scalar `general.*` values are kept under their full GGUF key
//! (`general.name`, `general.license`, ...); everything else, arrays included, is
//! skipped without being held in memory. Every claimed count and length is capped and
//! checked against the file size before use.
//!
//! Fields: `version`, `tensors`, `general.*`, the split keys ([`SPLIT_KEYS`]), and the
//! SHA-256 of each chat template (`tokenizer.chat_template[.NAME]`, see
//! [`super::template_field`]): its text is hashed as read, never kept.
use super::io::{invalid, Error, Src, Stream};
use super::{put, Fields, Format, Sniffed};

/// Most key/value pairs accepted.
pub const MAX_KV: u64 = 65_536;
/// Longest key or string value accepted.
pub const MAX_STRING: u64 = 1 << 20;
/// Most elements in one array.
pub const MAX_ARRAY: u64 = 16 << 20;
/// Most metadata bytes read (fixed-size arrays are skipped, not counted).
pub const KV_BUDGET: u64 = 16 << 20;
/// Most array elements walked one by one (strings, nested arrays) per file.
const MAX_STEPS: u64 = 16 << 20;
/// Deepest array nesting accepted.
const MAX_DEPTH: u32 = 4;

/// The split keys of a GGUF split (`gguf-split`): which split this file is, of how many.
pub const SPLIT_KEYS: &[&str] = &["split.no", "split.count", "split.tensors.count"];

/// `tokenizer.chat_template` and named templates `tokenizer.chat_template.NAME`.
fn is_chat_template(key: &str) -> bool {
    key == "tokenizer.chat_template"
        || key
            .strip_prefix("tokenizer.chat_template.")
            .is_some_and(|n| !n.is_empty())
}

/// Parses a whole GGUF file held in memory.
pub fn parse_bytes(data: &[u8]) -> Sniffed {
    let mut cur = std::io::Cursor::new(data);
    match Src::new(&mut cur, data.len() as u64) {
        Ok(mut src) => parse(&mut src),
        Err(e) => Sniffed::failed(Format::Gguf, e.to_string()),
    }
}

/// Parses the header of a source that starts with `GGUF`.
pub(crate) fn parse(src: &mut Src) -> Sniffed {
    let mut out = Sniffed::new(Format::Gguf);
    let mut r = Reader {
        s: Stream::new(src, 0, "GGUF"),
        wide: true,
        used: 0,
        steps: 0,
    };
    if let Err(e) = r.header(&mut out.fields) {
        out.set_error(e.to_string());
    }
    out
}

struct Reader<'s, 'a> {
    s: Stream<'s, 'a>,
    /// Counts and lengths are `u64` (v2+), not `u32` (v1).
    wide: bool,
    /// Metadata bytes read so far.
    used: u64,
    /// Array elements walked so far.
    steps: u64,
}

impl Reader<'_, '_> {
    fn header(&mut self, fields: &mut Fields) -> Result<(), Error> {
        if &self.s.array::<4>()? != b"GGUF" {
            return invalid("bad GGUF magic");
        }
        let version = self.s.u32()?;
        put(fields, "version", &version.to_string());
        if !(1..=3).contains(&version) {
            return invalid(format!("unsupported GGUF version {version}"));
        }
        self.wide = version >= 2;
        let tensors = self.count()?;
        put(fields, "tensors", &tensors.to_string());
        let kvs = self.count()?;
        if kvs > MAX_KV {
            return invalid(format!("GGUF kv count {kvs} exceeds cap of {MAX_KV}"));
        }
        for _ in 0..kvs {
            let key = self.string()?;
            let Ok(key) = String::from_utf8(key) else {
                return invalid("invalid UTF-8 in GGUF key");
            };
            let ty = self.s.u32()?;
            if ty == 8 && is_chat_template(&key) {
                // the template's text is hashed, never kept
                let text = self.string()?;
                put(
                    fields,
                    &super::template_field(&key),
                    &super::text_sha256(&text),
                );
                continue;
            }
            match self.value(ty, 0)? {
                Some(v) if key.starts_with("general.") || SPLIT_KEYS.contains(&key.as_str()) => {
                    put(fields, &key, &v)
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A count or length: `u64`, or `u32` in version 1.
    fn count(&mut self) -> Result<u64, Error> {
        self.spend(if self.wide { 8 } else { 4 })?;
        if self.wide {
            self.s.u64()
        } else {
            Ok(self.s.u32()?.into())
        }
    }

    fn spend(&mut self, n: u64) -> Result<(), Error> {
        self.used = self.used.saturating_add(n);
        if self.used > KV_BUDGET {
            return invalid(format!("GGUF metadata exceeds {KV_BUDGET} bytes"));
        }
        Ok(())
    }

    fn string_len(&mut self) -> Result<u64, Error> {
        let n = self.count()?;
        if n > MAX_STRING {
            return invalid(format!(
                "GGUF string length {n} exceeds cap of {MAX_STRING}"
            ));
        }
        self.spend(n)?;
        Ok(n)
    }

    fn string(&mut self) -> Result<Vec<u8>, Error> {
        let n = self.string_len()?;
        self.s.bytes(n)
    }

    /// Reads a value of type `ty`; scalars come back as text, arrays are skipped.
    fn value(&mut self, ty: u32, depth: u32) -> Result<Option<String>, Error> {
        if ty != 8 && ty != 9 {
            self.spend(8)?;
        }
        let s = &mut self.s;
        Ok(Some(match ty {
            0 => s.u8()?.to_string(),
            1 => (s.u8()? as i8).to_string(),
            2 => u16::from_le_bytes(s.array()?).to_string(),
            3 => i16::from_le_bytes(s.array()?).to_string(),
            4 => s.u32()?.to_string(),
            5 => i32::from_le_bytes(s.array()?).to_string(),
            6 => f32::from_le_bytes(s.array()?).to_string(),
            7 => (s.u8()? != 0).to_string(),
            8 => String::from_utf8_lossy(&self.string()?).into_owned(),
            9 => {
                self.skip_array(depth)?;
                return Ok(None);
            }
            10 => s.u64()?.to_string(),
            11 => i64::from_le_bytes(s.array()?).to_string(),
            12 => f64::from_le_bytes(s.array()?).to_string(),
            _ => return invalid(format!("unknown GGUF value type {ty}")),
        }))
    }

    /// Skips an array: fixed-size elements in one seek, strings and nested arrays one
    /// by one (each bounded by the file size and the step budget).
    fn skip_array(&mut self, depth: u32) -> Result<(), Error> {
        if depth >= MAX_DEPTH {
            return invalid("GGUF arrays nested too deeply");
        }
        self.spend(4)?;
        let ty = self.s.u32()?;
        let n = self.count()?;
        if n > MAX_ARRAY {
            return invalid(format!("GGUF array length {n} exceeds cap of {MAX_ARRAY}"));
        }
        let size = match ty {
            0 | 1 | 7 => 1,
            2 | 3 => 2,
            4..=6 => 4,
            10..=12 => 8,
            8 | 9 => 0,
            _ => return invalid(format!("unknown GGUF array element type {ty}")),
        };
        if size > 0 {
            return self.s.skip(n * size);
        }
        for _ in 0..n {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return invalid("GGUF arrays exceed the element budget");
            }
            if ty == 8 {
                let len = self.count()?;
                if len > MAX_STRING {
                    return invalid(format!(
                        "GGUF string length {len} exceeds cap of {MAX_STRING}"
                    ));
                }
                self.s.skip(len)?;
            } else {
                self.skip_array(depth + 1)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a GGUF v3 header with the given raw KV bytes.
    pub(crate) fn gguf(kvs: u64, body: &[u8]) -> Vec<u8> {
        let mut v = b"GGUF".to_vec();
        v.extend(3u32.to_le_bytes());
        v.extend(7u64.to_le_bytes());
        v.extend(kvs.to_le_bytes());
        v.extend_from_slice(body);
        v
    }

    pub(crate) fn kv_str(key: &str, val: &str) -> Vec<u8> {
        let mut v = (key.len() as u64).to_le_bytes().to_vec();
        v.extend(key.as_bytes());
        v.extend(8u32.to_le_bytes());
        v.extend((val.len() as u64).to_le_bytes());
        v.extend(val.as_bytes());
        v
    }

    fn kv_head(key: &str, ty: u32) -> Vec<u8> {
        let mut v = (key.len() as u64).to_le_bytes().to_vec();
        v.extend(key.as_bytes());
        v.extend(ty.to_le_bytes());
        v
    }

    #[test]
    fn reads_general_keys() {
        let mut body = kv_str("general.name", "Tiny");
        body.extend(kv_str("general.license", "apache-2.0"));
        body.extend(kv_head("general.file_type", 4));
        body.extend(7u32.to_le_bytes());
        // An array of strings, then an array of f32, both skipped.
        body.extend(kv_head("tokenizer.ggml.tokens", 9));
        body.extend(8u32.to_le_bytes());
        body.extend(2u64.to_le_bytes());
        for t in ["a", "bc"] {
            body.extend((t.len() as u64).to_le_bytes());
            body.extend(t.as_bytes());
        }
        body.extend(kv_head("tokenizer.ggml.scores", 9));
        body.extend(6u32.to_le_bytes());
        body.extend(3u64.to_le_bytes());
        body.extend([0u8; 12]);
        body.extend(kv_str("general.architecture", "llama"));
        let s = parse_bytes(&gguf(6, &body));
        assert_eq!(s.error, None, "{s:?}");
        assert_eq!(s.fields["general.name"], "Tiny");
        assert_eq!(s.fields["general.license"], "apache-2.0");
        assert_eq!(s.fields["general.file_type"], "7");
        assert_eq!(s.fields["general.architecture"], "llama");
        assert_eq!(s.fields["version"], "3");
        assert_eq!(s.fields["tensors"], "7");
        assert!(!s.fields.contains_key("tokenizer.ggml.tokens"));
    }

    #[test]
    fn version_1_uses_u32() {
        let mut v = b"GGUF".to_vec();
        v.extend(1u32.to_le_bytes());
        v.extend(2u32.to_le_bytes());
        v.extend(1u32.to_le_bytes());
        v.extend(12u32.to_le_bytes());
        v.extend(b"general.name");
        v.extend(8u32.to_le_bytes());
        v.extend(2u32.to_le_bytes());
        v.extend(b"v1");
        let s = parse_bytes(&v);
        assert_eq!(s.error, None);
        assert_eq!(s.fields["general.name"], "v1");
    }

    #[test]
    fn hostile_counts() {
        let s = parse_bytes(&gguf(1_000_000_000, &[]));
        assert_eq!(s.format, Format::Gguf);
        assert!(s.error.unwrap().contains("kv count 1000000000 exceeds cap"));

        let mut body = (1u64 << 40).to_le_bytes().to_vec();
        body.extend(b"xx");
        let s = parse_bytes(&gguf(1, &body));
        assert!(s
            .error
            .unwrap()
            .contains("string length 1099511627776 exceeds cap"));

        // An array of 16M strings in a tiny file: bails at EOF.
        let mut body = kv_head("a", 9);
        body.extend(8u32.to_le_bytes());
        body.extend((16u64 << 20).to_le_bytes());
        body.extend(0u64.to_le_bytes());
        let s = parse_bytes(&gguf(1, &body));
        assert!(s.error.unwrap().contains("truncated GGUF header"));

        // A u64-sized array far larger than the file.
        let mut body = kv_head("a", 9);
        body.extend(10u32.to_le_bytes());
        body.extend((1u64 << 24).to_le_bytes());
        let s = parse_bytes(&gguf(1, &body));
        assert!(s.error.unwrap().contains("truncated GGUF header"));

        let mut body = kv_head("a", 9);
        body.extend(10u32.to_le_bytes());
        body.extend(u64::MAX.to_le_bytes());
        let s = parse_bytes(&gguf(1, &body));
        assert!(s.error.unwrap().contains("array length"));
    }

    #[test]
    fn bad_keys_versions_and_truncation() {
        let mut body = 2u64.to_le_bytes().to_vec();
        body.extend([0xff, 0xfe]);
        body.extend(4u32.to_le_bytes());
        body.extend(0u32.to_le_bytes());
        let s = parse_bytes(&gguf(1, &body));
        assert_eq!(s.error.as_deref(), Some("invalid UTF-8 in GGUF key"));

        let mut v = gguf(0, &[]);
        v[4] = 9;
        let s = parse_bytes(&v);
        assert_eq!(s.error.as_deref(), Some("unsupported GGUF version 9"));

        let s = parse_bytes(b"GGUF\x03\x00");
        assert_eq!(s.error.as_deref(), Some("truncated GGUF header"));

        let mut body = kv_head("a", 99);
        body.extend([0; 8]);
        let s = parse_bytes(&gguf(1, &body));
        assert!(s.error.unwrap().contains("unknown GGUF value type 99"));
    }

    #[test]
    fn nested_arrays_bounded() {
        let mut body = kv_head("a", 9);
        for _ in 0..6 {
            body.extend(9u32.to_le_bytes());
            body.extend(1u64.to_le_bytes());
        }
        let s = parse_bytes(&gguf(1, &body));
        assert!(s.error.unwrap().contains("nested too deeply"));
    }
}
