// aibom runtime UI: a client of the aibom-query API (see /openapi.json), nothing else.
// Plain ES module, no build step: the browser runs this file as checked in.
// Safety: text goes into the page as text nodes only (never as HTML); the token lives in
// sessionStorage (this tab) and travels only in the Authorization header.

// Attribute names of the API's JSON (the aibom semantic convention; a Rust test checks
// each against aibom-semconv).
const A = {
  time: "timestamp",
  event: "event.name",
  path: "file.path",
  id: "aibom.artifact.id",
  name: "aibom.artifact.name",
  type: "aibom.artifact.type",
  provider: "aibom.artifact.provider",
  license: "aibom.artifact.license",
  format: "aibom.artifact.format",
  mismatch: "aibom.artifact.format_mismatch",
  sha: "aibom.artifact.sha256",
  count: "aibom.access.count",
  origin: "aibom.access.origin",
  pid: "process.pid",
  exe: "process.executable.name",
  cmd: "process.command_line",
  container: "container.id",
  pod: "k8s.pod.name",
  scan: "aibom.scan.id",
  rule: "aibom.policy.rule",
  severity: "aibom.policy.severity",
  action: "aibom.policy.action",
  enforced: "aibom.policy.enforced",
};
const TOKEN_KEY = "aibom.token";
const SCANS_KEY = "aibom.scans";
const EXAMPLE =
  "./scripts/stack up\n" +
  "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:14317 ./target/release/aibomd run --project demo -- .venv/bin/python examples/ml-app/app.py";

// ---- DOM helpers -----------------------------------------------------------------------

/** An element: `h("a", {href: "#/"}, "text", child, ...)`; `on*` attributes become listeners. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const main = () => document.getElementById("main");
const fmtNum = (n) => (n === undefined || n === null ? "—" : Number(n).toLocaleString("en"));
const fmtTime = (t) => (t ? new Date(t).toLocaleString("en-GB", { hour12: false }) : "—");
const shortSha = (s) => (s ? s.slice(0, 12) + "…" : "—");
const list = (v) => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/** A table: columns `[heading, (row) => cell, {num: true}]`; `empty` when no rows. */
function table(rows, columns, empty = "None.", caption) {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h(
    "table",
    {},
    caption ? h("caption", { class: "muted" }, caption) : null,
    h("thead", {}, h("tr", {}, columns.map(([t, , o]) => h("th", { class: o && o.num ? "num" : null, scope: "col" }, t)))),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h("tr", {}, columns.map(([, f, o]) => {
          const v = f(r);
          return h("td", { class: o && o.num ? "num" : o && o.mono ? "mono" : null }, v === undefined || v === "" ? "—" : v);
        })),
      ),
    ),
  );
}

function emptyState(title, text, code) {
  return h("div", { class: "empty" }, h("strong", {}, title), h("p", {}, text), code ? h("pre", { class: "mono" }, code) : null);
}

/** What went wrong and what to do, plainly. */
function errorState(err, what) {
  const s = err.status;
  let hint = "";
  if (s === 503) hint = "ClickHouse is unavailable (503). Check `scripts/stack status`; start it with `scripts/stack up`. This page retries when you reload it.";
  else if (s === 0) hint = "The sidecar does not answer. Is `scripts/stack up` running?";
  else if (s === 404) hint = "Not found (404).";
  else if (s === 400) hint = "The request was refused (400).";
  return h("div", { class: "error", role: "alert" }, h("strong", {}, `Could not load ${what}: `), err.message, hint ? h("p", {}, hint) : null);
}

function banner(text) {
  const b = document.getElementById("banner");
  b.textContent = text || "";
  b.hidden = !text;
}

// ---- API -------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const token = () => sessionStorage.getItem(TOKEN_KEY);

function authHeaders(extra = {}) {
  const t = token();
  return t ? { ...extra, Authorization: "Bearer " + t } : extra;
}

