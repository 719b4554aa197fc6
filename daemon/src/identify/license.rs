//! The license of an artifact, as an SPDX id where one exists.
//!
//! Sources, first found wins:
//! 1. **embedded metadata**: GGUF `general.license` (`general.license.name` when it is
//!    `other`), safetensors `__metadata__.license`, ONNX `metadata_props` `license` (both read
//!    as `metadata.license`; ONNX when the file is `.onnx` or has `producer`/`opset` facts);
//! 2. **the model/dataset card**: YAML front matter of `README.md` in the repo root, then
//!    beside the file: `license:` (a scalar or a list; several become `A AND B`), with
//!    `license: other` resolved through `license_name:`;
//! 3. **a license file** beside the file, then in the repo root (`LICENSE`, `LICENSE.txt`,
//!    `LICENSE.md`, `LICENCE*`, `COPYING*`), identified from distinctive phrases of its text
//!    (Apache-2.0, MIT, BSD, GPL family, MPL-2.0, Creative Commons, Llama 2/3.x/4, Gemma,
//!    OpenRAIL family, …); an unrecognized text yields its title line when it has one
//!    (`"Foo Model License Agreement"`), else `LicenseRef-unknown`.
//!
//! `unknown` (and `none`, empty) declarations are skipped, as if absent. A bare `other` with
//! no name is used only when nothing later says more: `LicenseRef-other`.
//!
//! Normalization: ids of the SPDX license list (the `spdx` crate's; deprecated GNU ids as their
//! `-only`/`-or-later` form) and Hugging Face hub license identifiers map
//! case-insensitively to SPDX ids (`apache-2.0` → `Apache-2.0`, `cc-by-nc-4.0` →
//! `CC-BY-NC-4.0`, `gpl-3.0` → `GPL-3.0-only`, `odc-by` → `ODC-By-1.0`); hub identifiers with
//! no SPDX id become `LicenseRef-<hub id>` (`llama3.1` → `LicenseRef-llama3.1`, `gemma` →
//! `LicenseRef-gemma`, `creativeml-openrail-m` → `LicenseRef-creativeml-openrail-m`,
//! `openrail++` → `LicenseRef-openrail-plusplus`); anything else is kept as given.
//!
//! Reads are bounded (card ≤ 1 MiB, license file ≤ 256 KiB, both prefixes only) and nothing
//! is cached here.
use std::path::Path;

use aibom_semconv::license_source;

use super::format::Fields;
use super::provider::read_prefix;

/// A license and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    /// SPDX id (or expression) where one exists, else the name as found.
    pub id: String,
    /// An `aibom.artifact.license_source` value.
    pub source: &'static str,
}

/// Most of a card read (bytes).
pub const CARD_MAX: u64 = 1 << 20;
/// Most of a license file read (bytes).
pub const LICENSE_FILE_MAX: u64 = 256 << 10;

const CARD_NAMES: &[&str] = &["README.md", "readme.md", "Readme.md"];
const LICENSE_NAMES: &[&str] = &[
    "LICENSE",
    "LICENSE.txt",
    "LICENSE.md",
    "LICENCE",
    "LICENCE.txt",
    "LICENCE.md",
    "COPYING",
    "COPYING.txt",
    "license",
    "license.txt",
    "license.md",
];

