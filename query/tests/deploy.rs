//! `docker-compose.yml` and `deploy/kubernetes/`: there is no Docker engine or cluster here,
//! so the files are checked as their tools would: the compose-spec JSON schema
//! (check-jsonschema's vendored copy) and the Kubernetes OpenAPI schemas (kubernetes-validate),
//! both from tests/requirements.txt; then the wiring: services present, images pinned, every
//! mounted repository path there, ports and paths consistent with the collector config, the
//! sidecar's flags and the Grafana provisioning, and the daemon's settings accepted by the real
//! `aibomd config` and `aibom-query --help`.
mod common;
mod stack_util;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;
use stack_util::*;

const COMPOSE: &str = "docker-compose.yml";
const K8S_DIR: &str = "deploy/kubernetes";
/// The capabilities the DaemonSet may add instead of running privileged (eBPF programs and
/// ring buffer, other processes' /proc entries and files). No SYS_RESOURCE: aibomd never
/// raises RLIMIT_MEMLOCK (kernels since 5.11 charge BPF memory to the cgroup).
const DAEMON_CAPS: &[&str] = &["BPF", "PERFMON", "SYS_PTRACE", "DAC_READ_SEARCH"];

/// `image:tag` with an exact version tag (`1.2.3`, `25.8.18.1`, `0.130.0`, `1.95.0-bookworm`),
/// never `latest` or a bare major.
fn pinned(image: &str) -> bool {
    let re = regex::Regex::new(r"^[a-z0-9][a-z0-9./_-]*:v?\d+\.\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$")
        .unwrap();
    // Debian's point releases have two numbers (12.12 is bookworm's twelfth)
    let debian = regex::Regex::new(r"^debian:\d+\.\d+-slim$").unwrap();
    re.is_match(image) || debian.is_match(image) || image.contains("@sha256:")
}

fn workspace_version() -> String {
    let toml = read("Cargo.toml");
    let re = regex::Regex::new(r#"(?m)^version\s*=\s*"([^"]+)""#).unwrap();
    re.captures(&toml).expect("workspace version")[1].to_string()
}

/// The port of `http://host:PORT...` or `host:PORT`.
fn port_of(s: &str) -> Option<u16> {
    let re = regex::Regex::new(r"^(?:[a-z]+://)?[^:/]*:(\d+)").unwrap();
    re.captures(s).and_then(|c| c[1].parse().ok())
}

/// The host of `http://HOST:port`.
fn host_of(s: &str) -> Option<String> {
    let re = regex::Regex::new(r"^(?:[a-z]+://)?([^:/]+)").unwrap();
    re.captures(s).map(|c| c[1].to_string())
}

/// `--name=value` or `--name value` from an argument list.
fn flag(args: &[String], name: &str) -> Option<String> {
    let eq = format!("--{name}=");
    args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix(&eq).map(str::to_string).or_else(|| {
            (a == &format!("--{name}"))
                .then(|| args.get(i + 1).cloned())
                .flatten()
        })
    })
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

fn env_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let s = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    (k.clone(), s)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Runs a venv validator; `None` (after a skip message, or a failure under CI) when missing.
fn validator(name: &str) -> Option<std::path::PathBuf> {
    let p = venv_tool(name);
    if p.is_none() {
        common::skip(&format!(
            "{name} is not in .venv: scripts/setup installs tests/requirements.txt"
        ));
    }
    p
}

/// `(source, target)` of a compose service's volumes (short and long syntax).
fn mounts(svc: &Value) -> Vec<(String, String)> {
    svc["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| match v.as_str() {
            Some(s) => {
                let mut parts = s.splitn(3, ':');
                (
                    parts.next().unwrap_or("").to_string(),
                    parts.next().unwrap_or("").to_string(),
                )
            }
            None => (
                v["source"].as_str().unwrap_or("").to_string(),
                v["target"].as_str().unwrap_or("").to_string(),
            ),
        })
        .collect()
}

/// The collector configs' `${env:NAME:-default}` / `${env:NAME}` references (the base
/// config and compose's auth overlay).
fn collector_env_refs() -> BTreeMap<String, Option<String>> {
    let re = regex::Regex::new(r"\$\{env:([A-Z_]+)(?::-([^}]*))?\}").unwrap();
    let text = read("collector-config/otelcol-contrib.yaml") + &read(OTELCOL_AUTH);
    re.captures_iter(&text)
        .map(|c| (c[1].to_string(), c.get(2).map(|m| m.as_str().to_string())))
        .collect()
}

/// Compose's overlay of the collector config: bearer-token auth on the OTLP receivers.
const OTELCOL_AUTH: &str = "deploy/otelcol-auth.yaml";

