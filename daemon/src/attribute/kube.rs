//! Pod name and namespace by pod uid, from the kubelet's `/pods` endpoint (optional, off
//! by default: `[attribute.kubelet] enabled = true`).
//!
//! A background thread fetches the pod list every `refresh_ms`, and earlier (at most
//! once per `min_refresh_ms`) when a lookup asks for a pod uid it does not know. Lookups
//! never wait for the network: a pod seen before its first fetch gets its name on a
//! later access.
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Deserialize;

use super::config::KubeletConfig;
use crate::model::PodName;

type Map = HashMap<String, PodName>;

/// Handle of the kubelet poller; dropping it stops the thread.
pub struct Pods {
    map: Arc<RwLock<Map>>,
    wake: Arc<(Mutex<bool>, Condvar)>,
}

impl Pods {
    /// Starts the poller thread.
    pub fn start(cfg: &KubeletConfig) -> Result<Self> {
        let fetcher = Fetcher::new(cfg)?;
        let map = Arc::new(RwLock::new(Map::new()));
        let wake = Arc::new((Mutex::new(false), Condvar::new()));
        let (weak, w) = (Arc::downgrade(&map), wake.clone());
        let every = Duration::from_millis(cfg.refresh_ms.max(1));
        let min = Duration::from_millis(cfg.min_refresh_ms);
        std::thread::Builder::new()
            .name("aibomd-kubelet".into())
            .spawn(move || poll(fetcher, weak, w, every, min))
            .context("starting the kubelet poller")?;
        Ok(Self { map, wake })
    }

    /// The pod of `uid`, when the last fetch listed it; otherwise asks for a fetch.
    pub fn get(&self, uid: &str) -> Option<PodName> {
        let hit = self.map.read().expect("pods lock").get(uid).cloned();
        if hit.is_none() {
            let (m, c) = &*self.wake;
            *m.lock().expect("wake lock") = true;
            c.notify_one();
        }
        hit
    }
}

impl Drop for Pods {
    fn drop(&mut self) {
        self.wake.1.notify_one();
    }
}

fn poll(
    f: Fetcher,
    map: Weak<RwLock<Map>>,
    wake: Arc<(Mutex<bool>, Condvar)>,
    every: Duration,
    min: Duration,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return tracing::error!(error = %e, "kubelet poller: no runtime"),
    };
    let mut failing = false;
    loop {
        let started = Instant::now();
        let got = rt.block_on(f.fetch());
        let Some(m) = map.upgrade() else { return };
        match got {
            Ok(pods) => {
                failing = false;
                *m.write().expect("pods lock") = pods;
            }
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(url = %f.url, error = %format!("{e:#}"), "kubelet pod list failed");
            }
            Err(_) => {}
        }
        drop(m);
        // sleep `min`, then until `every` has passed or a lookup asks earlier
        std::thread::sleep(min.saturating_sub(started.elapsed()));
        let (lock, cvar) = &*wake;
        let mut asked = lock.lock().expect("wake lock");
        let deadline = started + every;
        while !*asked {
            let now = Instant::now();
            if now >= deadline || map.strong_count() == 0 {
                break;
            }
            asked = cvar
                .wait_timeout(asked, deadline - now)
                .expect("wake lock")
                .0;
        }
        *asked = false;
        if map.strong_count() == 0 {
            return;
        }
    }
}

struct Fetcher {
    client: reqwest::Client,
    url: String,
    token_file: Option<std::path::PathBuf>,
}

impl Fetcher {
    fn new(cfg: &KubeletConfig) -> Result<Self> {
        let mut b = reqwest::Client::builder()
            .timeout(Duration::from_millis(cfg.timeout_ms))
            .tls_danger_accept_invalid_certs(cfg.insecure_skip_tls_verify);
        if let Some(ca) = &cfg.ca_file {
            let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
            b = b.add_root_certificate(
                reqwest::Certificate::from_pem(&pem)
                    .with_context(|| format!("{}: not a PEM certificate", ca.display()))?,
            );
        }
        Ok(Self {
            client: b.build().context("kubelet HTTP client")?,
            url: cfg.url.clone(),
            token_file: cfg.token_file.clone(),
        })
    }

    async fn fetch(&self) -> Result<Map> {
        let mut req = self.client.get(&self.url);
        // read each time: projected service-account tokens rotate
        if let Some(t) = self
            .token_file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
        {
            req = req.bearer_auth(t.trim());
        }
        let resp = req.send().await?.error_for_status()?;
        let body = resp.bytes().await?;
        parse_pod_list(&body)
    }
}

#[derive(Deserialize)]
struct PodList {
    #[serde(default)]
    items: Vec<Pod>,
}

#[derive(Deserialize)]
struct Pod {
    metadata: Meta,
}

#[derive(Deserialize)]
struct Meta {
    uid: String,
    name: String,
    #[serde(default)]
    namespace: String,
}

/// uid → name of a kubelet `PodList` (JSON).
pub fn parse_pod_list(body: &[u8]) -> Result<Map> {
    let list: PodList = serde_json::from_slice(body).context("kubelet answer is not a PodList")?;
    Ok(list
        .items
        .into_iter()
        .map(|p| {
            let m = p.metadata;
            (
                m.uid,
                PodName {
                    name: m.name,
                    namespace: m.namespace,
                },
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};

    /// A one-route HTTP server standing in for the kubelet (no kubelet exists here): it
    /// answers every request with `body`, and counts requests that carried `token`.
    fn fake_kubelet(body: String, token: &'static str) -> (String, Arc<Mutex<(u32, u32)>>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/pods", l.local_addr().unwrap());
        let seen = Arc::new(Mutex::new((0, 0)));
        let s = seen.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut c) = conn else { return };
                let mut r = BufReader::new(c.try_clone().unwrap());
                let mut authed = false;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if line.to_ascii_lowercase() == format!("authorization: bearer {token}\r\n") {
                        authed = true;
                    }
                }
                let mut g = s.lock().unwrap();
                g.0 += 1;
                g.1 += authed as u32;
                let _ = write!(
                    c,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                    body.len(),
                    body
                );
            }
        });
        (url, seen)
    }

    #[test]
    fn pod_names_come_from_the_kubelet_with_the_token() {
        let uid = "1a2b3c4d-5e6f-4a1b-8c9d-0e1f2a3b4c5d";
        let body = format!(
            r#"{{"kind":"PodList","apiVersion":"v1","items":[{{"metadata":{{"name":"llm-0","namespace":"ml","uid":"{uid}","labels":{{"a":"b"}}}},"spec":{{}}}}]}}"#
        );
        let (url, seen) = fake_kubelet(body, "s3cret");
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "s3cret\n").unwrap();
        let pods = Pods::start(&KubeletConfig {
            enabled: true,
            url,
            token_file: Some(token),
            min_refresh_ms: 10,
            ..Default::default()
        })
        .unwrap();
        let want = PodName {
            name: "llm-0".into(),
            namespace: "ml".into(),
        };
        let t = Instant::now();
        while pods.get(uid).is_none() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "no pod from the kubelet"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(pods.get(uid), Some(want));
        assert_eq!(pods.get("00000000-0000-0000-0000-000000000000"), None);
        let (n, authed) = *seen.lock().unwrap();
        assert!(
            n >= 1 && authed == n,
            "{n} requests, {authed} with the token"
        );
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_pod_list(b"<html>").is_err());
        assert!(parse_pod_list(br#"{"items":[]}"#).unwrap().is_empty());
    }
}