/// The license of the artifact at `path`, from its header `fields`, its card and license
/// files (in `repo_root`, the model/dataset folder, and beside the file).
pub fn license(path: &Path, fields: &Fields, repo_root: Option<&Path>) -> Option<License> {
    let mut fallback: Option<License> = None;

    // 1. Embedded metadata.
    for (value, name, source) in embedded(path, fields) {
        match declared(&[value.to_string()], name) {
            Declared::Id(id) => return Some(License { id, source }),
            Declared::Other => note_other(&mut fallback, source),
            Declared::Unknown => {}
        }
    }

    let parent = path.parent();
    let mut card_dirs: Vec<&Path> = Vec::with_capacity(2);
    card_dirs.extend(repo_root);
    card_dirs.extend(parent.filter(|p| Some(*p) != repo_root));

    // 2. Card front matter.
    for dir in &card_dirs {
        let Some(text) = CARD_NAMES
            .iter()
            .find_map(|n| read_prefix(&dir.join(n), CARD_MAX))
        else {
            continue;
        };
        let text = String::from_utf8_lossy(&text);
        let Some(card) = card_license(&text) else {
            continue;
        };
        match declared(&card.license, card.license_name.as_deref()) {
            Declared::Id(id) => {
                return Some(License {
                    id,
                    source: license_source::CARD,
                })
            }
            Declared::Other => {
                // `license_link: LICENSE-MODEL`: a license file the card points at.
                let linked = card
                    .license_link
                    .as_deref()
                    .and_then(|link| linked_file(dir, link));
                if let Some(id) = linked {
                    return Some(License {
                        id,
                        source: license_source::LICENSE_FILE,
                    });
                }
                note_other(&mut fallback, license_source::CARD);
            }
            Declared::Unknown => {}
        }
    }

    // 3. A license file: beside the file first, then in the repo root.
    let mut file_dirs: Vec<&Path> = Vec::with_capacity(2);
    file_dirs.extend(parent);
    file_dirs.extend(repo_root.filter(|r| Some(*r) != parent));
    for dir in file_dirs {
        for name in LICENSE_NAMES {
            if let Some(bytes) = read_prefix(&dir.join(name), LICENSE_FILE_MAX) {
                let text = String::from_utf8_lossy(&bytes);
                if text.trim().is_empty() {
                    continue;
                }
                return Some(License {
                    id: identify_text(&text),
                    source: license_source::LICENSE_FILE,
                });
            }
        }
    }
    fallback
}

/// Remembers a bare `other`, used when nothing later says more.
fn note_other(fallback: &mut Option<License>, source: &'static str) {
    if fallback.is_none() {
        *fallback = Some(License {
            id: "LicenseRef-other".to_string(),
            source,
        });
    }
}

/// Identifies the file a card's `license_link` names, when it is a plain relative path inside
/// the card's folder.
fn linked_file(dir: &Path, link: &str) -> Option<String> {
    let link = link.strip_prefix("./").unwrap_or(link);
    let plain = !link.is_empty()
        && !link.contains("://")
        && !link.starts_with('/')
        && Path::new(link)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !plain {
        return None;
    }
    let bytes = read_prefix(&dir.join(link), LICENSE_FILE_MAX)?;
    let text = String::from_utf8_lossy(&bytes);
    (!text.trim().is_empty()).then(|| identify_text(&text))
}

/// Embedded declarations: (license, license name, source).
fn embedded<'a>(path: &Path, fields: &'a Fields) -> Vec<(&'a str, Option<&'a str>, &'static str)> {
    let get = |k: &str| fields.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut out = Vec::new();
    if let Some(v) = get("general.license") {
        out.push((
            v,
            get("general.license.name"),
            license_source::GGUF_METADATA,
        ));
    }
    if let Some(v) = get("metadata.license") {
        let onnx = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
            || fields.contains_key("producer")
            || fields.contains_key("opset");
        let source = if onnx {
            license_source::ONNX_METADATA
        } else {
            license_source::SAFETENSORS_METADATA
        };
        out.push((v, get("metadata.license_name"), source));
    }
    out
}

/// What a declaration amounts to.
#[derive(Debug, PartialEq)]
enum Declared {
    Id(String),
    /// `other` without a name.
    Other,
    /// Nothing usable (`unknown`, empty).
    Unknown,
}

fn is_unknown(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "" | "unknown" | "none" | "null" | "~" | "noassertion" | "n/a"
    )
}

/// Longest declared value taken as a license name; longer ones are license texts.
const DECLARED_MAX: usize = 100;

/// Normalizes declared licenses (a list means all apply: `A AND B`); `other` takes
/// `license_name`.
fn declared(licenses: &[String], license_name: Option<&str>) -> Declared {
    let name = license_name.map(unquote).filter(|n| !is_unknown(n));
    let mut ids: Vec<String> = Vec::new();
    let mut other = false;
    for l in licenses {
        let l = unquote(l);
        if is_unknown(l) {
            continue;
        }
        if l.eq_ignore_ascii_case("other") {
            match name {
                Some(n) => ids.push(normalize(n)),
                None => other = true,
            }
        } else if l.len() > DECLARED_MAX || l.contains('\n') {
            // Some converters embed the whole license text in the metadata.
            ids.push(identify_text(l));
        } else {
            ids.push(normalize(l));
        }
    }
    ids.dedup();
    match ids.len() {
        0 if other => Declared::Other,
        0 => Declared::Unknown,
        1 => Declared::Id(ids.remove(0)),
        _ => Declared::Id(ids.join(" AND ")),
    }
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return s[1..s.len() - 1].trim();
        }
    }
    s
}

