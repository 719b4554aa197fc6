//! Where to put an entry uprobe on a function: past a first instruction the kernel
//! cannot emulate.
//!
//! A uprobe on an instruction x86 uprobes do not emulate (`sub $n, %rsp`, `endbr64`)
//! costs a second trap to single-step it out of line: about 11 µs per hit measured on
//! these VMs (benches/README.md), against about 1 µs on an emulated one (`call`, `push`,
//! `nop`). OpenSSL's `SSL_write_ex` starts `sub $8, %rsp; call …`. Neither instruction
//! touches the argument registers, so an entry probe that only reads arguments can sit
//! one instruction in. Return probes must stay at the entry (the kernel takes the
//! return address from the stack pointer there). Written by hand: no crate decodes "is
//! this the stack-adjust or endbr64 prologue"; the ELF is read with `object`.
use std::path::Path;

use object::{Object, ObjectSegment, ObjectSymbol};

/// An ELF file's bytes, read once for all the functions probed in it.
pub struct Image(Vec<u8>);

impl Image {
    /// `path`'s bytes; `None` when unreadable or not x86_64 (nothing is skipped then).
    pub fn read(path: &Path) -> Option<Self> {
        if !cfg!(target_arch = "x86_64") {
            return None;
        }
        std::fs::read(path).ok().map(Self)
    }

    /// Bytes to skip at the start of `symbol` (0 when unsure).
    pub fn skip(&self, symbol: &str) -> u64 {
        first_bytes(&self.0, symbol).map_or(0, |b| prologue_len(&b))
    }
}

/// The first 8 bytes of `symbol`'s code.
fn first_bytes(data: &[u8], symbol: &str) -> Option<[u8; 8]> {
    let f = object::File::parse(data).ok()?;
    let addr = f
        .dynamic_symbols()
        .chain(f.symbols())
        .find(|s| s.is_definition() && s.name().is_ok_and(|n| n == symbol))?
        .address();
    let seg = f
        .segments()
        .find(|s| addr >= s.address() && addr < s.address() + s.size())?;
    let (off, len) = seg.file_range();
    let at = usize::try_from(off + (addr - seg.address())).ok()?;
    if (addr - seg.address()) + 8 > len {
        return None;
    }
    data.get(at..at + 8)?.try_into().ok()
}

/// Length of a leading `endbr64` or `sub $imm, %rsp` (0 for anything else).
fn prologue_len(b: &[u8; 8]) -> u64 {
    match b {
        [0xf3, 0x0f, 0x1e, 0xfa, ..] => 4,       // endbr64
        [0x48, 0x83, 0xec, _, ..] => 4,          // sub $imm8, %rsp
        [0x48, 0x81, 0xec, _, _, _, _, ..] => 7, // sub $imm32, %rsp
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_argument_safe_prologues_are_skipped() {
        assert_eq!(prologue_len(&[0x48, 0x83, 0xec, 0x08, 0xe8, 0, 0, 0]), 4);
        assert_eq!(prologue_len(&[0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0, 0, 0]), 4);
        assert_eq!(prologue_len(&[0x48, 0x81, 0xec, 0, 1, 0, 0, 0x55]), 7);
        // mov %rdi,%rbx reads an argument register: stay at the entry
        assert_eq!(prologue_len(&[0x48, 0x89, 0xfb, 0, 0, 0, 0, 0]), 0);
        assert_eq!(prologue_len(&[0x55, 0, 0, 0, 0, 0, 0, 0]), 0);
    }

    #[test]
    fn reads_the_system_openssl() {
        let lib = Path::new("/usr/lib/x86_64-linux-gnu/libssl.so.3");
        if !lib.exists() {
            eprintln!("SKIP: no {}", lib.display());
            return;
        }
        let b = first_bytes(&std::fs::read(lib).unwrap(), "SSL_write_ex");
        assert!(b.is_some(), "SSL_write_ex found in the dynamic symbols");
    }
}
