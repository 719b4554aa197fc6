//! Rules the registry must follow. Each check returns every violation it finds, one
//! message per violation; an empty list means the registry passes.
use std::collections::{BTreeMap, BTreeSet};

use serde_norway::Value;

use super::{const_name, member_const_name, values_module_name, Origin, Registry, Type};

/// Stability levels weaver accepts.
pub const STABILITIES: &[&str] = &[
    "stable",
    "development",
    "alpha",
    "beta",
    "release_candidate",
];
/// Attribute types this registry may use (plus enums).
pub const TYPES: &[&str] = &[
    "string",
    "int",
    "double",
    "boolean",
    "string[]",
    "int[]",
    "double[]",
    "boolean[]",
];
/// Weaver's span kinds.
pub const SPAN_KINDS: &[&str] = &["internal", "client", "server", "producer", "consumer"];
/// Weaver's instruments (synchronous names).
pub const INSTRUMENTS: &[&str] = &["counter", "gauge", "updowncounter", "histogram"];
/// Modules of the generated code that are not enum value modules.
pub const FIXED_MODULES: &[&str] = &["event", "attr", "span", "metric", "record"];

/// Every check, in order.
pub fn all(reg: &Registry) -> Vec<String> {
    [
        refs(reg),
        duplicates(reg),
        names(reg),
        namespaces(reg),
        origins(reg),
        rust_names(reg),
        fields(reg),
        examples(reg),
    ]
    .concat()
}

/// Every `ref` names a defined attribute; every span's `events` names an event group.
pub fn refs(reg: &Registry) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |owner: &str, ids: Vec<&str>| {
        for id in ids {
            if reg.attribute(id).is_none() {
                out.push(format!("{owner}: ref `{id}` is not a defined attribute"));
            }
        }
    };
    for g in &reg.groups {
        check(
            &format!("group `{}`", g.id),
            g.refs.iter().map(|r| r.id.as_str()).collect(),
        );
    }
    for e in &reg.events {
        check(
            &format!("event `{}`", e.name),
            e.attributes.iter().map(|r| r.id.as_str()).collect(),
        );
    }
    for s in &reg.spans {
        check(
            &format!("span `{}`", s.name),
            s.attributes.iter().map(|r| r.id.as_str()).collect(),
        );
    }
    for m in &reg.metrics {
        check(
            &format!("metric `{}`", m.name),
            m.attributes.iter().map(|r| r.id.as_str()).collect(),
        );
    }
    for s in &reg.spans {
        for e in &s.events {
            if !reg.events.iter().any(|x| &x.id == e) {
                out.push(format!(
                    "span `{}`: event `{e}` is not an event group id",
                    s.name
                ));
            }
        }
    }
    out
}

fn dups<'a>(what: &str, items: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut seen = BTreeMap::<&str, usize>::new();
    for i in items {
        *seen.entry(i).or_default() += 1;
    }
    seen.into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(i, n)| format!("{what} `{i}` is defined {n} times"))
        .collect()
}

/// No id or name is defined twice.
pub fn duplicates(reg: &Registry) -> Vec<String> {
    let mut out = Vec::new();
    let group_ids = reg
        .groups
        .iter()
        .map(|g| g.id.as_str())
        .chain(reg.events.iter().map(|e| e.id.as_str()))
        .chain(reg.spans.iter().map(|s| s.id.as_str()))
        .chain(reg.metrics.iter().map(|m| m.id.as_str()));
    out.extend(dups("group id", group_ids));
    out.extend(dups(
        "attribute",
        reg.groups
            .iter()
            .flat_map(|g| &g.attributes)
            .map(|a| a.id.as_str()),
    ));
    out.extend(dups("event", reg.events.iter().map(|e| e.name.as_str())));
    out.extend(dups("span", reg.spans.iter().map(|s| s.name.as_str())));
    out.extend(dups("metric", reg.metrics.iter().map(|m| m.name.as_str())));
    out.extend(dups(
        "record key",
        reg.records.iter().map(|r| r.key.as_str()),
    ));
    for g in &reg.groups {
        out.extend(dups(
            &format!("group `{}`: ref", g.id),
            g.refs.iter().map(|r| r.id.as_str()),
        ));
    }
    for s in &reg.spans {
        out.extend(dups(
            &format!("span `{}`: ref", s.name),
            s.attributes.iter().map(|r| r.id.as_str()),
        ));
    }
    for a in reg.attributes() {
        if let Type::Enum(ms) = &a.ty {
            out.extend(dups(
                &format!("`{}` member id", a.id),
                ms.iter().map(|m| m.id.as_str()),
            ));
            out.extend(dups(
                &format!("`{}` value", a.id),
                ms.iter().map(|m| m.value.as_str()),
            ));
        }
    }
    for r in &reg.records {
        if reg.attribute(&r.key).is_some() {
            out.push(format!(
                "record key `{}` is also an attribute: record keys are for what is not",
                r.key
            ));
        }
    }
    out
}

