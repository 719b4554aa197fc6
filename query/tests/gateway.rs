//! The fleet topology's collector configs (`collector-config/otelcol-agent.yaml`,
//! `otelcol-gateway.yaml`, `rotel-agent.env`): valid YAML, every referenced component defined,
//! the agents' target port the gateways' receiver port, persistent queues on both tiers, the
//! gateway writing the schema's tables; rotel-agent accepting its environment file; and four
//! rotel-agents (as four hosts, `rotel-agent.env`) through one rotel gateway into chDB, exact
//! per host and project across a gateway outage and restart.
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

/// One OTLP/JSON logs request from `host` (project `project`): `n` artifact accesses,
/// record ids `host-<from+i>` in the file path so every row is distinct.
fn otlp_logs(host: &str, project: &str, from: usize, n: usize) -> String {
    use common::{attr, event, record};
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap();
    let kv = |k: &str, v: String| serde_json::json!({"key": k, "value": {"stringValue": v}});
    let records: Vec<Value> = (from..from + n)
        .map(|i| {
            serde_json::json!({
                "timeUnixNano": (now + i as i64).to_string(),
                "attributes": [
                    kv(record::EVENT_NAME, event::ARTIFACT_ACCESS.into()),
                    kv(attr::FILE_PATH, format!("/m/{host}/{i}.gguf")),
                    kv(attr::ACCESS_COUNT, "1".into()),
                    kv(attr::PROCESS_PID, "42".into()),
                    kv(attr::ARTIFACT_TYPE, "model".into()),
                ],
            })
        })
        .collect();
    serde_json::json!({"resourceLogs": [{
        "resource": {"attributes": [
            kv(attr::SERVICE_NAME, "aibomd".into()),
            kv(attr::PROJECT_ID, project.into()),
            kv(attr::HOST_NAME, host.into()),
        ]},
        "scopeLogs": [{"scope": {"name": "aibomd"}, "logRecords": records}],
    }]})
    .to_string()
}

/// rotel-agents configured by `rotel-agent.env` (receivers moved to free ports, the gateway
/// endpoint to a local rotel gateway writing into chDB): four agents as four hosts, two
/// projects; the gateway is killed after the first half of the traffic, the second half is
/// sent while it is down, then it restarts. Every host's rows arrive exactly once, under its
/// project. (No persistent queue in rotel: an agent restart during the outage would lose its
/// retries; otelcol-agent.yaml's file_storage queue covers that, not tested here.)
#[test]
fn rotel_agents_through_a_rotel_gateway_with_a_restart() {
    let Some(agent) = common::rotel_agent() else {
        common::skip("rotel-agent is missing (scripts/setup installs the rotel wheel)");
        return;
    };
    let Some(ch) = common::ClickHouse::start() else {
        return;
    };
    assert!(common::migrate(&ch).status.success());
    let (gw_http, gw_grpc) = (common::free_port(), common::free_port());
    let gateway = || {
        let c = common::Killed(
            common::rotel_command(&agent, &ch, gw_http, gw_grpc)
                .spawn()
                .unwrap(),
        );
        common::wait_for_port(gw_grpc, std::time::Duration::from_secs(30));
        c
    };
    let mut gw = gateway();
    let env = env_file("collector-config/rotel-agent.env");
    let hosts: Vec<(String, String, u16, common::Killed)> = (0..4)
        .map(|i| {
            let (http, grpc) = (common::free_port(), common::free_port());
            let mut c = std::process::Command::new(&agent);
            c.arg("start")
                .envs(&env)
                .env("ROTEL_OTLP_HTTP_ENDPOINT", format!("127.0.0.1:{http}"))
                .env("ROTEL_OTLP_GRPC_ENDPOINT", format!("127.0.0.1:{grpc}"))
                .env(
                    "ROTEL_OTLP_EXPORTER_ENDPOINT",
                    format!("http://127.0.0.1:{gw_grpc}"),
                )
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            let k = common::Killed(c.spawn().unwrap());
            common::wait_for_port(http, std::time::Duration::from_secs(30));
            (format!("host-{i}"), format!("proj-{}", i % 2), http, k)
        })
        .collect();
    const PER_REQUEST: usize = 200;
    const REQUESTS: usize = 5;
    let send = |round: usize| {
        for (host, project, http, _) in &hosts {
            for r in 0..REQUESTS {
                let from = (round * REQUESTS + r) * PER_REQUEST;
                let body = otlp_logs(host, project, from, PER_REQUEST);
                let resp = common::block(async {
                    reqwest::Client::new()
                        .post(format!("http://127.0.0.1:{http}/v1/logs"))
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap()
                });
                assert!(resp.status().is_success(), "{host}: {}", resp.status());
            }
        }
    };
    let per_host = || -> BTreeMap<String, (String, u64, u64)> {
        ch.sql(
            "SELECT host_name, any(project_id), count(), uniqExact(file_path) \
             FROM runtime_events GROUP BY host_name ORDER BY host_name FORMAT TSV",
            "",
        )
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                (
                    f[1].to_string(),
                    f[2].parse().unwrap(),
                    f[3].parse().unwrap(),
                ),
            )
        })
        .collect()
    };
    let settle = |want: u64| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let total: u64 = per_host().values().map(|v| v.1).sum();
            if total >= want || std::time::Instant::now() > deadline {
                std::thread::sleep(std::time::Duration::from_secs(2));
                return per_host();
            }
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
    };
    let half = (hosts.len() * REQUESTS * PER_REQUEST) as u64;
    send(0);
    let before = settle(half);
    // the gateway killed (SIGKILL); the second half sent while it is down (the agents accept
    // it and retry in memory), then the gateway restarted on the same port
    drop(gw);
    send(1);
    std::thread::sleep(std::time::Duration::from_secs(2));
    gw = gateway();
    let after = settle(2 * half);
    drop(gw);
    eprintln!("before restart: {before:?}\nafter: {after:?}");
    for (host, project, _, _) in &hosts {
        let (p, rows, distinct) = after.get(host).cloned().unwrap_or_default();
        assert_eq!(&p, project, "{host}: project");
        assert_eq!(rows, distinct, "{host}: duplicates");
        assert_eq!(
            rows,
            2 * (REQUESTS * PER_REQUEST) as u64,
            "{host}: rows (before the restart: {:?})",
            before.get(host)
        );
    }
}
