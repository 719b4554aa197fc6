//! Hub URLs split into host and path segments, for the providers that recognize them.

/// A `http(s)://HOST/SEG/SEG…` URL, query and fragment dropped.
pub(super) struct HubUrl<'a> {
    pub url: &'a str,
    /// Lowercased.
    pub host: String,
    pub segs: Vec<&'a str>,
}

/// Splits `url`; `None` when it is not http(s).
pub(super) fn parse(url: &str) -> Option<HubUrl<'_>> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    Some(HubUrl {
        url,
        host: host.to_ascii_lowercase(),
        segs: path.split('/').filter(|s| !s.is_empty()).collect(),
    })
}
