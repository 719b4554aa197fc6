//! Attribute names the runtime table reads that `aibom-semconv` does not define (yet): OTel
//! resource conventions for where a process ran, and the id of an on-demand scan. They belong
//! in semconv; until they are there, this is the only place they are spelled.

/// OTel `container.id`.
pub const CONTAINER_ID: &str = "container.id";
/// OTel `k8s.pod.name`.
pub const K8S_POD_NAME: &str = "k8s.pod.name";
/// OTel `k8s.namespace.name`.
pub const K8S_NAMESPACE_NAME: &str = "k8s.namespace.name";
/// OTel `host.name` (a resource attribute of aibomd).
pub const HOST_NAME: &str = "host.name";
/// OTel `service.instance.id`.
pub const SERVICE_INSTANCE_ID: &str = "service.instance.id";
/// The scan (`POST /scan/runtime`) an event was recorded for.
pub const SCAN_ID: &str = "aibom.scan.id";