/** Calls the API with the token; JSON back (or the Response with `raw`). */
async function api(path, { method = "GET", body, signal, raw = false } = {}) {
  let r;
  try {
    r = await fetch(path, {
      method,
      signal,
      headers: authHeaders(body ? { "Content-Type": "application/json", Accept: "application/json" } : { Accept: "application/json" }),
      body: body ? JSON.stringify(body) : undefined,
      cache: "no-store",
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "the sidecar is not reachable");
  }
  if (r.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin("The API refused the token (401): enter it again.");
    throw new ApiError(401, "missing or invalid token");
  }
  if (!r.ok) {
    let msg = r.statusText;
    try {
      msg = (await r.json()).error || msg;
    } catch (_) {
      /* not JSON */
    }
    throw new ApiError(r.status, msg);
  }
  return raw ? r : r.json();
}

const enc = encodeURIComponent;

/** Downloads the project's BOM (fetch with the token, then a blob link). */
async function downloadBom(project, format, status) {
  const name = format === "spdx3-json" ? `${project}.spdx.json` : `${project}.cdx.json`;
  status.textContent = "Preparing " + name + "…";
  try {
    const r = await api(`/projects/${enc(project)}/runtime/aibom?format=${format}`, { raw: true });
    const url = URL.createObjectURL(await r.blob());
    const a = h("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    status.textContent = "Downloaded " + name + ".";
  } catch (e) {
    status.textContent = "";
    status.append(errorState(e, "the BOM"));
  }
}

function bomButtons(project) {
  const status = h("span", { class: "muted", role: "status" });
  return h(
    "div",
    { class: "actions" },
    h("button", { type: "button", class: "secondary", id: "dl-cyclonedx", onclick: () => downloadBom(project, "cyclonedx-json", status) }, "Download CycloneDX BOM"),
    h("button", { type: "button", class: "secondary", id: "dl-spdx", onclick: () => downloadBom(project, "spdx3-json", status) }, "Download SPDX BOM"),
    status,
  );
}

// ---- Live feed (SSE over fetch: EventSource cannot send the Authorization header) ------

const BUCKET_S = 5;
const BUCKETS = 60;

function liveFeed(ctx, project, scanId) {
  const status = h("span", { class: "muted", role: "status", id: "feed-status" }, "connecting…");
  const counter = h("span", { id: "feed-count" }, "0");
  const items = h("ol", { class: "feed", id: "feed", "aria-live": "polite", "aria-label": "Live events, newest first" });
  const chartEl = h("div", { class: "chart", "aria-hidden": "true" });
  const box = h(
    "section",
    { "aria-labelledby": "feed-h" },
    h("h2", { id: "feed-h" }, "Live activity"),
    h("p", {}, "Events received: ", counter, " · ", status),
    chartEl,
    items,
  );
  let n = 0;
  const buckets = new Map();
  let plot = null;
  const chartData = () => {
    const now = Math.floor(Date.now() / 1000 / BUCKET_S) * BUCKET_S;
    const xs = [];
    const ys = [];
    for (let i = BUCKETS - 1; i >= 0; i--) {
      const t = now - i * BUCKET_S;
      xs.push(t);
      ys.push(buckets.get(t) || 0);
    }
    return [xs, ys];
  };
  const drawChart = () => {
    if (!window.uPlot || !chartEl.isConnected) return;
    if (!plot) {
      plot = new window.uPlot(
        {
          width: Math.max(300, chartEl.clientWidth || 600),
          height: 160,
          legend: { show: false },
          cursor: { show: false },
          scales: { x: { time: true } },
          series: [{}, { label: "events / 5 s", stroke: "#1f5fbf", fill: "rgba(31,95,191,0.25)", points: { show: false }, paths: window.uPlot.paths.bars({ size: [0.8] }) }],
          axes: [{}, { label: "events / 5 s", size: 50 }],
        },
        chartData(),
        chartEl,
      );
    } else plot.setData(chartData());
  };
  const add = (ev) => {
    n += 1;
    counter.textContent = fmtNum(n);
    const b = Math.floor(Date.parse(ev[A.time]) / 1000 / BUCKET_S) * BUCKET_S;
    buckets.set(b, (buckets.get(b) || 0) + 1);
    const inScan = scanId && ev[A.scan] === scanId;
    const what = ev[A.name] || ev[A.id] || ev[A.path] || "(no path)";
    const who = ev[A.exe] ? `${ev[A.exe]} (pid ${ev[A.pid] ?? "?"})` : "";
    items.prepend(
      h(
        "li",
        { class: inScan ? "scan" : null },
        h("span", { class: "t" }, new Date(ev[A.time]).toLocaleTimeString("en-GB", { hour12: false })),
        h("span", {}, [ev[A.type] || "file", ev[A.license] ? `[${ev[A.license]}]` : ""].join(" ")),
        h("span", { class: "mono" }, what),
        h("span", { class: "muted" }, who),
        ev[A.origin] ? h("span", { class: "muted" }, ev[A.origin]) : null,
      ),
    );
    while (items.children.length > 200) items.lastChild.remove();
  };
  const timer = setInterval(drawChart, 1000);
  ctx.cleanup.push(() => clearInterval(timer));

  async function connect() {
    while (!ctx.signal.aborted) {
      try {
        const r = await fetch(`/projects/${enc(project)}/runtime/stream`, {
          headers: authHeaders({ Accept: "text/event-stream" }),
          signal: ctx.signal,
          cache: "no-store",
        });
        if (r.status === 401) {
          sessionStorage.removeItem(TOKEN_KEY);
          showLogin("The API refused the token (401): enter it again.");
          return;
        }
        if (!r.ok) {
          let msg = r.statusText;
          try {
            msg = (await r.json()).error || msg;
          } catch (_) {
            /* not JSON */
          }
          status.textContent = `not live (${r.status}: ${msg}); retrying in 5 s`;
        } else {
          status.textContent = "live";
          const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
          ctx.cleanup.push(() => reader.cancel().catch(() => {}));
          let buf = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += value;
            let i;
            while ((i = buf.indexOf("\n\n")) >= 0) {
              const block = buf.slice(0, i);
              buf = buf.slice(i + 2);
              let type = "message";
              const data = [];
              for (const line of block.split("\n")) {
                if (line.startsWith("event:")) type = line.slice(6).trim();
                else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
              }
              if (!data.length) continue;
              const obj = JSON.parse(data.join("\n"));
              if (type === "runtime") add(obj);
              else if (type === "error") status.textContent = `ClickHouse: ${obj.error} (${obj.status}); still trying`;
              else if (type === "ready") status.textContent = "live";
            }
          }
          status.textContent = "stream ended; reconnecting in 5 s";
        }
      } catch (e) {
        if (ctx.signal.aborted) return;
        status.textContent = "disconnected; reconnecting in 5 s";
      }
      await new Promise((res) => setTimeout(res, 5000));
    }
  }
  connect();
  return box;
}

// ---- Pages -----------------------------------------------------------------------------

function showLogin(message) {
  if (currentCtx) currentCtx.abort();
  document.getElementById("forget").hidden = true;
  const input = h("input", { type: "password", id: "token", name: "token", autocomplete: "off", required: true, minlength: "16", size: "40" });
  const err = h("p", { class: "error", role: "alert", hidden: !message }, message || "");
  const form = h(
    "form",
    {
      class: "inline",
      id: "login",
      onsubmit: async (e) => {
        e.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, input.value.trim());
        input.value = "";
        route();
      },
    },
    h("label", { for: "token" }, "API token", input),
    h("button", { type: "submit", id: "login-submit" }, "Use token"),
  );
  main().replaceChildren(
    h("h1", { tabindex: "-1" }, "Sign in"),
    err,
    h("p", {}, "Enter the sidecar's API token. `scripts/stack up` prints it (and keeps it in .stack/query-token). It stays in this browser tab only and is sent as a header, never in a URL."),
    form,
  );
  input.focus();
}