#[test]
fn compose_file_passes_the_compose_spec_schema() {
    let Some(tool) = validator("check-jsonschema") else {
        return;
    };
    let out = Command::new(tool)
        .args(["--builtin-schema", "vendor.compose-spec"])
        .arg(root().join(COMPOSE))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn compose_services_are_pinned_mounted_and_wired() {
    let c = yaml(COMPOSE);
    let s = &c["services"];
    let names: BTreeSet<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "clickhouse",
            "otelcol",
            "aibomd",
            "aibom-migrate",
            "aibom-query",
            "grafana"
        ]),
        "services"
    );
    let version = workspace_version();
    let dockerfile_stages = |path: &str| -> BTreeSet<String> {
        let re = regex::Regex::new(r"(?mi)^FROM\s+\S+\s+AS\s+(\S+)").unwrap();
        re.captures_iter(&read(path))
            .map(|c| c[1].to_string())
            .collect()
    };
    let declared_volumes: BTreeSet<String> = c["volumes"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for (name, svc) in s.as_object().unwrap() {
        let image = svc["image"].as_str().unwrap_or("");
        assert!(
            pinned(image),
            "{name}: image {image:?} is not pinned to a version"
        );
        if let Some(b) = svc.get("build").filter(|b| !b.is_null()) {
            let df = b["dockerfile"].as_str().unwrap();
            assert!(root().join(df).exists(), "{name}: {df} missing");
            let target = b["target"].as_str().unwrap();
            assert!(
                dockerfile_stages(df).contains(target),
                "{name}: no stage {target} in {df}"
            );
            assert!(
                image.ends_with(&format!(":{version}")),
                "{name}: built image {image} should carry the workspace version {version}"
            );
        }
        for (src, dst) in mounts(svc) {
            assert!(dst.starts_with('/'), "{name}: mount target {dst:?}");
            if src.starts_with('.') {
                let p = root().join(&src);
                assert!(
                    p.exists(),
                    "{name}: mounted {src} does not exist in the repository"
                );
            } else if !src.starts_with('/') {
                assert!(
                    declared_volumes.contains(&src),
                    "{name}: named volume {src} not declared"
                );
            }
        }
        // start order: a service waited for as healthy must have a healthcheck
        for (dep, cond) in svc["depends_on"].as_object().into_iter().flatten() {
            assert!(
                names.contains(dep.as_str()),
                "{name} depends on unknown {dep}"
            );
            let cond = cond["condition"].as_str().unwrap_or("");
            if cond == "service_healthy" {
                assert!(
                    s[dep]["healthcheck"]["test"].is_array(),
                    "{name} waits for {dep} to be healthy, which has no healthcheck"
                );
            }
        }
    }
    let from = regex::Regex::new(r"(?mi)^FROM\s+(\S+)").unwrap();
    for f in ["deploy/Dockerfile"] {
        let stages = dockerfile_stages(f);
        for cap in from.captures_iter(&read(f)) {
            let img = &cap[1];
            assert!(
                stages.contains(img) || pinned(img),
                "{f}: FROM {img} is not pinned"
            );
        }
    }
    let dep = |a: &str, b: &str| s[a]["depends_on"][b]["condition"].as_str().unwrap_or("");
    assert_eq!(dep("aibom-query", "clickhouse"), "service_healthy");
    // the collector never creates tables: it starts once the sidecar migrated the schema
    assert_eq!(dep("otelcol", "aibom-query"), "service_healthy");
    assert!(!dep("aibomd", "otelcol").is_empty());
    assert_eq!(dep("grafana", "clickhouse"), "service_healthy");

    // ClickHouse's HTTP port, and everyone who talks to it
    let ch_expose: BTreeSet<u16> = s["clickhouse"]["expose"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str().and_then(|p| p.parse().ok()))
        .collect();
    let ch_http = 8123;
    assert!(
        ch_expose.contains(&ch_http),
        "clickhouse must expose {ch_http}"
    );
    let otel_env = env_map(&s["otelcol"]["environment"]);
    let ch_ep = &otel_env["CLICKHOUSE_ENDPOINT"];
    assert_eq!(host_of(ch_ep).as_deref(), Some("clickhouse"));
    assert_eq!(port_of(ch_ep), Some(ch_http));
    let q_args = strings(&s["aibom-query"]["command"]);
    let q_ch = flag(&q_args, "clickhouse-url").expect("sidecar --clickhouse-url");
    assert_eq!(
        (host_of(&q_ch).as_deref(), port_of(&q_ch)),
        (Some("clickhouse"), Some(ch_http))
    );
    // every sidecar flag (compose and Kubernetes) is one aibom-query has
    let help = sidecar_help();
    for a in q_args.iter().chain(&k8s_sidecar_args()) {
        let name = a.split('=').next().unwrap();
        assert!(
            !name.starts_with("--") || help.contains(&format!("{name} ")),
            "aibom-query has no {name}"
        );
    }
    let ch_env = env_map(&s["clickhouse"]["environment"]);
    assert_eq!(
        flag(&q_args, "database").as_deref(),
        Some(ch_env["CLICKHOUSE_DB"].as_str())
    );
    assert_eq!(otel_env["CLICKHOUSE_DATABASE"], ch_env["CLICKHOUSE_DB"]);

    // the collector config's variables: every one without a default is set
    let refs = collector_env_refs();
    for (var, default) in &refs {
        if default.is_none() {
            assert!(
                otel_env.contains_key(var),
                "otelcol: {var} is required by the config"
            );
        }
    }
    for v in otel_env.keys() {
        assert!(
            refs.contains_key(v),
            "otelcol: {v} is not read by otelcol-contrib.yaml"
        );
    }
    let mnt = mounts(&s["otelcol"]);
    let conf = mnt
        .iter()
        .find(|(src, _)| src == "./collector-config/otelcol-contrib.yaml")
        .expect("otelcol mounts collector-config/otelcol-contrib.yaml");
    assert!(
        strings(&s["otelcol"]["command"]).contains(&format!("--config={}", conf.1)),
        "otelcol --config must be the mounted file {}",
        conf.1
    );
    let auth = mnt
        .iter()
        .find(|(src, _)| src == &format!("./{OTELCOL_AUTH}"))
        .expect("otelcol mounts the auth overlay");
    assert!(
        strings(&s["otelcol"]["command"]).contains(&format!("--config={}", auth.1)),
        "otelcol --config must include the auth overlay {}",
        auth.1
    );
    // OTLP: the receiver port the config defaults to, set for the container, and aibomd's target
    let grpc_default = port_of(refs["OTLP_GRPC_ENDPOINT"].as_deref().unwrap()).unwrap();
    let grpc = port_of(&otel_env["OTLP_GRPC_ENDPOINT"]).unwrap();
    assert_eq!(
        grpc, grpc_default,
        "OTLP gRPC port differs from the collector config's"
    );
    let d_env = env_map(&s["aibomd"]["environment"]);
    let ep = &d_env["OTEL_EXPORTER_OTLP_ENDPOINT"];
    assert_eq!(
        (host_of(ep).as_deref(), port_of(ep)),
        (Some("otelcol"), Some(grpc))
    );
    assert_eq!(d_env["OTEL_EXPORTER_OTLP_PROTOCOL"], "grpc");
    let http_port = port_of(&otel_env["OTLP_HTTP_ENDPOINT"]).unwrap();
    assert_eq!(
        Some(http_port),
        port_of(refs["OTLP_HTTP_ENDPOINT"].as_deref().unwrap())
    );
    let otel_expose = strings(&s["otelcol"]["expose"]);
    for p in [grpc, http_port] {
        assert!(
            otel_expose.contains(&p.to_string()),
            "otelcol must expose {p}"
        );
    }

    // aibomd: privileges and kernel mounts
    let d = &s["aibomd"];
    assert_eq!(d["privileged"], true);
    assert_eq!(d["pid"], "host");
    let d_targets: BTreeSet<String> = mounts(d).into_iter().map(|m| m.1).collect();
    for t in ["/sys/kernel/btf", "/sys/kernel/tracing", "/sys/fs/cgroup"] {
        assert!(d_targets.contains(t), "aibomd must mount {t}");
    }
    assert!(mounts(d)
        .iter()
        .all(|(src, dst)| !src.starts_with('/') || src == dst));
    // spool on a volume
    assert!(d_targets
        .iter()
        .any(|t| d_env["AIBOM_EXPORT__OTLP__SPOOL_DIR"].starts_with(t.as_str())));

    // sidecar: listen port = healthcheck = published; token from the secret; control socket
    let listen = flag(&q_args, "listen").unwrap();
    let q_port = port_of(&listen).unwrap();
    let hc = strings(&s["aibom-query"]["healthcheck"]["test"]).join(" ");
    assert!(
        hc.contains(&format!(":{q_port}/healthz")),
        "healthcheck {hc}"
    );
    assert!(strings(&s["aibom-query"]["ports"])
        .iter()
        .any(|p| p.ends_with(&format!(":{q_port}"))));
    let secret = strings(&s["aibom-query"]["secrets"]);
    assert_eq!(secret.len(), 1);
    assert!(
        c["secrets"][&secret[0]].is_object(),
        "secret {} declared",
        secret[0]
    );
    assert_eq!(
        flag(&q_args, "token-file"),
        Some(format!("/run/secrets/{}", secret[0]))
    );
    let sock = flag(&q_args, "daemon").unwrap();
    let sock = sock.strip_prefix("unix:").expect("--daemon unix:PATH");
    assert_eq!(d_env["AIBOM_CONTROL__SOCKET"], sock);
    let sock_dir = std::path::Path::new(sock)
        .parent()
        .unwrap()
        .to_str()
        .unwrap();
    let vol_at = |svc: &str| {
        mounts(&s[svc])
            .into_iter()
            .find(|m| m.1 == sock_dir)
            .map(|m| m.0)
    };
    assert!(vol_at("aibomd").is_some() && vol_at("aibomd") == vol_at("aibom-query"));

    // Grafana: provisioning and dashboards mounted where the provider looks
    let g = &s["grafana"];
    let gm: BTreeMap<String, String> = mounts(g).into_iter().collect();
    assert_eq!(
        gm.get("./dashboards/provisioning").map(String::as_str),
        Some("/etc/grafana/provisioning")
    );
    let provider = yaml("dashboards/provisioning/dashboards/aibom.yaml");
    let path = provider["providers"][0]["options"]["path"]
        .as_str()
        .unwrap();
    assert_eq!(gm.get("./dashboards/json").map(String::as_str), Some(path));
    let g_env = env_map(&g["environment"]);
    assert!(g_env["GF_PLUGINS_PREINSTALL"]
        .split(',')
        .any(
            |p| regex::Regex::new(r"^grafana-clickhouse-datasource@\d+\.\d+\.\d+$")
                .unwrap()
                .is_match(p.trim())
        ));
    let home = &g_env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"];
    let home_rel = home
        .strip_prefix(path)
        .expect("home dashboard under the provider path");
    assert!(root()
        .join("dashboards/json")
        .join(home_rel.trim_start_matches('/'))
        .exists());
    let ds = yaml("dashboards/provisioning/datasources/clickhouse.yaml");
    let j = &ds["datasources"][0]["jsonData"];
    assert_eq!(j["port"].as_u64(), Some(ch_http as u64), "datasource port");
    assert_eq!(j["protocol"], "http");
    assert_eq!(
        j["defaultDatabase"].as_str(),
        Some(ch_env["CLICKHOUSE_DB"].as_str())
    );
    // ${VAR} in the provisioning come from Grafana's environment
    let re = regex::Regex::new(r"\$\{(\w+)\}").unwrap();
    for cap in re.captures_iter(&read("dashboards/provisioning/datasources/clickhouse.yaml")) {
        assert!(
            g_env.contains_key(&cap[1]),
            "grafana does not set {}",
            &cap[1]
        );
    }
    assert_eq!(g_env["CLICKHOUSE_HOST"], "clickhouse");
}