// ---------------------------------------------------------------------------------------
// Card front matter

/// License keys of a card's YAML front matter.
#[derive(Debug, Default, PartialEq)]
struct CardLicense {
    license: Vec<String>,
    license_name: Option<String>,
    license_link: Option<String>,
}

/// The YAML front matter: between a first line `---` and the next `---` (or `...`) line.
fn front_matter(text: &str) -> Option<&str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    let first = lines.next()?;
    if first.trim_end() != "---" {
        return None;
    }
    let start = first.len();
    let mut pos = start;
    for line in lines {
        let t = line.trim_end();
        if t == "---" || t == "..." {
            return Some(&text[start..pos]);
        }
        pos += line.len();
    }
    None
}

/// A YAML scalar: unquoted, without a trailing comment.
fn scalar(v: &str) -> String {
    let v = v.trim();
    if let Some(q) = v.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let body = &v[1..];
        return match body.find(q) {
            Some(end) => body[..end].trim().to_string(),
            None => body.trim().to_string(),
        };
    }
    let v = match v.find(" #") {
        Some(i) => &v[..i],
        None if v.starts_with('#') => "",
        None => v,
    };
    v.trim().to_string()
}

/// Reads `license`, `license_name` and `license_link` from the card's front matter (top-level
/// keys only; `license` as a scalar, a block list or a flow list).
fn card_license(text: &str) -> Option<CardLicense> {
    let fm = front_matter(text)?;
    let mut card = CardLicense::default();
    let mut in_license_list = false;
    for line in fm.lines() {
        let indented = line.starts_with([' ', '\t', '-']);
        if indented {
            if in_license_list {
                if let Some(item) = line.trim_start().strip_prefix('-') {
                    let item = scalar(item);
                    if !item.is_empty() {
                        card.license.push(item);
                    }
                }
            }
            continue;
        }
        in_license_list = false;
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = unquote(key.trim());
        match key {
            "license" => {
                let v = value.trim();
                if let Some(flow) = v.strip_prefix('[') {
                    let flow = flow.split(']').next().unwrap_or_default();
                    card.license
                        .extend(flow.split(',').map(scalar).filter(|s| !s.is_empty()));
                } else {
                    let v = scalar(v);
                    if v.is_empty() {
                        in_license_list = true;
                    } else {
                        card.license.push(v);
                    }
                }
            }
            "license_name" => card.license_name = Some(scalar(value)).filter(|s| !s.is_empty()),
            "license_link" => card.license_link = Some(scalar(value)).filter(|s| !s.is_empty()),
            _ => {}
        }
    }
    (!card.license.is_empty() || card.license_name.is_some()).then_some(card)
}

// ---------------------------------------------------------------------------------------
// Normalization

/// Other spellings (hub identifiers, common prose) → SPDX id. Keys are in [`key`] form.
/// Deprecated GNU ids (`gpl-3.0`, `lgpl-2.1+`) are left to [`spdx_id`].
const ALIASES: &[(&str, &str)] = &[
    ("agplv3", "AGPL-3.0-only"),
    ("apache", "Apache-2.0"),
    ("apache-2", "Apache-2.0"),
    ("apache-v2", "Apache-2.0"),
    ("apache-v2.0", "Apache-2.0"),
    ("apache2", "Apache-2.0"),
    ("apache2.0", "Apache-2.0"),
    ("apache-license-2.0", "Apache-2.0"),
    ("apache-license-v2.0", "Apache-2.0"),
    ("apache-license-version-2.0", "Apache-2.0"),
    ("bsd-2", "BSD-2-Clause"),
    ("bsd-3", "BSD-3-Clause"),
    ("c-uda", "C-UDA-1.0"),
    ("cc0", "CC0-1.0"),
    ("cc-by-4", "CC-BY-4.0"),
    ("cc-by-sa-4", "CC-BY-SA-4.0"),
    ("cc-by-nc-4", "CC-BY-NC-4.0"),
    ("cc-by-nc-sa-4", "CC-BY-NC-SA-4.0"),
    ("gplv2", "GPL-2.0-only"),
    ("gplv3", "GPL-3.0-only"),
    ("gpl-v3", "GPL-3.0-only"),
    ("gpl3", "GPL-3.0-only"),
    ("lgpl-lr", "LGPLLR"),
    ("odbl", "ODbL-1.0"),
    ("odc-by", "ODC-By-1.0"),
    ("pddl", "PDDL-1.0"),
];