async function projectsPage(ctx) {
  const m = main();
  m.replaceChildren(h("h1", { tabindex: "-1" }, "Projects"), h("p", { class: "loading" }, "Loading projects…"));
  const open = h("input", { id: "open-project", name: "project", required: true, pattern: "[A-Za-z0-9._\\-]{1,128}", size: "24" });
  const openForm = h(
    "form",
    { class: "inline", onsubmit: (e) => { e.preventDefault(); location.hash = `#/projects/${enc(open.value)}`; } },
    h("label", { for: "open-project" }, "Open a project by id", open),
    h("button", { type: "submit", class: "secondary" }, "Open"),
  );
  let body;
  try {
    const { projects } = await api("/projects", { signal: ctx.signal });
    body = projects.length
      ? table(projects, [
          ["Project", (p) => h("a", { href: `#/projects/${enc(p.id)}`, class: "project-link" }, p.id)],
          ["Files", (p) => fmtNum(p.files), { num: true }],
          ["Events", (p) => fmtNum(p.events), { num: true }],
          ["Last seen", (p) => fmtTime(p.last_seen)],
          ["", (p) => h("a", { href: `#/scans?project=${enc(p.id)}` }, "Scan…")],
        ])
      : emptyState("No runtime data yet.", "Run the example app under aibomd with the stack up, then reload this page:", EXAMPLE);
  } catch (e) {
    if (e.name === "AbortError" || e.status === 401) return;
    body = errorState(e, "the projects");
  }
  m.replaceChildren(
    h("h1", { tabindex: "-1" }, "Projects"),
    h("div", { class: "actions" }, h("a", { class: "button", href: "#/scans", id: "new-scan" }, "Start a scan")),
    body,
    h("h2", {}, "Other project"),
    openForm,
  );
}

