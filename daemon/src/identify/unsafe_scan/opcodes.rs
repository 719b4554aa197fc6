//! A streaming pickle opcode walker that collects the callables a pickle imports,
//! without unpickling anything.
//!
//! Written by hand: no Rust crate disassembles pickles statically (`serde-pickle` and
//! friends unpickle, which is the thing not to do). Covers protocols 0–5: `GLOBAL` and
//! `INST` (module and name inline), `STACK_GLOBAL` (the two strings pushed before it,
//! also when they come out of the memo through `GET`/`BINGET`/`LONG_BINGET` after a
//! `PUT`/`BINPUT`/`LONG_BINPUT`/`MEMOIZE`), and skips every other opcode's argument,
//! seeking over large payloads (tensor bytes) instead of reading them.
use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Seek};
use std::rc::Rc;

use super::callables::UNKNOWN;

/// Strings longer than this are never kept (no module or name is this long).
const MAX_STR: u64 = 1024;
/// Most bytes of memoized strings remembered (each string counted with 48 bytes of
/// overhead); past it new ones are forgotten, and an import read through a forgotten one
/// stops the scan with an error instead of a guess.
pub const MAX_MEMO_BYTES: usize = 16 << 20;
const MEMO_OVERHEAD: usize = 48;
/// Longest protocol-0 text line.
const MAX_LINE: usize = 64 * 1024;

/// Why a walk stopped before the end of the pickle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    /// The data ends inside the pickle.
    #[error("truncated pickle: {0}")]
    Truncated(&'static str),
    /// The bytes are not a pickle.
    #[error("corrupt pickle: {0}")]
    Corrupt(String),
    /// The byte limit is reached.
    #[error("scan stopped at the limit of {0} bytes")]
    Limit(u64),
    /// The operating system failed the read.
    #[error("read error: {0}")]
    Io(String),
}

/// A source the walker can skip forward in without reading (seek) when it can.
pub trait Source: BufRead {
    /// Moves `n` bytes forward.
    fn skip(&mut self, n: u64) -> std::io::Result<()>;
    /// Whether skipping reads the bytes (they count against the limit then).
    fn skip_reads(&self) -> bool {
        false
    }
}

impl<R: Read + Seek> Source for BufReader<R> {
    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        let n = i64::try_from(n).map_err(|_| std::io::ErrorKind::InvalidInput)?;
        self.seek_relative(n)
    }
}

/// A value an opcode pushed, as far as the scan needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Val {
    Str(Rc<str>),
    Other,
    /// A memo entry forgotten for lack of room.
    Forgotten,
}

/// The state of a scan across the pickles of one file: memo, found imports, bytes read.
#[derive(Debug, Default)]
pub struct Walker {
    /// Memoized strings (what a `STACK_GLOBAL` may take from the memo).
    memo: HashMap<u64, Rc<str>>,
    memo_bytes: usize,
    /// The index the next `MEMOIZE` stores at (the memo's length).
    memo_next: u64,
    /// Some string was not remembered for lack of room.
    memo_full: bool,
    /// Imported callables `(module, name)`.
    pub imports: BTreeSet<(String, String)>,
    /// Bytes read so far (payloads skipped by seeking are not read).
    pub read: u64,
    /// Most bytes to read.
    pub limit: u64,
}

