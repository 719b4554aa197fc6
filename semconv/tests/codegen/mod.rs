//! The semantic-convention generator: reads the weaver-format registry in
//! `semconv/model/registry/*.yaml` (plus the JSON Lines record keys in
//! `semconv/records.yaml`), checks it, and renders `semconv/src/generated.rs` and
//! `semconv/README.md`.
//!
//! It runs as part of `cargo test -p aibom-semconv` (see `tests/registry.rs`), so the
//! crate itself has no dependencies and no build script.
//!
//! Only the subset of weaver's syntax this registry uses is understood; anything else is
//! an error rather than silently ignored (`deny_unknown_fields`).
pub mod lint;
pub mod markdown;
pub mod rust;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_norway::Value;

/// Environment variable that makes the drift tests rewrite the generated files.
pub const BLESS_VAR: &str = "AIBOM_SEMCONV_BLESS";
/// The command that regenerates everything.
pub const BLESS_CMD: &str = "AIBOM_SEMCONV_BLESS=1 cargo test -p aibom-semconv";

/// `semconv/`.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------
// Raw YAML (weaver v1 `groups` syntax, the parts we use).

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    groups: Vec<RawGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    brief: String,
    #[serde(default)]
    note: String,
    stability: Option<String>,
    display_name: Option<String>,
    extends: Option<String>,
    #[serde(default)]
    attributes: Vec<RawAttr>,
    #[serde(default)]
    annotations: Annotations,
    span_kind: Option<String>,
    #[serde(default)]
    events: Vec<String>,
    name: Option<String>,
    body: Option<RawBody>,
    metric_name: Option<String>,
    instrument: Option<String>,
    unit: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Annotations {
    aibom: Option<AibomAnnotations>,
    rust: Option<RustAnnotations>,
}

/// `annotations: aibom:` — meaning.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AibomAnnotations {
    /// `otel` on groups that re-declare OpenTelemetry attributes.
    origin: Option<String>,
}

