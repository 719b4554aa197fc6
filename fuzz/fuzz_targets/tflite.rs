//! Fuzzes the tflite header parser on arbitrary bytes: it must never panic.
#![no_main]
use aibomd::identify::format::tflite;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tflite::parse_bytes(data);
});