/// True when deploy/README.md's `kubectl create secret` command sets Secret key `k`.
fn readme_has_key(k: &str) -> bool {
    read("deploy/README.md").contains(&format!("--from-literal={k}="))
}

fn sidecar_help() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_aibom-query"))
        .arg("--help")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn k8s_sidecar_args() -> Vec<String> {
    k8s_objects()
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .flat_map(|o| strings(&o["spec"]["template"]["spec"]["containers"][0]["args"]))
        .collect()
}

/// The daemon settings compose and Kubernetes give aibomd, read by the real `aibomd config`
/// (which refuses unknown keys).
#[test]
fn daemon_settings_are_accepted_by_aibomd() {
    let Some(aibomd) = aibomd_binary() else {
        common::skip("aibomd is not built next to this test (cargo test --workspace builds it)");
        return;
    };
    let c = yaml(COMPOSE);
    let env = env_map(&c["services"]["aibomd"]["environment"]);
    let mut cmd = Command::new(&aibomd);
    cmd.arg("config").env_clear().env("PATH", "/usr/bin:/bin");
    // ${VAR:-default} as compose fills it when VAR is unset
    let re = regex::Regex::new(r"\$\{\w+:-([^}]*)\}").unwrap();
    for (k, v) in &env {
        cmd.env(k, re.replace_all(v, "$1").as_ref());
    }
    // the daemon's arguments, compose and DaemonSet: `daemon --help` lists each flag
    let dhelp = Command::new(&aibomd)
        .args(["daemon", "--help"])
        .output()
        .unwrap();
    let dhelp = String::from_utf8_lossy(&dhelp.stdout).into_owned();
    let ds_args: Vec<String> = k8s_objects()
        .iter()
        .filter(|o| o["kind"] == "DaemonSet")
        .flat_map(|o| strings(&o["spec"]["template"]["spec"]["containers"][0]["args"]))
        .collect();
    let compose_args = strings(&c["services"]["aibomd"]["command"]);
    for args in [&compose_args, &ds_args] {
        assert_eq!(args.first().map(String::as_str), Some("daemon"), "{args:?}");
        for a in &args[1..] {
            assert!(
                dhelp.contains(&format!("{a} ")) || dhelp.contains(&format!("{a}\n")),
                "aibomd daemon has no {a}"
            );
        }
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(&format!("socket = \"{}\"", env["AIBOM_CONTROL__SOCKET"])));
    assert!(text.contains(&format!(
        "spool_dir = \"{}\"",
        env["AIBOM_EXPORT__OTLP__SPOOL_DIR"]
    )));
    assert!(text.contains("project = \"default\""), "{text}");

    // the DaemonSet's ConfigMap TOML
    let cm = k8s_objects()
        .into_iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "aibomd-config")
        .expect("aibomd-config ConfigMap");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("aibomd.toml");
    std::fs::write(&f, cm["data"]["aibomd.toml"].as_str().unwrap()).unwrap();
    let out = Command::new(&aibomd)
        .args(["config", "--config"])
        .arg(&f)
        .env_clear()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("socket = \"/run/aibomd/control.sock\""),
        "{text}"
    );
    assert!(
        text.contains("spool_dir = \"/var/lib/aibomd/spool\""),
        "{text}"
    );
}

