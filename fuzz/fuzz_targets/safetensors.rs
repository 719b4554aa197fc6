//! Fuzzes the safetensors header parser on arbitrary bytes: it must never panic.
#![no_main]
use aibomd::identify::format::safetensors;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = safetensors::parse_bytes(data);
});
