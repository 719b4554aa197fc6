//! Zip archives: PyTorch (`*/data.pkl`), Keras v3 (`metadata.json` + `config.json` +
//! `model.weights.h5`), NumPy `.npz` (only `.npy` members), or a generic zip.
//!
//! Reads the End Of Central Directory record from the file's tail (Zip64 included, as
//! checkpoints over 4 GiB use it), then the central directory, capped at
//! [`MAX_ENTRIES`] entries and [`MAX_CD`] bytes. No member is decompressed. Hand-written
//! rather than the `zip` crate: only member names are needed, and the crate pulls in
//! compression back-ends and reads more than this needs. Without a central directory
//! (a truncated file), the first local header's name is used.
//!
//! Fields: `entries`; PyTorch: `archive_root`, `version` (the `version` member, when
//! stored uncompressed); npz: `arrays`.
use super::io::{Error, Src};
use super::{put, Fields, Format, Sniffed};

/// Most central-directory entries read.
pub const MAX_ENTRIES: u64 = 100_000;
/// Largest central directory read.
pub const MAX_CD: u64 = 64 << 20;
const EOCD_LEN: u64 = 22;
const CD_ENTRY_LEN: usize = 46;

/// Parses a whole zip file held in memory.
pub fn parse_bytes(data: &[u8]) -> Sniffed {
    let mut cur = std::io::Cursor::new(data);
    match Src::new(&mut cur, data.len() as u64) {
        Ok(mut src) => parse(&mut src),
        Err(e) => Sniffed::failed(Format::Zip, e.to_string()),
    }
}

/// Parses a source that starts with a zip signature.
pub(crate) fn parse(src: &mut Src) -> Sniffed {
    let mut out = Sniffed::new(Format::Zip);
    let entries = match central_directory(src) {
        Ok((entries, total, err)) => {
            put(&mut out.fields, "entries", &total.to_string());
            if let Some(e) = err {
                out.set_error(e);
            }
            entries
        }
        Err(e) => {
            out.set_error(format!("truncated zip: {e}"));
            first_local_entry(src.head()).into_iter().collect()
        }
    };
    out.format = classify(src, &entries, &mut out.fields);
    out
}

/// One central-directory entry.
struct Entry {
    name: String,
    /// Compression method (0 = stored).
    method: u16,
    size: u64,
    /// Compressed size.
    csize: u64,
    /// Offset of the local header.
    offset: u64,
}

/// A member's name, compression method, and where its (compressed) bytes lie.
pub(crate) struct Member {
    pub name: String,
    /// 0 = stored, 8 = deflated.
    pub method: u16,
    pub data_offset: u64,
    /// Compressed length; `None` when the directory does not say (Zip64 members).
    pub len: Option<u64>,
}

/// The archive's members (as [`parse`] reads the central directory), with the offset
/// of each member's data from its local header; or why they cannot be listed.
pub(crate) fn members(src: &mut Src) -> Result<Vec<Member>, String> {
    let (entries, _, err) = central_directory(src).map_err(|e| e.to_string())?;
    if let Some(e) = err {
        return Err(e);
    }
    entries
        .into_iter()
        .map(|e| {
            let h = src
                .bytes_at(e.offset, 30, "zip local header")
                .map_err(|x| x.to_string())?;
            if !h.starts_with(b"PK\x03\x04") {
                return Err(format!("bad zip local header for {}", e.name));
            }
            let skip = 30 + u64::from(u16_at(&h, 26)) + u64::from(u16_at(&h, 28));
            Ok(Member {
                data_offset: e.offset + skip,
                len: (e.csize != 0xffff_ffff).then_some(e.csize),
                name: e.name,
                method: e.method,
            })
        })
        .collect()
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default())
}

