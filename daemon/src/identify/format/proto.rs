//! A minimal protobuf wire-format reader: varints, tags, and skipping of any field
//! (groups included, to a bounded depth). Works on a streamed [`Stream`] (large
//! length-delimited fields are skipped by seeking) or an in-memory [`Slice`].
//!
//! Hand-written rather than `prost`/`protobuf`: sniffing needs a handful of top-level
//! fields and must skip gigabytes of graph without decoding it, which generated code
//! does not do; the wire format is small enough to read directly.
use super::io::{invalid, Error, Stream};

/// Deepest group nesting skipped.
const MAX_GROUP_DEPTH: u32 = 32;

/// Wire types.
pub(crate) const VARINT: u8 = 0;
pub(crate) const I64: u8 = 1;
pub(crate) const LEN: u8 = 2;
const SGROUP: u8 = 3;
const EGROUP: u8 = 4;
pub(crate) const I32: u8 = 5;

/// A byte source for the wire reader.
pub(crate) trait Wire {
    fn byte(&mut self) -> Result<u8, Error>;
    /// Reads `n` bytes (the caller bounds `n`).
    fn take(&mut self, n: u64) -> Result<Vec<u8>, Error>;
    fn skip(&mut self, n: u64) -> Result<(), Error>;
    fn at_end(&self) -> bool;
}

impl Wire for Stream<'_, '_> {
    fn byte(&mut self) -> Result<u8, Error> {
        self.u8()
    }
    fn take(&mut self, n: u64) -> Result<Vec<u8>, Error> {
        self.bytes(n)
    }
    fn skip(&mut self, n: u64) -> Result<(), Error> {
        Stream::skip(self, n)
    }
    fn at_end(&self) -> bool {
        self.remaining() == 0
    }
}

/// An in-memory message.
pub(crate) struct Slice<'a> {
    data: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Slice<'a> {
    pub(crate) fn new(data: &'a [u8], what: &'static str) -> Self {
        Slice { data, pos: 0, what }
    }

    fn rest(&self) -> usize {
        self.data.len() - self.pos
    }
}

impl Wire for Slice<'_> {
    fn byte(&mut self) -> Result<u8, Error> {
        let b = *self.data.get(self.pos).ok_or(Error::Truncated(self.what))?;
        self.pos += 1;
        Ok(b)
    }
    fn take(&mut self, n: u64) -> Result<Vec<u8>, Error> {
        if n > self.rest() as u64 {
            return Err(Error::Truncated(self.what));
        }
        let v = self.data[self.pos..self.pos + n as usize].to_vec();
        self.pos += n as usize;
        Ok(v)
    }
    fn skip(&mut self, n: u64) -> Result<(), Error> {
        if n > self.rest() as u64 {
            return Err(Error::Truncated(self.what));
        }
        self.pos += n as usize;
        Ok(())
    }
    fn at_end(&self) -> bool {
        self.rest() == 0
    }
}

/// Reads a base-128 varint (at most 10 bytes).
pub(crate) fn varint(w: &mut dyn Wire) -> Result<u64, Error> {
    let mut v = 0u64;
    for i in 0..10 {
        let b = w.byte()?;
        if i == 9 && b > 1 {
            return invalid("protobuf varint overflows 64 bits");
        }
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    invalid("protobuf varint overflows 64 bits")
}

/// Reads a tag: (field number, wire type).
pub(crate) fn tag(w: &mut dyn Wire) -> Result<(u32, u8), Error> {
    let v = varint(w)?;
    let field = v >> 3;
    let wt = (v & 7) as u8;
    if field == 0 || field > (1 << 29) - 1 || wt > I32 {
        return invalid(format!("invalid protobuf tag {v}"));
    }
    Ok((field as u32, wt))
}

/// Skips the value of a field whose tag was just read.
pub(crate) fn skip(w: &mut dyn Wire, field: u32, wt: u8) -> Result<(), Error> {
    skip_at(w, field, wt, 0)
}

fn skip_at(w: &mut dyn Wire, field: u32, wt: u8, depth: u32) -> Result<(), Error> {
    match wt {
        VARINT => varint(w).map(drop),
        I64 => w.skip(8),
        LEN => {
            let n = varint(w)?;
            w.skip(n)
        }
        SGROUP => {
            if depth >= MAX_GROUP_DEPTH {
                return invalid("protobuf groups nested too deeply");
            }
            loop {
                let (f, t) = tag(w)?;
                if t == EGROUP {
                    if f == field {
                        return Ok(());
                    }
                    return invalid("mismatched protobuf end group");
                }
                skip_at(w, f, t, depth + 1)?;
            }
        }
        EGROUP => invalid("unexpected protobuf end group"),
        I32 => w.skip(4),
        _ => invalid(format!("invalid protobuf wire type {wt}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        let mut s = Slice::new(&[0xac, 0x02], "t");
        assert_eq!(varint(&mut s).unwrap(), 300);
        let mut s = Slice::new(&[0xff; 11], "t");
        assert!(varint(&mut s).is_err());
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(varint(&mut Slice::new(&max, "t")).unwrap(), u64::MAX);
        assert!(varint(&mut Slice::new(&[0x80], "t")).is_err());
    }

    #[test]
    fn groups() {
        // field 1 start group { field 2 varint 5 } end group 1, then field 3 varint.
        let data = [0x0b, 0x10, 0x05, 0x0c, 0x18, 0x01];
        let mut s = Slice::new(&data, "t");
        let (f, t) = tag(&mut s).unwrap();
        skip(&mut s, f, t).unwrap();
        assert_eq!(tag(&mut s).unwrap(), (3, VARINT));
        let deep: Vec<u8> = std::iter::repeat_n(0x0b, 100).collect();
        let mut s = Slice::new(&deep, "t");
        let (f, t) = tag(&mut s).unwrap();
        assert!(skip(&mut s, f, t).is_err());
        let mut s = Slice::new(&[0x0c], "t");
        let (f, t) = tag(&mut s).unwrap();
        assert!(skip(&mut s, f, t).is_err());
    }
}
