//! The record the sinks take.
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use aibom_semconv::event;

use super::{AccessMode, ApiCall, Artifact, Attribution, FileVersion, Violation};

/// Which event a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A process accessed an artifact file (`aibom.artifact.access`).
    Access,
    /// The one record per artifact version and name that completes its identity, its
    /// hash included (`aibom.artifact.identified`).
    Identified,
    /// The access broke a policy rule (`aibom.policy.violation`); the record carries the
    /// access's attributes and [`AccessRecord::violation`].
    Violation,
    /// An AI API call (`aibom.api.call`): [`AccessRecord::api`] says what; the file
    /// fields are empty.
    ApiCall,
}

impl RecordKind {
    /// The semconv event name.
    pub fn event_name(self) -> &'static str {
        match self {
            RecordKind::Access => event::ARTIFACT_ACCESS,
            RecordKind::Identified => event::ARTIFACT_IDENTIFIED,
            RecordKind::Violation => event::POLICY_VIOLATION,
            RecordKind::ApiCall => event::API_CALL,
        }
    }
}

/// The id of one exported record (`aibom.record.id`), a UUID as a number: given by the
/// export stage when the record leaves, unset (0) before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RecordId(pub u128);

impl RecordId {
    /// True once the export stage gave the record its id.
    pub fn is_set(self) -> bool {
        self.0 != 0
    }
}

/// A normalized, attributed file access, or an AI API call, ready for the sinks.
///
/// The process behind it is shared ([`Attribution`] behind an `Arc`, one per process),
/// never copied field by field.
#[derive(Debug, Clone)]
pub struct AccessRecord {
    pub kind: RecordKind,
    /// Given when the record leaves the pipeline, one per copy delivered.
    pub id: RecordId,
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
    /// The open was refused by the policy enforcer (EPERM).
    pub refused: bool,
    /// The verdict, on a [`RecordKind::Violation`] record.
    pub violation: Option<Arc<Violation>>,
    /// The call, on a [`RecordKind::ApiCall`] record (and on a violation of one).
    pub api: Option<Arc<ApiCall>>,
    /// How to reach the file the process opened again (for identify; never exported).
    pub opened: Option<Arc<super::Opened>>,
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

    /// A violation record of `v` for this access: the same attributes, and the verdict.
    pub fn violation_of(&self, v: Violation) -> AccessRecord {
        AccessRecord {
            kind: RecordKind::Violation,
            violation: Some(Arc::new(v)),
            ..self.clone()
        }
    }

    /// An API call record of process `process`: the file fields are empty.
    pub fn api_call(
        call: ApiCall,
        time: SystemTime,
        process: Arc<Attribution>,
        tracer: &'static str,
    ) -> Self {
        AccessRecord {
            count: call.count,
            api: Some(Arc::new(call)),
            ..Self::bare(RecordKind::ApiCall, Path::new(""), time, process, tracer)
        }
    }

    /// A record of `kind` for `path` (as passed, absolute and resolved alike), one access,
    /// traced, nothing else known.
    fn bare(
        kind: RecordKind,
        path: &Path,
        time: SystemTime,
        process: Arc<Attribution>,
        tracer: &'static str,
    ) -> Self {
        let p: Arc<Path> = Arc::from(path);
        AccessRecord {
            kind,
            id: RecordId::default(),
            artifact: None,
            time,
            file_path: p.clone(),
            absolute_path: p,
            access_path: path.as_os_str().as_encoded_bytes().to_vec(),
            resolution: "",
            size: None,
            modified: None,
            inode: None,
            version: None,
            mode: AccessMode::Read,
            syscall: None,
            flags: None,
            count: 1,
            tracer,
            origin: aibom_semconv::access_origin::TRACE,
            scan_id: None,
            process,
            refused: false,
            violation: None,
            api: None,
            opened: None,
        }
    }

    /// A read of `path` by pid 1, for tests of the stages that hold records.
    #[cfg(test)]
    pub(crate) fn test_read(path: &str) -> Self {
        Self::bare(
            RecordKind::Access,
            Path::new(path),
            SystemTime::now(),
            Arc::new(Attribution::bare(1)),
            "test",
        )
    }

    /// What the record costs held in memory, in bytes: the record, its own paths and the
    /// kernel's path, the artifact's struct. The process's attribution is shared by every
    /// record of the process and bounded by the attribute cache: not counted.
    pub fn held_bytes(&self) -> usize {
        let path = |p: &Path| p.as_os_str().len() + 16; // the Arc's counts
        std::mem::size_of::<AccessRecord>()
            + path(&self.file_path)
            + path(&self.absolute_path)
            + self.access_path.capacity()
            + self.scan_id.as_ref().map_or(0, String::capacity)
            + self.opened.as_ref().map_or(0, |o| {
                std::mem::size_of::<super::Opened>()
                    + o.kernel_path.as_ref().map_or(0, Vec::capacity)
            })
            + self
                .artifact
                .as_ref()
                .map_or(0, |_| std::mem::size_of::<Artifact>())
    }

    /// The project the access is attributed to.
    pub fn project(&self) -> &str {
        &self.process.project
    }
}