/** `[value, artifacts, accesses]` rows of a summary dimension. */
function countsTable(title, rows, id) {
  const max = Math.max(1, ...rows.map((r) => r.artifacts));
  return h(
    "section",
    { "aria-labelledby": id },
    h("h2", { id }, title),
    table(rows, [
      ["Value", (r) => r.value ?? "(unknown)"],
      ["Artifacts", (r) => h("span", {}, h("meter", { min: "0", max: String(max), value: String(r.artifacts), "aria-hidden": "true" }), " ", fmtNum(r.artifacts)), { num: true }],
      ["Accesses", (r) => fmtNum(r.accesses), { num: true }],
    ]),
  );
}

function artifactKeyLink(project, key, label) {
  return h("a", { href: `#/projects/${enc(project)}/artifacts/${enc(key)}`, class: "artifact-link" }, label);
}

/** A generic table of objects (for sections whose shape this UI does not know in detail). */
function objectsTable(rows, maxCols = 8) {
  const cols = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k) && cols.length < maxCols) cols.push(k);
  return table(rows, cols.map((c) => [c, (r) => (typeof r[c] === "object" && r[c] !== null ? JSON.stringify(r[c]) : r[c])]));
}

async function runtimePage(ctx, project) {
  const m = main();
  const head = [
    h("h1", { tabindex: "-1" }, "Project ", h("span", { class: "mono" }, project)),
    h("nav", { "aria-label": "Project" }, h("strong", {}, "Runtime"), " · ", h("a", { href: `#/scans?project=${enc(project)}`, id: "scan-project" }, "Scan this project")),
  ];
  m.replaceChildren(...head, h("p", { class: "loading" }, "Loading the runtime summary…"));
  let s;
  try {
    s = await api(`/projects/${enc(project)}/runtime/summary`, { signal: ctx.signal });
  } catch (e) {
    if (e.name === "AbortError" || e.status === 401) return;
    m.replaceChildren(...head, errorState(e, "the runtime summary"), liveFeed(ctx, project));
    return;
  }
  const t = s.totals;
  if (!t.events) {
    m.replaceChildren(
      ...head,
      emptyState(`No runtime events for ${project} yet.`, "Run a workload under aibomd with this project id (or start a scan of it), then reload:", EXAMPLE.replace("--project demo", `--project ${project}`)),
      liveFeed(ctx, project),
    );
    return;
  }
  const card = (label, v) => h("div", { class: "card" }, h("div", { class: "muted" }, label), h("div", { class: "v" }, v));
  const byFormat = new Map();
  for (const a of s.artifacts) {
    const f = a[A.format] ?? null;
    const c = byFormat.get(f) || { value: f, artifacts: 0, accesses: 0 };
    c.artifacts += 1;
    c.accesses += a[A.count] || 0;
    byFormat.set(f, c);
  }
  const formats = [...byFormat.values()].sort((a, b) => b.artifacts - a.artifacts);
  const procs = new Map();
  for (const a of s.artifacts) {
    for (const p of a.processes || []) {
      const k = `${p[A.exe]}|${p[A.pid]}`;
      const c = procs.get(k) || { exe: p[A.exe], pid: p[A.pid], artifacts: [] };
      c.artifacts.push(a[A.name] || a.key);
      procs.set(k, c);
    }
  }
  const sections = [
    ...head,
    bomButtons(project),
    h(
      "div",
      { class: "cards" },
      card("Events", fmtNum(t.events)),
      card("Artifacts", fmtNum(t.artifacts)),
      card("Accesses", fmtNum(t.accesses)),
      card("Processes", fmtNum(t.processes)),
      card("Unknown license", fmtNum(t.unknown_license)),
      card("Format mismatch", fmtNum(t.format_mismatch)),
      card("Last seen", fmtTime(t.last_seen)),
    ),
    h(
      "div",
      { class: "grid" },
      countsTable("By type", s.by_type, "c-type"),
      countsTable("By provider", s.by_provider, "c-provider"),
      countsTable("By license", s.by_license, "c-license"),
      countsTable("By format", formats, "c-format"),
    ),
    h("h2", {}, "Artifacts"),
    table(s.artifacts, [
      ["Artifact", (a) => artifactKeyLink(project, a.key, a[A.name] || a[A.id] || a.key)],
      ["Type", (a) => a[A.type]],
      ["Provider", (a) => a[A.provider]],
      ["License", (a) => a[A.license] || "(unknown)"],
      ["Format", (a) => a[A.format]],
      ["sha256", (a) => h("span", { title: list(a[A.sha]).join("\n") }, list(a[A.sha]).map(shortSha).join(" ")), { mono: true }],
      ["Accesses", (a) => fmtNum(a[A.count]), { num: true }],
      ["Last seen", (a) => fmtTime(a.last_seen)],
    ]),
    h("h2", {}, "Processes"),
    table([...procs.values()], [
      ["Executable", (p) => p.exe],
      ["PID", (p) => p.pid, { num: true }],
      ["Artifacts", (p) => p.artifacts.join(", ")],
    ], "No process recorded.", `a sample: up to 10 processes per artifact; ${fmtNum(t.processes)} in all`),
  ];
  const containers = h("section", {}, h("h2", {}, "Containers"), h("p", { class: "loading" }, "Loading…"));
  const violations = h("section", {}, h("h2", {}, "Policy violations"));
  const apiCalls = h("section", {}, h("h2", {}, "API calls"));
  sections.push(containers, violations);
  if (s.api_calls !== undefined) sections.push(apiCalls);
  sections.push(liveFeed(ctx, project));
  m.replaceChildren(...sections);

  // Containers: from the latest events (the summary has no container breakdown).
  api(`/projects/${enc(project)}/runtime/events?limit=1000`, { signal: ctx.signal })
    .then(({ events }) => {
      const cs = new Map();
      for (const e of events) {
        const id = e[A.container] || "";
        if (!id) continue;
        const c = cs.get(id) || { id, pod: e[A.pod], procs: new Set(), events: 0 };
        c.events += 1;
        if (e[A.exe]) c.procs.add(e[A.exe]);
        cs.set(id, c);
      }
      containers.replaceChildren(
        h("h2", {}, "Containers"),
        table([...cs.values()], [
          ["Container", (c) => c.id.slice(0, 12), { mono: true }],
          ["Pod", (c) => c.pod],
          ["Processes", (c) => [...c.procs].join(", ")],
          ["Events", (c) => fmtNum(c.events), { num: true }],
        ], "No container: the latest 1000 events all came from processes on the host."),
      );
    })
    .catch((e) => e.name !== "AbortError" && containers.replaceChildren(h("h2", {}, "Containers"), errorState(e, "the events")));

  const v = s.violations || { total: 0 };
  if (!v.total) {
    violations.append(h("p", { class: "muted" }, "No policy violations. Run with `aibomd run --policy FILE` to check loads against a policy."));
  } else {
    violations.append(h("p", {}, `${fmtNum(v.total)} in all, ${fmtNum(v.enforced)} enforced.`));
    api(`/projects/${enc(project)}/runtime/violations?limit=100`, { signal: ctx.signal })
      .then((r) =>
        violations.append(
          table(r.violations || [], [
            ["Time", (x) => fmtTime(x[A.time])],
            ["Rule", (x) => x[A.rule]],
            ["Severity", (x) => x[A.severity]],
            ["Action", (x) => x[A.action]],
            ["Enforced", (x) => (x[A.enforced] ? "yes" : "no")],
            ["File", (x) => x[A.path], { mono: true }],
            ["Process", (x) => (x[A.exe] ? `${x[A.exe]} (${x[A.pid]})` : "")],
          ]),
        ),
      )
      .catch((e) => e.name !== "AbortError" && violations.append(errorState(e, "the violations")));
  }

  if (s.api_calls !== undefined) {
    const sum = s.api_calls;
    if (sum && typeof sum === "object" && !Array.isArray(sum)) {
      const scalars = Object.entries(sum).filter(([, x]) => typeof x !== "object");
      apiCalls.append(h("dl", { class: "kv" }, scalars.flatMap(([k, x]) => [h("dt", {}, k), h("dd", {}, String(x))])));
      for (const [k, x] of Object.entries(sum)) if (Array.isArray(x) && x.length && typeof x[0] === "object") apiCalls.append(h("h3", {}, k), objectsTable(x));
    }
    api(`/projects/${enc(project)}/runtime/api-calls?limit=50`, { signal: ctx.signal })
      .then((r) => {
        const rows = Array.isArray(r) ? r : r.api_calls || r.calls || r.events || [];
        apiCalls.append(h("h3", {}, "Latest calls"), rows.length ? objectsTable(rows) : h("p", { class: "muted" }, "No API calls recorded."));
      })
      .catch((e) => e.name !== "AbortError" && apiCalls.append(errorState(e, "the API calls")));
  }
}

