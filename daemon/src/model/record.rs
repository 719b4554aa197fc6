//! The record the sinks take.
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use aibom_semconv::event;

use super::{AccessMode, Artifact, Attribution, FileVersion};

/// Which event a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A process accessed an artifact file (`aibom.artifact.access`).
    Access,
    /// The one record per artifact version and name that completes its identity, its
    /// hash included (`aibom.artifact.identified`).
    Identified,
}

impl RecordKind {
    /// The semconv event name.
    pub fn event_name(self) -> &'static str {
        match self {
            RecordKind::Access => event::ARTIFACT_ACCESS,
            RecordKind::Identified => event::ARTIFACT_IDENTIFIED,
        }
    }
}

/// A normalized, attributed file access, ready for the sinks.
///
/// The process behind it is shared ([`Attribution`] behind an `Arc`, one per process),
/// never copied field by field.
#[derive(Debug, Clone)]
pub struct AccessRecord {
    pub kind: RecordKind,
    /// What the file is, when identified (shared with the identify stage's cache).
    pub artifact: Option<Arc<Artifact>>,
    pub time: SystemTime,
    /// Absolute path with symlinks resolved (`file.path`); shared with the normalize
    /// stage's cache.
    pub file_path: Arc<Path>,
    /// Absolute path before resolving symlinks (`aibom.access.absolute_path`).
    pub absolute_path: Arc<Path>,
    /// As passed by the program (`aibom.access.path`).
    pub access_path: Vec<u8>,
    /// `aibom.access.resolution` value.
    pub resolution: &'static str,
    pub size: Option<u64>,
    pub modified: Option<SystemTime>,
    pub inode: Option<u64>,
    /// The version of the file accessed (device, inode, size, mtime), when known.
    pub version: Option<FileVersion>,
    pub mode: AccessMode,
    pub syscall: Option<&'static str>,
    pub flags: Option<u64>,
    /// Accesses folded into this record (`aibom.access.count`).
    pub count: u64,
    /// Which tracer saw it (`aibom.tracer`).
    pub tracer: &'static str,
    /// `aibom.access.origin`: seen by a tracer, or found by a scan's inventory.
    pub origin: &'static str,
    /// The scan the record was collected for (`aibom.scan.id`).
    pub scan_id: Option<String>,
    /// The process, container, pod and project behind the access.
    pub process: Arc<Attribution>,
}

impl AccessRecord {
    /// The semconv event name of the record.
    pub fn event_name(&self) -> &'static str {
        self.kind.event_name()
    }

    /// The traced process id.
    pub fn pid(&self) -> u32 {
        self.process.pid
    }

    /// The project the access is attributed to.
    pub fn project(&self) -> &str {
        &self.process.project
    }
}
