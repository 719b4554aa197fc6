//! What an accessed file is.
use std::path::Path;
use std::sync::Arc;

/// One version of one file: (device, inode, size, mtime in ns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileVersion {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i128,
}

impl FileVersion {
    /// The version of the file at `path` now.
    pub fn of(path: &Path) -> std::io::Result<Self> {
        Ok(Self::from_metadata(&std::fs::metadata(path)?))
    }

    /// The version `m` describes.
    pub fn from_metadata(m: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self {
            dev: m.dev(),
            ino: m.ino(),
            size: m.len(),
            mtime_ns: m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
        }
    }
}

/// What an accessed file is: type, role, format, provenance, license and hash.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Artifact {
    pub artifact_type: &'static str,
    pub role: Option<&'static str>,
    pub format: &'static str,
    /// What the extension claims, when the header says otherwise.
    pub format_mismatch: Option<&'static str>,
    /// Why the header could not be read.
    pub format_error: Option<String>,
    pub provider: &'static str,
    pub id: Option<String>,
    pub name: Option<String>,
    pub revision: Option<String>,
    pub source_url: Option<String>,
    pub license: Option<String>,
    pub license_source: Option<&'static str>,
    pub sha256: Option<String>,
    pub sha256_source: Option<&'static str>,
    /// Why no hash could be computed.
    pub sha256_error: Option<String>,
    /// The start of the sha256 the store names the file by (a PyTorch Hub checkpoint's
    /// `NAME-<prefix>.pth`), checked when the hash is filled in; not exported.
    pub sha256_claimed: Option<String>,
    /// `aibom.artifact.sha256_expected`: the claimed prefix, set when the computed sha256
    /// does not begin with it.
    pub sha256_expected: Option<String>,
    /// Why the file the process opened could not be read (so nothing was read from it):
    /// `aibom.artifact.identity_error`.
    pub identity_error: Option<String>,
    /// The file version identified (absent when the file could not be stat'ed, and for
    /// accelerators: a device node has no content to version).
    pub version: Option<FileVersion>,
    /// Set when the file is an accelerator's device node (type `accelerator`).
    pub accelerator: Option<Accelerator>,
    /// The scan of a pickle-based file for dangerous imports, once it ran.
    pub unsafe_scan: Option<UnsafeScan>,
    /// The many-file whole (sharded model, dataset of many files) this file is a part
    /// of, or the model an embedded chat template belongs to.
    pub whole: Option<Arc<Whole>>,
    /// Where inside its file this artifact was read from (`aibom.artifact.embedded`):
    /// set on artifacts stored within another file (chat templates).
    pub embedded: Option<String>,
    /// Artifacts stored inside this file (chat templates), each exported as its own
    /// `identified` record next to this one's.
    pub inner: Vec<Arc<Artifact>>,
}

/// A many-file artifact a file belongs to (`aibom.artifact.part.*`, `aibom.artifact.whole.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Whole {
    /// `aibom.artifact.whole.id`.
    pub id: String,
    /// `aibom.artifact.part.index`: the number the file's name gives it.
    pub part_index: Option<u64>,
    /// `aibom.artifact.part.count`.
    pub part_count: Option<u64>,
    /// What one bounded listing of the whole's folder found.
    pub listing: Option<Listing>,
}

/// One bounded listing of a whole's files (names and stat only, nothing read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// `aibom.artifact.whole.files`.
    pub files: u64,
    /// `aibom.artifact.whole.bytes`.
    pub bytes: u64,
    /// `aibom.artifact.whole.sha256`: over the sorted (name, size, mtime) of the files.
    pub digest: String,
    /// `aibom.artifact.whole.skipped`: files beyond the bounds or not stat'ed.
    pub skipped: u64,
}

/// What the scan of a pickle-based file found (`aibom.artifact.unsafe*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnsafeScan {
    /// The dangerous callables imported, `module.name`, sorted and deduplicated.
    pub callables: Vec<String>,
    /// Why the scan did not read the whole file.
    pub error: Option<String>,
}

impl UnsafeScan {
    /// `aibom.artifact.unsafe`: true on a hit, false when the whole file was read
    /// without one, unknown (`None`) when the scan stopped early without one.
    pub fn verdict(&self) -> Option<bool> {
        if !self.callables.is_empty() {
            Some(true)
        } else if self.error.is_some() {
            None
        } else {
            Some(false)
        }
    }

    /// `aibom.artifact.unsafe_reason`: the callables, comma-separated.
    pub fn reason(&self) -> Option<String> {
        (!self.callables.is_empty()).then(|| self.callables.join(", "))
    }
}

/// An accelerator a process opened (`aibom.accelerator.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accelerator {
    /// An `aibom.accelerator.vendor` value.
    pub vendor: &'static str,
    /// An `aibom.accelerator.kind` value.
    pub kind: &'static str,
    /// `aibom.accelerator.index`, when the node's name numbers the device.
    pub index: Option<u32>,
}

impl Accelerator {
    /// The device as `aibom.accelerator.devices` lists it: `VENDOR/KIND[/INDEX]`.
    pub fn device(&self) -> String {
        match self.index {
            Some(i) => format!("{}/{}/{i}", self.vendor, self.kind),
            None => format!("{}/{}", self.vendor, self.kind),
        }
    }
}
