//! Unsafe serialization: pickle-based files scanned for imports of dangerous callables,
//! the way picklescan and modelscan do, without unpickling anything.
//!
//! Covers a plain pickle (several back to back), legacy PyTorch `.bin/.pt/.pth/.ckpt`
//! (five pickles, then raw storages), the PyTorch zip and any zip (members named
//! `.pkl/.pickle/.joblib/.dat/.data` or starting with a pickle protocol mark, and `.npy`
//! members), joblib files, and `.npy` with an object dtype (the header, then a pickle).
//!
//! Streaming and bounded: at most `max_bytes` are read per file (opcodes and short
//! strings; tensor payloads are skipped by seeking), the memo is capped. It runs on the
//! hash workers, on the descriptor verified to be the opened file (see `opened`).
pub mod callables;
pub mod opcodes;

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

use super::format::{self, io::Src, Format};
use crate::model::UnsafeScan;
use opcodes::{Source, Walker};

/// The default of `[identify] unsafe_scan_max_bytes`.
pub const DEFAULT_MAX_BYTES: u64 = 128 << 20;
/// Pickles in a legacy (non-zip) PyTorch file: magic number, protocol, system info,
/// the object, the storage keys; raw storage bytes follow.
const LEGACY_TORCH_PICKLES: usize = 5;
const PICKLE_EXTS: &[&str] = &["pkl", "pickle", "joblib", "dat", "data"];
const TORCH_EXTS: &[&str] = &["bin", "pt", "pth", "ckpt"];
const READ_BUF: usize = 64 * 1024;

/// Whether a file of `format` named `name` is scanned.
pub fn wanted(format: Format, name: &str) -> bool {
    match format {
        Format::Pickle | Format::PytorchZip | Format::Npy | Format::Npz | Format::Zip => true,
        Format::Unknown => {
            let e = ext(name);
            PICKLE_EXTS.contains(&e.as_str()) || TORCH_EXTS.contains(&e.as_str())
        }
        _ => false,
    }
}

/// Scans the first `size` bytes of `f` (a file named `name`), reading at most
/// `max_bytes`. By position: the descriptor's offset is not used.
pub fn scan(f: &File, size: u64, name: &str, max_bytes: u64) -> UnsafeScan {
    let mut w = Walker::new(max_bytes);
    let mut head = [0u8; 8];
    let n = f.read_at(&mut head, 0).unwrap_or(0);
    let head = &head[..n];
    let res = if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        scan_zip(f, size, &mut w)
    } else if head.starts_with(format::npy::MAGIC) {
        let mut src = reader(f, 0, size);
        scan_npy(&mut src, &mut w)
    } else {
        let legacy = TORCH_EXTS.contains(&ext(name).as_str());
        let mut src = reader(f, 0, size);
        pickles(&mut src, &mut w, legacy.then_some(LEGACY_TORCH_PICKLES))
    };
    verdict(w, res.err())
}

/// The verdict from what the walk collected and why it stopped early, if it did.
fn verdict(w: Walker, err: Option<String>) -> UnsafeScan {
    let callables = w
        .imports
        .iter()
        .filter(|(m, n)| callables::dangerous(m, n))
        .map(|(m, n)| format!("{m}.{n}"))
        .collect();
    UnsafeScan {
        callables,
        error: err,
    }
}