function rememberedScans() {
  try {
    return JSON.parse(sessionStorage.getItem(SCANS_KEY) || "[]");
  } catch (_) {
    return [];
  }
}

async function scansPage(ctx, params) {
  const m = main();
  const project = h("input", { id: "scan-project-input", name: "project", list: "project-ids", required: true, pattern: "[A-Za-z0-9._\\-]{1,128}", size: "28", value: params.get("project") || "" });
  const duration = h("input", { id: "scan-duration", name: "duration", type: "number", min: "1", max: "86400", step: "1", required: true, value: "10", size: "6" });
  const datalist = h("datalist", { id: "project-ids" });
  const result = h("div", { role: "status" });
  const start = h("button", { type: "submit", id: "scan-start" }, "Start scan");
  const form = h(
    "form",
    {
      class: "inline",
      id: "scan-form",
      onsubmit: async (e) => {
        e.preventDefault();
        start.disabled = true;
        result.replaceChildren(h("p", { class: "loading" }, "Asking the daemons…"));
        try {
          const r = await api("/scan/runtime", { method: "POST", body: { project: project.value, duration: Number(duration.value) } });
          const scans = rememberedScans();
          scans.unshift({ scan_id: r.scan_id, project: project.value, duration: Number(duration.value), started: new Date().toISOString() });
          sessionStorage.setItem(SCANS_KEY, JSON.stringify(scans.slice(0, 50)));
          location.hash = `#/scans/${r.scan_id}`;
        } catch (err) {
          start.disabled = false;
          if (err.status !== 401) result.replaceChildren(errorState(err, "the scan"));
        }
      },
    },
    h("label", { for: "scan-project-input" }, "Project", project),
    h("label", { for: "scan-duration" }, "Duration (seconds)", duration),
    start,
  );
  const scans = rememberedScans();
  m.replaceChildren(
    h("h1", { tabindex: "-1" }, "Scans"),
    h("p", {}, "A scan asks every aibomd daemon the sidecar knows (--daemon) to trace the project's processes for the duration, and lists what they hold (inventory) and load (trace)."),
    form,
    datalist,
    result,
    h("h2", {}, "Scans started in this tab"),
    table(scans, [
      ["Scan", (s) => h("a", { href: `#/scans/${s.scan_id}` }, s.scan_id.slice(0, 8))],
      ["Project", (s) => s.project],
      ["Duration", (s) => `${s.duration} s`, { num: true }],
      ["Started", (s) => fmtTime(s.started)],
    ], "None yet. The sidecar keeps scans in memory: GET /scans/{id} answers for the last 10 000."),
  );
  api("/projects", { signal: ctx.signal })
    .then(({ projects }) => datalist.replaceChildren(...projects.map((p) => h("option", { value: p.id }))))
    .catch(() => {});
}