/// `annotations: rust:` — code-generation hints, for names that predate the rule.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RustAnnotations {
    /// The constant's name, instead of the derived one.
    name: Option<String>,
    /// The module of an enum's value constants, instead of the derived one.
    values_module: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttr {
    id: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<String>,
    #[serde(rename = "type")]
    ty: Option<RawType>,
    brief: Option<String>,
    note: Option<String>,
    examples: Option<Value>,
    stability: Option<String>,
    requirement_level: Option<RawRequirement>,
    #[serde(default)]
    annotations: Annotations,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawType {
    Simple(String),
    Enum { members: Vec<RawMember> },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMember {
    id: String,
    value: Value,
    brief: Option<String>,
    note: Option<String>,
    stability: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawRequirement {
    Level(String),
    Conditional(BTreeMap<String, String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBody {
    id: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    brief: String,
    stability: Option<String>,
    requirement_level: Option<String>,
    examples: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecords {
    records: Vec<RawRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    key: String,
    #[serde(rename = "type")]
    ty: String,
    brief: String,
    #[serde(default)]
    note: String,
    examples: Option<Value>,
    #[serde(default)]
    annotations: Annotations,
}

// ---------------------------------------------------------------------------------------
// The resolved registry.

/// Who owns a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Ours: under `aibom.*`.
    Aibom,
    /// An OpenTelemetry semantic-convention name that we reuse.
    Otel,
}

/// An attribute's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    /// `string`, `int`, `double`, `boolean` or an array of one of them (`string[]`, ...).
    Simple(String),
    /// A string enum.
    Enum(Vec<Member>),
}

impl Type {
    /// The type as weaver spells it, `enum` for enums.
    pub fn name(&self) -> &str {
        match self {
            Type::Simple(s) => s,
            Type::Enum(_) => "enum",
        }
    }
}

/// One value of an enum attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub id: String,
    pub value: String,
    pub brief: String,
    pub note: String,
    pub stability: String,
    pub rust_name: String,
}

/// One attribute definition (`id:` in an `attribute_group`).
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub id: String,
    pub ty: Type,
    pub brief: String,
    pub note: String,
    pub examples: Vec<Value>,
    pub stability: String,
    pub origin: Origin,
    /// The group that defines it.
    pub group: String,
    /// Its constant in `attr`.
    pub rust_name: String,
    /// The module of its value constants (enums only).
    pub values_module: Option<String>,
    /// Whether `rust_name` / `values_module` came from an annotation.
    pub rust_name_overridden: bool,
    pub values_module_overridden: bool,
}

/// An attribute group (`type: attribute_group`).
#[derive(Debug, Clone)]
pub struct AttrGroup {
    pub id: String,
    pub display_name: String,
    pub brief: String,
    pub note: String,
    pub origin: Origin,
    /// Definitions (`id:`).
    pub attributes: Vec<Attribute>,
    /// References (`ref:`), for groups that only collect attributes.
    pub refs: Vec<AttrRef>,
    pub extends: Option<String>,
    /// The YAML file, relative to `semconv/`.
    pub file: String,
}

/// How much an attribute is expected on a signal.
#[derive(Debug, Clone, PartialEq)]
pub enum Requirement {
    Required,
    ConditionallyRequired(String),
    Recommended(Option<String>),
    OptIn,
}

impl Requirement {
    pub fn level(&self) -> &'static str {
        match self {
            Requirement::Required => "required",
            Requirement::ConditionallyRequired(_) => "conditionally_required",
            Requirement::Recommended(_) => "recommended",
            Requirement::OptIn => "opt_in",
        }
    }

    pub fn condition(&self) -> Option<&str> {
        match self {
            Requirement::ConditionallyRequired(c) => Some(c),
            Requirement::Recommended(c) => c.as_deref(),
            _ => None,
        }
    }
}

/// A `ref:` to an attribute from an event, span or metric.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrRef {
    pub id: String,
    pub requirement: Requirement,
    pub note: String,
}

/// The body of an event's log record.
#[derive(Debug, Clone)]
pub struct Body {
    pub id: String,
    pub ty: String,
    pub brief: String,
    pub requirement_level: String,
    pub stability: String,
    pub examples: Vec<Value>,
}

/// An event (`type: event`).
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub name: String,
    pub brief: String,
    pub note: String,
    pub stability: String,
    /// After `extends`: inherited refs first, own refs override them by id.
    pub attributes: Vec<AttrRef>,
    pub extends: Option<String>,
    pub body: Option<Body>,
    pub rust_name: String,
    pub rust_name_overridden: bool,
    pub file: String,
}

/// A span (`type: span`); its name is the id without `span.`.
#[derive(Debug, Clone)]
pub struct Span {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub brief: String,
    pub note: String,
    pub stability: String,
    pub attributes: Vec<AttrRef>,
    pub events: Vec<String>,
    pub rust_name: String,
    pub rust_name_overridden: bool,
    pub file: String,
}

/// A metric (`type: metric`).
#[derive(Debug, Clone)]
pub struct Metric {
    pub id: String,
    pub name: String,
    pub instrument: String,
    pub unit: String,
    pub brief: String,
    pub note: String,
    pub stability: String,
    pub attributes: Vec<AttrRef>,
    pub rust_name: String,
    pub rust_name_overridden: bool,
    pub file: String,
}

/// A key of a JSON Lines record that is not an attribute (`semconv/records.yaml`).
#[derive(Debug, Clone)]
pub struct RecordKey {
    pub key: String,
    pub ty: String,
    pub brief: String,
    pub note: String,
    pub examples: Vec<Value>,
    pub rust_name: String,
    pub rust_name_overridden: bool,
}

