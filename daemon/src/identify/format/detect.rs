//! The sniffing entry points: open a file safely, read its head, pick the parser by
//! magic bytes (never by name), then compare with what the name claims.
//!
//! A path is checked with `stat` before it is opened (a FIFO would block `open`), then
//! opened with `O_NONBLOCK | O_NOCTTY` (and `O_NOATIME` where allowed) and checked again
//! with `fstat`, so a file swapped for a FIFO in between cannot block either.
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::ext::{compatible, from_extension};
use super::io::Src;
use super::{binary, gguf, npy, onnx, safetensors, template, text, tflite, zip, Format, Sniffed};

/// Sniffs the file at `path`. Never panics and never blocks on special files; I/O
/// failures come back as `error` (`"not found"`, `"permission denied"`,
/// `"not a regular file"`, `"empty file"`, ...) with `format` set to what the name
/// claims, if anything.
pub fn sniff(path: &Path) -> Sniffed {
    sniff_as(path, path)
}

/// Like [`sniff`], but the claimed format comes from `named` (the path the program
/// opened, e.g. a Hugging Face snapshot link) while the bytes are read from `path` (the
/// link's target blob, whose name carries no extension).
pub fn sniff_as(path: &Path, named: &Path) -> Sniffed {
    let name = named.to_string_lossy();
    let claimed = from_extension(&name);
    let fail = |why: String| Sniffed::failed(claimed.unwrap_or(Format::Unknown), why);
    match std::fs::metadata(path) {
        Err(e) => return fail(io_reason(&e)),
        Ok(m) if !m.is_file() => return fail("not a regular file".into()),
        Ok(_) => {}
    }
    let file = match open(path) {
        Ok(f) => f,
        Err(e) => return fail(io_reason(&e)),
    };
    let len = match file.metadata() {
        Err(e) => return fail(io_reason(&e)),
        Ok(m) if !m.is_file() => return fail("not a regular file".into()),
        Ok(m) => m.len(),
    };
    sniff_reader(file, len, &name)
}

/// Sniffs `len` bytes readable from `reader`; `name` is the file name or path whose
/// extension gives the claimed format.
pub fn sniff_reader<R: Read + Seek>(mut reader: R, len: u64, name: &str) -> Sniffed {
    let claimed = from_extension(name);
    let fail = |why: String| Sniffed::failed(claimed.unwrap_or(Format::Unknown), why);
    if len == 0 {
        return fail("empty file".into());
    }
    let mut src = match Src::new(&mut reader, len) {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()),
    };
    if src.len() == 0 {
        return fail("empty file".into());
    }
    let mut s = detect(&mut src, claimed);
    if s.format == Format::Json
        && template::is_tokenizer_config(name)
        && len <= template::MAX_CONFIG
        && reader.seek(std::io::SeekFrom::Start(0)).is_ok()
    {
        let mut doc = Vec::new();
        if (&mut reader).take(len).read_to_end(&mut doc).is_ok() {
            template::from_tokenizer_config(&doc, &mut s.fields);
        }
    }
    match claimed {
        Some(c) if !compatible(c, s.format) => s.mismatch = Some(c),
        // `.bin` is a catch-all name: unknown content is no surprise there.
        Some(c) if s.format == Format::Unknown && !c.is_text() && !is_bin(name) => {
            if s.error.is_none() || is_binary_note(&s) {
                s.error = Some(format!("unrecognized header for a {c} file"));
            }
        }
        Some(c) if c.is_text() => {}
        _ => {
            // Unrecognized binary with no specific claim is simply unknown.
            if is_binary_note(&s) {
                s.error = None;
            }
        }
    }
    s
}

fn is_bin(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".bin")
}

/// Whether the only problem noted is that the head is not text.
fn is_binary_note(s: &Sniffed) -> bool {
    s.format == Format::Unknown
        && s.error
            .as_deref()
            .is_some_and(|e| e.starts_with("binary content"))
}

/// Sniffs a whole file held in memory (tests, fuzzing).
pub fn sniff_bytes(data: &[u8], name: &str) -> Sniffed {
    sniff_reader(std::io::Cursor::new(data), data.len() as u64, name)
}

