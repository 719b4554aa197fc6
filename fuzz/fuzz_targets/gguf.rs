//! Fuzzes the gguf header parser on arbitrary bytes: it must never panic.
#![no_main]
use aibomd::identify::format::gguf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gguf::parse_bytes(data);
});
