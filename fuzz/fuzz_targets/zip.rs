//! Fuzzes the zip header parser on arbitrary bytes: it must never panic.
#![no_main]
use aibomd::identify::format::zip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = zip::parse_bytes(data);
});