/// Hugging Face hub license identifiers with no SPDX id (`LicenseRef-<suffix>`).
const HUB_ONLY: &[(&str, &str)] = &[
    ("apple-amlr", "apple-amlr"),
    ("apple-ascl", "apple-ascl"),
    ("bigcode-openrail-m", "bigcode-openrail-m"),
    ("bigscience-bloom-rail-1.0", "bigscience-bloom-rail-1.0"),
    ("bigscience-openrail-m", "bigscience-openrail-m"),
    ("bsd", "bsd"),
    ("cc", "cc"),
    ("creativeml-openrail-m", "creativeml-openrail-m"),
    ("deepfloyd-if-license", "deepfloyd-if-license"),
    (
        "fair-noncommercial-research-license",
        "fair-noncommercial-research-license",
    ),
    ("gemma", "gemma"),
    ("gfdl", "gfdl"),
    ("gpl", "gpl"),
    ("h-research", "h-research"),
    ("intel-research", "intel-research"),
    ("lgpl", "lgpl"),
    ("llama2", "llama2"),
    ("llama3", "llama3"),
    ("llama3.1", "llama3.1"),
    ("llama3.2", "llama3.2"),
    ("llama3.3", "llama3.3"),
    ("llama4", "llama4"),
    ("openrail", "openrail"),
    ("openrail++", "openrail-plusplus"),
];

/// Lowercase, `_` and spaces as `-`, no repeated `-`.
fn key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars() {
        let c = match c {
            ' ' | '_' | '\t' => '-',
            c => c.to_ascii_lowercase(),
        };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    out
}

/// The id on the SPDX license list (the `spdx` crate's) that `k` spells, ignoring case: a
/// current id as listed; a deprecated GNU id, with or without `+` (`GPL-3.0`, `LGPL-2.1+`),
/// as its `-only` or `-or-later` form. Other deprecated ids are not matched.
fn spdx_id(k: &str) -> Option<&'static str> {
    let (base, or_later) = k.strip_suffix('+').map_or((k, false), |b| (b, true));
    if base.ends_with('+') {
        return None;
    }
    let id = spdx::identifiers::LICENSES
        .iter()
        .find(|l| l.name.eq_ignore_ascii_case(base))
        .and_then(|l| spdx::license_id(l.name))?;
    if !id.is_deprecated() {
        return (!or_later).then_some(id.name);
    }
    if !id.is_gnu() {
        return None;
    }
    spdx::gnu_license_id(id.name, or_later).map(|id| id.name)
}

fn lookup(k: &str) -> Option<String> {
    if let Some(id) = spdx_id(k) {
        return Some(id.to_string());
    }
    if let Some((_, id)) = ALIASES.iter().find(|(a, _)| *a == k) {
        return Some(id.to_string());
    }
    HUB_ONLY
        .iter()
        .find(|(h, _)| *h == k)
        .map(|(_, r)| format!("LicenseRef-{r}"))
}

/// Maps a declared license to an SPDX id (see the module docs); unknown names are kept.
pub fn normalize(declared: &str) -> String {
    let s = unquote(declared);
    let is_ref = s
        .get(.."LicenseRef-".len())
        .is_some_and(|p| p.eq_ignore_ascii_case("LicenseRef-"));
    if is_ref && s.len() > "LicenseRef-".len() {
        return s.to_string();
    }
    let k = key(s);
    let trimmed = k
        .strip_prefix("the-")
        .unwrap_or(&k)
        .trim_end_matches("-license")
        .trim_end_matches("-licence");
    lookup(&k)
        .or_else(|| lookup(trimmed))
        .unwrap_or_else(|| s.to_string())
}

// ---------------------------------------------------------------------------------------
// License texts