/// Picks the parser from the head's magic bytes.
fn detect(src: &mut Src, claimed: Option<Format>) -> Sniffed {
    let head = src.head();
    if head.starts_with(b"GGUF") {
        return gguf::parse(src);
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return zip::parse(src);
    }
    if let Some(s) = binary::hdf5(head) {
        return s;
    }
    if head.get(257..262) == Some(b"ustar") {
        return Sniffed::new(Format::Tar);
    }
    if head.starts_with(npy::MAGIC) {
        return npy::parse(src);
    }
    if let Some(s) = binary::parquet(src) {
        return s;
    }
    if let Some(s) = binary::arrow(src) {
        return s;
    }
    let head = src.head();
    if tflite::looks_like(head) {
        return tflite::parse(src);
    }
    if safetensors::looks_like(head, src.len()) {
        return safetensors::parse(src);
    }
    if let Some(s) = binary::pickle(head) {
        return s;
    }
    if safetensors::looks_damaged(head, claimed == Some(Format::Safetensors)) {
        return safetensors::parse(src);
    }
    if onnx::looks_like(head) {
        if let Some(s) = onnx::parse(src) {
            return s;
        }
    }
    let complete = src.head_is_all();
    if claimed == Some(Format::Protobuf) && text::binary_reason(src.head(), complete).is_some() {
        if let Some(s) = onnx::parse_protobuf(src) {
            return s;
        }
    }
    text::classify(src.head(), complete, claimed)
}

/// Opens for reading without blocking on FIFOs or taking a controlling terminal, and
/// without touching the access time when the kernel allows it (owner or root).
fn open(path: &Path) -> std::io::Result<File> {
    let flags = libc::O_NONBLOCK | libc::O_NOCTTY;
    let res = OpenOptions::new()
        .read(true)
        .custom_flags(flags | libc::O_NOATIME)
        .open(path);
    match res {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            OpenOptions::new().read(true).custom_flags(flags).open(path)
        }
        r => r,
    }
}

