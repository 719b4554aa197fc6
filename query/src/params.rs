//! Validation of request values and the opaque pagination cursor. No ClickHouse needed.
use crate::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};

/// Events per page when `limit` is absent.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest `limit` accepted; more is a 400 (not clamped: a client asking for more should know).
pub const MAX_LIMIT: u32 = 1000;
/// Longest filter value accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 1024;

/// A project id: `^[A-Za-z0-9._-]{1,128}$`, and not `.` or `..`.
pub fn project_id(id: &str) -> Result<&str, ApiError> {
    let ok = (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && id != "."
        && id != "..";
    if ok {
        Ok(id)
    } else {
        Err(ApiError::BadRequest(
            "invalid project id: expected 1-128 characters of A-Z a-z 0-9 . _ -".into(),
        ))
    }
}

/// `limit`: absent -> default; 1..=max; else 400.
pub fn limit(v: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    match v {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::BadRequest(format!(
            "limit {n} out of range: 1..={max}"
        ))),
    }
}

/// An RFC 3339 time as nanoseconds since the epoch.
pub fn time_ns(name: &str, v: &str) -> Result<i64, ApiError> {
    DateTime::parse_from_rfc3339(v)
        .ok()
        .and_then(|t| t.with_timezone(&Utc).timestamp_nanos_opt())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{name}: expected an RFC 3339 time such as 2026-01-31T12:00:00Z"
            ))
        })
}

/// Nanoseconds since the epoch as RFC 3339 UTC with nanoseconds (as aibomd writes times).
pub fn rfc3339(ns: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(ns).to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// A filter value: non-empty (empty means "no filter"), at most [`MAX_FILTER_LEN`] bytes.
pub fn filter<'a>(name: &str, v: &'a Option<String>) -> Result<Option<&'a str>, ApiError> {
    match v.as_deref() {
        None | Some("") => Ok(None),
        Some(s) if s.len() > MAX_FILTER_LEN => Err(ApiError::BadRequest(format!(
            "{name}: longer than {MAX_FILTER_LEN} bytes"
        ))),
        Some(s) => Ok(Some(s)),
    }
}

/// Where a page ends: the (time, event id) of its last event. Encoded opaque.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub time_ns: i64,
    pub event_id: u64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1:{}:{}", self.time_ns, self.event_id))
    }

    pub fn decode(s: &str) -> Result<Self, ApiError> {
        let bad =
            || ApiError::BadRequest("invalid cursor: pass `next` from the previous page".into());
        if s.len() > 128 {
            return Err(bad());
        }
        let raw = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
        let text = String::from_utf8(raw).map_err(|_| bad())?;
        let mut it = text.split(':');
        match (it.next(), it.next(), it.next(), it.next()) {
            (Some("v1"), Some(t), Some(id), None) => Ok(Cursor {
                time_ns: t.parse().map_err(|_| bad())?,
                event_id: id.parse().map_err(|_| bad())?,
            }),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ids() {
        for ok in ["p", "my-project_1.2", &"a".repeat(128), "..."] {
            assert!(project_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "a' OR 1=1 --",
            "é",
            "a b",
            "a%2F",
            &"a".repeat(129),
            &"x".repeat(10_000),
            "日本",
        ] {
            assert!(project_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits() {
        assert_eq!(limit(None, 100, 1000).unwrap(), 100);
        assert_eq!(limit(Some(1000), 100, 1000).unwrap(), 1000);
        assert!(limit(Some(0), 100, 1000).is_err());
        assert!(limit(Some(1001), 100, 1000).is_err());
    }

    #[test]
    fn times() {
        assert_eq!(
            time_ns("since", "1970-01-01T00:00:01.5Z").unwrap(),
            1_500_000_000
        );
        assert_eq!(time_ns("since", "1970-01-01T01:00:00+01:00").unwrap(), 0);
        assert!(time_ns("since", "yesterday").is_err());
        assert_eq!(rfc3339(1_500_000_000), "1970-01-01T00:00:01.500000000Z");
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor {
            time_ns: 1_767_323_045_123_456_789,
            event_id: u64::MAX,
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        let neg = Cursor {
            time_ns: -5,
            event_id: 0,
        };
        assert_eq!(Cursor::decode(&neg.encode()).unwrap(), neg);
        for bad in [
            "",
            "x",
            "djE6",
            &"A".repeat(500),
            "v1:1:2",
            &URL_SAFE_NO_PAD.encode("v2:1:2"),
            &URL_SAFE_NO_PAD.encode("v1:1:2:3"),
            &URL_SAFE_NO_PAD.encode("v1:a:2"),
        ] {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters() {
        assert_eq!(filter("type", &None).unwrap(), None);
        assert_eq!(filter("type", &Some(String::new())).unwrap(), None);
        assert_eq!(
            filter("type", &Some("model".into())).unwrap(),
            Some("model")
        );
        assert!(filter("type", &Some("x".repeat(MAX_FILTER_LEN + 1))).is_err());
    }
}
