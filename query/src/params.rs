//! Validation of request values and the opaque pagination cursor. No ClickHouse needed.
use crate::error::ApiError;
use chrono::{DateTime, SecondsFormat, Utc};

/// Events per page when `limit` is absent.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest `limit` accepted; more is a 400 (not clamped: a client asking for more should know).
pub const MAX_LIMIT: u32 = 1000;
/// Longest filter value accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 1024;

/// [`project_id`]'s rule as one regular expression (ECMA 262, no lookahead), for the OpenAPI
/// document: 1-128 of `A-Za-z0-9._-`, not `.` or `..`.
pub const PROJECT_ID_PATTERN: &str = r"^([A-Za-z0-9_-][A-Za-z0-9._-]{0,127}|\.[A-Za-z0-9_-][A-Za-z0-9._-]{0,126}|\.\.[A-Za-z0-9._-]{1,126})$";

/// The scan ids the API hands out (`uuid` v4, hyphenated, as `Uuid::to_string` writes them).
pub const SCAN_ID_PATTERN: &str =
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

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

/// An RFC 3339 time as nanoseconds since the epoch. Times outside what nanoseconds in an i64
/// hold (before 1677 or after 2262) are clamped to the nearest end: no event is that old or new.
pub fn time_ns(name: &str, v: &str) -> Result<i64, ApiError> {
    DateTime::parse_from_rfc3339(v)
        .ok()
        .map(|t| {
            t.with_timezone(&Utc)
                .timestamp_nanos_opt()
                .unwrap_or(if t.timestamp() < 0 {
                    i64::MIN
                } else {
                    i64::MAX
                })
        })
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

/// A time filter: absent, or an RFC 3339 time as nanoseconds ([`time_ns`]). Unlike the
/// equality filters, an empty value is not "no filter" but an error (the OpenAPI document
/// declares these `date-time`, which `""` is not).
pub fn time_filter(name: &str, v: &Option<String>) -> Result<Option<i64>, ApiError> {
    match v.as_deref() {
        None => Ok(None),
        Some(s) if s.len() > MAX_FILTER_LEN => Err(ApiError::BadRequest(format!(
            "{name}: longer than {MAX_FILTER_LEN} bytes"
        ))),
        Some(s) => time_ns(name, s).map(Some),
    }
}

/// Where a page ends: the (time, event id) of its last event. Encoded opaque.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub time_ns: i64,
    pub event_id: u64,
}

/// The cursor's form: 32 lowercase hex digits (time ns as two's-complement u64, then the
/// event id). Every string of that form is a valid cursor; nothing else is.
pub const CURSOR_PATTERN: &str = "^[0-9a-f]{32}$";

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{:016x}{:016x}", self.time_ns as u64, self.event_id)
    }

    pub fn decode(s: &str) -> Result<Self, ApiError> {
        let bad =
            || ApiError::BadRequest("invalid cursor: pass `next` from the previous page".into());
        if s.len() != 32 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad());
        }
        let time = u64::from_str_radix(&s[..16], 16).map_err(|_| bad())?;
        let id = u64::from_str_radix(&s[16..], 16).map_err(|_| bad())?;
        Ok(Cursor {
            time_ns: time as i64,
            event_id: id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aibom_semconv::artifact_type;

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
    fn the_documented_pattern_is_the_rule() {
        // A tiny matcher for PROJECT_ID_PATTERN's three alternatives, checked against
        // project_id() on edge cases (no regex engine in the build).
        let by_pattern = |s: &str| {
            let ok = |c: u8| c.is_ascii_alphanumeric() || b"._-".contains(&c);
            let b = s.as_bytes();
            let all = b.iter().all(|&c| ok(c));
            let n = b.len();
            all && match b {
                [b'.', b'.', ..] => (3..=128).contains(&n),
                [b'.', ..] => (2..=128).contains(&n),
                [_, ..] => (1..=128).contains(&n),
                [] => false,
            }
        };
        assert!(PROJECT_ID_PATTERN.contains(r"\.\.[A-Za-z0-9._-]{1,126}"));
        for s in [
            "",
            ".",
            "..",
            "...",
            ".a",
            "..a",
            "a",
            "a.",
            "-",
            "_",
            "a/b",
            "é",
            &"a".repeat(128),
            &"a".repeat(129),
            &format!("..{}", "a".repeat(126)),
            &format!("..{}", "a".repeat(127)),
        ] {
            assert_eq!(by_pattern(s), project_id(s).is_ok(), "{s:?}");
        }
    }

    #[test]
    fn far_times_are_clamped() {
        assert_eq!(time_ns("since", "9999-12-31T23:59:59Z").unwrap(), i64::MAX);
        assert_eq!(time_ns("since", "0001-01-01T00:00:00Z").unwrap(), i64::MIN);
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
            &"A".repeat(32),
            &"0".repeat(31),
            &"0".repeat(33),
            &format!("{}+", "0".repeat(31)),
            "v1:1:2",
        ] {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters() {
        assert_eq!(filter("type", &None).unwrap(), None);
        assert_eq!(filter("type", &Some(String::new())).unwrap(), None);
        assert_eq!(
            filter("type", &Some(artifact_type::MODEL.into())).unwrap(),
            Some(artifact_type::MODEL)
        );
        assert!(filter("type", &Some("x".repeat(MAX_FILTER_LEN + 1))).is_err());
    }
}
