//! The fleet topology's collector configs (`collector-config/otelcol-agent.yaml`,
//! `otelcol-gateway.yaml`, `rotel-agent.env`): valid YAML, every referenced component defined,
//! the agents' target port the gateways' receiver port, persistent queues on both tiers, the
//! gateway writing the schema's tables; rotel-agent accepting its environment file.
mod common;
mod stack_util;

use aibom_query::schema::COLLECTOR_TABLES;
use serde_json::Value;
use stack_util::*;
use std::collections::BTreeMap;

/// `${env:NAME:-default}` -> default; anything else as is.
fn default_of(v: &Value) -> String {
    let s = v.as_str().unwrap_or_default();
    match s.find(":-") {
        Some(i) if s.starts_with("${env:") => s[i + 2..s.len() - 1].to_string(),
        _ => s.to_string(),
    }
}

fn port(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

/// Every component a pipeline or `service.extensions` names is defined.
fn check_wiring(rel: &str, c: &Value) {
    for ext in c["service"]["extensions"].as_array().unwrap() {
        let e = ext.as_str().unwrap();
        assert!(c["extensions"].get(e).is_some(), "{rel}: extension {e}");
    }
    let pipelines = c["service"]["pipelines"].as_object().unwrap();
    for sig in ["logs", "traces", "metrics"] {
        let p = &pipelines[sig];
        for kind in ["receivers", "processors", "exporters"] {
            for n in p[kind].as_array().unwrap() {
                assert!(
                    c[kind].get(n.as_str().unwrap()).is_some(),
                    "{rel}: {sig} {kind} {n}"
                );
            }
        }
        // memory_limiter first, as the collector docs require
        assert_eq!(p["processors"][0], "memory_limiter", "{rel}: {sig}");
    }
}

/// A `sending_queue` that persists to a `file_storage` extension the service starts.
fn check_persistent_queue(rel: &str, c: &Value, exporter: &str) {
    let q = &c["exporters"][exporter]["sending_queue"];
    assert_eq!(q["enabled"], true, "{rel}");
    let storage = q["storage"].as_str().expect("sending_queue.storage");
    assert!(storage.starts_with("file_storage"), "{rel}");
    assert!(c["extensions"][storage]["directory"].is_string(), "{rel}");
    assert!(
        c["service"]["extensions"]
            .as_array()
            .unwrap()
            .contains(&Value::from(storage)),
        "{rel}: {storage} not started"
    );
}

#[test]
fn agent_and_gateway_configs_line_up() {
    let agent = yaml("collector-config/otelcol-agent.yaml");
    let gw = yaml("collector-config/otelcol-gateway.yaml");
    check_wiring("otelcol-agent.yaml", &agent);
    check_wiring("otelcol-gateway.yaml", &gw);

    // agents: loadbalancing on a stable key, persistent queue, never ClickHouse
    let lb = &agent["exporters"]["loadbalancing"];
    let key = lb["routing_key"].as_str().unwrap();
    assert!(
        ["resource", "attributes", "service"].contains(&key),
        "{key}"
    );
    check_persistent_queue("otelcol-agent.yaml", &agent, "loadbalancing");
    assert!(agent["exporters"].get("clickhouse").is_none());
    // agents listen on loopback only (aibomd is on the same host)
    for p in ["grpc", "http"] {
        let ep = default_of(&agent["receivers"]["otlp"]["protocols"][p]["endpoint"]);
        assert!(ep.starts_with("127.0.0.1:"), "agent {p}: {ep}");
    }

    // the port the agents resolve gateways on is the gateways' OTLP gRPC port
    let gw_grpc = default_of(&gw["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]);
    assert!(
        gw_grpc.starts_with("0.0.0.0:"),
        "gateways take other hosts' data"
    );
    let resolver = &lb["resolver"];
    assert_eq!(
        resolver["dns"]["port"].as_u64(),
        Some(port(&gw_grpc) as u64),
        "agent resolver port vs gateway receiver"
    );

    // gateways: batch -> clickhouse into the schema's tables, persistent queue, no DDL
    check_persistent_queue("otelcol-gateway.yaml", &gw, "clickhouse");
    let ch = &gw["exporters"]["clickhouse"];
    assert_eq!(ch["create_schema"], false);
    let mut tables: Vec<String> = vec![
        ch["logs_table_name"].as_str().unwrap().into(),
        ch["traces_table_name"].as_str().unwrap().into(),
    ];
    for (_, t) in ch["metrics_tables"].as_object().unwrap() {
        tables.push(t["name"].as_str().unwrap().into());
    }
    for t in &tables {
        let suffix = t.strip_prefix("otel_").unwrap();
        assert!(
            COLLECTOR_TABLES.iter().any(|(n, _)| *n == suffix),
            "gateway writes {t}, which the schema does not create"
        );
    }
    assert_eq!(tables.len(), 7);
    assert!(gw["service"]["pipelines"]["logs"]["processors"]
        .as_array()
        .unwrap()
        .contains(&Value::from("batch")));

    // the single-node config and the gateway write the same tables the same way
    let single = yaml("collector-config/otelcol-contrib.yaml");
    for k in [
        "logs_table_name",
        "traces_table_name",
        "metrics_tables",
        "database",
    ] {
        assert_eq!(single["exporters"]["clickhouse"][k], ch[k], "{k}");
    }
}

fn env_file(rel: &str) -> BTreeMap<String, String> {
    read(rel)
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

#[test]
fn rotel_agent_env_forwards_to_the_gateway_port() {
    let env = env_file("collector-config/rotel-agent.env");
    assert_eq!(env["ROTEL_EXPORTER"], "otlp");
    assert_eq!(env["ROTEL_OTLP_EXPORTER_PROTOCOL"], "grpc");
    assert_eq!(env["ROTEL_DISABLE_BATCHING"], "true");
    let gw = yaml("collector-config/otelcol-gateway.yaml");
    let gw_grpc = default_of(&gw["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]);
    assert_eq!(
        port(&env["ROTEL_OTLP_EXPORTER_ENDPOINT"]),
        port(&gw_grpc),
        "rotel agent -> gateway port"
    );
    // every variable is one rotel-agent reads
    let Some(agent) = common::rotel_agent() else {
        common::skip("rotel-agent is missing (scripts/setup installs the rotel wheel)");
        return;
    };
    let help = std::process::Command::new(&agent)
        .args(["start", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for k in env.keys() {
        assert!(
            help.contains(&format!("[env: {k}=")),
            "rotel-agent does not read {k}"
        );
    }
}
