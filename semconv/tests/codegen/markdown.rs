//! Renders `semconv/README.md`, the reference of the convention.
use std::fmt::Write;

use serde_norway::Value;

use super::{AttrGroup, AttrRef, Origin, Registry, Type, BLESS_CMD};

/// The whole of `README.md`.
pub fn render(reg: &Registry) -> String {
    let mut o = String::new();
    o.push_str(&HEADER.replace("{BLESS_CMD}", BLESS_CMD));

    let defining = |origin: Origin| -> Vec<&AttrGroup> {
        let mut v: Vec<&AttrGroup> = reg
            .groups
            .iter()
            .filter(|g| g.origin == origin && !g.attributes.is_empty())
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    };

    heading(&mut o, "## Attributes");
    para(
        &mut o,
        "Names of our own, under `aibom.*`. Constants in `aibom_semconv::attr`, enum values \
         in the module named in each table.",
    );
    for g in defining(Origin::Aibom) {
        group(&mut o, g);
    }

    heading(&mut o, "## Reused OpenTelemetry attributes");
    para(
        &mut o,
        "These names are OpenTelemetry's (<https://opentelemetry.io/docs/specs/semconv/>), \
         not ours: aibomd uses them wherever OpenTelemetry has a name for the thing. They are \
         re-declared in `model/registry/otel.yaml` (`annotations: aibom: origin: otel`) so \
         the registry resolves offline; the OpenTelemetry definition is authoritative. \
         Their constants are in `aibom_semconv::attr` too.",
    );
    for g in defining(Origin::Otel) {
        group(&mut o, g);
    }

    heading(&mut o, "## Events");
    para(
        &mut o,
        "Log records with an `EventName` (OTLP) or an `event.name` key (JSON Lines). \
         Constants in `aibom_semconv::event`.",
    );
    for e in &reg.events {
        heading(&mut o, &format!("### `{}`", e.name));
        para(&mut o, &e.brief);
        para(&mut o, &e.note);
        let mut facts = vec![format!("Stability: {}", e.stability)];
        if let Some(b) = &e.body {
            let mut body = format!(
                "Body (`{}`, {}): {}",
                b.ty,
                b.requirement_level,
                b.brief.trim_end_matches('.')
            );
            if !b.examples.is_empty() {
                write!(body, ", e.g. {}", examples(&b.examples)).unwrap();
            }
            facts.push(body);
        }
        if let Some(x) = &e.extends {
            facts.push(format!("Attributes from `{x}`"));
        }
        facts.push(format!("Rust: `event::{}`", e.rust_name));
        facts.push(format!("Defined in `{}`", e.file));
        para(&mut o, &format!("{}.", facts.join(". ")));
        refs_table(&mut o, reg, &e.attributes);
    }

    heading(&mut o, "## Spans");
    para(&mut o, "Constants in `aibom_semconv::span`.");
    for s in &reg.spans {
        heading(&mut o, &format!("### `{}`", s.name));
        para(&mut o, &s.brief);
        para(&mut o, &s.note);
        let mut facts = vec![
            format!("Span kind: `{}`", s.kind),
            format!("Stability: {}", s.stability),
        ];
        if !s.events.is_empty() {
            let names: Vec<String> = s
                .events
                .iter()
                .map(|id| match reg.events.iter().find(|e| &e.id == id) {
                    Some(e) => format!("`{}`", e.name),
                    None => format!("`{id}`"),
                })
                .collect();
            facts.push(format!("Span events: {}", names.join(", ")));
        }
        facts.push(format!("Rust: `span::{}`", s.rust_name));
        facts.push(format!("Defined in `{}`", s.file));
        para(&mut o, &format!("{}.", facts.join(". ")));
        refs_table(&mut o, reg, &s.attributes);
    }

    heading(&mut o, "## Metrics");
    let mut files: Vec<&str> = reg.metrics.iter().map(|m| m.file.as_str()).collect();
    files.dedup();
    let files: Vec<String> = files.iter().map(|f| format!("`{f}`")).collect();
    para(
        &mut o,
        &format!(
            "aibomd's own telemetry, reported with asynchronous instruments: counters are \
             cumulative since start, gauges the current level. None has attributes. Constants \
             in `aibom_semconv::metric`. Defined in {}.",
            files.join(", ")
        ),
    );
    o.push_str("| Metric | Instrument | Unit | Description | Stability | Rust |\n");
    o.push_str("|---|---|---|---|---|---|\n");
    for m in &reg.metrics {
        writeln!(
            o,
            "| `{}` | {} | `{}` | {} | {} | `metric::{}` |",
            m.name,
            m.instrument,
            m.unit,
            cell(&join(&m.brief, &m.note)),
            m.stability,
            m.rust_name
        )
        .unwrap();
    }

    heading(&mut o, "## JSON Lines record keys");
    para(
        &mut o,
        "Keys of a JSON Lines record (`--events FILE`) that are not attributes: what an OTLP \
         log record has in dedicated fields. Defined in `records.yaml` (not weaver format). \
         Constants in `aibom_semconv::record`; every other key of a record is an attribute \
         above.",
    );
    o.push_str("| Key | Type | Description | Examples | Rust |\n");
    o.push_str("|---|---|---|---|---|\n");
    for r in &reg.records {
        writeln!(
            o,
            "| `{}` | `{}` | {} | {} | `record::{}` |",
            r.key,
            r.ty,
            cell(&join(&r.brief, &r.note)),
            examples(&r.examples),
            r.rust_name
        )
        .unwrap();
    }
    o
}