async function scanPage(ctx, id) {
  const m = main();
  const title = h("h1", { tabindex: "-1" }, "Scan ", h("span", { class: "mono" }, id.slice(0, 8)));
  const state = h("span", { class: "badge", id: "scan-state" }, "loading");
  const prog = h("progress", { id: "scan-progress", max: "1", value: "0", "aria-label": "Scan progress" });
  const progText = h("span", { class: "muted" });
  const stop = h("button", { type: "button", class: "danger", id: "scan-stop", hidden: true }, "Stop now");
  const info = h("div");
  const results = h("section", { "aria-labelledby": "scan-results-h" }, h("h2", { id: "scan-results-h" }, "Artifacts found"), h("p", { class: "muted" }, "Waiting for the first events…"));
  m.replaceChildren(title, h("p", {}, "State: ", state, " ", prog, " ", progText, " ", stop), info, results);
  let scan;
  try {
    scan = await api(`/scans/${id}`, { signal: ctx.signal });
  } catch (e) {
    if (e.name === "AbortError" || e.status === 401) return;
    m.replaceChildren(title, errorState(e, "the scan"), h("p", {}, h("a", { href: "#/scans" }, "Start a new scan")));
    return;
  }
  m.append(liveFeed(ctx, scan.project, id));
  stop.addEventListener("click", async () => {
    stop.disabled = true;
    try {
      render(await api(`/scans/${id}/stop`, { method: "POST" }));
    } catch (e) {
      stop.disabled = false;
      if (e.status !== 401) info.append(errorState(e, "the stop"));
    }
  });
  let quiet = 0;
  let lastCount = -1;
  function render(s) {
    scan = s;
    state.textContent = s.state;
    state.className = "badge " + s.state;
    const started = s.ends_at ? Date.parse(s.ends_at) - s.duration * 1000 : Date.parse(s.created_at);
    const end = s.ends_at ? Date.parse(s.ends_at) : started + s.duration * 1000;
    const total = Math.max(1, (end - started) / 1000);
    const done = s.state === "completed" ? total : Math.min(total, Math.max(0, (Date.now() - started) / 1000));
    prog.max = total;
    prog.value = done;
    progText.textContent = s.state === "completed" ? `${Math.round(total)} s traced` : s.state === "failed" ? "" : `${Math.round(done)} s of ${s.duration} s`;
    stop.hidden = s.state !== "running";
    info.replaceChildren(
      ...[
      h(
        "dl",
        { class: "kv" },
        h("dt", {}, "Project"),
        h("dd", {}, h("a", { href: `#/projects/${enc(s.project)}` }, s.project)),
        h("dt", {}, "Events"),
        h("dd", { id: "scan-events" }, s.events === null || s.events === undefined ? "unknown (ClickHouse did not answer)" : fmtNum(s.events)),
        h("dt", {}, "Daemons"),
        h("dd", {}, s.daemons.length ? s.daemons.map((d) => `${d.daemon}: ${d.state}${d.detail ? " (" + d.detail + ")" : ""}`).join("; ") : "—"),
      ),
      s.error
        ? h("div", { class: "error", role: "alert" }, h("strong", {}, "The scan failed: "), s.error, h("p", {}, "The sidecar passes scans to the daemons given with --daemon; `scripts/stack up` starts one and connects it."))
        : null,
      ].filter(Boolean),
    );
    const arts = s.artifacts || [];
    if (arts.length) {
      results.replaceChildren(
        h("h2", { id: "scan-results-h" }, `Artifacts found (${arts.length})`),
        table(arts, [
          ["Artifact", (a) => artifactKeyLink(s.project, a[A.id] || a[A.sha] || a[A.path], a[A.name] || a[A.id] || a[A.path].split("/").pop())],
          ["Type", (a) => a[A.type]],
          ["License", (a) => a[A.license] || "(unknown)"],
          ["Format", (a) => a[A.format]],
          ["sha256", (a) => a[A.sha], { mono: true }],
          ["Found by", (a) => list(a[A.origin]).join(", ")],
          ["Processes", (a) => (a.processes || []).map((p) => `${p[A.exe]} (${p[A.pid]})`).join(", ")],
          ["Path", (a) => a[A.path], { mono: true }],
        ]),
      );
    } else if (s.state === "completed") {
      results.replaceChildren(
        h("h2", { id: "scan-results-h" }, "Artifacts found"),
        emptyState("Nothing found (yet).", "Events reach ClickHouse a few seconds after the scan; this page keeps checking for a minute. Nothing at all? Was a process of the project running? Try the example:", EXAMPLE),
      );
    }
    quiet = arts.length === lastCount ? quiet + 1 : 0;
    lastCount = arts.length;
  }
  render(scan);
  const endedAt = { t: null };
  const tick = async () => {
    if (ctx.signal.aborted) return;
    try {
      render(await api(`/scans/${id}`, { signal: ctx.signal }));
    } catch (e) {
      if (e.name === "AbortError" || e.status === 401) return;
      info.replaceChildren(errorState(e, "the scan"));
    }
    if (scan.state === "failed") return;
    if (scan.state === "completed") {
      endedAt.t = endedAt.t || Date.now();
      // late events: keep checking until the list is stable, a minute at most
      if (Date.now() - endedAt.t > 60000 || (quiet >= 5 && lastCount > 0)) return;
    }
    const t = setTimeout(tick, 1000);
    ctx.cleanup.push(() => clearTimeout(t));
  };
  const t = setTimeout(tick, 1000);
  ctx.cleanup.push(() => clearTimeout(t));
}

