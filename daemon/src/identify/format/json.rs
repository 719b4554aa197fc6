//! A bounded JSON prefix scanner: the top-level keys of a document, a few values, and
//! whether the document ended inside the text, without building a tree.
//!
//! Works on a cut-off head (a multi-megabyte `tokenizer.json` is judged by its first
//! 64 KiB): running out of text is not an error, it leaves the summary incomplete.
//! Nested values are skipped iteratively (no recursion), so depth cannot overflow the
//! stack. Validation is loose; whole documents are re-checked with `serde_json`.
use std::collections::BTreeMap;

/// Most top-level keys kept.
const MAX_KEYS: usize = 256;
/// Most strings kept from one top-level array.
const MAX_ARRAY: usize = 64;

/// What a scan saw.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    /// The document is an object (not an array).
    pub object: bool,
    /// Top-level keys in order.
    pub keys: Vec<String>,
    /// Top-level scalar values as text (strings unescaped).
    pub scalars: BTreeMap<String, String>,
    /// Top-level arrays, as their string elements.
    pub arrays: BTreeMap<String, Vec<String>>,
    /// Keys of a top-level `"model"` object.
    pub model_keys: Vec<String>,
    /// `model.type`, when a string.
    pub model_type: Option<String>,
    /// Number of entries in a top-level `"mcpServers"` object, once it closed.
    pub mcp_servers: Option<usize>,
    /// The document ended within the text.
    pub complete: bool,
    /// Byte offset just past the document, when complete.
    pub end: usize,
}

enum Stop {
    /// The text ran out.
    Eof,
    /// Not JSON; the byte offset.
    Syntax(usize),
}

type R<T> = Result<T, Stop>;

/// Scans the JSON document at the start of `text` (leading whitespace allowed).
/// `Err` carries the offset of the first byte that cannot be JSON.
pub fn scan(text: &str) -> Result<Summary, usize> {
    let mut sum = Summary::default();
    let mut p = P {
        b: text.as_bytes(),
        pos: 0,
    };
    match p.document(&mut sum) {
        Ok(()) => {
            sum.complete = true;
            sum.end = p.pos;
            Ok(sum)
        }
        Err(Stop::Eof) => Ok(sum),
        Err(Stop::Syntax(at)) => Err(at),
    }
}

struct P<'a> {
    b: &'a [u8],
    pos: usize,
}