/// Walks pickles back to back until the end (or `most` of them).
fn pickles(src: &mut dyn Source, w: &mut Walker, most: Option<usize>) -> Result<(), String> {
    let mut n = 0usize;
    while most.is_none_or(|m| n < m) {
        match w.walk(src) {
            Ok(true) => n += 1,
            Ok(false) if n == 0 => return Err("empty file: no pickle".into()),
            Ok(false) => return Ok(()),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

/// An `.npy` stream: the pickle after the header when the dtype holds objects.
fn scan_npy(src: &mut dyn Source, w: &mut Walker) -> Result<(), String> {
    let mut pre = [0u8; 8];
    src.read_exact(&mut pre)
        .map_err(|_| "truncated npy header".to_string())?;
    let len_bytes = if pre[6] == 1 { 2 } else { 4 };
    let mut l = [0u8; 4];
    src.read_exact(&mut l[..len_bytes])
        .map_err(|_| "truncated npy header".to_string())?;
    let hlen = u64::from(u32::from_le_bytes(l));
    if hlen > format::npy::HEADER_CAP {
        return Err(format!("npy header of {hlen} bytes exceeds cap"));
    }
    let mut whole = pre.to_vec();
    whole.extend(&l[..len_bytes]);
    let at = whole.len();
    whole.resize(at + hlen as usize, 0);
    src.read_exact(&mut whole[at..])
        .map_err(|_| "truncated npy header".to_string())?;
    let s = format::npy::parse_bytes(&whole);
    if let Some(e) = s.error {
        return Err(e);
    }
    match s.fields.get("dtype") {
        Some(d) if object_dtype(d) => pickles(src, w, None),
        _ => Ok(()),
    }
}

/// Whether an npy `descr` (plain, or a structured dtype's literal) holds Python objects.
fn object_dtype(d: &str) -> bool {
    let plain = d.trim_start_matches(['<', '>', '|', '=']);
    plain.starts_with('O')
        || ["'O'", "'|O'", "'<O'", "'>O'"]
            .iter()
            .any(|o| d.contains(o))
}

/// The pickle and `.npy` members of a zip archive.
fn scan_zip(f: &File, size: u64, w: &mut Walker) -> Result<(), String> {
    let mut rd = f;
    let members = {
        let mut src = Src::new(&mut rd, size).map_err(|e| e.to_string())?;
        format::zip::members(&mut src)?
    };
    let mut first_err = None;
    for m in members {
        if m.name.ends_with('/') {
            continue;
        }
        let end = m
            .len
            .map_or(size, |l| m.data_offset.saturating_add(l).min(size));
        let open = || -> Result<Box<dyn Source + '_>, String> {
            Ok(match m.method {
                0 => Box::new(reader(f, m.data_offset, end)),
                8 => Box::new(BufReader::with_capacity(
                    READ_BUF,
                    Forward(flate2::read::DeflateDecoder::new(Range {
                        f,
                        pos: m.data_offset,
                        end,
                    })),
                )),
                other => return Err(format!("{}: zip compression method {other}", m.name)),
            })
        };
        let e = ext(&m.name);
        let res = if PICKLE_EXTS.contains(&e.as_str()) {
            open().and_then(|mut s| pickles(&mut *s, w, None))
        } else {
            let mut magic = [0u8; 6];
            let got = open().map(|mut s| s.read(&mut magic).unwrap_or(0));
            match got {
                Ok(n) if n >= 2 && magic[0] == 0x80 && magic[1] <= 5 => {
                    open().and_then(|mut s| pickles(&mut *s, w, None))
                }
                Ok(n) if e == "npy" || magic[..n].starts_with(format::npy::MAGIC) => {
                    open().and_then(|mut s| scan_npy(&mut *s, w))
                }
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            }
        };
        if let Err(e) = res {
            let stop = e.contains("limit of");
            first_err.get_or_insert(format!("{}: {e}", m.name));
            if stop {
                break;
            }
        }
    }
    first_err.map_or(Ok(()), Err)
}

/// A buffered positional reader over `[from, end)` of `f`.
fn reader(f: &File, from: u64, end: u64) -> BufReader<Range<'_>> {
    BufReader::with_capacity(READ_BUF, Range { f, pos: from, end })
}

/// `[pos, end)` of a file, read by position (`pread`), seekable.
struct Range<'a> {
    f: &'a File,
    pos: u64,
    end: u64,
}

impl Read for Range<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let want = (buf.len() as u64).min(left) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.f.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Range<'_> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let p = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.end.checked_add_signed(d),
        };
        self.pos = p.ok_or(std::io::ErrorKind::InvalidInput)?;
        Ok(self.pos)
    }
}

/// A stream that cannot seek (a decompressor): skipping reads and discards.
struct Forward<R>(R);

impl<R: Read> Read for Forward<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read> Source for BufReader<Forward<R>> {
    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        std::io::copy(&mut self.take(n), &mut std::io::sink())?;
        Ok(())
    }

    fn skip_reads(&self) -> bool {
        true
    }
}

fn ext(name: &str) -> String {
    std::path::Path::new(name)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