async function artifactPage(ctx, project, key) {
  const m = main();
  const head = [
    h("p", {}, h("a", { href: `#/projects/${enc(project)}` }, `← ${project}`)),
    h("h1", { tabindex: "-1" }, "Artifact"),
  ];
  m.replaceChildren(...head, h("p", { class: "loading" }, "Loading…"));
  let a;
  try {
    const s = await api(`/projects/${enc(project)}/runtime/summary?limit=10000`, { signal: ctx.signal });
    a = s.artifacts.find((x) => x.key === key || list(x[A.sha]).includes(key) || list(x[A.path]).includes(key));
  } catch (e) {
    if (e.name === "AbortError" || e.status === 401) return;
    m.replaceChildren(...head, errorState(e, "the artifact"));
    return;
  }
  if (!a) {
    m.replaceChildren(
      ...head,
      emptyState("Not in the project's summary yet.", "Events reach the summary a few seconds after they happen.", null),
      h("button", { type: "button", onclick: () => route() }, "Check again"),
    );
    return;
  }
  const kv = (label, v, mono) => [h("dt", {}, label), h("dd", { class: mono ? "mono" : null }, v === undefined || v === null || v === "" ? "—" : v)];
  const name = a[A.name] || a[A.id] || a.key;
  m.replaceChildren(
    head[0],
    h("h1", { tabindex: "-1" }, name),
    bomButtons(project),
    h("p", { class: "muted" }, "The BOM is the project's (this artifact is one of its components)."),
    h("h2", {}, "Identity"),
    h(
      "dl",
      { class: "kv", id: "artifact-identity" },
      kv("Key", a.key, true),
      kv("Id", a[A.id], true),
      kv("Name", a[A.name]),
      kv("Type", a[A.type]),
      kv("Provider", a[A.provider]),
      kv("License", a[A.license] || "(unknown)"),
      kv("Format", a[A.format]),
      a[A.mismatch] ? kv("Format mismatch", a[A.mismatch]) : [],
      kv("Accesses", fmtNum(a[A.count])),
      kv("First seen", fmtTime(a.first_seen)),
      kv("Last seen", fmtTime(a.last_seen)),
    ),
    h("h2", {}, "sha256"),
    h("ul", { id: "artifact-sha256" }, list(a[A.sha]).map((x) => h("li", { class: "mono" }, x))),
    h("h2", {}, "Loaded from"),
    h("ul", {}, list(a[A.path]).map((x) => h("li", { class: "mono" }, x))),
    h("h2", {}, "Loaded by"),
    table(a.processes || [], [
      ["Executable", (p) => p[A.exe]],
      ["PID", (p) => p[A.pid], { num: true }],
    ], "No process recorded."),
  );
  const filter = a[A.id] || a[A.name];
  if (filter) {
    const events = h("section", {}, h("h2", {}, "Latest accesses"), h("p", { class: "loading" }, "Loading…"));
    m.append(events);
    api(`/projects/${enc(project)}/runtime/events?artifact=${enc(filter)}&limit=50`, { signal: ctx.signal })
      .then((r) =>
        events.replaceChildren(
          h("h2", {}, "Latest accesses"),
          table(r.events, [
            ["Time", (e) => fmtTime(e[A.time])],
            ["Process", (e) => `${e[A.exe] || "?"} (${e[A.pid] ?? "?"})`],
            ["Command line", (e) => e[A.cmd], { mono: true }],
            ["File", (e) => e[A.path], { mono: true }],
            ["Container", (e) => (e[A.container] || "").slice(0, 12)],
            ["Found by", (e) => e[A.origin]],
          ]),
        ),
      )
      .catch((e) => e.name !== "AbortError" && events.replaceChildren(errorState(e, "the accesses")));
  }
}