/// Everything in `semconv/model/registry/` and `semconv/records.yaml`.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// In file order (files sorted by name), then YAML order.
    pub groups: Vec<AttrGroup>,
    pub events: Vec<Event>,
    pub spans: Vec<Span>,
    pub metrics: Vec<Metric>,
    pub records: Vec<RecordKey>,
}

impl Registry {
    /// Every attribute definition, sorted by id (the order of `attr` and
    /// `ALL_ATTRIBUTES`).
    pub fn attributes(&self) -> Vec<&Attribute> {
        let mut v: Vec<&Attribute> = self.groups.iter().flat_map(|g| &g.attributes).collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    pub fn attribute(&self, id: &str) -> Option<&Attribute> {
        self.groups
            .iter()
            .flat_map(|g| &g.attributes)
            .find(|a| a.id == id)
    }

    pub fn group(&self, id: &str) -> Option<&AttrGroup> {
        self.groups.iter().find(|g| g.id == id)
    }
}

// ---------------------------------------------------------------------------------------
// Naming rules.

/// The constant name of a name (attribute id, event, span or metric name, record key):
/// drop a leading `aibom.`, then `.` → `_`, upper case.
/// `aibom.artifact.sha256` → `ARTIFACT_SHA256`, `file.path` → `FILE_PATH`.
pub fn const_name(name: &str) -> String {
    name.strip_prefix("aibom.")
        .unwrap_or(name)
        .replace(['.', '-'], "_")
        .to_uppercase()
}

/// The module holding an enum attribute's value constants: its constant name in lower
/// case. `aibom.access.mode` → `access_mode`.
pub fn values_module_name(attr_id: &str) -> String {
    const_name(attr_id).to_lowercase()
}

/// The constant name of an enum member: its id, `.` → `_`, upper case.
pub fn member_const_name(member_id: &str) -> String {
    member_id.replace(['.', '-'], "_").to_uppercase()
}

// ---------------------------------------------------------------------------------------
// Loading.

/// A loading error, with the file it is in.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError(pub String);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Loads the real registry from `semconv/`.
pub fn load() -> Result<Registry, Vec<LoadError>> {
    let dir = crate_dir();
    let reg_dir = dir.join("model/registry");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&reg_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", reg_dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(&dir).unwrap_or(p).display().to_string();
            let text =
                std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (rel, text)
        })
        .collect();
    let records_path = dir.join("records.yaml");
    let records = std::fs::read_to_string(&records_path)
        .unwrap_or_else(|e| panic!("{}: {e}", records_path.display()));
    load_sources(&sources, Some(("records.yaml", &records)))
}

