//! TensorFlow Lite: a FlatBuffer whose file identifier is `TFL3` (bytes 4..8).
//!
//! Reads a few fields of the root `Model` table by following FlatBuffer offsets, each
//! read bounds-checked against the file: `version` (field 0), `description` (3), and
//! the `metadata` entries (6), resolving `min_runtime_version` through `buffers` (4).
//! Hand-written: the `flatbuffers` crate needs generated schema code, and four
//! fields need only offset arithmetic.
//!
//! Fields: `version`, `description`, `metadata` (comma-separated names),
//! `min_runtime_version`.
use super::io::{invalid, Error, Src};
use super::{put, Format, Sniffed};

/// Most metadata entries looked at.
const MAX_METADATA: u32 = 64;
/// Longest string read.
const MAX_STRING: u32 = 4096;

/// Whether the head carries the TFLite file identifier.
pub(crate) fn looks_like(head: &[u8]) -> bool {
    head.get(4..8) == Some(b"TFL3")
}

/// Parses a whole TFLite file held in memory.
pub fn parse_bytes(data: &[u8]) -> Sniffed {
    let mut cur = std::io::Cursor::new(data);
    match Src::new(&mut cur, data.len() as u64) {
        Ok(mut src) => parse(&mut src),
        Err(e) => Sniffed::failed(Format::Tflite, e.to_string()),
    }
}

/// Parses a source whose head [`looks_like`] TFLite.
pub(crate) fn parse(src: &mut Src) -> Sniffed {
    let mut out = Sniffed::new(Format::Tflite);
    if let Err(e) = read(&mut Fb { src }, &mut out) {
        out.set_error(e.to_string());
    }
    out
}

fn read(fb: &mut Fb, out: &mut Sniffed) -> Result<(), Error> {
    let root = fb.deref(0)?;
    if let Some(at) = fb.field(root, 0)? {
        put(&mut out.fields, "version", &fb.u32(at)?.to_string());
    }
    if let Some(at) = fb.field(root, 3)? {
        let d = fb.string(at)?;
        put(&mut out.fields, "description", &String::from_utf8_lossy(&d));
    }
    let Some(meta) = fb.field(root, 6)? else {
        return Ok(());
    };
    let (start, n) = fb.vector(meta)?;
    let mut names = Vec::new();
    for i in 0..n.min(MAX_METADATA) {
        let entry = fb.deref(start + 4 * u64::from(i))?;
        let Some(name_at) = fb.field(entry, 0)? else {
            continue;
        };
        let name = String::from_utf8_lossy(&fb.string(name_at)?).into_owned();
        if name == "min_runtime_version" {
            if let Some(buf_at) = fb.field(entry, 1)? {
                let idx = fb.u32(buf_at)?;
                if let Some(v) = fb.buffer_text(root, idx)? {
                    put(&mut out.fields, "min_runtime_version", &v);
                }
            }
        }
        names.push(name);
    }
    if !names.is_empty() {
        put(&mut out.fields, "metadata", &names.join(","));
    }
    Ok(())
}

/// Bounds-checked FlatBuffer navigation over a [`Src`].
struct Fb<'s, 'a> {
    src: &'s mut Src<'a>,
}

impl Fb<'_, '_> {
    fn u32(&mut self, at: u64) -> Result<u32, Error> {
        let mut b = [0; 4];
        self.src.read_at(at, &mut b, "TFLite")?;
        Ok(u32::from_le_bytes(b))
    }

    fn u16(&mut self, at: u64) -> Result<u16, Error> {
        let mut b = [0; 2];
        self.src.read_at(at, &mut b, "TFLite")?;
        Ok(u16::from_le_bytes(b))
    }

    /// Follows the `uoffset` stored at `at`.
    fn deref(&mut self, at: u64) -> Result<u64, Error> {
        Ok(at + u64::from(self.u32(at)?))
    }

    /// Absolute position of field `i` of the table at `table`, if present.
    fn field(&mut self, table: u64, i: u16) -> Result<Option<u64>, Error> {
        let soff = self.u32(table)? as i32;
        let Some(vt) = table.checked_add_signed(-i64::from(soff)) else {
            return invalid("bad TFLite vtable offset");
        };
        let vsize = self.u16(vt)?;
        let slot = 4 + 2 * u32::from(i);
        if slot + 2 > u32::from(vsize) {
            return Ok(None);
        }
        match self.u16(vt + u64::from(slot))? {
            0 => Ok(None),
            off => Ok(Some(table + u64::from(off))),
        }
    }

    /// A vector's first element position and length.
    fn vector(&mut self, at: u64) -> Result<(u64, u32), Error> {
        let v = self.deref(at)?;
        Ok((v + 4, self.u32(v)?))
    }

    /// A string's bytes, cut to [`MAX_STRING`].
    fn string(&mut self, at: u64) -> Result<Vec<u8>, Error> {
        let (start, n) = self.vector(at)?;
        self.src
            .bytes_at(start, u64::from(n.min(MAX_STRING)), "TFLite")
    }

    /// The text in `buffers[idx].data` (NUL padding trimmed).
    fn buffer_text(&mut self, root: u64, idx: u32) -> Result<Option<String>, Error> {
        let Some(bufs) = self.field(root, 4)? else {
            return Ok(None);
        };
        let (start, n) = self.vector(bufs)?;
        if idx >= n {
            return Ok(None);
        }
        let buf = self.deref(start + 4 * u64::from(idx))?;
        let Some(data) = self.field(buf, 0)? else {
            return Ok(None);
        };
        let d = self.string(data)?;
        let text = String::from_utf8_lossy(&d);
        Ok(Some(text.trim_end_matches('\0').to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made minimal TFLite FlatBuffer: no Rust library here writes TFLite (the
    /// Python fixture uses the real `tflite` schema code). Root table with
    /// `version = 3` and `description = "hi"`.
    fn tiny() -> Vec<u8> {
        let mut w = Vec::new();
        w.extend(20u32.to_le_bytes()); // root table at 20
        w.extend(b"TFL3");
        // vtable at 8: size 12, table size 12, field 0 at +4, fields 1-2 absent, 3 at +8.
        w.extend([12, 0, 12, 0, 4, 0, 0, 0, 0, 0, 8, 0]);
        w.extend(12i32.to_le_bytes()); // table at 20, its vtable at 20 - 12
        w.extend(3u32.to_le_bytes()); // field 0 (version) at 24
        w.extend(4u32.to_le_bytes()); // field 3 at 28 -> string at 32
        w.extend(2u32.to_le_bytes());
        w.extend(b"hi\0\0");
        w
    }

    #[test]
    fn reads_root_table() {
        let s = parse_bytes(&tiny());
        assert_eq!(s.error, None, "{s:?}");
        assert_eq!(s.fields["version"], "3");
        assert_eq!(s.fields["description"], "hi");
        assert!(looks_like(&tiny()));
    }

    #[test]
    fn hostile_offsets() {
        let mut w = Vec::new();
        w.extend(u32::MAX.to_le_bytes());
        w.extend(b"TFL3");
        assert_eq!(
            parse_bytes(&w).error.as_deref(),
            Some("truncated TFLite header")
        );
        let mut w = Vec::new();
        w.extend(8u32.to_le_bytes());
        w.extend(b"TFL3");
        w.extend(i32::MIN.to_le_bytes());
        assert!(parse_bytes(&w).error.is_some());
        let mut w = Vec::new();
        w.extend(8u32.to_le_bytes());
        w.extend(b"TFL3");
        w.extend(1000i32.to_le_bytes());
        assert!(parse_bytes(&w).error.is_some());
    }
}