// ---- Router ------------------------------------------------------------------------------

let currentCtx = null;

function newCtx() {
  if (currentCtx) currentCtx.abort();
  const ac = new AbortController();
  const ctx = {
    signal: ac.signal,
    cleanup: [],
    abort() {
      ac.abort();
      for (const f of ctx.cleanup) f();
      ctx.cleanup = [];
    },
  };
  currentCtx = ctx;
  return ctx;
}

const ROUTES = [
  [/^#?\/?$/, (ctx) => projectsPage(ctx)],
  [/^#\/projects\/([^/]+)$/, (ctx, _, p) => runtimePage(ctx, decodeURIComponent(p))],
  [/^#\/projects\/([^/]+)\/artifacts\/(.+)$/, (ctx, _, p, k) => artifactPage(ctx, decodeURIComponent(p), decodeURIComponent(k))],
  [/^#\/scans$/, (ctx, q) => scansPage(ctx, q)],
  [/^#\/scans\/([0-9a-fA-F-]{36})$/, (ctx, _, id) => scanPage(ctx, id)],
];

function route() {
  banner("");
  if (!token()) {
    showLogin();
    return;
  }
  document.getElementById("forget").hidden = false;
  const [path, query] = (location.hash || "#/").split("?");
  const params = new URLSearchParams(query || "");
  const ctx = newCtx();
  for (const [re, page] of ROUTES) {
    const mm = path.match(re);
    if (mm) {
      for (const a of document.querySelectorAll("nav[aria-label=Main] a")) {
        const here = (a.id === "nav-scans") === path.startsWith("#/scans");
        if (here) a.setAttribute("aria-current", "page");
        else a.removeAttribute("aria-current");
      }
      page(ctx, params, ...mm.slice(1)).finally(() => {
        const h1 = main().querySelector("h1");
        if (h1 && document.activeElement === document.body) h1.focus({ preventScroll: true });
      });
      return;
    }
  }
  main().replaceChildren(h("h1", { tabindex: "-1" }, "Not found"), h("p", {}, h("a", { href: "#/" }, "Go to the projects")));
}

document.getElementById("forget").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin("Token forgotten.");
});
window.addEventListener("hashchange", route);
route();