/// The entries, the claimed total, and an error if the directory was cut short.
fn central_directory(src: &mut Src) -> Result<(Vec<Entry>, u64, Option<String>), Error> {
    let len = src.len();
    let tail_len = len.min(EOCD_LEN + 0xffff);
    let tail = src.bytes_at(len - tail_len, tail_len, "zip")?;
    let at = (0..tail.len().saturating_sub(EOCD_LEN as usize - 1))
        .rev()
        .find(|&i| tail[i..].starts_with(b"PK\x05\x06"))
        .ok_or(Error::Invalid("end of central directory not found".into()))?;
    let eocd = &tail[at..];
    let eocd_pos = len - tail_len + at as u64;
    let mut total = u64::from(u16_at(eocd, 10));
    let mut cd_size = u64::from(u32_at(eocd, 12));
    let mut cd_off = u64::from(u32_at(eocd, 16));
    if total == 0xffff || cd_size == 0xffff_ffff || cd_off == 0xffff_ffff {
        let loc = eocd_pos
            .checked_sub(20)
            .ok_or(Error::Invalid("zip64 locator missing".into()))?;
        let l = src.bytes_at(loc, 20, "zip64")?;
        if !l.starts_with(b"PK\x06\x07") {
            return Err(Error::Invalid("zip64 locator missing".into()));
        }
        let z = src.bytes_at(u64_at(&l, 8), 56, "zip64")?;
        if !z.starts_with(b"PK\x06\x06") {
            return Err(Error::Invalid(
                "zip64 end of central directory missing".into(),
            ));
        }
        total = u64_at(&z, 32);
        cd_size = u64_at(&z, 40);
        cd_off = u64_at(&z, 48);
    }
    // Data prepended to the archive shifts every offset; the directory then ends where
    // the EOCD starts.
    if total > 0 && !is_cd(src, cd_off) && cd_size <= eocd_pos && is_cd(src, eocd_pos - cd_size) {
        cd_off = eocd_pos - cd_size;
    }
    let mut err = None;
    let read = if cd_size > MAX_CD {
        err = Some(format!(
            "zip central directory of {cd_size} bytes exceeds cap"
        ));
        MAX_CD
    } else {
        cd_size
    };
    let cd = src.bytes_at(cd_off, read.min(len.saturating_sub(cd_off)), "zip")?;
    if total > MAX_ENTRIES {
        err = Some(format!("zip entries {total} exceed cap of {MAX_ENTRIES}"));
    }
    let mut entries = Vec::new();
    let mut p = 0usize;
    while (entries.len() as u64) < total.min(MAX_ENTRIES) {
        let Some(e) = cd.get(p..p + CD_ENTRY_LEN) else {
            err.get_or_insert_with(|| "truncated zip central directory".into());
            break;
        };
        if !e.starts_with(b"PK\x01\x02") {
            err.get_or_insert_with(|| "bad zip central directory entry".into());
            break;
        }
        let n = usize::from(u16_at(e, 28));
        let extra = usize::from(u16_at(e, 30)) + usize::from(u16_at(e, 32));
        let Some(name) = cd.get(p + CD_ENTRY_LEN..p + CD_ENTRY_LEN + n) else {
            err.get_or_insert_with(|| "truncated zip central directory".into());
            break;
        };
        entries.push(Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            method: u16_at(e, 10),
            size: u64::from(u32_at(e, 24)),
            csize: u64::from(u32_at(e, 20)),
            offset: u64::from(u32_at(e, 42)),
        });
        p += CD_ENTRY_LEN + n + extra;
    }
    Ok((entries, total, err))
}

/// Whether a central-directory entry starts at `off`.
fn is_cd(src: &mut Src, off: u64) -> bool {
    matches!(src.bytes_at(off, 4, "zip"), Ok(s) if s == b"PK\x01\x02")
}

/// The first local header's name, for archives without a central directory.
fn first_local_entry(head: &[u8]) -> Option<Entry> {
    if !head.starts_with(b"PK\x03\x04") || head.len() < 30 {
        return None;
    }
    let n = usize::from(u16_at(head, 26));
    let name = head.get(30..30 + n)?;
    Some(Entry {
        name: String::from_utf8_lossy(name).into_owned(),
        method: u16_at(head, 8),
        size: u64::from(u32_at(head, 22)),
        csize: u64::from(u32_at(head, 18)),
        offset: 0,
    })
}

/// Names the archive kind from its member names and records kind-specific fields.
fn classify(src: &mut Src, entries: &[Entry], fields: &mut Fields) -> Format {
    let pkl = entries
        .iter()
        .filter(|e| e.name == "data.pkl" || e.name.ends_with("/data.pkl"))
        .min_by_key(|e| e.name.len());
    if let Some(pkl) = pkl {
        let root = pkl.name.strip_suffix("data.pkl").unwrap_or("");
        let root = root.strip_suffix('/').unwrap_or(root);
        if !root.is_empty() {
            put(fields, "archive_root", root);
        }
        let version = if root.is_empty() {
            "version".to_owned()
        } else {
            format!("{root}/version")
        };
        if let Some(v) = entries.iter().find(|e| e.name == version) {
            if let Some(v) = small_stored(src, v) {
                put(fields, "version", &v);
            }
        }
        return Format::PytorchZip;
    }
    let has = |n: &str| entries.iter().any(|e| e.name == n);
    if has("metadata.json") && has("config.json") && has("model.weights.h5") {
        return Format::KerasZip;
    }
    let files: Vec<&Entry> = entries.iter().filter(|e| !e.name.ends_with('/')).collect();
    if !files.is_empty() && files.iter().all(|e| e.name.ends_with(".npy")) {
        put(fields, "arrays", &files.len().to_string());
        return Format::Npz;
    }
    Format::Zip
}

