//! Chat templates stored inside other files: a GGUF's `tokenizer.chat_template[.NAME]`
//! (read by [`super::gguf`]) and a `tokenizer_config.json`'s `chat_template` (a string,
//! or a list of `{"name", "template"}`). Each becomes a field `chat_template:KEY` whose
//! value is the SHA-256 of the template's text; the text itself is never kept.
use sha2::{Digest, Sha256};

use super::{put, Fields};

/// Largest `tokenizer_config.json` read whole for its chat templates.
pub const MAX_CONFIG: u64 = 8 << 20;
/// Prefix of the fields that hold a chat template's hash.
const PREFIX: &str = "chat_template:";

/// The field holding the hash of the template found under `key`.
pub fn template_field(key: &str) -> String {
    format!("{PREFIX}{key}")
}

/// Lowercase hex SHA-256 of `text`.
pub fn text_sha256(text: &[u8]) -> String {
    hex::encode(Sha256::digest(text))
}

/// The (key, sha256) of each chat template in `fields`, sorted by key.
pub fn templates(fields: &Fields) -> impl Iterator<Item = (&str, &str)> {
    fields
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(PREFIX)?, v.as_str())))
}

/// Whether `name` (a file name or path) is a `tokenizer_config.json`.
pub fn is_tokenizer_config(name: &str) -> bool {
    name.rsplit('/').next() == Some("tokenizer_config.json")
}

/// Adds the chat templates of the `tokenizer_config.json` document `doc` to `fields`.
pub fn from_tokenizer_config(doc: &[u8], fields: &mut Fields) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(doc) else {
        return;
    };
    match v.get("chat_template") {
        Some(serde_json::Value::String(t)) => put(
            fields,
            &template_field("chat_template"),
            &text_sha256(t.as_bytes()),
        ),
        Some(serde_json::Value::Array(list)) => {
            for t in list {
                if let (Some(name), Some(text)) = (
                    t.get("name").and_then(|n| n.as_str()),
                    t.get("template").and_then(|n| n.as_str()),
                ) {
                    put(
                        fields,
                        &template_field(&format!("chat_template[{name}]")),
                        &text_sha256(text.as_bytes()),
                    );
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_hashed_by_name_and_never_kept() {
        let mut f = Fields::new();
        from_tokenizer_config(
            br#"{"chat_template": [{"name": "default", "template": "{{ secret }}"}, {"name": "tool_use", "template": "t"}, {"name": 3}]}"#,
            &mut f,
        );
        let t: Vec<_> = templates(&f).collect();
        assert_eq!(t.len(), 2);
        assert_eq!(
            t[0],
            (
                "chat_template[default]",
                text_sha256(b"{{ secret }}").as_str()
            )
        );
        assert!(!f.values().any(|v| v.contains("secret")));
        let mut g = Fields::new();
        from_tokenizer_config(br#"{"chat_template": "{{ x }}"}"#, &mut g);
        assert_eq!(templates(&g).next().unwrap().0, "chat_template");
        let mut none = Fields::new();
        from_tokenizer_config(b"{\"chat_template\": 1}", &mut none);
        from_tokenizer_config(b"not json", &mut none);
        assert!(none.is_empty());
    }
}
