//! Fuzzes the whole dispatcher (magic detection, every parser, mismatch logic).
#![no_main]
use aibomd::identify::format::sniff_bytes;
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 8] = [
    "x",
    "m.safetensors",
    "m.bin",
    "m.pb",
    "d.jsonl",
    "tokenizer.json",
    "prompts/a.txt",
    "m.gguf",
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let s = sniff_bytes(rest, NAMES[usize::from(sel) % NAMES.len()]);
    assert!(s.fields.len() <= 256);
});