/// Loads a registry from `(file name, YAML text)` pairs, in the given order, and an
/// optional records file.
pub fn load_sources(
    sources: &[(String, String)],
    records: Option<(&str, &str)>,
) -> Result<Registry, Vec<LoadError>> {
    let mut errs = Vec::new();
    let mut reg = Registry::default();
    // Refs of events, collected before `extends` is resolved.
    let mut pending_events: Vec<(Event, Vec<AttrRef>)> = Vec::new();

    for (file, text) in sources {
        let raw: RawFile = match serde_norway::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                errs.push(LoadError(format!("{file}: {e}")));
                continue;
            }
        };
        for g in raw.groups {
            let at = format!("{file}: group `{}`", g.id);
            let mut err = |m: String| errs.push(LoadError(format!("{at}: {m}")));
            let stability = g.stability.clone().unwrap_or_default();
            match g.kind.as_str() {
                "attribute_group" => {
                    let origin = match g
                        .annotations
                        .aibom
                        .as_ref()
                        .and_then(|a| a.origin.as_deref())
                    {
                        None | Some("aibom") => Origin::Aibom,
                        Some("otel") => Origin::Otel,
                        Some(o) => {
                            err(format!("unknown origin `{o}` (aibom or otel)"));
                            Origin::Aibom
                        }
                    };
                    let mut attributes = Vec::new();
                    let mut refs = Vec::new();
                    for a in g.attributes {
                        match (&a.id, &a.reference) {
                            (Some(_), None) => match attribute(a, origin, &g.id) {
                                Ok(a) => attributes.push(a),
                                Err(m) => err(m),
                            },
                            (None, Some(_)) => match attr_ref(a) {
                                Ok(r) => refs.push(r),
                                Err(m) => err(m),
                            },
                            _ => err("an attribute needs exactly one of `id` and `ref`".into()),
                        }
                    }
                    reg.groups.push(AttrGroup {
                        id: g.id,
                        display_name: g.display_name.unwrap_or_default(),
                        brief: text_of(&g.brief),
                        note: text_of(&g.note),
                        origin,
                        attributes,
                        refs,
                        extends: g.extends,
                        file: file.clone(),
                    });
                }
                "event" | "span" | "metric" => {
                    let mut refs = Vec::new();
                    for a in g.attributes {
                        if a.id.is_some() {
                            err("define attributes in an attribute_group, `ref` them here".into());
                            continue;
                        }
                        match attr_ref(a) {
                            Ok(r) => refs.push(r),
                            Err(m) => err(m),
                        }
                    }
                    let override_name = g.annotations.rust.as_ref().and_then(|r| r.name.clone());
                    let brief = text_of(&g.brief);
                    let note = text_of(&g.note);
                    match g.kind.as_str() {
                        "event" => {
                            let Some(name) = g.name.clone() else {
                                err("an event needs `name`".into());
                                continue;
                            };
                            let body = g.body.map(|b| Body {
                                id: b.id,
                                ty: b.ty,
                                brief: text_of(&b.brief),
                                requirement_level: b.requirement_level.unwrap_or_default(),
                                stability: b.stability.unwrap_or_default(),
                                examples: examples_of(b.examples),
                            });
                            let (rust_name, over) = pick(&name, override_name);
                            pending_events.push((
                                Event {
                                    id: g.id,
                                    name,
                                    brief,
                                    note,
                                    stability,
                                    attributes: Vec::new(),
                                    extends: g.extends,
                                    body,
                                    rust_name,
                                    rust_name_overridden: over,
                                    file: file.clone(),
                                },
                                refs,
                            ));
                        }
                        "span" => {
                            let Some(name) = g.id.strip_prefix("span.").map(str::to_string) else {
                                err("a span's id is `span.` + its name".into());
                                continue;
                            };
                            if g.extends.is_some() {
                                err("`extends` is only supported on events".into());
                            }
                            let (rust_name, over) = pick(&name, override_name);
                            reg.spans.push(Span {
                                id: g.id,
                                name,
                                kind: g.span_kind.unwrap_or_default(),
                                brief,
                                note,
                                stability,
                                attributes: refs,
                                events: g.events,
                                rust_name,
                                rust_name_overridden: over,
                                file: file.clone(),
                            });
                        }
                        _ => {
                            let Some(name) = g.metric_name.clone() else {
                                err("a metric needs `metric_name`".into());
                                continue;
                            };
                            if g.extends.is_some() {
                                err("`extends` is only supported on events".into());
                            }
                            let (rust_name, over) = pick(&name, override_name);
                            reg.metrics.push(Metric {
                                id: g.id,
                                name,
                                instrument: g.instrument.unwrap_or_default(),
                                unit: g.unit.unwrap_or_default(),
                                brief,
                                note,
                                stability,
                                attributes: refs,
                                rust_name,
                                rust_name_overridden: over,
                                file: file.clone(),
                            });
                        }
                    }
                }
                other => err(format!(
                    "unsupported group type `{other}` (attribute_group, event, span, metric)"
                )),
            }
        }
    }

    // `extends`: an event inherits the refs of an attribute group (which may itself
    // extend another); its own refs override inherited ones with the same id.
    for (mut ev, own) in pending_events {
        let mut refs = Vec::new();
        if let Some(base) = &ev.extends {
            match inherited_refs(&reg, base, 0) {
                Ok(r) => refs = r,
                Err(m) => errs.push(LoadError(format!("{}: group `{}`: {m}", ev.file, ev.id))),
            }
        }
        for r in own {
            match refs.iter_mut().find(|x| x.id == r.id) {
                Some(x) => *x = r,
                None => refs.push(r),
            }
        }
        ev.attributes = refs;
        reg.events.push(ev);
    }

    if let Some((file, text)) = records {
        match serde_norway::from_str::<RawRecords>(text) {
            Ok(r) => {
                for k in r.records {
                    let over = k.annotations.rust.and_then(|r| r.name);
                    let (rust_name, over) = pick(&k.key, over);
                    reg.records.push(RecordKey {
                        key: k.key,
                        ty: k.ty,
                        brief: text_of(&k.brief),
                        note: text_of(&k.note),
                        examples: examples_of(k.examples),
                        rust_name,
                        rust_name_overridden: over,
                    });
                }
            }
            Err(e) => errs.push(LoadError(format!("{file}: {e}"))),
        }
    }

    if errs.is_empty() {
        Ok(reg)
    } else {
        Err(errs)
    }
}