/// Distinctive phrases (lowercase, whitespace collapsed) → license (hub id or SPDX id, run
/// through [`normalize`]).
const PHRASES: &[(&str, &str)] = &[
    ("llama 4 community license", "llama4"),
    ("llama 3.3 community license", "llama3.3"),
    ("llama 3.2 community license", "llama3.2"),
    ("llama 3.1 community license", "llama3.1"),
    ("llama 3 community license", "llama3"),
    ("llama 2 community license", "llama2"),
    ("gemma terms of use", "gemma"),
    ("creativeml open rail-m", "creativeml-openrail-m"),
    ("creativeml openrail-m", "creativeml-openrail-m"),
    ("bigcode open rail-m", "bigcode-openrail-m"),
    ("bigcode openrail-m", "bigcode-openrail-m"),
    ("bigscience rail license v1.0", "bigscience-bloom-rail-1.0"),
    ("bigscience bloom rail", "bigscience-bloom-rail-1.0"),
    ("bigscience open rail-m", "bigscience-openrail-m"),
    ("open rail++-m", "openrail++"),
    ("openrail++", "openrail++"),
    ("open rail-m license", "openrail"),
    ("openrail license", "openrail"),
    ("tongyi qianwen license agreement", "tongyi-qianwen"),
    ("deepseek license agreement", "deepseek"),
    ("mistral ai research license", "mrl"),
    (
        "gnu affero general public license version 3, 19 november 2007",
        "AGPL-3.0",
    ),
    (
        "gnu lesser general public license version 3, 29 june 2007",
        "LGPL-3.0",
    ),
    (
        "gnu lesser general public license version 2.1, february 1999",
        "LGPL-2.1",
    ),
    ("gnu general public license version 3, 29 june 2007", "GPL-3.0"),
    ("gnu general public license version 2, june 1991", "GPL-2.0"),
    ("mozilla public license version 2.0", "MPL-2.0"),
    ("mozilla public license, version 2.0", "MPL-2.0"),
    ("apache license version 2.0", "Apache-2.0"),
    ("apache license, version 2.0", "Apache-2.0"),
    ("boost software license - version 1.0", "BSL-1.0"),
    ("eclipse public license - v 2.0", "EPL-2.0"),
    ("european union public licence v. 1.2", "EUPL-1.2"),
    ("artistic license 2.0", "Artistic-2.0"),
    ("do what the fuck you want to public license", "WTFPL"),
    (
        "this is free and unencumbered software released into the public domain",
        "Unlicense",
    ),
    (
        "permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby granted",
        "ISC",
    ),
    (
        "permission is hereby granted, free of charge, to any person obtaining a copy",
        "MIT",
    ),
    ("redistribution and use in source and binary forms", "BSD"),
    ("open data commons attribution license", "ODC-By-1.0"),
    ("open data commons open database license", "ODbL-1.0"),
    (
        "attribution-noncommercial-noderivatives 4.0 international",
        "CC-BY-NC-ND-4.0",
    ),
    (
        "attribution-noncommercial-sharealike 4.0 international",
        "CC-BY-NC-SA-4.0",
    ),
    ("attribution-noncommercial 4.0 international", "CC-BY-NC-4.0"),
    ("attribution-noderivatives 4.0 international", "CC-BY-ND-4.0"),
    ("attribution-sharealike 4.0 international", "CC-BY-SA-4.0"),
    ("attribution 4.0 international", "CC-BY-4.0"),
    (
        "attribution-noncommercial-sharealike 3.0 unported",
        "CC-BY-NC-SA-3.0",
    ),
    ("attribution-noncommercial 3.0 unported", "CC-BY-NC-3.0"),
    ("attribution-sharealike 3.0 unported", "CC-BY-SA-3.0"),
    ("attribution 3.0 unported", "CC-BY-3.0"),
    ("cc0 1.0 universal", "CC0-1.0"),
];

/// Lowercase, whitespace runs as one space, markdown emphasis dropped.
fn flatten(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars() {
            if c != '*' {
                out.extend(c.to_lowercase());
            }
        }
    }
    out
}

/// Identifies a license text: the phrase found earliest in the text wins (a file leading with
/// Apache-2.0 and quoting MIT notices is Apache-2.0).
pub fn identify_text(text: &str) -> String {
    let flat = flatten(text);
    let found = PHRASES
        .iter()
        .filter_map(|(phrase, id)| flat.find(phrase).map(|at| (at, *id)))
        .min_by_key(|(at, _)| *at);
    match found {
        Some((_, "MIT")) => {
            if flat
                .contains("the above copyright notice and this permission notice shall be included")
            {
                "MIT".to_string()
            } else {
                "MIT-0".to_string()
            }
        }
        Some((_, "BSD")) => if flat
            .contains("no express or implied licenses to any party's patent rights are granted")
        {
            "BSD-3-Clause-Clear"
        } else if flat.contains("all advertising materials mentioning features") {
            "BSD-4-Clause"
        } else if flat.contains("neither the name") || flat.contains("may be used to endorse") {
            "BSD-3-Clause"
        } else {
            "BSD-2-Clause"
        }
        .to_string(),
        Some((_, id)) => normalize(id),
        None => title(text).unwrap_or_else(|| "LicenseRef-unknown".to_string()),
    }
}

