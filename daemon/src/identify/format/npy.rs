//! NumPy `.npy`: magic `\x93NUMPY`, a version, a header length (`u16` in v1, `u32` in
//! v2/v3), then a Python dict literal such as
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`, read with a tiny
//! bounded literal parser (never evaluated).
//!
//! Fields: `dtype` (the `descr` string, or the literal for structured dtypes), `shape`
//! (as a JSON array, e.g. `[3,4]`), `fortran_order`, `version` (of the format).
use super::io::{Error, Src};
use super::{put, Format, Sniffed};

/// Magic at offset 0.
pub const MAGIC: &[u8] = b"\x93NUMPY";
/// Largest header accepted.
pub const HEADER_CAP: u64 = 1 << 20;
/// Deepest literal nesting accepted.
const MAX_DEPTH: u32 = 16;

/// Parses a whole `.npy` file held in memory.
pub fn parse_bytes(data: &[u8]) -> Sniffed {
    let mut cur = std::io::Cursor::new(data);
    match Src::new(&mut cur, data.len() as u64) {
        Ok(mut src) => parse(&mut src),
        Err(e) => Sniffed::failed(Format::Npy, e.to_string()),
    }
}

/// Parses a source that starts with [`MAGIC`].
pub(crate) fn parse(src: &mut Src) -> Sniffed {
    let mut out = Sniffed::new(Format::Npy);
    if let Err(e) = read(src, &mut out) {
        out.set_error(e.to_string());
    }
    out
}

fn read(src: &mut Src, out: &mut Sniffed) -> Result<(), Error> {
    let pre = src.bytes_at(0, 8, "npy")?;
    if !pre.starts_with(MAGIC) {
        return Err(Error::Invalid("bad npy magic".into()));
    }
    let (n, at) = match pre[6] {
        1 => {
            let b = src.bytes_at(8, 2, "npy")?;
            (u64::from(u16::from_le_bytes([b[0], b[1]])), 10)
        }
        2 | 3 => {
            let b = src.bytes_at(8, 4, "npy")?;
            (u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])), 12)
        }
        v => return Err(Error::Invalid(format!("unsupported npy version {v}"))),
    };
    put(
        &mut out.fields,
        "version",
        &format!("{}.{}", pre[6], pre[7]),
    );
    if n > HEADER_CAP {
        return Err(Error::Invalid(format!("npy header length {n} exceeds cap")));
    }
    let header = src.bytes_at(at, n, "npy")?;
    let text = String::from_utf8_lossy(&header);
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
    };
    let Lit::Dict(items) = p.value(0)? else {
        return Err(Error::Invalid("npy header is not a dict".into()));
    };
    for (k, v) in items {
        let Lit::Str(k) = k else { continue };
        match (k.as_str(), v) {
            ("descr", Lit::Str(d)) => put(&mut out.fields, "dtype", &d),
            ("descr", other) => put(&mut out.fields, "dtype", &other.render()),
            ("shape", Lit::Seq(_, dims)) => {
                let dims: Option<Vec<String>> = dims
                    .iter()
                    .map(|d| match d {
                        Lit::Int(i) => Some(i.clone()),
                        _ => None,
                    })
                    .collect();
                match dims {
                    Some(d) => put(&mut out.fields, "shape", &format!("[{}]", d.join(","))),
                    None => return Err(Error::Invalid("npy shape is not integers".into())),
                }
            }
            ("fortran_order", Lit::Bool(b)) => {
                put(&mut out.fields, "fortran_order", &b.to_string())
            }
            _ => {}
        }
    }
    Ok(())
}

/// A Python literal.
#[derive(Debug)]
enum Lit {
    Str(String),
    Int(String),
    Bool(bool),
    None,
    /// A tuple (`'('`) or list (`'['`).
    Seq(u8, Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

impl Lit {
    /// Python-like text, for structured dtypes.
    fn render(&self) -> String {
        match self {
            Lit::Str(s) => format!("'{s}'"),
            Lit::Int(i) => i.clone(),
            Lit::Bool(b) => if *b { "True" } else { "False" }.into(),
            Lit::None => "None".into(),
            Lit::Seq(open, items) => {
                let inner: Vec<String> = items.iter().map(Lit::render).collect();
                let (o, c) = if *open == b'(' {
                    ("(", ")")
                } else {
                    ("[", "]")
                };
                let comma = if *open == b'(' && items.len() == 1 {
                    ","
                } else {
                    ""
                };
                format!("{o}{}{comma}{c}", inner.join(", "))
            }
            Lit::Dict(items) => {
                let inner: Vec<String> = items
                    .iter()
                    .map(|(k, v)| format!("{}: {}", k.render(), v.render()))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

fn bad<T>(what: &str) -> Result<T, Error> {
    Err(Error::Invalid(format!("bad npy header: {what}")))
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self
            .s
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.pos).copied()
    }

    fn value(&mut self, depth: u32) -> Result<Lit, Error> {
        if depth > MAX_DEPTH {
            return bad("nested too deeply");
        }
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        return Ok(Lit::Dict(items));
                    }
                    let k = self.value(depth + 1)?;
                    if self.peek() != Some(b':') {
                        return bad("expected ':'");
                    }
                    self.pos += 1;
                    let v = self.value(depth + 1)?;
                    items.push((k, v));
                    self.sep(b'}')?;
                }
            }
            Some(open @ (b'(' | b'[')) => {
                self.pos += 1;
                let close = if open == b'(' { b')' } else { b']' };
                let mut items = Vec::new();
                loop {
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        return Ok(Lit::Seq(open, items));
                    }
                    items.push(self.value(depth + 1)?);
                    self.sep(close)?;
                }
            }
            Some(q @ (b'\'' | b'"')) => {
                self.pos += 1;
                let mut out = Vec::new();
                loop {
                    match self.s.get(self.pos) {
                        None => return bad("unterminated string"),
                        Some(&b) if b == q => break,
                        Some(b'\\') => {
                            self.pos += 1;
                            match self.s.get(self.pos) {
                                Some(&c) => out.push(c),
                                None => return bad("unterminated string"),
                            }
                        }
                        Some(&b) => out.push(b),
                    }
                    self.pos += 1;
                }
                self.pos += 1;
                Ok(Lit::Str(String::from_utf8_lossy(&out).into_owned()))
            }
            Some(_) => {
                let start = self.pos;
                while self
                    .s
                    .get(self.pos)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
                {
                    self.pos += 1;
                }
                let word = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
                match word {
                    "True" => Ok(Lit::Bool(true)),
                    "False" => Ok(Lit::Bool(false)),
                    "None" => Ok(Lit::None),
                    w => {
                        let digits = w.strip_suffix('L').unwrap_or(w);
                        let digits = digits.strip_prefix('-').unwrap_or(digits);
                        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                            Ok(Lit::Int(w.trim_end_matches('L').to_owned()))
                        } else {
                            bad("unexpected token")
                        }
                    }
                }
            }
            None => bad("unexpected end"),
        }
    }

    /// After an item: `,` or the closing bracket (left for the caller).
    fn sep(&mut self, close: u8) -> Result<(), Error> {
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(())
            }
            Some(c) if c == close => Ok(()),
            _ => bad("expected ',' or closing bracket"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str) -> Vec<u8> {
        let mut v = MAGIC.to_vec();
        v.extend([1, 0]);
        v.extend((header.len() as u16).to_le_bytes());
        v.extend(header.as_bytes());
        v
    }

    #[test]
    fn reads_header() {
        let s = parse_bytes(&npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }   \n",
        ));
        assert_eq!(s.error, None);
        assert_eq!(s.fields["dtype"], "<f4");
        assert_eq!(s.fields["shape"], "[3,4]");
        assert_eq!(s.fields["fortran_order"], "false");
        let s = parse_bytes(&npy(
            "{'descr': [('a', '<i4'), ('b', '<f8')], 'fortran_order': True, 'shape': (), }",
        ));
        assert_eq!(s.error, None);
        assert_eq!(s.fields["dtype"], "[('a', '<i4'), ('b', '<f8')]");
        assert_eq!(s.fields["shape"], "[]");
    }

    #[test]
    fn hostile() {
        assert!(parse_bytes(&npy("{'descr': '<f4'")).error.is_some());
        assert!(parse_bytes(&npy(&"(".repeat(1000))).error.is_some());
        assert!(parse_bytes(&npy("{'shape': (a, b)}")).error.is_some());
        let mut v = MAGIC.to_vec();
        v.extend([2, 0]);
        v.extend(u32::MAX.to_le_bytes());
        let s = parse_bytes(&v);
        assert!(s.error.unwrap().contains("exceeds cap"));
        let s = parse_bytes(&MAGIC[..5]);
        assert_eq!(s.error.as_deref(), Some("truncated npy header"));
        let mut v = MAGIC.to_vec();
        v.extend([1, 0, 100, 0]);
        assert_eq!(
            parse_bytes(&v).error.as_deref(),
            Some("truncated npy header")
        );
    }
}