/// The short error text for an I/O failure.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "not found".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn dispatches_by_content() {
        let st = {
            let j = br#"{"__metadata__":{"license":"mit"}}"#;
            let mut v = (j.len() as u64).to_le_bytes().to_vec();
            v.extend_from_slice(j);
            v
        };
        let s = sniff_bytes(&st, "model.safetensors");
        assert_eq!(
            (s.format, s.mismatch, s.error),
            (Format::Safetensors, None, None)
        );
        let s = sniff_bytes(&st, "weights.bin");
        assert_eq!(s.format, Format::Safetensors);
        assert_eq!(s.mismatch, Some(Format::PytorchZip));
        let s = sniff_bytes(&st, "noext");
        assert_eq!((s.format, s.mismatch), (Format::Safetensors, None));

        let g = gguf::tests::gguf(1, &gguf::tests::kv_str("general.name", "g"));
        assert_eq!(sniff_bytes(&g, "m.gguf").fields["general.name"], "g");
        let z = zip::tests::make_zip(&[("archive/data.pkl", b"\x80\x02.")]);
        let s = sniff_bytes(&z, "m.pt");
        assert_eq!((s.format, s.mismatch), (Format::PytorchZip, None));
        let s = sniff_bytes(b"\x80\x02}q\x00.", "m.pth");
        assert_eq!((s.format, s.mismatch), (Format::Pickle, None));
        let s = sniff_bytes(b"{\"model_type\": \"bert\"}", "tokenizer.json");
        assert_eq!((s.format, s.mismatch), (Format::Json, None));
    }

    #[test]
    fn pickle_named_safetensors_is_a_mismatch() {
        let s = sniff_bytes(
            b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94.",
            "evil.safetensors",
        );
        assert_eq!(s.format, Format::Pickle);
        assert_eq!(s.mismatch, Some(Format::Safetensors));
    }

    #[test]
    fn unknown_content() {
        let s = sniff_bytes(b"\x01\x02\x03\x00garbage", "m.safetensors");
        assert_eq!((s.format, s.mismatch), (Format::Unknown, None));
        assert_eq!(
            s.error.as_deref(),
            Some("unrecognized header for a safetensors file")
        );
        let s = sniff_bytes(b"\x01\x02\x03\x00garbage", "pytorch_model.bin");
        assert_eq!((s.format, s.error), (Format::Unknown, None));
        let s = sniff_bytes(b"\x01\x02\x03\x00garbage", "blob");
        assert_eq!((s.format, s.error), (Format::Unknown, None));
        let s = sniff_bytes(b"a,b\x00\n", "d.csv");
        assert_eq!(s.format, Format::Unknown);
        assert!(s.error.unwrap().starts_with("binary content"));
        let s = sniff_bytes(b"", "x.gguf");
        assert_eq!(
            (s.format, s.error.as_deref()),
            (Format::Gguf, Some("empty file"))
        );
    }

    #[test]
    fn hostile_headers_through_dispatch() {
        let mut v = (1u64 << 63).to_le_bytes().to_vec();
        v.extend(b"{}");
        let s = sniff_bytes(&v, "x");
        assert_eq!(s.format, Format::Safetensors);
        assert!(s.error.unwrap().contains("exceeds cap"));
        let s = sniff_bytes(&gguf::tests::gguf(1_000_000_000, &[]), "x");
        assert!(s.error.unwrap().contains("exceeds cap"));
        let s = sniff_bytes(b"GGUF", "x");
        assert_eq!(s.error.as_deref(), Some("truncated GGUF header"));
        // Text that happens to have `{` at byte 8 stays text.
        let s = sniff_bytes(b"        {\"a\": 1}", "x");
        assert_eq!(s.format, Format::Json);
    }

    /// A sparse virtual file: `prefix`, zeros, then `suffix`, counting bytes read.
    struct Sparse {
        prefix: Vec<u8>,
        suffix: Vec<u8>,
        len: u64,
        pos: u64,
        read: std::rc::Rc<std::cell::Cell<u64>>,
    }

    impl Read for Sparse {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = (buf.len() as u64).min(self.len.saturating_sub(self.pos)) as usize;
            let tail = self.len - self.suffix.len() as u64;
            for (i, b) in buf[..n].iter_mut().enumerate() {
                let at = self.pos + i as u64;
                *b = if at < self.prefix.len() as u64 {
                    self.prefix[at as usize]
                } else if at >= tail {
                    self.suffix[(at - tail) as usize]
                } else {
                    0
                };
            }
            self.pos += n as u64;
            self.read.set(self.read.get() + n as u64);
            Ok(n)
        }
    }

    impl Seek for Sparse {
        fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
            self.pos = match to {
                std::io::SeekFrom::Start(p) => p,
                std::io::SeekFrom::End(d) => self.len.saturating_add_signed(d),
                std::io::SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
            };
            Ok(self.pos)
        }
    }

    fn sparse(prefix: Vec<u8>, suffix: Vec<u8>, len: u64, name: &str) -> (Sniffed, u64) {
        let read = std::rc::Rc::default();
        let r = Sparse {
            prefix,
            suffix,
            len,
            pos: 0,
            read: std::rc::Rc::clone(&read),
        };
        (sniff_reader(r, len, name), read.get())
    }

    #[test]
    fn huge_files_are_read_only_at_the_header() {
        // A 10 GiB safetensors file.
        let json = br#"{"__metadata__":{"license":"mit"}}"#;
        let mut pre = (json.len() as u64).to_le_bytes().to_vec();
        pre.extend_from_slice(json);
        let (s, read) = sparse(pre, vec![], 10 << 30, "m.safetensors");
        assert_eq!((s.format, s.error), (Format::Safetensors, None));
        assert!(read <= 64 << 10, "read {read} bytes");

        // A 5 GiB ONNX graph, skipped to reach metadata_props after it.
        let graph = 5u64 << 30;
        let mut pre = vec![0x08, 0x08, 0x3a];
        let mut n = graph;
        while n >= 0x80 {
            pre.push((n as u8) | 0x80);
            n >>= 7;
        }
        pre.push(n as u8);
        let suffix = b"\x72\x0e\x0a\x07license\x12\x03mit".to_vec();
        let len = pre.len() as u64 + graph + suffix.len() as u64;
        let (s, read) = sparse(pre, suffix, len, "m.onnx");
        assert_eq!((s.format, s.error), (Format::Onnx, None));
        assert_eq!(s.fields["metadata.license"], "mit");
        assert!(read <= 256 << 10, "read {read} bytes");
    }

    #[test]
    fn files() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("e.safetensors");
        std::fs::write(&empty, b"").unwrap();
        let s = sniff(&empty);
        assert_eq!(
            (s.format, s.error.as_deref()),
            (Format::Safetensors, Some("empty file"))
        );

        let gone = dir.path().join("gone.gguf");
        std::fs::write(&gone, b"GGUF").unwrap();
        std::fs::remove_file(&gone).unwrap();
        let s = sniff(&gone);
        assert_eq!(
            (s.format, s.error.as_deref()),
            (Format::Gguf, Some("not found"))
        );

        let s = sniff(dir.path());
        assert_eq!(s.error.as_deref(), Some("not a regular file"));
        let s = sniff(Path::new("/dev/null"));
        assert_eq!(s.error.as_deref(), Some("not a regular file"));

        let ok = dir.path().join("c.json");
        std::fs::write(&ok, br#"{"model_type": "gpt2"}"#).unwrap();
        assert_eq!(sniff(&ok).fields["model_type"], "gpt2");
    }

    #[test]
    fn fifo_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.safetensors");
        let c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let s = sniff(&fifo);
        assert_eq!(s.format, Format::Safetensors);
        assert_eq!(s.error.as_deref(), Some("not a regular file"));
    }

    #[test]
    fn permission_denied() {
        assert_eq!(
            io_reason(&std::io::Error::from(std::io::ErrorKind::PermissionDenied)),
            "permission denied"
        );
        // Root bypasses file permissions (tests usually run as root here), so the real
        // check only runs for other users.
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            eprintln!("skipping real permission-denied check: running as root");
            return;
        }
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret.onnx");
        std::fs::write(&p, b"\x08\x07").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
        let s = sniff(&p);
        assert_eq!(
            (s.format, s.error.as_deref()),
            (Format::Onnx, Some("permission denied"))
        );
    }
}
