//! Model-card facts (task, architecture) from the files a model repository ships:
//! `config.json` (`model_type`, `architectures`) and the card's YAML front matter
//! (`pipeline_tag`). Only files the workload really loaded are read.
use std::path::Path;

use crate::model::{Component, ModelCard};

/// Largest file read for card facts.
const MAX_READ: u64 = 1 << 20;

/// Facts from a Hugging Face `config.json`.
pub fn from_config_json(text: &str) -> ModelCard {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let s = |x: &serde_json::Value| x.as_str().map(str::to_string).filter(|s| !s.is_empty());
    ModelCard {
        task: None,
        architecture_family: s(&v["model_type"]),
        architecture: s(&v["architectures"][0]),
    }
}

/// Facts from a model card's YAML front matter (`pipeline_tag: text-classification`).
pub fn from_readme(text: &str) -> ModelCard {
    let mut card = ModelCard::default();
    let Some(rest) = text.strip_prefix("---\n") else {
        return card;
    };
    for line in rest.lines().take_while(|l| l.trim_end() != "---") {
        if let Some(v) = line.strip_prefix("pipeline_tag:") {
            let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
            if !v.is_empty() {
                card.task = Some(v.to_string());
            }
        }
    }
    card
}

/// Fills `c.card` from its `config.json` and card files on this host, when they are there.
pub fn fill_from_disk(c: &mut Component) {
    let mut card = c.card.clone().unwrap_or_default();
    for f in &c.files {
        let name = Path::new(f.via.first().unwrap_or(&f.path))
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let read = || -> Option<String> {
            let meta = std::fs::metadata(&f.path).ok()?;
            (meta.len() <= MAX_READ).then(|| std::fs::read_to_string(&f.path).ok())?
        };
        let found = match name.as_str() {
            "config.json" => read().map(|t| from_config_json(&t)),
            "README.md" => read().map(|t| from_readme(&t)),
            _ => None,
        };
        if let Some(x) = found {
            card.task = card.task.or(x.task);
            card.architecture_family = card.architecture_family.or(x.architecture_family);
            card.architecture = card.architecture.or(x.architecture);
        }
    }
    if card != ModelCard::default() {
        c.card = Some(card);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_and_front_matter() {
        let c = from_config_json(r#"{"architectures": ["BertModel"], "model_type": "bert"}"#);
        assert_eq!(c.architecture_family.as_deref(), Some("bert"));
        assert_eq!(c.architecture.as_deref(), Some("BertModel"));
        let r =
            from_readme("---\nlicense: mit\npipeline_tag: fill-mask\n---\n# x\npipeline_tag: no\n");
        assert_eq!(r.task.as_deref(), Some("fill-mask"));
        assert_eq!(
            from_readme("# no front matter\npipeline_tag: x\n").task,
            None
        );
        assert_eq!(from_config_json("not json"), ModelCard::default());
    }
}
