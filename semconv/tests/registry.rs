//! The registry in `semconv/model/registry/` against its rules, and the generated files
//! (`src/generated.rs`, `README.md`) against the registry.
//!
//! `AIBOM_SEMCONV_BLESS=1 cargo test -p aibom-semconv` rewrites the generated files.
mod codegen;

use std::io::Write;
use std::process::{Command, Stdio};

use codegen::{lint, Registry};

fn registry() -> Registry {
    match codegen::load() {
        Ok(r) => r,
        Err(errs) => panic!(
            "the registry does not load:\n{}",
            errs.iter()
                .map(|e| format!("  {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

fn assert_clean(what: &str, problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{what}:\n{}",
        problems
            .iter()
            .map(|p| format!("  {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

// --- drift -----------------------------------------------------------------------------

#[test]
fn generated_rust_matches_the_registry() {
    let reg = registry();
    assert_clean("registry rules", lint::all(&reg));
    codegen::check_or_bless(
        &codegen::path("src/generated.rs"),
        &codegen::rust::render(&reg),
    );
}

#[test]
fn readme_matches_the_registry() {
    let reg = registry();
    assert_clean("registry rules", lint::all(&reg));
    codegen::check_or_bless(
        &codegen::path("README.md"),
        &codegen::markdown::render(&reg),
    );
}

/// The generator lays code out as rustfmt does, so `cargo fmt` never fights the drift test.
#[test]
fn generated_rust_is_rustfmt_clean() {
    let code = codegen::rust::render(&registry());
    let child = Command::new(std::env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".into()))
        .args(["--edition", "2021", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("rustfmt not found: skipping the layout check");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(code.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "rustfmt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let formatted = String::from_utf8(out.stdout).unwrap();
    let first_diff = code
        .lines()
        .zip(formatted.lines())
        .position(|(a, b)| a != b);
    assert!(
        code == formatted,
        "rustfmt lays the generated code out differently (fix tests/codegen/rust.rs); \
         first difference at line {:?}:\n  generated: {:?}\n  rustfmt:   {:?}",
        first_diff.map(|i| i + 1),
        first_diff.and_then(|i| code.lines().nth(i)),
        first_diff.and_then(|i| formatted.lines().nth(i)),
    );
}

// --- rules -----------------------------------------------------------------------------

#[test]
fn every_ref_resolves() {
    assert_clean("unresolved refs", lint::refs(&registry()));
}

#[test]
fn no_duplicate_ids_or_names() {
    assert_clean("duplicates", lint::duplicates(&registry()));
}

#[test]
fn names_follow_otel_naming_rules() {
    let reg = registry();
    assert_clean("names", lint::names(&reg));
    assert_clean("names that are namespaces", lint::namespaces(&reg));
}

#[test]
fn ours_are_aibom_and_reused_ones_are_marked_otel() {
    assert_clean("origins", lint::origins(&registry()));
}

#[test]
fn rust_names_follow_the_rule() {
    assert_clean("Rust names", lint::rust_names(&registry()));
}

#[test]
fn required_fields_are_set() {
    assert_clean("fields", lint::fields(&registry()));
}

#[test]
fn examples_fit_their_types() {
    assert_clean("examples", lint::examples(&registry()));
}

/// Holds even when `src/generated.rs` is stale, so a bad bless cannot hide.
#[test]
fn compiled_crate_matches_the_registry() {
    if codegen::blessing() {
        eprintln!("blessing: the compiled crate predates the new src/generated.rs; re-run");
        return;
    }
    let reg = registry();
    let ids: Vec<&str> = reg.attributes().iter().map(|a| a.id.as_str()).collect();
    assert_eq!(aibom_semconv::ALL_ATTRIBUTES, ids.as_slice());
    assert!(aibom_semconv::ALL_ATTRIBUTES.is_sorted());
    let names = |v: Vec<&str>| v.into_iter().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        names(aibom_semconv::EVENTS.to_vec()),
        names(reg.events.iter().map(|e| e.name.as_str()).collect())
    );
    assert_eq!(
        names(aibom_semconv::SPANS.to_vec()),
        names(reg.spans.iter().map(|s| s.name.as_str()).collect())
    );
    assert_eq!(
        names(aibom_semconv::METRICS.to_vec()),
        names(reg.metrics.iter().map(|m| m.name.as_str()).collect())
    );
    for a in reg.attributes() {
        let def = aibom_semconv::attribute(&a.id).expect("attribute() finds every attribute");
        let values: Vec<&str> = match &a.ty {
            codegen::Type::Enum(ms) => ms.iter().map(|m| m.value.as_str()).collect(),
            _ => Vec::new(),
        };
        assert_eq!(def.values, values.as_slice(), "{}", a.id);
        assert_eq!(
            def.origin == aibom_semconv::Origin::Otel,
            a.origin == codegen::Origin::Otel,
            "{}",
            a.id
        );
    }
    for e in aibom_semconv::EVENT_DEFS {
        for a in e.attributes.iter().chain(e.required) {
            assert!(aibom_semconv::ALL_ATTRIBUTES.contains(a), "{}: {a}", e.name);
        }
        for r in e.required {
            assert!(e.attributes.contains(r), "{}: {r}", e.name);
        }
    }
    for s in aibom_semconv::SPAN_DEFS {
        for a in s.attributes.iter().chain(s.required) {
            assert!(aibom_semconv::ALL_ATTRIBUTES.contains(a), "{}: {a}", s.name);
        }
    }
    assert!(aibom_semconv::attribute("no.such.attribute").is_none());
}

// --- the rules themselves --------------------------------------------------------------

/// A registry from one YAML file, checked by every rule.
fn problems(yaml: &str) -> Vec<String> {
    match codegen::load_sources(&[("test.yaml".into(), yaml.into())], None) {
        Ok(reg) => lint::all(&reg),
        Err(errs) => errs.into_iter().map(|e| e.0).collect(),
    }
}

fn assert_flags(yaml: &str, expected: &str) {
    let p = problems(yaml);
    assert!(
        p.iter().any(|m| m.contains(expected)),
        "expected a problem containing {expected:?}, got {p:#?}"
    );
}

const GOOD: &str = r#"
groups:
  - id: registry.aibom.test
    type: attribute_group
    brief: Test.
    attributes:
      - id: aibom.test.path
        type: string
        stability: development
        brief: A path.
        examples: ["/a"]
      - id: aibom.test.mode
        stability: development
        brief: A mode.
        type:
          members:
            - id: read
              value: "read"
              stability: development
              brief: Read.
  - id: event.aibom.test.happened
    type: event
    name: aibom.test.happened
    stability: development
    brief: It happened.
    attributes:
      - ref: aibom.test.path
        requirement_level: required
"#;

#[test]
fn rules_accept_a_good_registry() {
    assert_eq!(problems(GOOD), Vec::<String>::new());
}

#[test]
fn rules_reject_a_name_that_is_a_namespace() {
    let yaml = GOOD.replace(
        "      - id: aibom.test.mode",
        "      - id: aibom.test.path.x\n        type: int\n        stability: development\n        \
         brief: X.\n        examples: [1]\n      - id: aibom.test.mode",
    );
    assert_flags(&yaml, "`aibom.test.path` is also a namespace");
}

#[test]
fn rules_reject_bad_names() {
    assert_flags(
        &GOOD.replace("aibom.test.path", "aibom.test.filePath"),
        "snake_case",
    );
    assert_flags(
        &GOOD.replace("aibom.test.path", "aibom..path"),
        "snake_case",
    );
    assert_flags(
        &GOOD.replace("value: \"read\"", "value: \"Read\""),
        "not a lower-case value",
    );
}

#[test]
fn rules_reject_a_dangling_ref() {
    assert_flags(
        &GOOD.replace("ref: aibom.test.path", "ref: aibom.test.nope"),
        "ref `aibom.test.nope` is not a defined attribute",
    );
}

#[test]
fn rules_reject_duplicates() {
    let yaml = GOOD.replace(
        "      - id: aibom.test.mode",
        "      - id: aibom.test.path\n        type: string\n        stability: development\n        \
         brief: Again.\n        examples: [\"/b\"]\n      - id: aibom.test.mode",
    );
    assert_flags(&yaml, "attribute `aibom.test.path` is defined 2 times");
}

#[test]
fn rules_reject_misplaced_origins() {
    assert_flags(
        &GOOD.replace("aibom.test.path", "file.path"),
        "`file.path` is not under `aibom.*`",
    );
}

#[test]
fn rules_reject_a_redundant_rust_name() {
    let yaml = GOOD.replace(
        "        brief: A path.",
        "        brief: A path.\n        annotations:\n          rust:\n            name: TEST_PATH",
    );
    assert_flags(&yaml, "is what the rule derives");
}

#[test]
fn rules_reject_examples_of_the_wrong_type() {
    assert_flags(
        &GOOD.replace("examples: [\"/a\"]", "examples: [1]"),
        "is not a `string`",
    );
}

#[test]
fn unknown_fields_are_errors() {
    assert_flags(
        &GOOD.replace("brief: Test.", "brief: Test.\n    breif: typo"),
        "unknown field `breif`",
    );
}

#[test]
fn constant_name_rule() {
    use codegen::{const_name, member_const_name, values_module_name};
    assert_eq!(const_name("aibom.artifact.sha256"), "ARTIFACT_SHA256");
    assert_eq!(
        const_name("aibom.access.absolute_path"),
        "ACCESS_ABSOLUTE_PATH"
    );
    assert_eq!(const_name("aibom.tracer"), "TRACER");
    assert_eq!(const_name("file.path"), "FILE_PATH");
    assert_eq!(
        const_name("process.executable.name"),
        "PROCESS_EXECUTABLE_NAME"
    );
    assert_eq!(const_name("aibom.artifact.access"), "ARTIFACT_ACCESS");
    assert_eq!(const_name("event.name"), "EVENT_NAME");
    assert_eq!(values_module_name("aibom.access.mode"), "access_mode");
    assert_eq!(values_module_name("aibom.artifact.type"), "artifact_type");
    assert_eq!(member_const_name("gguf_metadata"), "GGUF_METADATA");
    assert_eq!(member_const_name("gcp.vertex_ai"), "GCP_VERTEX_AI");
}

#[test]
fn otel_name_rule() {
    for good in [
        "aibom.access.path",
        "process.parent_pid",
        "aibom.artifact.sha256",
        "timestamp",
    ] {
        assert!(lint::is_otel_name(good), "{good}");
    }
    for bad in [
        "",
        "Aibom.access",
        "aibom..path",
        "aibom.path_",
        "aibom.a__b",
        "aibom.1st",
        "aibom.a-b",
        "aibom.path.",
        "aibom.filePath",
    ] {
        assert!(!lint::is_otel_name(bad), "{bad}");
    }
}

#[test]
fn drift_is_reported_with_the_regenerate_command() {
    if codegen::blessing() {
        return;
    }
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("semconv-drift.txt");
    std::fs::write(&path, "a\nb\n").unwrap();
    codegen::check_or_bless(&path, "a\nb\n");
    let err = std::panic::catch_unwind(|| codegen::check_or_bless(&path, "a\nc\n"))
        .expect_err("a stale file fails");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("line 2"), "{msg}");
    assert!(msg.contains(codegen::BLESS_CMD), "{msg}");
}