/// The trimmed text of a small stored (uncompressed) member, if it is plain ASCII.
fn small_stored(src: &mut Src, e: &Entry) -> Option<String> {
    if e.method != 0 || e.size == 0 || e.size > 32 {
        return None;
    }
    let h = src.bytes_at(e.offset, 30, "zip").ok()?;
    if !h.starts_with(b"PK\x03\x04") {
        return None;
    }
    let skip = 30 + u64::from(u16_at(&h, 26)) + u64::from(u16_at(&h, 28));
    let data = src.bytes_at(e.offset + skip, e.size, "zip").ok()?;
    let text = std::str::from_utf8(&data).ok()?.trim();
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic())).then(|| text.to_owned())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A stored zip with the given members (no compression), built by hand.
    pub(crate) fn make_zip(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut cd = Vec::new();
        for (name, data) in members {
            let off = out.len() as u32;
            out.extend(b"PK\x03\x04");
            out.extend([20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend(0u32.to_le_bytes());
            out.extend((data.len() as u32).to_le_bytes());
            out.extend((data.len() as u32).to_le_bytes());
            out.extend((name.len() as u16).to_le_bytes());
            out.extend(0u16.to_le_bytes());
            out.extend(name.as_bytes());
            out.extend(*data);
            cd.extend(b"PK\x01\x02");
            cd.extend([20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            cd.extend(0u32.to_le_bytes());
            cd.extend((data.len() as u32).to_le_bytes());
            cd.extend((data.len() as u32).to_le_bytes());
            cd.extend((name.len() as u16).to_le_bytes());
            cd.extend([0; 12]);
            cd.extend(off.to_le_bytes());
            cd.extend(name.as_bytes());
        }
        let cd_off = out.len() as u32;
        out.extend(&cd);
        out.extend(b"PK\x05\x06\0\0\0\0");
        out.extend((members.len() as u16).to_le_bytes());
        out.extend((members.len() as u16).to_le_bytes());
        out.extend((cd.len() as u32).to_le_bytes());
        out.extend(cd_off.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out
    }

    #[test]
    fn kinds() {
        let z = make_zip(&[
            ("archive/data.pkl", b"\x80\x02."),
            ("archive/version", b"3\n"),
        ]);
        let s = parse_bytes(&z);
        assert_eq!((s.format, s.error.clone()), (Format::PytorchZip, None));
        assert_eq!(s.fields["archive_root"], "archive");
        assert_eq!(s.fields["version"], "3");
        assert_eq!(s.fields["entries"], "2");

        let z = make_zip(&[
            ("metadata.json", b"{}"),
            ("config.json", b"{}"),
            ("model.weights.h5", b""),
        ]);
        assert_eq!(parse_bytes(&z).format, Format::KerasZip);

        let z = make_zip(&[("a.npy", b""), ("b.npy", b"")]);
        let s = parse_bytes(&z);
        assert_eq!(s.format, Format::Npz);
        assert_eq!(s.fields["arrays"], "2");

        assert_eq!(
            parse_bytes(&make_zip(&[("x.txt", b"")])).format,
            Format::Zip
        );
        let empty = parse_bytes(&make_zip(&[]));
        assert_eq!((empty.format, empty.error), (Format::Zip, None));
    }

    #[test]
    fn prepended_data_and_truncation() {
        let z = make_zip(&[("m/data.pkl", b"x")]);
        let mut pre = vec![b'#'; 100];
        pre.extend(&z);
        assert_eq!(parse_bytes(&pre).format, Format::PytorchZip);

        let cut = &z[..z.len() - 30];
        let s = parse_bytes(cut);
        assert_eq!(s.format, Format::PytorchZip);
        assert!(s.error.unwrap().starts_with("truncated zip"));
        let s = parse_bytes(b"PK\x03\x04");
        assert_eq!(s.format, Format::Zip);
        assert!(s.error.is_some());
    }

    #[test]
    fn hostile_counts() {
        let mut z = make_zip(&[("a.npy", b"")]);
        let n = z.len();
        z[n - 12..n - 10].copy_from_slice(&0xfffeu16.to_le_bytes());
        let s = parse_bytes(&z);
        assert_eq!(s.format, Format::Npz);
        assert_eq!(s.error.as_deref(), Some("truncated zip central directory"));
        // Zip64 markers without a locator.
        z[n - 6..n - 2].copy_from_slice(&u32::MAX.to_le_bytes());
        let s = parse_bytes(&z);
        assert!(s.error.unwrap().contains("zip64"));
    }
}