/// One namespace segment: snake_case, starting with a letter.
pub fn is_segment(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.split('_').all(|word| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// An OpenTelemetry name: lower case, dot-separated namespaces, snake_case segments.
pub fn is_otel_name(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(is_segment)
}

/// Names follow OpenTelemetry's naming rules.
pub fn names(reg: &Registry) -> Vec<String> {
    let mut out = Vec::new();
    let mut bad_values = Vec::new();
    let mut check = |what: &str, name: &str| {
        if !is_otel_name(name) {
            out.push(format!(
                "{what} `{name}`: not lower case, dot-separated, snake_case segments"
            ));
        }
    };
    for a in reg.attributes() {
        check("attribute", &a.id);
        if let Type::Enum(ms) = &a.ty {
            for m in ms {
                check(&format!("`{}` member id", a.id), &m.id);
                // values are data, not names: OpenTelemetry only asks them to be
                // stable lower-case strings (the issue's `openai-compatible` has a dash)
                let v = &m.value;
                if v.is_empty()
                    || !v
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
                {
                    bad_values.push(format!("`{}` value `{v}`: not a lower-case value", a.id));
                }
            }
        }
    }
    for e in &reg.events {
        check("event", &e.name);
    }
    for s in &reg.spans {
        check("span", &s.name);
    }
    for m in &reg.metrics {
        check("metric", &m.name);
    }
    for r in &reg.records {
        check("record key", &r.key);
    }
    out.extend(bad_values);
    out
}

/// Within one kind of name (attributes, events, spans, metrics), no name is the
/// namespace of another: with `aibom.access.path` defined, `aibom.access.path.x` is
/// invalid (and so is the other way round).
pub fn namespaces(reg: &Registry) -> Vec<String> {
    fn check(what: &str, names: Vec<&str>) -> Vec<String> {
        let set: BTreeSet<&str> = names.iter().copied().collect();
        let mut out = Vec::new();
        for n in &names {
            let mut prefix = String::new();
            let segs: Vec<&str> = n.split('.').collect();
            for s in &segs[..segs.len().saturating_sub(1)] {
                if !prefix.is_empty() {
                    prefix.push('.');
                }
                prefix.push_str(s);
                if set.contains(prefix.as_str()) {
                    out.push(format!(
                        "{what} `{prefix}` is also a namespace (of `{n}`): a name must not \
                         coincide with a namespace"
                    ));
                }
            }
        }
        out
    }
    let attrs = reg
        .attributes()
        .into_iter()
        .map(|a| a.id.as_str())
        .collect();
    [
        check("attribute", attrs),
        check(
            "event",
            reg.events.iter().map(|e| e.name.as_str()).collect(),
        ),
        check("span", reg.spans.iter().map(|s| s.name.as_str()).collect()),
        check(
            "metric",
            reg.metrics.iter().map(|m| m.name.as_str()).collect(),
        ),
    ]
    .concat()
}

/// Ours are under `aibom.*` and in `registry.aibom.*` groups; reused OpenTelemetry names
/// are not under `aibom.*` and are in groups marked `origin: otel`. Events, spans and
/// metrics are ours; their group ids are `event.`/`span.`/`metric.` + their name.
pub fn origins(reg: &Registry) -> Vec<String> {
    let mut out = Vec::new();
    for g in &reg.groups {
        if !g.attributes.is_empty() && !g.id.starts_with("registry.aibom.") {
            out.push(format!(
                "group `{}` defines attributes: its id must start with `registry.aibom.`",
                g.id
            ));
        }
        if g.origin == Origin::Otel && !g.id.starts_with("registry.aibom.otel.") {
            out.push(format!(
                "group `{}` re-declares OpenTelemetry attributes: its id must start with \
                 `registry.aibom.otel.`",
                g.id
            ));
        }
        for a in &g.attributes {
            match (g.origin, a.id.starts_with("aibom.")) {
                (Origin::Aibom, false) => out.push(format!(
                    "attribute `{}` is not under `aibom.*`: if it is an OpenTelemetry \
                     attribute, declare it in an `origin: otel` group (registry/otel.yaml)",
                    a.id
                )),
                (Origin::Otel, true) => out.push(format!(
                    "attribute `{}` is ours: it does not belong in an `origin: otel` group",
                    a.id
                )),
                _ => {}
            }
        }
    }
    let signals = reg
        .events
        .iter()
        .map(|e| ("event.", &e.id, &e.name))
        .chain(reg.spans.iter().map(|s| ("span.", &s.id, &s.name)))
        .chain(reg.metrics.iter().map(|m| ("metric.", &m.id, &m.name)));
    for e in &reg.events {
        if let Some(b) = &e.body {
            if b.id != format!("event_body.{}", e.name) {
                out.push(format!(
                    "event `{}`: body id `{}` should be `event_body.{}`",
                    e.name, b.id, e.name
                ));
            }
        }
    }
    for (prefix, id, name) in signals {
        if !name.starts_with("aibom.") {
            out.push(format!("`{name}` is not under `aibom.*`"));
        }
        if *id != format!("{prefix}{name}") {
            out.push(format!("group `{id}` should be `{prefix}{name}`"));
        }
    }
    out
}

fn is_const_ident(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn is_module_ident(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Rust names: valid identifiers, unique per module, and an annotation only where the
/// derived name differs (so that the rule stays the rule).
pub fn rust_names(reg: &Registry) -> Vec<String> {
    let mut out = Vec::new();
    fn named(
        out: &mut Vec<String>,
        what: &str,
        name: &str,
        rust: &str,
        overridden: bool,
        derived: String,
    ) {
        if !is_const_ident(rust) {
            out.push(format!(
                "{what} `{name}`: `{rust}` is not a SCREAMING_SNAKE_CASE name"
            ));
        }
        if overridden && rust == derived {
            out.push(format!(
                "{what} `{name}`: `annotations: rust: name: {rust}` is what the rule derives; \
                 drop it"
            ));
        }
    }
    let attrs = reg.attributes();
    for a in &attrs {
        named(
            &mut out,
            "attribute",
            &a.id,
            &a.rust_name,
            a.rust_name_overridden,
            const_name(&a.id),
        );
        if let Some(m) = &a.values_module {
            if !is_module_ident(m) {
                out.push(format!("attribute `{}`: `{m}` is not a module name", a.id));
            }
            if a.values_module_overridden && *m == values_module_name(&a.id) {
                out.push(format!(
                    "attribute `{}`: `values_module: {m}` is what the rule derives; drop it",
                    a.id
                ));
            }
            if FIXED_MODULES.contains(&m.as_str()) {
                out.push(format!(
                    "attribute `{}`: values module `{m}` clashes with a fixed module",
                    a.id
                ));
            }
        }
        if let Type::Enum(ms) = &a.ty {
            for m in ms {
                if m.rust_name != member_const_name(&m.id) || !is_const_ident(&m.rust_name) {
                    out.push(format!("`{}` member `{}`: bad constant name", a.id, m.id));
                }
                if m.rust_name == "ALL" {
                    out.push(format!(
                        "`{}` member `{}`: `ALL` is the list of values",
                        a.id, m.id
                    ));
                }
            }
            out.extend(dups(
                &format!("`{}` member constant", a.id),
                ms.iter().map(|m| m.rust_name.as_str()),
            ));
        }
    }
    for e in &reg.events {
        named(
            &mut out,
            "event",
            &e.name,
            &e.rust_name,
            e.rust_name_overridden,
            const_name(&e.name),
        );
    }
    for s in &reg.spans {
        named(
            &mut out,
            "span",
            &s.name,
            &s.rust_name,
            s.rust_name_overridden,
            const_name(&s.name),
        );
    }
    for m in &reg.metrics {
        named(
            &mut out,
            "metric",
            &m.name,
            &m.rust_name,
            m.rust_name_overridden,
            const_name(&m.name),
        );
    }
    for r in &reg.records {
        named(
            &mut out,
            "record key",
            &r.key,
            &r.rust_name,
            r.rust_name_overridden,
            const_name(&r.key),
        );
    }
    out.extend(dups(
        "`attr` constant",
        attrs.iter().map(|a| a.rust_name.as_str()),
    ));
    out.extend(dups(
        "`event` constant",
        reg.events.iter().map(|e| e.rust_name.as_str()),
    ));
    out.extend(dups(
        "`span` constant",
        reg.spans.iter().map(|s| s.rust_name.as_str()),
    ));
    out.extend(dups(
        "`metric` constant",
        reg.metrics.iter().map(|m| m.rust_name.as_str()),
    ));
    out.extend(dups(
        "`record` constant",
        reg.records.iter().map(|r| r.rust_name.as_str()),
    ));
    out.extend(dups(
        "values module",
        attrs.iter().filter_map(|a| a.values_module.as_deref()),
    ));
    out
}

/// Required fields are there and hold values weaver accepts.
pub fn fields(reg: &Registry) -> Vec<String> {
    let mut out = Vec::new();
    let mut stab = |what: &str, s: &str| {
        if !STABILITIES.contains(&s) {
            out.push(format!(
                "{what}: stability `{s}` is not one of {}",
                STABILITIES.join(", ")
            ));
        }
    };
    for a in reg.attributes() {
        stab(&format!("attribute `{}`", a.id), &a.stability);
        if let Type::Enum(ms) = &a.ty {
            for m in ms {
                stab(&format!("`{}` member `{}`", a.id, m.id), &m.stability);
            }
        }
    }
    for e in &reg.events {
        stab(&format!("event `{}`", e.name), &e.stability);
        if let Some(b) = &e.body {
            stab(&format!("event `{}` body", e.name), &b.stability);
        }
    }
    for s in &reg.spans {
        stab(&format!("span `{}`", s.name), &s.stability);
    }
    for m in &reg.metrics {
        stab(&format!("metric `{}`", m.name), &m.stability);
    }
    for a in reg.attributes() {
        if a.brief.is_empty() {
            out.push(format!("attribute `{}` has no brief", a.id));
        }
        match &a.ty {
            Type::Simple(t) if !TYPES.contains(&t.as_str()) => out.push(format!(
                "attribute `{}`: type `{t}` is not one of {}",
                a.id,
                TYPES.join(", ")
            )),
            Type::Enum(ms) if ms.is_empty() => {
                out.push(format!("attribute `{}`: an enum needs members", a.id))
            }
            Type::Enum(ms) => {
                for m in ms.iter().filter(|m| m.brief.is_empty()) {
                    out.push(format!("`{}` member `{}` has no brief", a.id, m.id));
                }
            }
            _ => {}
        }
    }
    for e in &reg.events {
        if e.brief.is_empty() {
            out.push(format!("event `{}` has no brief", e.name));
        }
    }
    for s in &reg.spans {
        if s.brief.is_empty() {
            out.push(format!("span `{}` has no brief", s.name));
        }
        if !SPAN_KINDS.contains(&s.kind.as_str()) {
            out.push(format!(
                "span `{}`: span_kind `{}` is not one of {}",
                s.name,
                s.kind,
                SPAN_KINDS.join(", ")
            ));
        }
    }
    for m in &reg.metrics {
        if m.brief.is_empty() {
            out.push(format!("metric `{}` has no brief", m.name));
        }
        if !INSTRUMENTS.contains(&m.instrument.as_str()) {
            out.push(format!(
                "metric `{}`: instrument `{}` is not one of {}",
                m.name,
                m.instrument,
                INSTRUMENTS.join(", ")
            ));
        }
        if m.unit.is_empty() {
            out.push(format!(
                "metric `{}` has no unit (UCUM, `{{thing}}` for counts)",
                m.name
            ));
        }
    }
    for r in &reg.records {
        if r.brief.is_empty() {
            out.push(format!("record key `{}` has no brief", r.key));
        }
    }
    out
}

/// Whether `v` is a value of attribute type `ty`.
pub fn fits(ty: &str, v: &Value) -> bool {
    let scalar = |t: &str, v: &Value| match t {
        "string" => v.is_string(),
        "int" => v.is_i64() || v.is_u64(),
        "double" => v.is_number(),
        "boolean" => v.is_bool(),
        _ => false,
    };
    match ty.strip_suffix("[]") {
        Some(t) => v
            .as_sequence()
            .is_some_and(|s| s.iter().all(|x| scalar(t, x))),
        None => scalar(ty, v),
    }
}

/// Every non-enum attribute has examples (weaver wants them for strings), and every
/// example is of the attribute's type; enum examples are members.
pub fn examples(reg: &Registry) -> Vec<String> {
    let mut out = Vec::new();
    for a in reg.attributes() {
        match &a.ty {
            Type::Simple(t) => {
                if a.examples.is_empty() {
                    out.push(format!("attribute `{}` has no examples", a.id));
                }
                for x in a.examples.iter().filter(|x| !fits(t, x)) {
                    out.push(format!(
                        "attribute `{}`: example {x:?} is not a `{t}`",
                        a.id
                    ));
                }
            }
            Type::Enum(ms) => {
                for x in &a.examples {
                    if !ms.iter().any(|m| x.as_str() == Some(m.value.as_str())) {
                        out.push(format!(
                            "attribute `{}`: example {x:?} is not a member",
                            a.id
                        ));
                    }
                }
            }
        }
    }
    for e in &reg.events {
        if let Some(b) = &e.body {
            for x in b.examples.iter().filter(|x| !fits(&b.ty, x)) {
                out.push(format!(
                    "event `{}` body: example {x:?} is not a `{}`",
                    e.name, b.ty
                ));
            }
        }
    }
    for r in &reg.records {
        for x in r.examples.iter().filter(|x| !fits(&r.ty, x)) {
            out.push(format!(
                "record key `{}`: example {x:?} is not a `{}`",
                r.key, r.ty
            ));
        }
    }
    out
}
