//! Image name, image id and labels of a container, from the container engine's
//! Docker-compatible API on a Unix socket (`GET /containers/ID/json`: podman's
//! `podman system service`, or Docker's own socket). Optional, off by default:
//! `[attribute.engine] socket = "/run/podman/podman.sock"`.
//!
//! A background thread asks the engine about container ids it has not seen; lookups
//! never wait for the socket (a container's first accesses may come out before its
//! image is known). Answers (and failures, so a gone container is not asked again and
//! again) are cached, at most [`CACHE`] containers.
use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::model::ContainerImage;

/// Containers remembered at most.
const CACHE: usize = 4096;
/// Largest answer read (an inspect is a few KiB).
const MAX_ANSWER: u64 = 4 << 20;

/// `[attribute.engine]` settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineConfig {
    /// The engine's API socket (podman: `/run/podman/podman.sock`, Docker:
    /// `/var/run/docker.sock`); unset: images and labels are not looked up.
    pub socket: Option<PathBuf>,
}

/// What the engine said about one container: its image, or nothing (gone, refused).
type Answer = Option<Arc<ContainerImage>>;

/// The lookup cache and its background thread (ends when this is dropped).
pub struct Images {
    known: Arc<Mutex<HashMap<String, Answer>>>,
    ask: mpsc::Sender<String>,
    asked: HashMap<String, ()>,
}

impl Images {
    /// Starts the thread asking the engine at `socket`.
    pub fn start(socket: PathBuf) -> Result<Self> {
        let known: Arc<Mutex<HashMap<String, Answer>>> = Arc::default();
        let (ask, rx) = mpsc::channel::<String>();
        let k = known.clone();
        std::thread::Builder::new()
            .name("aibomd-engine".into())
            .spawn(move || {
                while let Ok(id) = rx.recv() {
                    let answer = match inspect(&socket, &id, Duration::from_secs(2)) {
                        Ok(i) => Some(Arc::new(i)),
                        Err(e) => {
                            tracing::debug!(container = %id, "engine API: {e:#}");
                            None
                        }
                    };
                    let mut k = k.lock().expect("engine cache lock");
                    if k.len() >= CACHE {
                        k.clear(); // rare; ids are asked again
                    }
                    k.insert(id, answer);
                }
            })
            .context("starting the engine API thread")?;
        Ok(Self {
            known,
            ask,
            asked: HashMap::new(),
        })
    }

    /// The image of container `id` when the engine already answered; else asks it (once).
    pub fn get(&mut self, id: &str) -> Option<Arc<ContainerImage>> {
        if let Some(a) = self.known.lock().expect("engine cache lock").get(id) {
            return a.clone();
        }
        if self.asked.len() >= CACHE {
            self.asked.clear();
        }
        if self.asked.insert(id.to_string(), ()).is_none() {
            let _ = self.ask.send(id.to_string());
        }
        None
    }
}

/// The subset of `GET /containers/ID/json` read.
#[derive(Deserialize)]
struct Inspect {
    #[serde(rename = "Image", default)]
    image: String,
    #[serde(rename = "Config", default)]
    config: Option<InspectConfig>,
}

#[derive(Deserialize, Default)]
struct InspectConfig {
    #[serde(rename = "Image", default)]
    image: String,
    #[serde(rename = "Labels", default)]
    labels: Option<std::collections::BTreeMap<String, String>>,
}

/// Asks the engine at `socket` about container `id` (an HTTP/1.0 `GET`, answered and
/// closed by the engine), at most `timeout` per read or write.
pub fn inspect(socket: &Path, id: &str, timeout: Duration) -> Result<ContainerImage> {
    if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        bail!("not a container id: {id:?}");
    }
    let mut s = UnixStream::connect(socket).with_context(|| socket.display().to_string())?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    // One write: `write!` would send the request in pieces, and an engine may read
    // only the first.
    let request = format!("GET /containers/{id}/json HTTP/1.0\r\nHost: engine\r\n\r\n");
    s.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    s.take(MAX_ANSWER).read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no HTTP header end")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head.split_whitespace().nth(1).unwrap_or_default();
    if status != "200" {
        bail!("HTTP {status}");
    }
    let i: Inspect = serde_json::from_slice(&raw[split + 4..]).context("inspect JSON")?;
    let c = i.config.unwrap_or_default();
    Ok(ContainerImage {
        name: Some(c.image).filter(|n| !n.is_empty()),
        id: Some(i.image.trim_start_matches("sha256:").to_string()).filter(|n| !n.is_empty()),
        labels: c.labels.unwrap_or_default().into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// A one-answer engine on a socket in `dir`.
    fn engine(dir: &Path, answer: &'static str) -> PathBuf {
        let sock = dir.join("engine.sock");
        let l = UnixListener::bind(&sock).unwrap();
        std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            // Reads the whole request head, however the client split its writes.
            let mut req = Vec::new();
            let mut buf = [0u8; 512];
            while !req.ends_with(b"\r\n\r\n") {
                let n = c.read(&mut buf).unwrap();
                assert!(n > 0, "request ended early: {req:?}");
                req.extend_from_slice(&buf[..n]);
            }
            assert!(req.starts_with(b"GET /containers/abc123/json HTTP/1.0\r\n"));
            c.write_all(answer.as_bytes()).unwrap();
        });
        sock
    }

    #[test]
    fn image_name_id_and_labels_come_from_the_inspect_answer() {
        let d = tempfile::tempdir().unwrap();
        let sock = engine(
            d.path(),
            "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n\
             {\"Id\":\"abc123\",\"Image\":\"sha256:77aa\",\"Config\":{\"Image\":\"localhost/m:1\",\
             \"Labels\":{\"aibom.project\":\"demo\",\"team\":\"ml\"}}}",
        );
        let i = inspect(&sock, "abc123", Duration::from_secs(2)).unwrap();
        assert_eq!(i.name.as_deref(), Some("localhost/m:1"));
        assert_eq!(i.id.as_deref(), Some("77aa"));
        assert_eq!(
            i.labels,
            vec![
                ("aibom.project".to_string(), "demo".to_string()),
                ("team".to_string(), "ml".to_string())
            ]
        );
    }

    #[test]
    fn errors_are_errors_and_ids_are_checked() {
        let d = tempfile::tempdir().unwrap();
        let sock = engine(d.path(), "HTTP/1.0 404 Not Found\r\n\r\n{}");
        assert!(inspect(&sock, "abc123", Duration::from_secs(2))
            .unwrap_err()
            .to_string()
            .contains("404"));
        assert!(inspect(&sock, "../x", Duration::from_secs(2)).is_err());
    }
}
