//! Bounded positional reads over a `Read + Seek` source.
//!
//! [`Src`] keeps the file's first bytes (the head every sniffer looks at), a small read
//! window for sequential parsers, and a budget of bytes it may pull in total, so no
//! parser can read more than [`READ_BUDGET`] however hostile the file. Lengths are
//! checked against the file size before anything is allocated.
use std::io::{Read, Seek, SeekFrom};

/// Anything a sniffer can read from.
pub(crate) trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Bytes read up front from every file.
pub(crate) const HEAD_CAP: usize = 64 * 1024;
/// Size of the sequential read window.
const WINDOW: usize = 64 * 1024;
/// Most bytes one sniff may pull from a source (the safetensors JSON cap plus slack).
pub(crate) const READ_BUDGET: u64 = 128 * 1024 * 1024;

/// Why a header read stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The file ends inside the structure being read.
    #[error("truncated {0} header")]
    Truncated(&'static str),
    /// The operating system failed the read.
    #[error("read error: {0}")]
    Io(String),
    /// The per-file read budget is spent.
    #[error("read budget of {READ_BUDGET} bytes exceeded")]
    Budget,
    /// The bytes contradict the format.
    #[error("{0}")]
    Invalid(String),
}

/// Shorthand for an [`Error::Invalid`].
pub(crate) fn invalid<T>(msg: impl Into<String>) -> Result<T, Error> {
    Err(Error::Invalid(msg.into()))
}

/// A sized source with its head cached.
pub(crate) struct Src<'a> {
    inner: &'a mut dyn ReadSeek,
    len: u64,
    head: Vec<u8>,
    win_off: u64,
    win: Vec<u8>,
    pulled: u64,
}

impl<'a> Src<'a> {
    /// Reads the head (up to [`HEAD_CAP`] bytes) of a source of `len` bytes. If the
    /// source turns out shorter (a file shrinking under us), `len` shrinks to match.
    pub(crate) fn new(inner: &'a mut dyn ReadSeek, len: u64) -> Result<Self, Error> {
        let want = len.min(HEAD_CAP as u64) as usize;
        let mut head = vec![0; want];
        inner.seek(SeekFrom::Start(0)).map_err(io_err)?;
        let got = read_full(inner, &mut head)?;
        head.truncate(got);
        let len = if got < want { got as u64 } else { len };
        Ok(Src {
            inner,
            len,
            pulled: got as u64,
            head,
            win_off: 0,
            win: Vec::new(),
        })
    }

    /// The source's size in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The first bytes of the source (all of it when it is small).
    pub(crate) fn head(&self) -> &[u8] {
        &self.head
    }

    /// Whether the head holds the whole source.
    pub(crate) fn head_is_all(&self) -> bool {
        self.head.len() as u64 == self.len
    }

    /// Fills `buf` from offset `off`; `what` names the structure for errors.
    pub(crate) fn read_at(
        &mut self,
        off: u64,
        buf: &mut [u8],
        what: &'static str,
    ) -> Result<(), Error> {
        let n = buf.len() as u64;
        let end = off.checked_add(n).ok_or(Error::Truncated(what))?;
        if end > self.len {
            return Err(Error::Truncated(what));
        }
        if end <= self.head.len() as u64 {
            buf.copy_from_slice(&self.head[off as usize..end as usize]);
            return Ok(());
        }
        let win_end = self.win_off + self.win.len() as u64;
        if off >= self.win_off && end <= win_end {
            let s = (off - self.win_off) as usize;
            buf.copy_from_slice(&self.win[s..s + buf.len()]);
            return Ok(());
        }
        if buf.len() >= WINDOW {
            self.pull(off, buf, what)?;
            return Ok(());
        }
        let want = (self.len - off).min(WINDOW as u64) as usize;
        let mut win = std::mem::take(&mut self.win);
        win.resize(want, 0);
        let res = self.pull(off, &mut win, what);
        self.win = win;
        if let Err(e) = res {
            self.win.clear();
            return Err(e);
        }
        self.win_off = off;
        buf.copy_from_slice(&self.win[..buf.len()]);
        Ok(())
    }

