//! The AI-BOM semantic convention: the one place attribute, event and enum-value names
//! are spelled. The daemon, the query sidecar's SQL, dashboards and tests take names from
//! here and never retype them.
//!
//! Names reuse OpenTelemetry's semantic conventions where one exists (`file.*`,
//! `process.*`, `host.*`, ...); names of our own live under `aibom.*`.
//!
//! The source of truth is the weaver-format registry in `semconv/model/registry/` (and
//! `semconv/records.yaml` for the JSON Lines keys that are not attributes). Everything
//! below that is not a type is generated from it into `src/generated.rs`, and so is
//! `semconv/README.md`; `cargo test -p aibom-semconv` fails when they drift, and
//! `AIBOM_SEMCONV_BLESS=1 cargo test -p aibom-semconv` regenerates both.

/// The value type of an attribute, as the registry declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrType {
    String,
    Int,
    Double,
    Boolean,
    StringArray,
    IntArray,
    DoubleArray,
    BooleanArray,
    /// A string from a list of values ([`AttributeDef::values`]).
    Enum,
}

/// Who owns a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Ours, under `aibom.*`.
    Aibom,
    /// An OpenTelemetry semantic-convention name that aibomd reuses.
    Otel,
}

/// How settled a name is (OpenTelemetry's stability levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stability {
    Development,
    Alpha,
    Beta,
    ReleaseCandidate,
    Stable,
}

/// An OpenTelemetry span kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpanKind {
    Internal,
    Client,
    Server,
    Producer,
    Consumer,
}

/// The instrument a metric is recorded with (synchronous name; aibomd observes them
/// asynchronously).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Instrument {
    Counter,
    Gauge,
    UpDownCounter,
    Histogram,
}

/// One attribute of the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub origin: Origin,
    pub stability: Stability,
    pub brief: &'static str,
    /// The values an enum lists, empty for other types.
    pub values: &'static [&'static str],
}

/// One event (the `EventName` of a log record) and the attributes it may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventDef {
    pub name: &'static str,
    pub brief: &'static str,
    /// Every attribute the event may carry.
    pub attributes: &'static [&'static str],
    /// Those it always carries.
    pub required: &'static [&'static str],
}

/// One span and the attributes it may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanDef {
    pub name: &'static str,
    pub kind: SpanKind,
    pub brief: &'static str,
    pub attributes: &'static [&'static str],
    pub required: &'static [&'static str],
}

/// One metric of aibomd's own telemetry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDef {
    pub name: &'static str,
    pub instrument: Instrument,
    /// UCUM unit (`{event}` for a count of events).
    pub unit: &'static str,
    pub brief: &'static str,
}

/// The definition of attribute `name`, if the registry has it.
pub fn attribute(name: &str) -> Option<&'static AttributeDef> {
    ATTRIBUTE_DEFS
        .binary_search_by(|a| a.name.cmp(name))
        .ok()
        .map(|i| &ATTRIBUTE_DEFS[i])
}

/// The definition of event `name`.
pub fn event_def(name: &str) -> Option<&'static EventDef> {
    EVENT_DEFS.iter().find(|e| e.name == name)
}

/// The definition of span `name`.
pub fn span_def(name: &str) -> Option<&'static SpanDef> {
    SPAN_DEFS.iter().find(|s| s.name == name)
}

/// The definition of metric `name`.
pub fn metric_def(name: &str) -> Option<&'static MetricDef> {
    METRIC_DEFS.iter().find(|m| m.name == name)
}

include!("generated.rs");