/// Every object of the manifests in deploy/kubernetes (kustomization.yaml aside).
fn k8s_objects() -> Vec<Value> {
    k8s_files()
        .iter()
        .flat_map(|f| yaml_docs(&format!("{K8S_DIR}/{f}")))
        .collect()
}

fn k8s_files() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join(K8S_DIR))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".yaml") && f != "kustomization.yaml")
        .collect();
    v.sort();
    v
}

#[test]
fn kubernetes_manifests_pass_the_kubernetes_schemas() {
    let Some(tool) = validator("kubernetes-validate") else {
        return;
    };
    let files: Vec<_> = k8s_files()
        .iter()
        .map(|f| root().join(K8S_DIR).join(f))
        .collect();
    assert!(files.len() >= 3, "{files:?}");
    let out = Command::new(tool)
        .arg("--strict")
        .args(&files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    for kind in [
        "daemonset/aibomd",
        "deployment/aibom-query",
        "service/aibom-query",
    ] {
        assert!(
            text.contains(&format!("passed for resource {kind}")),
            "{text}"
        );
    }
    // kustomization lists exactly these files
    let k = yaml(&format!("{K8S_DIR}/kustomization.yaml"));
    let listed: BTreeSet<String> = strings(&k["resources"]).into_iter().collect();
    assert_eq!(listed, k8s_files().into_iter().collect());
}

#[test]
fn kubernetes_manifests_are_wired() {
    let objs = k8s_objects();
    let find = |kind: &str, name: &str| -> &Value {
        objs.iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind}/{name} in {K8S_DIR}"))
    };
    let compose = yaml(COMPOSE);
    let ns = find("Namespace", "aibom")["metadata"]["name"].clone();
    for o in &objs {
        if o["kind"] != "Namespace" {
            assert_eq!(
                o["metadata"]["namespace"], ns,
                "{} namespace",
                o["metadata"]["name"]
            );
        }
    }

    // the DaemonSet
    let ds = find("DaemonSet", "aibomd");
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["hostPID"], true);
    for (k, v) in ds["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(
            &ds["spec"]["template"]["metadata"]["labels"][k], v,
            "selector"
        );
    }
    let ctr = &pod["containers"][0];
    assert_eq!(
        ctr["image"], compose["services"]["aibomd"]["image"],
        "same image as compose"
    );
    let sc = &ctr["securityContext"];
    if sc["privileged"] != true {
        let add: BTreeSet<String> = strings(&sc["capabilities"]["add"]).into_iter().collect();
        let want: BTreeSet<String> = DAEMON_CAPS.iter().map(|c| c.to_string()).collect();
        assert_eq!(add, want, "not privileged: exactly the eBPF capabilities");
        assert_eq!(
            strings(&sc["capabilities"]["drop"]),
            vec!["ALL".to_string()]
        );
    }
    let vols: BTreeMap<String, &Value> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap().to_string(), v))
        .collect();
    let vm: BTreeMap<String, String> = ctr["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let name = m["name"].as_str().unwrap().to_string();
            assert!(
                vols.contains_key(&name),
                "mount of undeclared volume {name}"
            );
            (m["mountPath"].as_str().unwrap().to_string(), name)
        })
        .collect();
    for p in [
        "/sys/kernel/btf",
        "/sys/kernel/tracing",
        "/sys/fs/cgroup",
        "/sys/fs/bpf",
    ] {
        let v = vols[vm.get(p).unwrap_or_else(|| panic!("aibomd must mount {p}"))];
        assert_eq!(v["hostPath"]["path"], *p, "{p} from the host");
    }
    let env: BTreeMap<String, String> = ctr["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["name"].as_str()?.into(), e["value"].as_str()?.into())))
        .collect();
    let refs = collector_env_refs();
    let grpc = port_of(refs["OTLP_GRPC_ENDPOINT"].as_deref().unwrap()).unwrap();
    assert_eq!(
        port_of(&env["OTEL_EXPORTER_OTLP_ENDPOINT"]),
        Some(grpc),
        "OTLP port"
    );
    for kv in env["OTEL_RESOURCE_ATTRIBUTES"].split(',') {
        let key = kv.split('=').next().unwrap();
        assert!(
            aibom_semconv::ALL_ATTRIBUTES.contains(&key),
            "resource attribute {key} is not in aibom-semconv"
        );
    }
    let cfg = std::path::Path::new(&env["AIBOM_CONFIG"]);
    let cfg_vol = &vm[cfg.parent().unwrap().to_str().unwrap()];
    let cm_name = vols[cfg_vol]["configMap"]["name"].as_str().unwrap();
    let cm = find("ConfigMap", cm_name);
    let key = cfg.file_name().unwrap().to_str().unwrap();
    let toml = cm["data"][key]
        .as_str()
        .expect("config key in the ConfigMap");
    let spool = regex::Regex::new(r#"spool_dir\s*=\s*"([^"]+)""#)
        .unwrap()
        .captures(toml)
        .unwrap()[1]
        .to_string();
    assert!(
        vm.keys().any(|m| spool.starts_with(m.as_str())),
        "spool {spool} is on no volume"
    );

    // the sidecar
    let dep = find("Deployment", "aibom-query");
    let pod = &dep["spec"]["template"]["spec"];
    let ctr = &pod["containers"][0];
    assert_eq!(ctr["image"], compose["services"]["aibom-query"]["image"]);
    let args = strings(&ctr["args"]);
    // least privilege: the server never migrates nor gets the owner's password; an init
    // container migrates as the owner, from the same image and ClickHouse settings
    assert!(!args.iter().any(|a| a.starts_with("--migrate")), "{args:?}");
    let init = &pod["initContainers"][0];
    assert_eq!(init["image"], ctr["image"]);
    assert_eq!(strings(&init["args"]), ["--migrate-only"]);
    assert_eq!(init["envFrom"], ctr["envFrom"], "same ClickHouse settings");
    let env_of = |c: &Value, name: &str| -> Value {
        c["env"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let owner =
        compose["services"]["aibom-migrate"]["environment"]["AIBOM_CLICKHOUSE_USER"].clone();
    assert_eq!(env_of(init, "AIBOM_CLICKHOUSE_USER")["value"], owner);
    let password_key = |c: &Value| {
        env_of(c, "AIBOM_CLICKHOUSE_PASSWORD")["valueFrom"]["secretKeyRef"]["key"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_ne!(password_key(init), password_key(ctr), "one password each");
    assert_eq!(init["securityContext"]["allowPrivilegeEscalation"], false);
    for e in init["env"].as_array().into_iter().flatten() {
        if let Some(r) = e["valueFrom"]["secretKeyRef"].as_object() {
            assert!(
                readme_has_key(r["key"].as_str().unwrap()),
                "README: key {}",
                r["key"]
            );
        }
    }
    let port = port_of(&flag(&args, "listen").unwrap()).unwrap();
    let cport = &ctr["ports"][0];
    assert_eq!(cport["containerPort"].as_u64(), Some(port as u64));
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(
            ctr[probe]["httpGet"]["port"].as_u64(),
            Some(port as u64),
            "{probe}"
        );
        assert_eq!(ctr[probe]["httpGet"]["path"], "/healthz");
    }
    let svc = find("Service", "aibom-query");
    let sp = &svc["spec"]["ports"][0];
    assert!(sp["targetPort"] == cport["name"] || sp["targetPort"].as_u64() == Some(port as u64));
    assert_eq!(
        svc["spec"]["selector"],
        dep["spec"]["selector"]["matchLabels"]
    );
    let labels = &dep["spec"]["template"]["metadata"]["labels"];
    for (k, v) in dep["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(
            &labels[k], v,
            "the selector must match the pod template's labels"
        );
    }
    // token: --token-file is the mounted Secret item; the password a secretKeyRef of it
    let token = flag(&args, "token-file").unwrap();
    let tdir = std::path::Path::new(&token)
        .parent()
        .unwrap()
        .to_str()
        .unwrap();
    let tmount = ctr["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"] == tdir)
        .expect("token mount");
    let tvol = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == tmount["name"])
        .unwrap();
    let secret = tvol["secret"]["secretName"].as_str().unwrap();
    let item = tvol["secret"]["items"][0]["path"].as_str().unwrap();
    assert!(token.ends_with(&format!("/{item}")));
    let mut secret_keys = BTreeSet::from([tvol["secret"]["items"][0]["key"].as_str().unwrap()]);
    for e in ctr["env"].as_array().into_iter().flatten() {
        if let Some(r) = e["valueFrom"]["secretKeyRef"].as_object() {
            assert_eq!(r["name"], secret);
            secret_keys.insert(r["key"].as_str().unwrap());
        }
    }
    // the README tells how to create that Secret with those keys
    let readme = read("deploy/README.md");
    assert!(readme.contains(&format!(
        "kubectl -n {} create secret generic {secret}",
        ns.as_str().unwrap()
    )));
    for k in &secret_keys {
        assert!(
            readme.contains(&format!("--from-literal={k}=")),
            "README: key {k}"
        );
    }
    // every AIBOM_* variable given to the sidecar is one aibom-query reads
    let help = sidecar_help();
    let qcm = find(
        "ConfigMap",
        ctr["envFrom"][0]["configMapRef"]["name"].as_str().unwrap(),
    );
    let mut vars: Vec<String> = qcm["data"].as_object().unwrap().keys().cloned().collect();
    vars.extend(
        ctr["env"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["name"].as_str().unwrap().to_string()),
    );
    for v in &vars {
        assert!(
            help.contains(&format!("[env: {v}")),
            "aibom-query reads no {v}"
        );
    }
    // the server's ClickHouse user is the compose sidecar's (no DDL), not the owner
    assert_eq!(
        qcm["data"]["AIBOM_CLICKHOUSE_USER"],
        compose["services"]["aibom-query"]["environment"]["AIBOM_CLICKHOUSE_USER"]
    );
    assert_ne!(qcm["data"]["AIBOM_CLICKHOUSE_USER"], owner);
    let url = qcm["data"]["AIBOM_CLICKHOUSE_URL"].as_str().unwrap();
    let ds = yaml("dashboards/provisioning/datasources/clickhouse.yaml");
    assert_eq!(
        port_of(url).map(u64::from),
        ds["datasources"][0]["jsonData"]["port"].as_u64(),
        "ClickHouse HTTP port of the sidecar and of Grafana"
    );

    // every image pinned
    for o in &objs {
        for c in o["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let img = c["image"].as_str().unwrap();
            assert!(pinned(img), "{img} is not pinned");
        }
    }
}

/// `${VAR:?message}`: compose refuses to start without VAR (no silent default).
fn required(v: &str) -> bool {
    regex::Regex::new(r"^\$\{[A-Z_]+:\?[^}]*\}$")
        .unwrap()
        .is_match(v)
}

/// Issue 20, stack defaults: no `admin/admin` Grafana fallback, a ClickHouse user per service
/// with only its grants (Grafana and the sidecar cannot create or drop), the sidecar not root,
/// the OTLP receivers behind a bearer token that aibomd sends, DELETE's admin token passed.
#[test]
fn compose_runs_with_least_privilege_and_no_default_secrets() {
    let c = yaml(COMPOSE);
    let s = &c["services"];
    // Every secret-ish value is required, never defaulted.
    for (name, svc) in s.as_object().unwrap() {
        for (k, v) in env_map(&svc["environment"]) {
            if k.contains("PASSWORD") || k.ends_with("TOKEN") {
                assert!(
                    required(&v) || k == "AIBOM_QUERY_ADMIN_TOKEN",
                    "{name}: {k}={v} must be ${{VAR:?...}} (no default)"
                );
            }
        }
    }
    let g = env_map(&s["grafana"]["environment"]);
    assert!(
        required(&g["GF_SECURITY_ADMIN_PASSWORD"]),
        "Grafana admin/admin fallback"
    );
    assert!(!read(COMPOSE).contains(":-admin}"));

    // ClickHouse users: defined in the mounted users.d file with passwords from the env.
    let users_file = "deploy/clickhouse/users.d/aibom-users.xml";
    let ch_mounts = mounts(&s["clickhouse"]);
    assert!(
        ch_mounts
            .iter()
            .any(|(src, dst)| src == &format!("./{users_file}")
                && dst.starts_with("/etc/clickhouse-server/users.d/")),
        "clickhouse mounts {users_file}"
    );
    let xml = read(users_file);
    let user_block = |u: &str| -> String {
        let start = xml
            .find(&format!("<{u}>"))
            .unwrap_or_else(|| panic!("user {u}"));
        let end = xml.find(&format!("</{u}>")).unwrap();
        xml[start..end].to_string()
    };
    let grants = |u: &str| -> String {
        let b = user_block(u);
        let re = regex::Regex::new(r"<query>\s*GRANT ([^<]*?) ON aibom\.\*\s*</query>").unwrap();
        re.captures_iter(&b)
            .map(|c| c[1].to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ch_env = env_map(&s["clickhouse"]["environment"]);
    let from = regex::Regex::new(r#"from_env="([A-Z_]+)""#).unwrap();
    for (svc, user_var, pw_var) in [
        ("grafana", "CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD"),
        (
            "aibom-query",
            "AIBOM_CLICKHOUSE_USER",
            "AIBOM_CLICKHOUSE_PASSWORD",
        ),
        ("otelcol", "CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD"),
    ] {
        let e = env_map(&s[svc]["environment"]);
        let user = &e[user_var];
        assert_ne!(user, &ch_env["CLICKHOUSE_USER"], "{svc} uses the owner");
        let b = user_block(user);
        let var = &from.captures(&b).expect("password from_env")[1];
        assert_eq!(
            ch_env.get(var),
            Some(&e[pw_var]),
            "{svc}: {user}'s password {var} is the one it sends"
        );
        let g = grants(user).to_uppercase();
        for forbidden in [
            "ALL",
            "CREATE",
            "DROP",
            "TRUNCATE",
            "ALTER TABLE",
            "ALTER COLUMN",
        ] {
            assert!(!g.contains(forbidden), "{svc}: {user} has {forbidden}: {g}");
        }
    }
    let g = grants(&env_map(&s["grafana"]["environment"])["CLICKHOUSE_USER"]);
    assert_eq!(g, "SELECT", "Grafana reads only");
    assert!(user_block("aibom_grafana").contains("<profile>aibom_readonly</profile>"));
    assert!(xml.contains("<readonly>2</readonly>"));

    // The schema is migrated by the owner, once; the serving sidecar does no DDL.
    let m = strings(&s["aibom-migrate"]["command"]);
    assert!(m.contains(&"--migrate-only".to_string()));
    assert_eq!(
        env_map(&s["aibom-migrate"]["environment"])["AIBOM_CLICKHOUSE_USER"],
        ch_env["CLICKHOUSE_USER"]
    );
    let q = &s["aibom-query"];
    assert!(!strings(&q["command"])
        .iter()
        .any(|a| a.starts_with("--migrate")));
    assert_eq!(
        q["depends_on"]["aibom-migrate"]["condition"],
        "service_completed_successfully"
    );
    let q_env = env_map(&q["environment"]);
    assert!(
        q_env.contains_key("AIBOM_QUERY_ADMIN_TOKEN"),
        "DELETE's token"
    );

    // The sidecar is not root: no user override to root, and the image's USER is not root.
    let user = q["user"].as_str().unwrap_or("");
    assert!(
        !(user.starts_with("0") || user.starts_with("root")),
        "aibom-query runs as {user}"
    );
    let df = read("deploy/Dockerfile");
    let stage = df
        .split("FROM ")
        .find(|st| st.contains("AS aibom-query"))
        .expect("aibom-query stage");
    let usr = regex::Regex::new(r"(?m)^USER\s+(\S+)")
        .unwrap()
        .captures(stage)
        .expect("USER in the aibom-query stage")[1]
        .to_string();
    assert!(
        !usr.starts_with('0') && !usr.starts_with("root"),
        "USER {usr}"
    );

    // OTLP: the receivers take a bearer token, and aibomd sends the same one.
    let auth = yaml(OTELCOL_AUTH);
    for p in ["grpc", "http"] {
        assert_eq!(
            auth["receivers"]["otlp"]["protocols"][p]["auth"]["authenticator"], "bearertokenauth",
            "{p} receiver"
        );
    }
    let exts = strings(&auth["service"]["extensions"]);
    assert!(exts.contains(&"bearertokenauth".to_string()));
    let base = yaml("collector-config/otelcol-contrib.yaml");
    for e in strings(&base["service"]["extensions"]) {
        assert!(
            exts.contains(&e),
            "the overlay drops the base's extension {e}"
        );
    }
    let token_ref = auth["extensions"]["bearertokenauth"]["token"]
        .as_str()
        .unwrap();
    let var = token_ref
        .strip_prefix("${env:")
        .and_then(|v| v.strip_suffix('}'))
        .expect("token from the environment");
    let o_env = env_map(&s["otelcol"]["environment"]);
    let token = &o_env[var];
    assert!(required(token));
    let d_env = env_map(&s["aibomd"]["environment"]);
    let h = &d_env["OTEL_EXPORTER_OTLP_HEADERS"];
    assert_eq!(
        h,
        &format!("authorization=Bearer%20{token}"),
        "aibomd sends the token"
    );
}
