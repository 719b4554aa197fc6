//! aibomd: a runtime AI-BOM exporter.
//!
//! Stages: [`tracer`] (ebpf | fanotify | procfs) → [`dedup`] → [`normalize`] (with
//! [`attribute`]) → [`identify`] → [`policy`] → route ([`scan`]) → [`export`], wired by
//! [`pipeline`];
//! every stage passes the types of [`model`].
pub mod api;
pub mod app;
pub mod attribute;
pub mod config;
pub mod control;
pub mod dedup;
pub mod export;
pub mod filter;
pub mod identify;
pub mod model;
pub mod normalize;
pub mod pipeline;
pub mod policy;
pub mod sandbox;
pub mod scan;
pub mod stats;
pub mod text;
pub mod tracer;
