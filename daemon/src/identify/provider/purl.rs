//! Package URLs: segment escaping and the `pkg:generic` form used outside Hugging Face.

/// Percent-encodes one purl segment (keeps `A-Za-z0-9.-_~`).
pub(super) fn purl_seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `pkg:generic/PROVIDER/HUB/HANDLE[@REV]`, each `/`-separated handle part encoded.
pub(super) fn generic_purl(provider: &str, hub: &str, handle: &str, rev: Option<&str>) -> String {
    let mut s = format!("pkg:generic/{}/{}", purl_seg(provider), purl_seg(hub));
    for part in handle.split('/').filter(|p| !p.is_empty()) {
        s.push('/');
        s.push_str(&purl_seg(part));
    }
    if let Some(r) = rev {
        s.push('@');
        s.push_str(&purl_seg(r));
    }
    s
}