const HEADER: &str = "\
# AI-BOM semantic convention (`aibom-semconv`)

<!-- @generated from model/registry/*.yaml and records.yaml by tests/codegen/.
     Do not edit: change the YAML, then run
     {BLESS_CMD} -->

The names aibomd emits: attributes, events, spans, metrics and enum values. Every other
part of the project takes them from the `aibom-semconv` crate (`aibom_semconv::attr::FILE_PATH`,
`aibom_semconv::access_mode::READ`, ...) and never retypes them. Names reuse OpenTelemetry's
semantic conventions where one exists (`file.*`, `process.*`, `host.*`, ...); names of our
own live under `aibom.*`.

## Layout

| path | holds |
|---|---|
| `model/manifest.yaml` | the weaver registry manifest: `weaver registry check -r semconv/model` loads and resolves the registry |
| `model/registry/*.yaml` | the registry, in OpenTelemetry weaver format (`groups`): attribute groups `registry.aibom.*`, events `event.*`, spans `span.*`, metrics `metric.*` |
| `model/registry/otel.yaml` | the OpenTelemetry attributes aibomd reuses, re-declared (marked `origin: otel`) |
| `records.yaml` | the JSON Lines keys that are not attributes (`timestamp`, `event.name`) |
| `src/generated.rs` | generated: the constants, value lists and definitions, included by `src/lib.rs` |
| `src/lib.rs` | hand-written: the definition types (`AttributeDef`, ...) and look-ups |
| `README.md` | generated: this reference |
| `tests/codegen/` | the generator (YAML → Rust and Markdown) and the registry's rules |
| `tests/registry.rs` | drift tests and rule checks; `tests/contract.rs`: every constant's value pinned |

`cargo test -p aibom-semconv` fails when `src/generated.rs` or this file differ from what
the YAML generates. This rewrites both:

```sh
{BLESS_CMD}
```

The crate itself has no dependencies and no build script: the generator runs only in its
tests.

## Adding an attribute

1. Define it in the group of its namespace in `model/registry/` (`id`, `type` or enum
   `members`, `brief`, `examples`, `stability: development`); an OpenTelemetry attribute
   goes to `otel.yaml`, under its OpenTelemetry name.
2. `ref:` it from the events and spans that carry it (`events.yaml`, `spans.yaml`).
3. Regenerate (`{BLESS_CMD}`), commit the YAML with
   `src/generated.rs` and `README.md`, and use `aibom_semconv::attr::NAME` in code.

Rules the tests enforce:

- Names are lower case, dot-separated namespaces of snake_case segments, and no name is
  also a namespace of another of its kind (`aibom.access.path` rules out
  `aibom.access.path.x`). Ours are under `aibom.*`; reused ones are not.
- Every `ref` names a defined attribute; no id, name or Rust constant is defined twice;
  enum values are listed in their module's `ALL`.
- Rust constant = the name without a leading `aibom.`, `.` → `_`, upper case
  (`aibom.artifact.sha256` → `attr::ARTIFACT_SHA256`, `file.path` → `attr::FILE_PATH`);
  an enum's values go to the module named by the attribute's constant in lower case
  (`aibom.access.mode` → `access_mode`), one constant per member id in upper case, plus
  `ALL`. Names that predate the rule say so with `annotations: rust: name:` or
  `values_module:`; an annotation that repeats the rule is an error.
- Span names are their group id without `span.`; event and metric group ids are `event.` /
  `metric.` + their name.
- Every constant that existed before the registry keeps its name and value
  (`tests/contract.rs`).
";

fn group(o: &mut String, g: &AttrGroup) {
    let title = if g.display_name.is_empty() {
        format!("`{}`", g.id)
    } else {
        format!("{} (`{}`)", g.display_name, g.id)
    };
    heading(o, &format!("### {title}"));
    para(o, &g.brief);
    para(o, &g.note);
    writeln!(o, "Defined in `{}`.\n", g.file).unwrap();
    o.push_str("| Attribute | Type | Description | Examples | Stability | Rust |\n");
    o.push_str("|---|---|---|---|---|---|\n");
    for a in &g.attributes {
        let ty = match &a.ty {
            Type::Enum(_) => "enum (string)".to_string(),
            t => format!("`{}`", t.name()),
        };
        let ex = match &a.ty {
            Type::Enum(ms) if a.examples.is_empty() => ms
                .iter()
                .map(|m| format!("`{}`", m.value))
                .collect::<Vec<_>>()
                .join(", "),
            _ => examples(&a.examples),
        };
        writeln!(
            o,
            "| `{}` | {} | {} | {} | {} | `attr::{}` |",
            a.id,
            ty,
            cell(&join(&a.brief, &a.note)),
            ex,
            a.stability,
            a.rust_name
        )
        .unwrap();
    }
    for a in &g.attributes {
        let (Type::Enum(ms), Some(module)) = (&a.ty, &a.values_module) else {
            continue;
        };
        write!(
            o,
            "\nValues of `{}` (`aibom_semconv::{module}`, all of them in `{module}::ALL`):\n\n",
            a.id
        )
        .unwrap();
        o.push_str("| Value | Description | Stability | Rust |\n");
        o.push_str("|---|---|---|---|\n");
        for m in ms {
            writeln!(
                o,
                "| `{}` | {} | {} | `{module}::{}` |",
                m.value,
                cell(&join(&m.brief, &m.note)),
                m.stability,
                m.rust_name
            )
            .unwrap();
        }
    }
}

fn refs_table(o: &mut String, reg: &Registry, refs: &[AttrRef]) {
    if refs.is_empty() {
        return;
    }
    o.push_str("| Attribute | Type | Requirement level | Description |\n");
    o.push_str("|---|---|---|---|\n");
    for r in refs {
        let (ty, brief, otel) = match reg.attribute(&r.id) {
            Some(a) => (
                a.ty.name().to_string(),
                a.brief.clone(),
                a.origin == Origin::Otel,
            ),
            None => ("?".to_string(), "(undefined)".to_string(), false),
        };
        let mut level = format!("`{}`", r.requirement.level());
        if let Some(c) = r.requirement.condition() {
            write!(level, ": {c}").unwrap();
        }
        let mut desc = brief;
        if !r.note.is_empty() {
            desc = format!("{desc} {}", r.note);
        }
        let name = if otel {
            format!("`{}` (OTel)", r.id)
        } else {
            format!("`{}`", r.id)
        };
        writeln!(
            o,
            "| {name} | `{ty}` | {} | {} |",
            cell(&level),
            cell(&desc)
        )
        .unwrap();
    }
}

/// A heading with exactly one blank line before and after it.
fn heading(o: &mut String, text: &str) {
    let kept = o.trim_end_matches('\n').len();
    o.truncate(kept);
    write!(o, "\n\n{text}\n\n").unwrap();
}

fn para(o: &mut String, text: &str) {
    if !text.is_empty() {
        for line in super::wrap(text, 90) {
            writeln!(o, "{line}").unwrap();
        }
        o.push('\n');
    }
}

fn join(brief: &str, note: &str) -> String {
    if note.is_empty() {
        brief.to_string()
    } else {
        format!("{brief} {note}")
    }
}

/// Text for a table cell: one line, `|` escaped.
fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn examples(xs: &[Value]) -> String {
    xs.iter()
        .map(|x| code(&value(x)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Sequence(s) => format!(
            "[{}]",
            s.iter()
                .map(|x| match x {
                    Value::String(s) => format!("{s:?}"),
                    other => value(other),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}"),
    }
}

/// Inline code, safe for `|` and backticks.
fn code(s: &str) -> String {
    let s = s.replace('|', "\\|");
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}
