//! Compiles the C CO-RE programs in `../ebpf/` with clang and leaves the object in
//! `OUT_DIR`, where `src/tracer/ebpf/mod.rs` embeds it into the binary.
use std::{env, path::PathBuf, process::Command};

fn main() {
    let src_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("../ebpf");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("aibom.bpf.o");
    for f in [
        "aibom.bpf.c",
        "aibom_event.h",
        "vmlinux_min.h",
        "api.bpf.h",
        "indirect.bpf.h",
        "compat.bpf.h",
        "renames.bpf.h",
        "aibom_api.h",
    ] {
        println!("cargo:rerun-if-changed={}", src_dir.join(f).display());
    }
    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".into());
    // Debian keeps asm/types.h under the multiarch include dir; BPF targets don't search it.
    let arch_inc = format!("/usr/include/{}-linux-gnu", env::consts::ARCH);
    let target_arch = match env::consts::ARCH {
        "x86_64" => "x86",
        "aarch64" => "arm64",
        other => other,
    };
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror"])
        .arg(format!("-D__TARGET_ARCH_{target_arch}"))
        .arg(format!("-I{}", src_dir.display()))
        .arg(format!("-I{arch_inc}"))
        .arg("-c")
        .arg(src_dir.join("aibom.bpf.c"))
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run `{clang}` to build the eBPF programs ({e}); install clang and libbpf-dev (scripts/setup does)")
        });
    assert!(
        status.success(),
        "clang failed to compile ../ebpf/aibom.bpf.c"
    );
}