/// The first non-empty line, when it reads like a license title.
fn title(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = line.trim_matches(|c: char| c == '#' || c == '*' || c == '=' || c.is_whitespace());
    let lower = line.to_ascii_lowercase();
    let looks = ["license", "licence", "terms", "agreement"]
        .iter()
        .any(|w| lower.contains(w));
    (looks && !line.is_empty() && line.len() <= 100).then(|| line.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const APACHE: &str = "\n                                 Apache License\n                           Version 2.0, January 2004\n                        http://www.apache.org/licenses/\n\n   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION\n";
    const APACHE_HEADER: &str = "Licensed under the Apache License, Version 2.0 (the \"License\");\nyou may not use this file except in compliance with the License.\n";
    const MIT: &str = "MIT License\n\nCopyright (c) 2024 Acme\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software and associated documentation files (the \"Software\"), to deal\nin the Software without restriction...\n\nThe above copyright notice and this permission notice shall be included in all\ncopies or substantial portions of the Software.\n";

    fn fields(kv: &[(&str, &str)]) -> Fields {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = t.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        t
    }

    #[test]
    fn embedded_metadata_comes_first() {
        let t = dir_with(&[("README.md", "---\nlicense: mit\n---\n"), ("LICENSE", MIT)]);
        let f = fields(&[("general.license", "apache-2.0")]);
        let l = license(&t.path().join("m.gguf"), &f, Some(t.path())).unwrap();
        assert_eq!(
            l,
            License {
                id: "Apache-2.0".into(),
                source: license_source::GGUF_METADATA
            }
        );

        let f = fields(&[("metadata.license", "CC-BY-NC-4.0")]);
        let l = license(&t.path().join("m.safetensors"), &f, None).unwrap();
        assert_eq!(
            l,
            License {
                id: "CC-BY-NC-4.0".into(),
                source: license_source::SAFETENSORS_METADATA
            }
        );

        let f = fields(&[("metadata.license", "MIT"), ("producer", "pytorch")]);
        let l = license(&t.path().join("model.bin"), &f, None).unwrap();
        assert_eq!(l.source, license_source::ONNX_METADATA);

        // A whole license text as the value.
        let f = fields(&[("general.license", MIT)]);
        assert_eq!(
            license(&t.path().join("m.gguf"), &f, None).unwrap().id,
            "MIT"
        );

        // GGUF `other` + name.
        let f = fields(&[
            ("general.license", "other"),
            ("general.license.name", "llama3"),
        ]);
        let l = license(&t.path().join("m.gguf"), &f, None).unwrap();
        assert_eq!(l.id, "LicenseRef-llama3");
    }

    #[test]
    fn unknown_embedded_license_falls_through_to_the_card() {
        let t = dir_with(&[("README.md", "---\nlicense: mit\n---\n")]);
        let f = fields(&[("general.license", "unknown")]);
        let l = license(&t.path().join("m.gguf"), &f, Some(t.path())).unwrap();
        assert_eq!(
            l,
            License {
                id: "MIT".into(),
                source: license_source::CARD
            }
        );
    }

    #[test]
    fn card_front_matter_styles() {
        let cases: &[(&str, &str)] = &[
            (
                "---\nlicense: apache-2.0\ntags:\n- llm\n---\n# Model\n",
                "Apache-2.0",
            ),
            (
                "---\r\nlanguage: en\r\nlicense: \"cc-by-4.0\" # data\r\n---\r\n",
                "CC-BY-4.0",
            ),
            (
                "\u{feff}---\nlicense: llama3.1\n...\n",
                "LicenseRef-llama3.1",
            ),
            (
                "---\nlicense: other\nlicense_name: tongyi-qianwen\nlicense_link: LICENSE\n---\n",
                "tongyi-qianwen",
            ),
            ("---\nlicense_name: foo\nlicense: other\n---\n", "foo"),
            (
                "---\nlicense:\n  - mit\n  - apache-2.0\nlanguage:\n- en\n---\n",
                "MIT AND Apache-2.0",
            ),
            (
                "---\nlicense: [openrail, 'gpl-3.0']\n---\n",
                "LicenseRef-openrail AND GPL-3.0-only",
            ),
            ("---\nlicense: gemma\n---\n", "LicenseRef-gemma"),
            (
                "---\nlicense: openrail++\n---\n",
                "LicenseRef-openrail-plusplus",
            ),
            (
                "---\nlicense: Some Custom License\n---\n",
                "Some Custom License",
            ),
        ];
        for (card, want) in cases {
            let t = dir_with(&[("README.md", card)]);
            let l = license(
                &t.path().join("model.safetensors"),
                &Fields::new(),
                Some(t.path()),
            );
            assert_eq!(
                l,
                Some(License {
                    id: want.to_string(),
                    source: license_source::CARD
                }),
                "{card:?}"
            );
        }
    }

    #[test]
    fn nested_keys_and_bodies_are_not_the_license() {
        let t = dir_with(&[(
            "README.md",
            "---\nmodel-index:\n  license: mit\n---\nlicense: apache-2.0\n",
        )]);
        assert_eq!(
            license(&t.path().join("m.bin"), &Fields::new(), Some(t.path())),
            None
        );
        let t = dir_with(&[("README.md", "# No front matter\nlicense: mit\n")]);
        assert_eq!(
            license(&t.path().join("m.bin"), &Fields::new(), Some(t.path())),
            None
        );
    }

    #[test]
    fn card_is_looked_up_in_repo_root_for_files_in_subfolders() {
        let t = dir_with(&[
            ("README.md", "---\nlicense: bsd-3-clause\n---\n"),
            ("onnx/model.onnx", "x"),
        ]);
        let l = license(
            &t.path().join("onnx/model.onnx"),
            &Fields::new(),
            Some(t.path()),
        )
        .unwrap();
        assert_eq!(l.id, "BSD-3-Clause");
        // Without a repo root, the card beside the file.
        let l = license(&t.path().join("model.safetensors"), &Fields::new(), None).unwrap();
        assert_eq!(l.id, "BSD-3-Clause");
    }

    #[test]
    fn license_file_text_is_identified() {
        let t = dir_with(&[("LICENSE", APACHE)]);
        let l = license(&t.path().join("model.safetensors"), &Fields::new(), None).unwrap();
        assert_eq!(
            l,
            License {
                id: "Apache-2.0".into(),
                source: license_source::LICENSE_FILE
            }
        );
        let t = dir_with(&[("LICENSE.md", MIT)]);
        let l = license(&t.path().join("model.safetensors"), &Fields::new(), None).unwrap();
        assert_eq!(
            l,
            License {
                id: "MIT".into(),
                source: license_source::LICENSE_FILE
            }
        );
        // A card that only says `other` defers to the license file...
        let t = dir_with(&[
            (
                "README.md",
                "---\nlicense: other\nlicense_link: LICENSE\n---\n",
            ),
            ("LICENSE.txt", MIT),
        ]);
        assert_eq!(
            license(&t.path().join("m.bin"), &Fields::new(), Some(t.path()))
                .unwrap()
                .id,
            "MIT"
        );
        // ...including one it links to under another name...
        let t = dir_with(&[
            (
                "README.md",
                "---\nlicense: other\nlicense_link: ./LICENSE-MODEL\n---\n",
            ),
            ("LICENSE-MODEL", "LLAMA 2 COMMUNITY LICENSE AGREEMENT\n"),
        ]);
        assert_eq!(
            license(&t.path().join("m.bin"), &Fields::new(), Some(t.path())),
            Some(License {
                id: "LicenseRef-llama2".into(),
                source: license_source::LICENSE_FILE
            })
        );
        // ...and is reported as such when there is none.
        let t = dir_with(&[("README.md", "---\nlicense: other\n---\n")]);
        assert_eq!(
            license(&t.path().join("m.bin"), &Fields::new(), Some(t.path())),
            Some(License {
                id: "LicenseRef-other".into(),
                source: license_source::CARD
            })
        );
    }

    #[test]
    fn license_texts() {
        assert_eq!(identify_text(APACHE), "Apache-2.0");
        assert_eq!(identify_text(APACHE_HEADER), "Apache-2.0");
        assert_eq!(identify_text(MIT), "MIT");
        assert_eq!(
            identify_text(&format!("{APACHE}\n\nThird-party notices:\n{MIT}")),
            "Apache-2.0"
        );
        assert_eq!(
            identify_text("Copyright (c) X\nRedistribution and use in source and binary forms, with or without modification...\n3. Neither the name of the copyright holder nor the names of its contributors may be used to endorse"),
            "BSD-3-Clause"
        );
        assert_eq!(
            identify_text("Copyright (c) X\nRedistribution and use in source and binary forms, with or\nwithout modification, are permitted"),
            "BSD-2-Clause"
        );
        assert_eq!(
            identify_text("                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n ... 13. Use with the GNU Affero General Public License."),
            "GPL-3.0-only"
        );
        assert_eq!(identify_text("META LLAMA 3 COMMUNITY LICENSE AGREEMENT\nMeta Llama 3 Version Release Date: April 18, 2024"), "LicenseRef-llama3");
        assert_eq!(
            identify_text("LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\n"),
            "LicenseRef-llama3.1"
        );
        assert_eq!(
            identify_text(
                "LLAMA 2 COMMUNITY LICENSE AGREEMENT\nLlama 2 Version Release Date: July 18, 2023"
            ),
            "LicenseRef-llama2"
        );
        assert_eq!(
            identify_text("Gemma Terms of Use\n\nLast modified: February 21, 2024"),
            "LicenseRef-gemma"
        );
        assert_eq!(
            identify_text("CreativeML Open RAIL-M\ndated August 22, 2022"),
            "LicenseRef-creativeml-openrail-m"
        );
        assert_eq!(
            identify_text("Creative Commons Attribution 4.0 International Public License"),
            "CC-BY-4.0"
        );
        assert_eq!(
            identify_text("Attribution-NonCommercial-ShareAlike 4.0 International\n\n======="),
            "CC-BY-NC-SA-4.0"
        );
        assert_eq!(
            identify_text("# Acme Model License Agreement\n\nYou may..."),
            "Acme Model License Agreement"
        );
        assert_eq!(
            identify_text("Copyright 2024 Someone. All rights reserved.\n"),
            "LicenseRef-unknown"
        );
    }

    #[test]
    fn normalization() {
        assert_eq!(normalize("apache-2.0"), "Apache-2.0");
        assert_eq!(normalize("Apache License 2.0"), "Apache-2.0");
        assert_eq!(normalize("MIT License"), "MIT");
        assert_eq!(normalize("mit"), "MIT");
        assert_eq!(normalize("cc-by-nc-sa-4.0"), "CC-BY-NC-SA-4.0");
        assert_eq!(normalize("odc-by"), "ODC-By-1.0");
        assert_eq!(normalize("gpl-3.0"), "GPL-3.0-only");
        assert_eq!(normalize("LLAMA3"), "LicenseRef-llama3");
        assert_eq!(normalize("LicenseRef-acme"), "LicenseRef-acme");
        assert_eq!(normalize("My Own Terms"), "My Own Terms");
    }

    #[test]
    fn spdx_list_ids() {
        // Any current id on the list, whatever its case.
        assert_eq!(normalize("unicode-dfs-2016"), "Unicode-DFS-2016");
        assert_eq!(normalize("openmdw-1.0"), "OpenMDW-1.0");
        // Deprecated GNU ids, `+` meaning "or later".
        assert_eq!(normalize("LGPL-2.0"), "LGPL-2.0-only");
        assert_eq!(normalize("gfdl-1.3+"), "GFDL-1.3-or-later");
        assert_eq!(normalize("gpl-2.0++"), "gpl-2.0++");
        // Other deprecated ids, and `+` after a current id, are kept as given.
        assert_eq!(normalize("wxWindows"), "wxWindows");
        assert_eq!(normalize("MIT+"), "MIT+");
    }

    #[test]
    fn reads_are_bounded_and_special_files_refused() {
        // A huge card: only its prefix is read, the front matter is still found.
        let mut card = String::from("---\nlicense: mit\n---\n");
        card.push_str(&"x".repeat(3 << 20));
        let t = dir_with(&[("README.md", &card)]);
        assert_eq!(
            license(&t.path().join("m.bin"), &Fields::new(), None)
                .unwrap()
                .id,
            "MIT"
        );
        // A FIFO named LICENSE would block a naive reader.
        let t = tempfile::tempdir().unwrap();
        let fifo = std::ffi::CString::new(
            t.path()
                .join("LICENSE")
                .into_os_string()
                .into_encoded_bytes(),
        )
        .unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert_eq!(license(&t.path().join("m.bin"), &Fields::new(), None), None);
        // Nothing at all.
        assert_eq!(
            license(Path::new("/nonexistent/x/m.bin"), &Fields::new(), None),
            None
        );
    }
}
