//! Fuzzes the npy header parser on arbitrary bytes: it must never panic.
#![no_main]
use aibomd::identify::format::npy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = npy::parse_bytes(data);
});