fn inherited_refs(reg: &Registry, id: &str, depth: usize) -> Result<Vec<AttrRef>, String> {
    if depth > 8 {
        return Err(format!(
            "`extends` chain through `{id}` is too deep (a cycle?)"
        ));
    }
    let g = reg
        .group(id)
        .ok_or_else(|| format!("extends `{id}`, which is no attribute_group"))?;
    let mut refs = match &g.extends {
        Some(base) => inherited_refs(reg, base, depth + 1)?,
        None => Vec::new(),
    };
    let own = g
        .refs
        .iter()
        .cloned()
        .chain(g.attributes.iter().map(|a| AttrRef {
            id: a.id.clone(),
            requirement: Requirement::Recommended(None),
            note: String::new(),
        }));
    for r in own {
        match refs.iter_mut().find(|x| x.id == r.id) {
            Some(x) => *x = r,
            None => refs.push(r),
        }
    }
    Ok(refs)
}

/// The derived constant name, or the annotation's.
fn pick(name: &str, over: Option<String>) -> (String, bool) {
    match over {
        Some(n) => (n, true),
        None => (const_name(name), false),
    }
}

fn attribute(a: RawAttr, origin: Origin, group: &str) -> Result<Attribute, String> {
    let id = a.id.expect("checked by the caller");
    let at = |m: &str| format!("attribute `{id}`: {m}");
    let ty = match a.ty {
        None => return Err(at("needs `type`")),
        Some(RawType::Simple(s)) => Type::Simple(s),
        Some(RawType::Enum { members }) => {
            let mut out = Vec::new();
            for m in members {
                let value = match m.value {
                    Value::String(s) => s,
                    other => {
                        return Err(at(&format!(
                            "member `{}`: only string values are supported, not {other:?}",
                            m.id
                        )))
                    }
                };
                out.push(Member {
                    rust_name: member_const_name(&m.id),
                    id: m.id,
                    value,
                    brief: text_of(m.brief.as_deref().unwrap_or_default()),
                    note: text_of(m.note.as_deref().unwrap_or_default()),
                    stability: m.stability.unwrap_or_default(),
                });
            }
            Type::Enum(out)
        }
    };
    let rust = a.annotations.rust.unwrap_or_default();
    let (rust_name, rust_name_overridden) = pick(&id, rust.name);
    let (values_module, values_module_overridden) = match (&ty, rust.values_module) {
        (Type::Enum(_), Some(m)) => (Some(m), true),
        (Type::Enum(_), None) => (Some(values_module_name(&id)), false),
        (_, Some(_)) => return Err(at("`values_module` is only for enums")),
        (_, None) => (None, false),
    };
    Ok(Attribute {
        ty,
        brief: text_of(a.brief.as_deref().unwrap_or_default()),
        note: text_of(a.note.as_deref().unwrap_or_default()),
        examples: examples_of(a.examples),
        stability: a.stability.unwrap_or_default(),
        origin,
        group: group.to_string(),
        rust_name,
        values_module,
        rust_name_overridden,
        values_module_overridden,
        id,
    })
}