    /// Reads `n` bytes at `off` into a new vector; the length is checked against the
    /// source size before allocating.
    pub(crate) fn bytes_at(
        &mut self,
        off: u64,
        n: u64,
        what: &'static str,
    ) -> Result<Vec<u8>, Error> {
        if off.checked_add(n).is_none_or(|end| end > self.len) {
            return Err(Error::Truncated(what));
        }
        let mut v = vec![0; n as usize];
        self.read_at(off, &mut v, what)?;
        Ok(v)
    }

    /// Reads exactly `buf.len()` bytes at `off` from the underlying source.
    fn pull(&mut self, off: u64, buf: &mut [u8], what: &'static str) -> Result<(), Error> {
        self.pulled = self.pulled.saturating_add(buf.len() as u64);
        if self.pulled > READ_BUDGET {
            return Err(Error::Budget);
        }
        self.inner.seek(SeekFrom::Start(off)).map_err(io_err)?;
        if read_full(self.inner, buf)? < buf.len() {
            return Err(Error::Truncated(what));
        }
        Ok(())
    }
}

/// Reads until `buf` is full or EOF; returns the bytes read.
fn read_full(r: &mut dyn ReadSeek, buf: &mut [u8]) -> Result<usize, Error> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(e)),
        }
    }
    Ok(got)
}

fn io_err(e: std::io::Error) -> Error {
    Error::Io(e.to_string())
}

/// A sequential little-endian reader over a [`Src`].
pub(crate) struct Stream<'s, 'a> {
    src: &'s mut Src<'a>,
    /// Offset of the next byte.
    pub(crate) pos: u64,
    what: &'static str,
}

impl<'s, 'a> Stream<'s, 'a> {
    /// A stream at `pos`; `what` names the format in truncation errors.
    pub(crate) fn new(src: &'s mut Src<'a>, pos: u64, what: &'static str) -> Self {
        Stream { src, pos, what }
    }

    /// Bytes left before the end of the source.
    pub(crate) fn remaining(&self) -> u64 {
        self.src.len().saturating_sub(self.pos)
    }

    /// Reads a fixed-size array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut b = [0; N];
        self.src.read_at(self.pos, &mut b, self.what)?;
        self.pos += N as u64;
        Ok(b)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads `n` bytes (checked against the remaining size before allocating).
    pub(crate) fn bytes(&mut self, n: u64) -> Result<Vec<u8>, Error> {
        let v = self.src.bytes_at(self.pos, n, self.what)?;
        self.pos += n;
        Ok(v)
    }

    /// Skips `n` bytes without reading them.
    pub(crate) fn skip(&mut self, n: u64) -> Result<(), Error> {
        if n > self.remaining() {
            return Err(Error::Truncated(self.what));
        }
        self.pos += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_beyond_head_and_window() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut cur = std::io::Cursor::new(&data[..]);
        let mut src = Src::new(&mut cur, data.len() as u64).unwrap();
        assert_eq!(src.head().len(), HEAD_CAP);
        let mut b = [0u8; 10];
        src.read_at(200_000, &mut b, "t").unwrap();
        assert_eq!(&b[..], &data[200_000..200_010]);
        let big = src.bytes_at(100, 100_000, "t").unwrap();
        assert_eq!(&big[..], &data[100..100_100]);
        assert!(matches!(
            src.read_at(299_995, &mut b, "t"),
            Err(Error::Truncated("t"))
        ));
        assert!(src.bytes_at(u64::MAX - 2, 10, "t").is_err());
    }

    #[test]
    fn shrunk_source_shrinks_len() {
        let data = b"abc";
        let mut cur = std::io::Cursor::new(&data[..]);
        let src = Src::new(&mut cur, 1000).unwrap();
        assert_eq!(src.len(), 3);
        assert!(src.head_is_all());
    }
}
