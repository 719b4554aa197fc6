//! Accelerator device nodes: an open of `/dev/nvidia*`, `/dev/dri/*`, `/dev/kfd`,
//! `/dev/accel/*` or `/dev/neuron*` is an accelerator-use observation, not a file to sniff
//! or hash.
//!
//! The node's name gives the kind and the index; the vendor is the PCI vendor of the device
//! behind the node when sysfs has it (`/sys/dev/char/MAJOR:MINOR/device/vendor`), else what
//! the name implies (`nvidia*` NVIDIA, `kfd` AMD, `neuron*` AWS), else `unknown` (DRM and
//! accel nodes serve every vendor). Only the node is stat'ed; it is never opened.
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use aibom_semconv::{accelerator_kind as kind, accelerator_vendor as vendor};

use crate::model::Accelerator;

/// DRM render nodes are numbered from this minor.
const RENDER_MINOR_BASE: u32 = 128;

/// The accelerator `path` names, when it is an accelerator node (a character device, or
/// absent: the open may have been seen after the node went away).
pub fn accelerator(path: &Path) -> Option<Accelerator> {
    let (kind, index, by_name) = parse(path.to_str()?)?;
    let meta = std::fs::metadata(path).ok();
    if meta
        .as_ref()
        .is_some_and(|m| !m.file_type().is_char_device())
    {
        return None;
    }
    let pci = meta.and_then(|m| pci_vendor(m.rdev()));
    Some(Accelerator {
        vendor: pci.unwrap_or(by_name),
        kind,
        index,
    })
}

/// Kind, index and the vendor the name implies, from the node's path.
fn parse(p: &str) -> Option<(&'static str, Option<u32>, &'static str)> {
    let num = |s: &str| s.parse::<u32>().ok();
    if let Some(rest) = p.strip_prefix("/dev/nvidia") {
        return Some(match num(rest) {
            Some(i) => (kind::GPU, Some(i), vendor::NVIDIA),
            None => (kind::CONTROL, None, vendor::NVIDIA),
        });
    }
    if p == "/dev/kfd" {
        return Some((kind::COMPUTE, None, vendor::AMD));
    }
    if let Some(rest) = p.strip_prefix("/dev/neuron") {
        return Some((kind::NEURON, Some(num(rest)?), vendor::AWS));
    }
    if let Some(rest) = p.strip_prefix("/dev/accel/accel") {
        return Some((kind::ACCEL, Some(num(rest)?), vendor::UNKNOWN));
    }
    let dri = p.strip_prefix("/dev/dri/")?;
    if let Some(n) = dri.strip_prefix("renderD").and_then(num) {
        return Some((
            kind::RENDER,
            n.checked_sub(RENDER_MINOR_BASE),
            vendor::UNKNOWN,
        ));
    }
    let n = dri.strip_prefix("card").and_then(num)?;
    Some((kind::CARD, Some(n), vendor::UNKNOWN))
}

/// The vendor of the PCI device behind character device `rdev`, from sysfs.
fn pci_vendor(rdev: u64) -> Option<&'static str> {
    let (major, minor) = (libc::major(rdev), libc::minor(rdev));
    let id =
        std::fs::read_to_string(format!("/sys/dev/char/{major}:{minor}/device/vendor")).ok()?;
    Some(match id.trim() {
        "0x10de" => vendor::NVIDIA,
        "0x1002" | "0x1022" => vendor::AMD,
        "0x8086" => vendor::INTEL,
        "0x1da3" => vendor::HABANA,
        "0x1d0f" => vendor::AWS,
        _ => vendor::UNKNOWN,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_give_kind_index_and_vendor() {
        let a = |p: &str| parse(p);
        assert_eq!(
            a("/dev/nvidia3"),
            Some((kind::GPU, Some(3), vendor::NVIDIA))
        );
        assert_eq!(
            a("/dev/nvidiactl"),
            Some((kind::CONTROL, None, vendor::NVIDIA))
        );
        assert_eq!(
            a("/dev/nvidia-uvm"),
            Some((kind::CONTROL, None, vendor::NVIDIA))
        );
        assert_eq!(a("/dev/kfd"), Some((kind::COMPUTE, None, vendor::AMD)));
        assert_eq!(
            a("/dev/neuron1"),
            Some((kind::NEURON, Some(1), vendor::AWS))
        );
        assert_eq!(
            a("/dev/accel/accel0"),
            Some((kind::ACCEL, Some(0), vendor::UNKNOWN))
        );
        assert_eq!(
            a("/dev/dri/renderD129"),
            Some((kind::RENDER, Some(1), vendor::UNKNOWN))
        );
        assert_eq!(
            a("/dev/dri/card0"),
            Some((kind::CARD, Some(0), vendor::UNKNOWN))
        );
        for no in [
            "/dev/null",
            "/dev/dri/by-path/x",
            "/dev/accel/x",
            "/home/nvidia0",
            "/dev/kfd2",
        ] {
            assert_eq!(a(no), None, "{no}");
        }
    }
}
