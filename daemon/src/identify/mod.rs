//! Artifact identification: from an accessed file to what it is (type, role, format),
//! where it came from (provider, canonical id, revision, source URL), its license and
//! its exact bytes (sha256).
pub mod format;
pub mod hash;
