//! Fuzzes the text classifier and JSON prefix scanner: they must never panic.
#![no_main]
use aibomd::identify::format::{json, text, Format};
use libfuzzer_sys::fuzz_target;

const CLAIMS: [Option<Format>; 6] = [
    None,
    Some(Format::Json),
    Some(Format::Jsonl),
    Some(Format::Csv),
    Some(Format::Prompt),
    Some(Format::TokenizerJson),
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let claimed = CLAIMS[usize::from(sel) % CLAIMS.len()];
    let _ = text::classify(rest, sel & 0x80 == 0, claimed);
    if let Ok(s) = std::str::from_utf8(rest) {
        if let Ok(sum) = json::scan(s) {
            assert!(sum.end <= s.len());
        }
    }
});
