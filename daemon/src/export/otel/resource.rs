//! The OTel resource: `service.*`, `host.*`, `os.*`, plus the SDK's detectors
//! (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, telemetry.sdk.*).
use aibom_semconv::attr;
use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;

/// Resource of everything aibomd exports.
pub fn detect() -> Resource {
    let mut attrs = vec![KeyValue::new(
        attr::SERVICE_VERSION,
        env!("CARGO_PKG_VERSION"),
    )];
    if let Ok(u) = nix::sys::utsname::uname() {
        attrs.push(KeyValue::new(
            attr::HOST_NAME,
            u.nodename().to_string_lossy().into_owned(),
        ));
        attrs.push(KeyValue::new(
            attr::OS_TYPE,
            u.sysname().to_string_lossy().to_lowercase(),
        ));
        attrs.push(KeyValue::new(
            attr::OS_VERSION,
            u.release().to_string_lossy().into_owned(),
        ));
        attrs.push(KeyValue::new(
            attr::HOST_ARCH,
            host_arch(&u.machine().to_string_lossy()),
        ));
    }
    if let Ok(id) = std::fs::read_to_string("/etc/machine-id") {
        attrs.push(KeyValue::new(attr::HOST_ID, id.trim().to_string()));
    }
    let user_named = std::env::var("OTEL_SERVICE_NAME").is_ok()
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES")
            .is_ok_and(|v| v.contains(&format!("{}=", attr::SERVICE_NAME)));
    // Resource::builder() runs the SDK detectors; ours go first so env settings win.
    let base = Resource::builder_empty().with_attributes(attrs).build();
    let mut b = Resource::builder().with_attributes(
        base.iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
    );
    if !user_named {
        b = b.with_service_name("aibomd");
    }
    b.build()
}

/// OTel `host.arch` values.
fn host_arch(machine: &str) -> String {
    match machine {
        "x86_64" => "amd64".into(),
        "aarch64" => "arm64".into(),
        other => other.to_string(),
    }
}
