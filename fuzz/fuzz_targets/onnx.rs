//! Fuzzes the ONNX / protobuf reader on arbitrary bytes: it must never panic.
#![no_main]
use aibomd::identify::format::onnx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Most random inputs fail the `ir_version` precheck; also run the reader with a
    // valid first tag so the rest of the message is exercised.
    let _ = onnx::parse_bytes(data);
    let mut framed = vec![0x08, 0x08];
    framed.extend_from_slice(data);
    let _ = onnx::parse_bytes(&framed);
});
