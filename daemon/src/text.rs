//! Text forms of model values shared by the sinks and the control API.
use std::time::SystemTime;

/// Path bytes as a string: UTF-8 as is, other bytes escaped as `\xNN`, so that any path
/// survives JSON and terminals without loss or panic.
pub fn path_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// RFC 3339 with nanoseconds, UTC.
pub fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_and_newlines_survive() {
        assert_eq!(path_string(b"/m/a\xffb.gguf"), "/m/a\\xffb.gguf");
        assert_eq!(path_string("/m/é\n.bin".as_bytes()), "/m/é\n.bin");
    }
}