impl Walker {
    /// A walker that reads at most `limit` bytes in all.
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            ..Default::default()
        }
    }

    /// Walks one pickle from its first opcode to `STOP`. `Ok(false)` when the source
    /// was already at its end (no pickle there).
    pub fn walk(&mut self, src: &mut dyn Source) -> Result<bool, WalkError> {
        // the values of the last two opcodes that push something (what STACK_GLOBAL
        // takes), and the value of the very last opcode (what PUT/MEMOIZE store)
        let mut pushed: [Val; 2] = [Val::Other, Val::Other];
        let mut depth = 0usize;
        let mut last = Val::Other;
        let mut first = true;
        loop {
            let Some(op) = self.byte(src)? else {
                return if first {
                    Ok(false)
                } else {
                    Err(WalkError::Truncated("no STOP opcode"))
                };
            };
            first = false;
            let val = match op {
                b'.' => return Ok(true),
                // PUT, BINPUT, LONG_BINPUT, MEMOIZE: remember the last value; push nothing
                b'p' | b'q' | b'r' | 0x94 => {
                    let idx = match op {
                        b'p' => self.decimal_line(src)?,
                        b'q' => u64::from(self.exact::<1>(src)?[0]),
                        b'r' => u64::from(u32::from_le_bytes(self.exact::<4>(src)?)),
                        _ => self.memo_next,
                    };
                    self.memorize(idx, &last);
                    continue;
                }
                // GET, BINGET, LONG_BINGET
                b'g' | b'h' | b'j' => {
                    let idx = match op {
                        b'g' => self.decimal_line(src)?,
                        b'h' => u64::from(self.exact::<1>(src)?[0]),
                        _ => u64::from(u32::from_le_bytes(self.exact::<4>(src)?)),
                    };
                    match self.memo.get(&idx) {
                        Some(s) => Val::Str(s.clone()),
                        None if self.memo_full => Val::Forgotten,
                        // not a string, or never stored: unreadable statically
                        None => Val::Str(UNKNOWN.into()),
                    }
                }
                // GLOBAL, INST: "module\nname\n"
                b'c' | b'i' => {
                    let module = self.text_line(src)?;
                    let name = self.text_line(src)?;
                    self.imports.insert((module, name));
                    Val::Other
                }
                // STACK_GLOBAL: module and name are the two values pushed before it
                0x93 => {
                    if pushed.contains(&Val::Forgotten) {
                        return Err(WalkError::Corrupt(format!(
                            "an import names a memo entry past the memo limit of {MAX_MEMO_BYTES} bytes"
                        )));
                    }
                    let name_of = |v: &Val| match v {
                        Val::Str(s) => s.to_string(),
                        _ => UNKNOWN.to_string(),
                    };
                    let (module, name) = if depth >= 2 {
                        (name_of(&pushed[0]), name_of(&pushed[1]))
                    } else {
                        (UNKNOWN.to_string(), UNKNOWN.to_string())
                    };
                    self.imports.insert((module, name));
                    Val::Other
                }
                // strings: SHORT_BINUNICODE, BINUNICODE, BINUNICODE8, SHORT_BINSTRING,
                // BINSTRING
                0x8c | b'U' => {
                    let n = u64::from(self.exact::<1>(src)?[0]);
                    self.string(src, n)?
                }
                b'X' | b'T' => {
                    let n = u64::from(u32::from_le_bytes(self.exact::<4>(src)?));
                    self.string(src, n)?
                }
                0x8d => {
                    let n = u64::from_le_bytes(self.exact::<8>(src)?);
                    self.string(src, n)?
                }
                // UNICODE (raw-unicode-escape line), STRING (quoted repr line)
                b'V' => Val::Str(self.text_line(src)?.into()),
                b'S' => {
                    let l = self.text_line(src)?;
                    let q = l.trim();
                    let unq = q
                        .strip_prefix('\'')
                        .and_then(|s| s.strip_suffix('\''))
                        .or_else(|| q.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                        .ok_or_else(|| WalkError::Corrupt("STRING without quotes".into()))?;
                    Val::Str(unq.into())
                }
                // byte payloads: SHORT_BINBYTES, BINBYTES, BINBYTES8, BYTEARRAY8, LONG1, LONG4
                b'C' | 0x8a => {
                    let n = u64::from(self.exact::<1>(src)?[0]);
                    self.skip(src, n)?
                }
                b'B' => {
                    let n = u64::from(u32::from_le_bytes(self.exact::<4>(src)?));
                    self.skip(src, n)?
                }
                0x8b => {
                    let n = i32::from_le_bytes(self.exact::<4>(src)?);
                    let n = u64::try_from(n)
                        .map_err(|_| WalkError::Corrupt("negative LONG4 length".into()))?;
                    self.skip(src, n)?
                }
                0x8e | 0x96 => {
                    let n = u64::from_le_bytes(self.exact::<8>(src)?);
                    self.skip(src, n)?
                }
                // FRAME: an 8-byte length; the frame's opcodes follow inline
                0x95 => {
                    self.exact::<8>(src)?;
                    continue;
                }
                // PROTO
                0x80 => {
                    let p = self.exact::<1>(src)?[0];
                    if p > 5 {
                        return Err(WalkError::Corrupt(format!("unsupported protocol {p}")));
                    }
                    continue;
                }
                // fixed-size numeric arguments
                b'K' | 0x82 => self.fixed::<1>(src)?,
                b'M' | 0x83 => self.fixed::<2>(src)?,
                b'J' | 0x84 => self.fixed::<4>(src)?,
                b'G' => self.fixed::<8>(src)?,
                // protocol-0 text numbers and persistent ids
                b'I' | b'L' | b'F' | b'P' => {
                    self.text_line(src)?;
                    Val::Other
                }
                // no argument
                b'(' | b'0' | b'1' | b'2' | b'a' | b'e' | b'b' | b'd' | b'}' | b'l' | b']'
                | b'o' | b'R' | b's' | b'u' | b't' | b')' | 0x85 | 0x86 | 0x87 | 0x81 | 0x92
                | 0x88 | 0x89 | b'N' | b'Q' | 0x8f | 0x90 | 0x91 | 0x97 | 0x98 => Val::Other,
                other => {
                    return Err(WalkError::Corrupt(format!(
                        "unknown opcode 0x{other:02x} at byte {}",
                        self.read - 1
                    )))
                }
            };
            last = val.clone();
            pushed.swap(0, 1);
            pushed[1] = val;
            depth += 1;
        }
    }

    /// `PUT`/`MEMOIZE` of `v` at `idx`: strings are remembered while there is room.
    fn memorize(&mut self, idx: u64, v: &Val) {
        self.memo_next = self.memo_next.max(idx.saturating_add(1));
        if let Some(old) = self.memo.remove(&idx) {
            self.memo_bytes -= old.len() + MEMO_OVERHEAD;
        }
        if let Val::Str(s) = v {
            if self.memo_bytes + s.len() + MEMO_OVERHEAD <= MAX_MEMO_BYTES {
                self.memo_bytes += s.len() + MEMO_OVERHEAD;
                self.memo.insert(idx, s.clone());
            } else {
                self.memo_full = true;
            }
        }
    }

    /// Counts `n` bytes against the limit.
    fn charge(&mut self, n: u64) -> Result<(), WalkError> {
        self.read = self.read.saturating_add(n);
        if self.read > self.limit {
            return Err(WalkError::Limit(self.limit));
        }
        Ok(())
    }

    fn byte(&mut self, src: &mut dyn Source) -> Result<Option<u8>, WalkError> {
        let b = loop {
            match src.fill_buf() {
                Ok(b) => break b.first().copied(),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(WalkError::Io(e.to_string())),
            }
        };
        if b.is_some() {
            self.charge(1)?;
            src.consume(1);
        }
        Ok(b)
    }

    fn exact<const N: usize>(&mut self, src: &mut dyn Source) -> Result<[u8; N], WalkError> {
        self.charge(N as u64)?;
        let mut b = [0u8; N];
        read_exact(src, &mut b)?;
        Ok(b)
    }

    fn fixed<const N: usize>(&mut self, src: &mut dyn Source) -> Result<Val, WalkError> {
        self.exact::<N>(src)?;
        Ok(Val::Other)
    }

    /// A string argument of `n` bytes: kept when short, else skipped.
    fn string(&mut self, src: &mut dyn Source, n: u64) -> Result<Val, WalkError> {
        if n > MAX_STR {
            return self.skip(src, n);
        }
        self.charge(n)?;
        let mut b = vec![0u8; n as usize];
        read_exact(src, &mut b)?;
        Ok(Val::Str(String::from_utf8_lossy(&b).into()))
    }

    /// Skips a payload of `n` bytes (by seeking where the source can).
    fn skip(&mut self, src: &mut dyn Source, n: u64) -> Result<Val, WalkError> {
        if src.skip_reads() {
            self.charge(n)?;
        }
        src.skip(n).map_err(|e| WalkError::Io(e.to_string()))?;
        Ok(Val::Other)
    }

    /// A protocol-0 line without its newline.
    fn text_line(&mut self, src: &mut dyn Source) -> Result<String, WalkError> {
        let mut line = Vec::new();
        loop {
            let Some(b) = self.byte(src)? else {
                return Err(WalkError::Truncated("line without its end"));
            };
            if b == b'\n' {
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if line.len() >= MAX_LINE {
                return Err(WalkError::Corrupt("text argument too long".into()));
            }
            line.push(b);
        }
    }

    fn decimal_line(&mut self, src: &mut dyn Source) -> Result<u64, WalkError> {
        let l = self.text_line(src)?;
        l.trim()
            .parse()
            .map_err(|_| WalkError::Corrupt(format!("bad memo index {l:?}")))
    }
}

fn read_exact(src: &mut dyn Source, b: &mut [u8]) -> Result<(), WalkError> {
    src.read_exact(b).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => WalkError::Truncated("argument cut short"),
        _ => WalkError::Io(e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn walk_all(data: &[u8], limit: u64) -> (BTreeSet<(String, String)>, Result<(), WalkError>) {
        let mut w = Walker::new(limit);
        let mut src = BufReader::new(Cursor::new(data));
        let r = loop {
            match w.walk(&mut src) {
                Ok(true) => {}
                Ok(false) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        (w.imports, r)
    }

    fn imp(m: &str, n: &str) -> (String, String) {
        (m.into(), n.into())
    }

    #[test]
    fn protocol_0_global_and_reduce() {
        // pickle.dumps(os.system-reduce, protocol=0) shape
        let p = b"cposix\nsystem\np0\n(Vtrue\np1\ntp2\nRp3\n.";
        let (i, r) = walk_all(p, 1 << 20);
        r.unwrap();
        assert_eq!(i, [imp("posix", "system")].into());
    }

    #[test]
    fn stack_global_through_the_memo() {
        // \x80\x04 '\x8c os' MEMOIZE '\x8c system' MEMOIZE STACK_GLOBAL ... then a second
        // STACK_GLOBAL whose strings come from BINGET 0 / BINGET 1
        let mut p = vec![0x80, 4];
        p.extend([0x8c, 2]);
        p.extend(b"os");
        p.push(0x94);
        p.extend([0x8c, 6]);
        p.extend(b"system");
        p.push(0x94);
        p.push(0x93);
        p.push(0x94);
        p.extend([b'h', 0, b'h', 1, 0x93, b'.']);
        let (i, r) = walk_all(&p, 1 << 20);
        r.unwrap();
        assert_eq!(i, [imp("os", "system")].into());
        // BINGET of a key never stored is unreadable: unknown
        let p = [0x80, 4, b'h', 7, 0x8c, 1, b'x', 0x93, b'.'];
        assert_eq!(walk_all(&p, 1 << 20).0, [imp(UNKNOWN, "x")].into());
    }

    #[test]
    fn a_full_memo_forgets_strings_and_an_import_through_one_is_an_error() {
        // as pickle protocol 4 writes a long list of strings: each one memoized
        let n = MAX_MEMO_BYTES / (MEMO_OVERHEAD + 8) + 10;
        let mut p = vec![0x80, 4, b']', 0x94, b'('];
        for i in 0..n {
            p.extend([0x8c, 8]);
            p.extend(format!("{i:08}").as_bytes());
            p.push(0x94);
        }
        p.push(b'e');
        let tail = |first: u32, second: u32| {
            let mut q = p.clone();
            for i in [first, second] {
                q.push(b'j');
                q.extend(i.to_le_bytes());
            }
            q.extend([0x93, b'.']);
            walk_all(&q, u64::MAX)
        };
        // early entries are remembered: the import reads them
        let (i, r) = tail(1, 2);
        r.unwrap();
        assert_eq!(i, [imp("00000000", "00000001")].into());
        // the last ones were forgotten: no guess, an error
        let (_, r) = tail(n as u32, n as u32 - 1);
        assert!(
            matches!(&r, Err(WalkError::Corrupt(e)) if e.contains("memo limit")),
            "{r:?}"
        );
    }

    #[test]
    fn big_payloads_are_skipped_not_read() {
        // BINBYTES8 of 10 MB then a GLOBAL: read bytes stay small
        let mut p = vec![0x80, 4, 0x8e];
        p.extend(10_000_000u64.to_le_bytes());
        p.extend(vec![0u8; 10_000_000]);
        p.extend(b"0cbuiltins\neval\n.");
        let mut w = Walker::new(1 << 16);
        assert!(w.walk(&mut BufReader::new(Cursor::new(&p[..]))).unwrap());
        assert!(w.read < 100, "{}", w.read);
        assert!(w.imports.contains(&imp("builtins", "eval")));
    }

    #[test]
    fn truncated_corrupt_and_limited_input_give_errors() {
        let p = b"cposix\nsystem\np0\n(Vtrue\np1\ntp2\nRp3\n.";
        for cut in [1, 5, 14, p.len() - 1] {
            let (_, r) = walk_all(&p[..cut], 1 << 20);
            assert!(matches!(r, Err(WalkError::Truncated(_))), "{cut}: {r:?}");
        }
        let (_, r) = walk_all(b"\x80\x04\xff.", 1 << 20);
        assert!(matches!(r, Err(WalkError::Corrupt(_))), "{r:?}");
        let (_, r) = walk_all(b"\x80\x09.", 1 << 20);
        assert!(matches!(r, Err(WalkError::Corrupt(_))), "{r:?}");
        // the global past the limit is not reached; the error says so
        let (i, r) = walk_all(p, 8);
        assert_eq!(r, Err(WalkError::Limit(8)));
        assert!(i.is_empty());
        // an empty source holds no pickle and is no error
        assert_eq!(walk_all(b"", 10), (BTreeSet::new(), Ok(())));
    }
}