impl P<'_> {
    fn document(&mut self, sum: &mut Summary) -> R<()> {
        match self.peek()? {
            b'[' => self.skip_value(),
            b'{' => {
                sum.object = true;
                self.object(&mut |p, key| p.top_entry(sum, key))
            }
            _ => Err(self.syntax()),
        }
    }

    fn top_entry(&mut self, sum: &mut Summary, key: String) -> R<()> {
        if sum.keys.len() < MAX_KEYS {
            sum.keys.push(key.clone());
        }
        match (key.as_str(), self.peek()?) {
            ("model", b'{') => self.object(&mut |p, k| {
                if k == "type" && p.peek()? == b'"' {
                    sum.model_type = Some(p.string()?);
                } else {
                    p.skip_value()?;
                }
                if sum.model_keys.len() < MAX_KEYS {
                    sum.model_keys.push(k);
                }
                Ok(())
            }),
            ("mcpServers", b'{') => {
                let mut n = 0;
                self.object(&mut |p, _| {
                    n += 1;
                    p.skip_value()
                })?;
                sum.mcp_servers = Some(n);
                Ok(())
            }
            (_, b'[') => {
                let items = self.string_array()?;
                sum.arrays.insert(key, items);
                Ok(())
            }
            (_, b'{') => self.skip_value(),
            _ => {
                let v = self.scalar()?;
                sum.scalars.insert(key, v);
                Ok(())
            }
        }
    }

    fn syntax(&self) -> Stop {
        Stop::Syntax(self.pos)
    }

    /// The next non-space byte (not consumed).
    fn peek(&mut self) -> R<u8> {
        while let Some(b) = self.b.get(self.pos) {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Ok(*b);
            }
            self.pos += 1;
        }
        Err(Stop::Eof)
    }

    fn next(&mut self) -> R<u8> {
        let b = *self.b.get(self.pos).ok_or(Stop::Eof)?;
        self.pos += 1;
        Ok(b)
    }

    fn expect(&mut self, c: u8) -> R<()> {
        if self.peek()? != c {
            return Err(self.syntax());
        }
        self.pos += 1;
        Ok(())
    }

    /// `{ "key": value, ... }`, calling `entry` with each key and the value unread.
    fn object(&mut self, entry: &mut dyn FnMut(&mut Self, String) -> R<()>) -> R<()> {
        self.expect(b'{')?;
        if self.peek()? == b'}' {
            self.pos += 1;
            return Ok(());
        }
        loop {
            if self.peek()? != b'"' {
                return Err(self.syntax());
            }
            let key = self.string()?;
            self.expect(b':')?;
            self.peek()?;
            entry(self, key)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.syntax()),
            }
        }
    }

    /// `[ ... ]`, keeping string elements.
    fn string_array(&mut self) -> R<Vec<String>> {
        self.expect(b'[')?;
        let mut out = Vec::new();
        if self.peek()? == b']' {
            self.pos += 1;
            return Ok(out);
        }
        loop {
            if self.peek()? == b'"' && out.len() < MAX_ARRAY {
                out.push(self.string()?);
            } else {
                self.skip_value()?;
            }
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => return Err(self.syntax()),
            }
        }
    }

    /// A string, unescaped (the opening quote is next).
    fn string(&mut self) -> R<String> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while self
                .b
                .get(self.pos)
                .is_some_and(|&b| b != b'"' && b != b'\\')
            {
                self.pos += 1;
            }
            let chunk = self.b.get(start..self.pos).ok_or(Stop::Eof)?;
            // The input is a &str and the chunk ends before an ASCII byte or the end.
            out.push_str(std::str::from_utf8(chunk).map_err(|_| self.syntax())?);
            match self.next()? {
                b'"' => return Ok(out),
                _ => match self.next()? {
                    b'"' => out.push('"'),
                    b'\\' => out.push('\\'),
                    b'/' => out.push('/'),
                    b'b' => out.push('\u{8}'),
                    b'f' => out.push('\u{c}'),
                    b'n' => out.push('\n'),
                    b'r' => out.push('\r'),
                    b't' => out.push('\t'),
                    b'u' => {
                        let hi = self.hex4()?;
                        let c = if (0xd800..0xdc00).contains(&hi)
                            && self.b.get(self.pos..self.pos + 2) == Some(b"\\u")
                        {
                            self.pos += 2;
                            match self.hex4()? {
                                lo @ 0xdc00..0xe000 => {
                                    0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                                }
                                _ => 0xfffd,
                            }
                        } else {
                            hi
                        };
                        out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                    }
                    _ => return Err(Stop::Syntax(self.pos - 1)),
                },
            }
        }
    }

    fn hex4(&mut self) -> R<u32> {
        let mut v = 0;
        for _ in 0..4 {
            let d = (self.next()? as char)
                .to_digit(16)
                .ok_or(Stop::Syntax(self.pos - 1))?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    /// A number, `true`, `false` or `null`, as text; or a string.
    fn scalar(&mut self) -> R<String> {
        if self.peek()? == b'"' {
            return self.string();
        }
        let start = self.pos;
        while self
            .b
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            self.pos += 1;
        }
        if self.pos == self.b.len() {
            return Err(Stop::Eof);
        }
        let word = std::str::from_utf8(&self.b[start..self.pos]).unwrap_or("");
        let number =
            word.parse::<f64>().is_ok() && !word.starts_with(['+', '.', 'i', 'I', 'n', 'N']);
        if number || matches!(word, "true" | "false" | "null") {
            Ok(word.to_owned())
        } else {
            Err(Stop::Syntax(start))
        }
    }

    /// Skips one value of any depth, iteratively.
    fn skip_value(&mut self) -> R<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                        }
                        b'{' | b'[' => {
                            depth += 1;
                            self.pos += 1;
                        }
                        b'}' | b']' => {
                            depth -= 1;
                            self.pos += 1;
                            if depth == 0 {
                                return Ok(());
                            }
                        }
                        b',' | b':' => self.pos += 1,
                        _ => {
                            self.scalar()?;
                        }
                    }
                }
            }
            _ => self.scalar().map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarizes_objects() {
        let s = scan(
            r#" {"model_type": "llama", "architectures": ["LlamaForCausalLM"],
                "n": -1.5e3, "ok": true, "nested": {"a": [1, {"b": "}"}]},
                "model": {"type": "BPE", "vocab": {"a": 0}},
                "mcpServers": {"x": {}, "y": {"command": "z"}}} trailing"#,
        )
        .unwrap();
        assert!(s.complete && s.object);
        assert_eq!(s.scalars["model_type"], "llama");
        assert_eq!(s.scalars["n"], "-1.5e3");
        assert_eq!(s.scalars["ok"], "true");
        assert_eq!(s.arrays["architectures"], ["LlamaForCausalLM"]);
        assert_eq!(s.model_type.as_deref(), Some("BPE"));
        assert_eq!(s.model_keys, ["type", "vocab"]);
        assert_eq!(s.mcp_servers, Some(2));
    }

    #[test]
    fn prefix_is_incomplete_not_an_error() {
        let s = scan(r#"{"version": "1.0", "added_tokens": [{"id": 0, "content": "<s"#).unwrap();
        assert!(!s.complete);
        assert_eq!(s.keys, ["version", "added_tokens"]);
        let s = scan(r#"{"a": "\ud83d\ude00\u00e9\n"}"#).unwrap();
        assert_eq!(s.scalars["a"], "😀é\n");
        assert!(!scan(r#"{"a": 12"#).unwrap().complete);
    }

    #[test]
    fn rejects_non_json() {
        assert!(scan("{{ user }}").is_err());
        assert!(scan("{% if x %}").is_err());
        assert!(scan("hello").is_err());
        assert!(scan(r#"{"a": nope}"#).is_err());
        assert!(scan(r#"{"a": "\q"}"#).is_err());
        assert!(scan(r#"{"a" 1}"#).is_err());
        assert!(!scan(&"[".repeat(100_000)).unwrap().complete);
        assert!(scan(&format!("{}{}", "[".repeat(1000), "]".repeat(1001))).is_ok());
    }
}
