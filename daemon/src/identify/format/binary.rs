//! Binary formats recognized by magic bytes alone: pickle, HDF5, Parquet, Arrow IPC.
//!
//! Fields: pickle `protocol`; HDF5 `superblock_version`, `userblock` (when the
//! signature is not at offset 0); Parquet `encrypted`; Arrow `kind` (`file`, `stream`,
//! `feather1`).
use super::io::Src;
use super::{put, Format, Sniffed};

const HDF5_SIG: &[u8] = b"\x89HDF\r\n\x1a\n";
/// Largest Arrow stream metadata message believed.
const ARROW_MAX_META: u32 = 16 << 20;

/// Tries every magic-only format on a whole file held in memory.
pub fn parse_bytes(data: &[u8]) -> Option<Sniffed> {
    let mut cur = std::io::Cursor::new(data);
    let mut src = Src::new(&mut cur, data.len() as u64).ok()?;
    pickle(src.head())
        .or_else(|| hdf5(src.head()))
        .or_else(|| parquet(&mut src))
        .or_else(|| arrow(&mut src))
}

/// A pickle with a protocol 2–5 header (`\x80` + protocol byte).
pub(crate) fn pickle(head: &[u8]) -> Option<Sniffed> {
    match head {
        [0x80, p @ 2..=5, ..] => {
            let mut s = Sniffed::new(Format::Pickle);
            put(&mut s.fields, "protocol", &p.to_string());
            Some(s)
        }
        _ => None,
    }
}

/// HDF5: the signature at offset 0, 512, 1024 or 2048 (after a user block).
pub(crate) fn hdf5(head: &[u8]) -> Option<Sniffed> {
    let off = [0usize, 512, 1024, 2048]
        .into_iter()
        .find(|&o| head.get(o..o + 8) == Some(HDF5_SIG))?;
    let mut s = Sniffed::new(Format::Hdf5);
    match head.get(off + 8) {
        Some(v) => put(&mut s.fields, "superblock_version", &v.to_string()),
        None => s.set_error("truncated HDF5 header"),
    }
    if off > 0 {
        put(&mut s.fields, "userblock", &off.to_string());
    }
    Some(s)
}

/// Parquet: `PAR1` at both ends (`PARE` at the end when the footer is encrypted).
pub(crate) fn parquet(src: &mut Src) -> Option<Sniffed> {
    if !src.head().starts_with(b"PAR1") {
        return None;
    }
    let mut s = Sniffed::new(Format::Parquet);
    let len = src.len();
    match src.bytes_at(len.saturating_sub(4), 4.min(len), "parquet") {
        Ok(t) if len >= 12 && t == b"PAR1" => {}
        Ok(t) if len >= 12 && t == b"PARE" => put(&mut s.fields, "encrypted", "true"),
        Ok(_) => s.set_error("truncated parquet file: footer magic missing"),
        Err(e) => s.set_error(e.to_string()),
    }
    Some(s)
}

/// Arrow IPC: file (`ARROW1` at both ends), stream (continuation marker `0xFFFFFFFF`,
/// then a plausible metadata length), or Feather v1 (`FEA1`).
pub(crate) fn arrow(src: &mut Src) -> Option<Sniffed> {
    let head = src.head();
    let mut s = Sniffed::new(Format::Arrow);
    if head.starts_with(b"ARROW1") {
        put(&mut s.fields, "kind", "file");
        let len = src.len();
        let ok = len >= 12
            && src
                .bytes_at(len - 6, 6, "arrow")
                .is_ok_and(|t| t == b"ARROW1");
        if !ok {
            s.set_error("truncated arrow file: footer magic missing");
        }
        return Some(s);
    }
    if head.starts_with(b"FEA1") {
        put(&mut s.fields, "kind", "feather1");
        return Some(s);
    }
    let word = |i: usize| Some(u32::from_le_bytes(head.get(i..i + 4)?.try_into().ok()?));
    if word(0)? != u32::MAX {
        return None;
    }
    let meta = word(4)?;
    let root = word(8)?;
    let plausible = (8..=ARROW_MAX_META).contains(&meta)
        && meta % 8 == 0
        && root < meta
        && 8 + u64::from(meta) <= src.len();
    if !plausible {
        return None;
    }
    put(&mut s.fields, "kind", "stream");
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics() {
        let s = parse_bytes(b"\x80\x04\x95.").unwrap();
        assert_eq!(
            (s.format, s.fields["protocol"].as_str()),
            (Format::Pickle, "4")
        );
        assert!(parse_bytes(b"\x80\x01.").is_none());

        let mut h = vec![0u8; 512];
        h.extend(HDF5_SIG);
        h.push(2);
        let s = parse_bytes(&h).unwrap();
        assert_eq!(s.format, Format::Hdf5);
        assert_eq!(s.fields["userblock"], "512");
        assert_eq!(s.fields["superblock_version"], "2");
        assert!(parse_bytes(HDF5_SIG).unwrap().error.is_some());

        let s = parse_bytes(b"PAR1\0\0\0\0\0\0\0\0PAR1").unwrap();
        assert_eq!((s.format, s.error), (Format::Parquet, None));
        let s = parse_bytes(b"PAR1\0\0").unwrap();
        assert!(s.error.unwrap().contains("footer magic missing"));

        let s = parse_bytes(b"ARROW1\0\0\0\0\0\0ARROW1").unwrap();
        assert_eq!((s.format, s.error), (Format::Arrow, None));
        assert!(parse_bytes(b"ARROW1\0\0").unwrap().error.is_some());
        let mut st = u32::MAX.to_le_bytes().to_vec();
        st.extend(16u32.to_le_bytes());
        st.extend(4u32.to_le_bytes());
        st.extend([0; 12]);
        assert_eq!(parse_bytes(&st).unwrap().fields["kind"], "stream");
        assert!(parse_bytes(&[0xff; 16]).is_none());
    }
}
