//! Protobuf wire-format writing of borrowed data, for the few OTLP messages aibomd
//! encodes itself (see [`super::logs`]).
//!
//! Hand-written on top of `prost::encoding` because prost only encodes its owned message
//! structs: building an `opentelemetry_proto` `LogRecord` costs two `String`s per
//! attribute, which is most of the cost of a record. These helpers write fields straight
//! from `&str`/`&[u8]`; every message they write is checked against the prost types by
//! decoding it (see the tests of [`super::logs`]).
use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};

use crate::export::Value;

/// Length of a length-delimited field `tag` holding `len` bytes, key included.
pub fn len_field_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

/// Key and length prefix of a length-delimited field; the caller writes `len` bytes next.
pub fn len_prefix(tag: u32, len: usize, b: &mut impl prost::bytes::BufMut) {
    encode_key(tag, WireType::LengthDelimited, b);
    encode_varint(len as u64, b);
}

/// A `string`, `bytes` or embedded-message field.
pub fn bytes_field(tag: u32, v: &[u8], b: &mut Vec<u8>) {
    len_prefix(tag, v.len(), b);
    b.extend_from_slice(v);
}

/// A varint field (`int64`, `uint32`, enum).
pub fn varint_field(tag: u32, v: u64, b: &mut Vec<u8>) {
    encode_key(tag, WireType::Varint, b);
    encode_varint(v, b);
}

/// A `fixed64` field.
pub fn fixed64_field(tag: u32, v: u64, b: &mut Vec<u8>) {
    encode_key(tag, WireType::SixtyFourBit, b);
    b.extend_from_slice(&v.to_le_bytes());
}

/// A `fixed32` field.
pub fn fixed32_field(tag: u32, v: u32, b: &mut Vec<u8>) {
    encode_key(tag, WireType::ThirtyTwoBit, b);
    b.extend_from_slice(&v.to_le_bytes());
}

/// `AnyValue` oneof tags.
const ANY_STRING: u32 = 1;
const ANY_BOOL: u32 = 2;
const ANY_INT: u32 = 3;

/// Encoded length of an `AnyValue` holding `v`.
fn any_value_len(v: &Value) -> usize {
    match v {
        Value::Str(s) => len_field_len(ANY_STRING, s.len()),
        Value::Int(i) => key_len(ANY_INT) + encoded_len_varint(*i as u64),
        Value::Bool(_) => key_len(ANY_BOOL) + 1,
    }
}

/// An `AnyValue` message field `tag` holding `v`.
pub fn any_value_field(tag: u32, v: &Value, b: &mut Vec<u8>) {
    len_prefix(tag, any_value_len(v), b);
    match v {
        Value::Str(s) => bytes_field(ANY_STRING, s.as_bytes(), b),
        // int64: two's complement as a 64-bit varint, as prost writes it
        Value::Int(i) => varint_field(ANY_INT, *i as u64, b),
        Value::Bool(v) => varint_field(ANY_BOOL, *v as u64, b),
    }
}

/// A `KeyValue` message field `tag`: `{ key = 1, value = 2 }`.
pub fn key_value_field(tag: u32, key: &str, v: &Value, b: &mut Vec<u8>) {
    let len = len_field_len(1, key.len()) + len_field_len(2, any_value_len(v));
    len_prefix(tag, len, b);
    bytes_field(1, key.as_bytes(), b);
    any_value_field(2, v, b);
}
