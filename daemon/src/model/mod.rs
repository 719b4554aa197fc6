//! The observation types every stage passes on: what a tracer saw ([`RawAccess`],
//! [`ExecInfo`], [`TraceEvent`]), who did it ([`Attribution`]), what the file is
//! ([`Artifact`]), an AI API call ([`ApiEvent`], [`ApiCall`]), the record the sinks take ([`AccessRecord`]), a policy rule's verdict
//! ([`Violation`]) and a scan's state ([`ScanReport`]).
//!
//! This module is the leaf of the crate: it imports only `std`, `serde`, `libc` and
//! `aibom_semconv`, never a stage, so stages depend on it and never on each other's types.
mod access;
mod api;
mod artifact;
mod process;
mod record;
mod scan;
mod verdict;

pub use access::{AccessMode, ExecInfo, FileMeta, Opened, RawAccess, TraceEvent, TracerStats};
pub use api::{add_tokens, ApiCall, ApiEvent, ApiEventKind, ApiField, ConnRef, Direction};
pub use artifact::{Accelerator, Artifact, FileVersion, Listing, UnsafeScan, Whole};
pub use process::{Attribution, Container, ContainerImage, Environment, PodName};
pub use record::{AccessRecord, RecordId, RecordKind};
pub use scan::ScanReport;
pub use verdict::{Action, Severity, Violation};