fn attr_ref(a: RawAttr) -> Result<AttrRef, String> {
    let id = a.reference.expect("checked by the caller");
    if a.ty.is_some() || a.stability.is_some() || a.examples.is_some() || a.brief.is_some() {
        return Err(format!(
            "ref `{id}`: type, brief, examples and stability belong to the definition"
        ));
    }
    let requirement = match a.requirement_level {
        None => Requirement::Recommended(None),
        Some(RawRequirement::Level(l)) => match l.as_str() {
            "required" => Requirement::Required,
            "recommended" => Requirement::Recommended(None),
            "opt_in" => Requirement::OptIn,
            other => return Err(format!("ref `{id}`: unknown requirement_level `{other}`")),
        },
        Some(RawRequirement::Conditional(m)) => {
            let mut it = m.into_iter();
            match (it.next(), it.next()) {
                (Some((k, c)), None) if k == "conditionally_required" => {
                    Requirement::ConditionallyRequired(text_of(&c))
                }
                (Some((k, c)), None) if k == "recommended" => {
                    Requirement::Recommended(Some(text_of(&c)))
                }
                _ => {
                    return Err(format!(
                        "ref `{id}`: requirement_level is a level or one of \
                         `conditionally_required: TEXT` / `recommended: TEXT`"
                    ))
                }
            }
        }
    };
    Ok(AttrRef {
        id,
        requirement,
        note: text_of(a.note.as_deref().unwrap_or_default()),
    })
}

/// YAML text as written, without the trailing newline of `>` blocks.
fn text_of(s: &str) -> String {
    s.trim().to_string()
}

/// `examples:` is a value or a list of values; a list of lists is a list of array
/// examples.
fn examples_of(v: Option<Value>) -> Vec<Value> {
    match v {
        None => Vec::new(),
        Some(Value::Sequence(s)) => s,
        Some(other) => vec![other],
    }
}

/// `text` with each paragraph (lines separated by a blank line) re-flowed to lines of at
/// most `width` characters (a longer word gets a line of its own).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for (i, para) in text.split("\n\n").enumerate() {
        if i > 0 {
            out.push(String::new());
        }
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            out.push(line);
        }
    }
    out
}

/// Where a relative path in the crate lives.
pub fn path(rel: &str) -> PathBuf {
    crate_dir().join(rel)
}

/// `true` when the drift tests should rewrite the generated files.
pub fn blessing() -> bool {
    std::env::var(BLESS_VAR).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Compares `path` with `expected`; rewrites it when blessing, else fails with the first
/// difference and how to regenerate.
pub fn check_or_bless(path: &Path, expected: &str) {
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    if actual == expected {
        return;
    }
    if blessing() {
        std::fs::write(path, expected).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("regenerated {}", path.display());
        return;
    }
    let (want, got): (Vec<&str>, Vec<&str>) =
        (expected.lines().collect(), actual.lines().collect());
    let (line, want, got) = (0..want.len().max(got.len()))
        .map(|i| (i, want.get(i).copied(), got.get(i).copied()))
        .find(|(_, e, a)| e != a)
        .map(|(i, e, a)| {
            (
                i + 1,
                e.unwrap_or("<end of file>"),
                a.unwrap_or("<end of file>"),
            )
        })
        .unwrap_or((want.len(), "<final newline>", "<other line endings>"));
    panic!(
        "{} is out of date with the registry YAML (semconv/model/registry/, semconv/records.yaml).\n\
         first difference at line {line}:\n  generated: {want}\n  on disk:   {got}\n\
         Regenerate it (and then re-run the tests) with:\n    {BLESS_CMD}\n",
        path.display()
    );
}
