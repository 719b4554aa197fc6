#!/usr/bin/env python3
"""Writes dashboards/json/*.json: the dashboards' shared SQL (filters, per-artifact subquery,
counter deltas) is spelled once here. Edit this file, then run it:

    python3 dashboards/generate.py          # rewrite the JSON files
    python3 dashboards/generate.py --check  # exit 1 when a JSON file differs (the tests run it)

Names in the SQL follow aibom-semconv; query/tests/dashboards.rs checks every one.
"""
import json, os, sys

DS = {"type": "grafana-clickhouse-datasource", "uid": "aibom-clickhouse"}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "json")

RE_FILTER = """project_id = ${project:singlequote}
  AND $__conditionalAll(host_name IN (${host:singlequote}), $host)
  AND $__conditionalAll(container_id IN (${container:singlequote}), $container)"""

def target(sql, fmt):
    return {
        "refId": "A",
        "datasource": DS,
        "editorType": "sql",
        "queryType": "timeseries" if fmt == 0 else "table",
        "format": fmt,
        "rawSql": sql.strip(),
    }

class Layout:
    def __init__(self):
        self.x = 0; self.y = 0; self.row_h = 0; self.next_id = 1
    def place(self, w, h):
        if self.x + w > 24:
            self.x = 0; self.y += self.row_h; self.row_h = 0
        g = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w; self.row_h = max(self.row_h, h)
        return g
    def id(self):
        i = self.next_id; self.next_id += 1; return i

def panel(L, kind, title, sql, w, h, desc="", fmt=1, options=None, field=None, overrides=None):
    p = {
        "id": L.id(),
        "type": kind,
        "title": title,
        "description": desc,
        "datasource": DS,
        "gridPos": L.place(w, h),
        "targets": [target(sql, fmt)],
        "fieldConfig": {"defaults": field or {}, "overrides": overrides or []},
        "options": options or {},
    }
    return p

def stat(L, title, sql, desc, unit=None, w=4):
    field = {"unit": unit} if unit else {}
    field["noValue"] = "0"
    return panel(L, "stat", title, sql, w, 4, desc, 1,
                 {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                  "colorMode": "value", "graphMode": "none", "textMode": "value"}, field)

def var_query(name, label, sql, multi, include_all, refresh=2, hide=0):
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "query": {"rawSql": sql.strip(), "editorType": "sql", "format": 1},
        "definition": sql.strip(),
        "refresh": refresh,
        "multi": multi,
        "includeAll": include_all,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]} if include_all else {},
        "options": [],
        "sort": 1,
        "hide": hide,
    }

PROJECT = var_query("project", "Project", """
SELECT DISTINCT project_id FROM runtime_events WHERE $__timeFilter(time) ORDER BY project_id
""", False, False)
HOST = var_query("host", "Host", """
SELECT DISTINCT host_name FROM runtime_events
WHERE project_id = ${project:singlequote} AND $__timeFilter(time) AND host_name != ''
ORDER BY host_name
""", True, True)
CONTAINER = var_query("container", "Container", """
SELECT DISTINCT container_id FROM runtime_events
WHERE project_id = ${project:singlequote} AND $__timeFilter(time) AND container_id != ''
  AND $__conditionalAll(host_name IN (${host:singlequote}), $host)
ORDER BY container_id
""", True, True)

def dashboard(uid, title, desc, panels, variables, tags, links=None, time_from="now-6h"):
    return {
        "uid": uid,
        "title": title,
        "description": desc,
        "tags": ["aibom"] + tags,
        "timezone": "browser",
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "links": links or [],
        "annotations": {"list": []},
        "templating": {"list": variables},
        "panels": panels,
    }

NAV = [{"title": "AI-BOM", "type": "dashboards", "tags": ["aibom"], "asDropdown": True,
        "includeVars": True, "keepTime": True}]

# ---------------------------------------------------------------- overview
def per_path(where):
    # One row per file path: the latest non-empty value of each identity attribute (an access
    # can arrive before its file is identified), as runtime_artifacts aggregates them.
    return f"""
    SELECT
        file_path,
        argMaxIf(artifact_id, time, artifact_id != '') AS id,
        argMaxIf(artifact_sha256, time, artifact_sha256 != '') AS sha256,
        argMaxIf(artifact_name, time, artifact_name != '') AS name,
        argMaxIf(artifact_type, time, artifact_type != '') AS type,
        argMaxIf(artifact_role, time, artifact_role != '') AS role,
        argMaxIf(artifact_provider, time, artifact_provider != '') AS provider,
        argMaxIf(artifact_license, time, artifact_license != '') AS license,
        argMaxIf(artifact_format, time, artifact_format != '') AS format,
        argMaxIf(artifact_format_mismatch, time, artifact_format_mismatch != '') AS mismatch,
        argMaxIf(artifact_revision, time, artifact_revision != '') AS revision,
        min(time) AS first_seen,
        max(time) AS last_seen,
        groupUniqArray((host_name, process_pid)) AS processes
    FROM runtime_events
    WHERE {where}
    GROUP BY file_path"""

# An artifact: the canonical id (a hub repo at a revision) when known, else the content hash,
# else the path.
KEY = "if(id != '', id, if(sha256 != '', sha256, file_path))"
F = RE_FILTER
W = f"$__timeFilter(time) AND {F}"
PP = per_path(W)

L = Layout()
ov = []
ov.append(stat(L, "Artifacts", f"""
SELECT uniqExact({KEY}) AS artifacts
FROM ({PP}
)
""", "Distinct artifacts opened in the time range: a hub model at a revision, else one file's content (sha256)."))
ov.append(stat(L, "Models", f"""
SELECT uniqExactIf({KEY}, type = 'model') AS models
FROM ({PP}
)
""", "Distinct model artifacts (a hub repo counts once, with its weights, tokenizer and config)."))
ov.append(stat(L, "Datasets", f"""
SELECT uniqExactIf({KEY}, type = 'dataset') AS datasets
FROM ({PP}
)
""", "Distinct dataset artifacts."))
ov.append(stat(L, "Unknown licenses", f"""
SELECT uniqExactIf({KEY}, license = '') AS unknown_licenses
FROM ({PP}
)
""", "Artifacts no license was found for (no card, header metadata or LICENSE file)."))
ov.append(stat(L, "Format mismatches", f"""
SELECT uniqExactIf({KEY}, mismatch != '') AS mismatches
FROM ({PP}
)
""", "Artifacts whose bytes are not the format their name claims (e.g. a pickle named .safetensors)."))
ov.append(stat(L, "Processes", f"""
SELECT uniqExact(host_name, process_pid) AS processes
FROM runtime_events
WHERE {W}
""", "Distinct processes (host, pid) that opened an AI artifact."))
ov.append(panel(L, "piechart", "Artifacts by type", f"""
SELECT if(type = '', '(none)', type) AS artifact_kind, uniqExact({KEY}) AS artifacts
FROM ({PP}
)
GROUP BY artifact_kind ORDER BY artifacts DESC
""", 8, 8, "Distinct artifacts per type (model, dataset, prompt, tool, config).",
    options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": True},
             "pieType": "donut", "legend": {"displayMode": "table", "placement": "right", "values": ["value"]}}))
ov.append(panel(L, "barchart", "Artifacts by provider", f"""
SELECT if(provider = '', '(none)', provider) AS artifact_source, uniqExact({KEY}) AS artifacts
FROM ({PP}
)
GROUP BY artifact_source ORDER BY artifacts DESC
""", 8, 8, "Distinct artifacts per provider (huggingface, openai, google, local, unknown).",
    options={"orientation": "horizontal", "xField": "artifact_source", "showValue": "auto", "legend": {"showLegend": False}}))
ov.append(panel(L, "barchart", "Artifacts by license", f"""
SELECT if(license = '', '(unknown)', license) AS license_name, uniqExact({KEY}) AS artifacts
FROM ({PP}
)
GROUP BY license_name ORDER BY artifacts DESC
""", 8, 8, "Distinct artifacts per license (SPDX id, or the name the card gives); (unknown): none found.",
    options={"orientation": "horizontal", "xField": "license_name", "showValue": "auto", "legend": {"showLegend": False}}))
ov.append(panel(L, "timeseries", "New artifacts over time", f"""
SELECT $__timeInterval(first) AS time, artifact_kind, count() AS new_artifacts
FROM
(
    SELECT {KEY} AS artifact, any(type) AS artifact_kind, min(first_seen) AS first
    FROM ({per_path(F)}
    )
    GROUP BY artifact
)
WHERE $__timeFilter(first)
GROUP BY time, artifact_kind
ORDER BY time
""", 24, 8, "Artifacts seen for the first time ever (in this project and selection), by type, per interval.",
    fmt=0, options={"legend": {"displayMode": "list", "placement": "bottom"}},
    field={"custom": {"drawStyle": "bars", "fillOpacity": 80, "stacking": {"mode": "normal"}}, "unit": "short"}))
ov.append(panel(L, "table", "Artifacts without a license", f"""
SELECT
    {KEY} AS artifact,
    any(if(name != '', name, file_path)) AS artifact_label,
    any(type) AS artifact_kind,
    any(provider) AS artifact_source,
    any(format) AS file_format,
    arrayStringConcat(groupUniqArray(file_path), ', ') AS paths,
    length(arrayDistinct(arrayFlatten(groupArray(processes)))) AS process_count,
    max(last_seen) AS last_access
FROM ({PP}
)
GROUP BY artifact
HAVING max(license) = ''
ORDER BY last_access DESC
LIMIT 500
""", 12, 9, "Artifacts opened in the range with no license found: review them before shipping."))
ov.append(panel(L, "table", "Files whose format does not match their name", f"""
SELECT
    max(time) AS last_access,
    file_path AS path,
    artifact_format_mismatch AS claimed,
    artifact_format AS actual,
    host_name AS host,
    any(process_executable_name) AS process,
    groupUniqArray(10)(process_pid) AS pids
FROM runtime_events
WHERE {W} AND artifact_format_mismatch != ''
GROUP BY path, claimed, actual, host
ORDER BY last_access DESC
LIMIT 500
""", 12, 9, "Files whose content is not the format their name claims, e.g. pickle (code runs on load) behind a .safetensors name."))
ov.append(panel(L, "table", "Artifact inventory", f"""
SELECT
    any(if(name != '', name, file_path)) AS artifact_label,
    any(type) AS artifact_kind,
    arrayStringConcat(groupUniqArray(role), ',') AS roles,
    any(provider) AS artifact_source,
    max(license) AS license_name,
    arrayStringConcat(groupUniqArray(format), ',') AS formats,
    max(revision) AS rev,
    {KEY} AS artifact,
    any(sha256) AS content_sha256,
    count() AS files,
    length(arrayDistinct(arrayFlatten(groupArray(processes)))) AS process_count,
    min(first_seen) AS first_access,
    max(last_seen) AS last_access
FROM ({PP}
)
GROUP BY artifact
ORDER BY artifact_kind, artifact_label
LIMIT 1000
""", 24, 12, "Every artifact opened in the range (a hub model lists its files' roles and formats). Click a sha256 for the artifact detail dashboard.",
    overrides=[{"matcher": {"id": "byName", "options": "content_sha256"},
                "properties": [{"id": "displayName", "value": "sha256"}, {"id": "links", "value": [{
                    "title": "Artifact detail",
                    "url": "/d/aibom-artifact?var-project=${project}&var-sha256=${__value.raw}&${__url_time_range}"}]}]}]))
# Policy violations (aibomd --policy): runtime_violations, one row per aibom.policy.violation
# record, with the host and container of the access it judged.
# A bucket named `time` would shadow the column in WHERE (ClickHouse resolves SELECT
# aliases there first): `$__timeFilter(time)` would then drop the first bucket whenever it
# starts before the range. Buckets of tables with a `time` column are called `bucket`.
ov.append(panel(L, "timeseries", "Policy violations by rule", f"""
SELECT $__timeInterval(time) AS bucket, policy_rule AS rule, count() AS violations
FROM runtime_violations
WHERE {W}
GROUP BY bucket, rule
ORDER BY bucket
""", 24, 8, "Violations of each policy rule per interval (empty when aibomd runs without --policy).",
    fmt=0, options={"legend": {"displayMode": "list", "placement": "bottom"}},
    field={"custom": {"drawStyle": "bars", "fillOpacity": 80, "stacking": {"mode": "normal"}}, "unit": "short"}))
ov.append(panel(L, "table", "Recent policy violations", f"""
SELECT
    time AS violation_time,
    policy_rule AS rule,
    policy_severity AS severity,
    policy_action AS action,
    policy_enforced AS enforced,
    file_path AS path,
    if(artifact_name != '', artifact_name, artifact_id) AS artifact_label,
    artifact_type AS artifact_kind,
    artifact_license AS license_name,
    host_name AS host,
    container_id AS container,
    process_pid AS pid,
    process_executable_name AS executable,
    process_command_line AS command_line
FROM runtime_violations
WHERE {W}
ORDER BY violation_time DESC
LIMIT 500
""", 24, 10, "The latest violations: rule, severity, action and whether it took effect (open refused, process killed), the file and artifact, and the process that opened it."))
# AI APIs called (issue 14): runtime_api_calls, one row per aibom.api.call record (calls folded
# into api_count), with the host and container of the calling process.
ov.append(panel(L, "table", "AI APIs called", f"""
SELECT
    api_provider AS provider,
    server_address AS api_host,
    server_port AS port,
    gen_ai_request_model AS model,
    gen_ai_operation_name AS operation,
    sum(api_count) AS calls,
    uniqExact(host_name, process_pid) AS processes,
    max(time) AS last_call
FROM runtime_api_calls
WHERE {W}
GROUP BY provider, api_host, port, model, operation
ORDER BY calls DESC, provider, api_host, port, model, operation
LIMIT 500
""", 24, 8, "The AI APIs (hosted providers and local inference servers) the project's processes called: calls, distinct processes (host, pid) and the latest call, per provider, server, model and operation. The model is empty when only the TLS server name was seen."))
# Unsafe serialized models (issue 15): runtime_unsafe_scans, one row per identified record of
# a scanned pickle-based file; the latest verdict per file, unsafe ones only.
ov.append(panel(L, "table", "Unsafe serialized models", f"""
SELECT
    file_path AS file,
    argMax(artifact_name, time) AS artifact,
    argMax(artifact_unsafe_reason, time) AS dangerous_imports,
    argMax(artifact_sha256, time) AS sha256,
    groupUniqArray(10)(host_name) AS hosts,
    uniqExact(host_name, process_pid) AS processes,
    max(time) AS last_scan
FROM runtime_unsafe_scans
WHERE {W}
GROUP BY file
HAVING argMax(artifact_unsafe, time) = true
ORDER BY last_scan DESC, file
LIMIT 500
""", 24, 8, "Pickle-based files (legacy PyTorch, PyTorch zip, joblib, object .npy) whose latest scan found imports of dangerous callables (os.system, subprocess, builtins.eval/exec, socket, runpy, ...): loading them runs that code. The callables, hosts and processes that opened them."))
overview = dashboard("aibom-overview", "AI-BOM overview",
    "Which AI artifacts (models, datasets, prompts, tools, configs) the project's processes really opened, from aibomd's runtime events.",
    ov, [PROJECT, HOST, CONTAINER], ["overview"], NAV)

# ---------------------------------------------------------------- artifact detail
SHA = var_query("sha256", "Artifact (sha256)", """
SELECT artifact_sha256, concat(any(artifact_name), '  ', substring(artifact_sha256, 1, 12)) AS label
FROM runtime_events
WHERE project_id = ${project:singlequote} AND $__timeFilter(time) AND artifact_sha256 != ''
GROUP BY artifact_sha256
ORDER BY max(artifact_type = 'model') DESC, label
""", False, False)
L = Layout()
FS = F + "\n  AND artifact_sha256 = ${sha256:singlequote}"
ad = []
ad.append(panel(L, "table", "Artifact", f"""
SELECT
    argMaxIf(artifact_name, time, artifact_name != '') AS name,
    argMaxIf(artifact_id, time, artifact_id != '') AS id,
    argMaxIf(artifact_type, time, artifact_type != '') AS type,
    argMaxIf(artifact_role, time, artifact_role != '') AS role,
    argMaxIf(artifact_provider, time, artifact_provider != '') AS provider,
    argMaxIf(artifact_license, time, artifact_license != '') AS license,
    argMaxIf(artifact_format, time, artifact_format != '') AS format,
    argMaxIf(artifact_revision, time, artifact_revision != '') AS revision,
    any(artifact_sha256) AS sha256,
    max(file_size) AS size,
    min(time) AS first_seen,
    max(time) AS last_seen
FROM runtime_events
WHERE $__timeFilter(time) AND {FS}
""", 24, 5, "What aibomd identified for these bytes (one row per content hash).",
    field={"custom": {"align": "auto"}}))
ad.append(stat(L, "Processes", f"""
SELECT uniqExact(host_name, process_pid) AS processes FROM runtime_events WHERE $__timeFilter(time) AND {FS}
""", "Distinct processes (host, pid) that opened it.", w=6))
ad.append(stat(L, "Hosts", f"""
SELECT uniqExact(host_name) AS hosts FROM runtime_events WHERE $__timeFilter(time) AND {FS}
""", "Distinct hosts it was opened on.", w=6))
ad.append(stat(L, "Containers", f"""
SELECT uniqExactIf(container_id, container_id != '') AS containers FROM runtime_events WHERE $__timeFilter(time) AND {FS}
""", "Distinct containers it was opened in (0: only host processes).", w=6))
ad.append(stat(L, "Accesses", f"""
SELECT sum(access_count) AS accesses FROM runtime_events WHERE $__timeFilter(time) AND {FS}
""", "Opens and maps of the file (repeated opens by one process are counted, not repeated).", w=6))
ad.append(panel(L, "table", "Processes that loaded it", f"""
SELECT
    host_name AS host,
    container_id AS container,
    container_runtime_name AS runtime,
    k8s_namespace_name AS namespace,
    k8s_pod_name AS pod,
    process_pid AS pid,
    any(process_executable_name) AS executable,
    any(process_executable_path) AS executable_path,
    any(process_owner) AS owner,
    arrayStringConcat(groupUniqArray(access_mode), ',') AS modes,
    sum(access_count) AS accesses,
    min(time) AS first_seen,
    max(time) AS last_seen
FROM runtime_events
WHERE $__timeFilter(time) AND {FS}
GROUP BY host, container, runtime, namespace, pod, pid
ORDER BY last_seen DESC
LIMIT 1000
""", 24, 9, "Every process that opened or mapped a file with this content; container and pod are empty for host processes."))
ad.append(panel(L, "table", "Where it ran", f"""
SELECT
    host_name AS host,
    if(container_id = '', '(host)', container_id) AS container,
    k8s_namespace_name AS namespace,
    k8s_pod_name AS pod,
    uniqExact(process_pid) AS processes,
    max(time) AS last_seen
FROM runtime_events
WHERE $__timeFilter(time) AND {FS}
GROUP BY host, container, namespace, pod
ORDER BY last_seen DESC
""", 12, 8, "Hosts, containers and pods it was loaded in; (host): outside any container."))
ad.append(panel(L, "table", "Paths", f"""
SELECT file_path AS path, arrayStringConcat(groupUniqArray(access_mode), ',') AS modes,
       uniqExact(host_name, process_pid) AS processes, max(time) AS last_seen
FROM runtime_events
WHERE $__timeFilter(time) AND {FS}
GROUP BY path
ORDER BY last_seen DESC
LIMIT 500
""", 12, 8, "Paths the same bytes were opened under (copies, hub snapshots, mounts)."))
ad.append(panel(L, "timeseries", "Accesses over time", f"""
SELECT $__timeInterval(time) AS bucket, host_name AS host, sum(access_count) AS accesses
FROM runtime_events
WHERE $__timeFilter(time) AND {FS}
GROUP BY bucket, host
ORDER BY bucket
""", 24, 8, "Accesses per interval and host.", fmt=0,
    field={"custom": {"drawStyle": "bars", "fillOpacity": 80, "stacking": {"mode": "normal"}}, "unit": "short"}))
detail = dashboard("aibom-artifact", "AI-BOM artifact detail",
    "Which processes, containers and hosts loaded one artifact, chosen by content hash (sha256).",
    ad, [PROJECT, SHA, HOST, CONTAINER], ["artifact"], NAV, "now-24h")

# ---------------------------------------------------------------- health
HHOST = var_query("host", "Host", """
SELECT DISTINCT ResourceAttributes['host.name'] AS host
FROM otel_metrics_sum
WHERE $__timeFilter(TimeUnix) AND MetricName = 'aibom.tracer.events.seen' AND host != ''
ORDER BY host
""", True, True)
MF = "$__conditionalAll(ResourceAttributes['host.name'] IN (${host:singlequote}), $host)"

def latest_total(metrics):
    names = ", ".join(f"'{m}'" for m in metrics)
    # cumulative counters: the latest value of each daemon run (host, start time), summed
    return f"""
SELECT sum(v) AS value FROM
(
    SELECT argMax(Value, TimeUnix) AS v
    FROM otel_metrics_sum
    WHERE $__timeFilter(TimeUnix) AND {MF} AND MetricName IN ({names})
    GROUP BY MetricName, ResourceAttributes['host.name'], StartTimeUnix
)
"""

def deltas(metrics, table="otel_metrics_sum"):
    names = ", ".join(f"'{m}'" for m in metrics)
    # cumulative counter -> increase per interval: per series (metric, host, daemon start) the
    # bucket maximum minus the previous bucket's; a series' first bucket counts from 0 when the
    # daemon started inside the range.
    return f"""
SELECT time, metric, sum(delta) AS value FROM
(
    SELECT
        $__timeInterval(TimeUnix) AS time,
        MetricName AS metric,
        ResourceAttributes['host.name'] AS host,
        StartTimeUnix AS start,
        max(Value) AS v,
        v - lagInFrame(v, 1, if(start >= $__fromTime, 0, v))
            OVER (PARTITION BY metric, host, start ORDER BY time ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS delta
    FROM {table}
    WHERE $__timeFilter(TimeUnix) AND {MF} AND MetricName IN ({names})
    GROUP BY time, metric, host, start
)
GROUP BY time, metric
ORDER BY time
"""

def gauge(metric):
    return f"""
SELECT $__timeInterval(TimeUnix) AS time, ResourceAttributes['host.name'] AS host, max(Value) AS value
FROM otel_metrics_gauge
WHERE $__timeFilter(TimeUnix) AND {MF} AND MetricName = '{metric}'
GROUP BY time, host
ORDER BY time
"""

SEEN, FILT, DROP = "aibom.tracer.events.seen", "aibom.tracer.events.filtered", "aibom.tracer.events.dropped"
RENAMED = "aibom.tracer.renamed_away"
RECV, NORM, EXP = "aibom.pipeline.events.received", "aibom.pipeline.events.normalized", "aibom.export.records"
EFAIL, EDROP = "aibom.export.failures", "aibom.export.dropped"
QDEPTH, SPOOL = "aibom.pipeline.queue.depth", "aibom.export.spool.requests"

L = Layout()
he = []
he.append(stat(L, "Events seen", latest_total([SEEN]), "Opens by traced processes the tracer looked at (latest total of each daemon run).", w=3))
he.append(stat(L, "Filtered", latest_total([FILT]), "Opens dropped by the in-kernel path filter (not AI artifacts).", w=3))
he.append(stat(L, "Dropped", latest_total([DROP]), "Events lost because the ring buffer was full: anything above 0 means missed accesses.", w=3))
he.append(stat(L, "Renamed away", latest_total([RENAMED]), "Renames, hard links and symlinks that gave a kept model file a name the filter does not keep: opens under the new name are not seen.", w=3))
he.append(stat(L, "Filter ratio", f"""
SELECT if(seen = 0, 0, filtered / seen) AS ratio FROM
(
    SELECT
        sumIf(v, MetricName = '{FILT}') AS filtered,
        sumIf(v, MetricName = '{SEEN}') AS seen
    FROM
    (
        SELECT MetricName, argMax(Value, TimeUnix) AS v
        FROM otel_metrics_sum
        WHERE $__timeFilter(TimeUnix) AND {MF} AND MetricName IN ('{SEEN}', '{FILT}')
        GROUP BY MetricName, ResourceAttributes['host.name'], StartTimeUnix
    )
)
""", "Share of seen opens the kernel filter dropped.", unit="percentunit"))
he.append(stat(L, "Export failures", latest_total([EFAIL]), "Failed sink writes and OTLP attempts (retried from the spool)."))
he.append(stat(L, "Export dropped", latest_total([EDROP]), "Items dropped from a full spool or rejected by the collector for good."))
he.append(panel(L, "timeseries", "Tracer events per interval", deltas([SEEN, FILT, DROP]), 12, 8,
    "Increase of the tracer counters per interval, all selected hosts.", fmt=0, field={"unit": "short"}))
he.append(panel(L, "timeseries", "Filter ratio over time", f"""
SELECT time, if(sum(seen) = 0, 0, sum(filtered) / sum(seen)) AS ratio FROM
(
    SELECT
        $__timeInterval(TimeUnix) AS time,
        maxIf(Value, MetricName = '{FILT}') AS filtered,
        maxIf(Value, MetricName = '{SEEN}') AS seen
    FROM otel_metrics_sum
    WHERE $__timeFilter(TimeUnix) AND {MF} AND MetricName IN ('{SEEN}', '{FILT}')
    GROUP BY time, ResourceAttributes['host.name'], StartTimeUnix
)
GROUP BY time
ORDER BY time
""", 12, 8, "Filtered / seen (cumulative since daemon start).", fmt=0,
    field={"unit": "percentunit", "min": 0, "max": 1}))
he.append(panel(L, "timeseries", "Pipeline per interval", deltas([RECV, NORM, EXP]), 12, 8,
    "Access events received, normalized and records exported per interval.", fmt=0, field={"unit": "short"}))
he.append(panel(L, "timeseries", "Export failures and drops", deltas([EFAIL, EDROP]), 12, 8,
    "OTLP/sink failures and dropped items per interval: failures are retried, drops are lost.", fmt=0,
    field={"unit": "short", "color": {"mode": "palette-classic"}}))
he.append(panel(L, "timeseries", "Spool size (requests)", gauge(SPOOL), 12, 8,
    "OTLP requests waiting in the on-disk spool (collector down or slow).", fmt=0, field={"unit": "short", "min": 0}))
he.append(panel(L, "timeseries", "Queue depth", gauge(QDEPTH), 12, 8,
    "Batches queued between tracer and pipeline.", fmt=0, field={"unit": "short", "min": 0}))
health = dashboard("aibomd-health", "aibomd health",
    "aibomd's own metrics (tracer, pipeline, export, spool), exported over OTLP into the collector's metrics tables.",
    he, [HHOST], ["health"], NAV, "now-3h")

check = "--check" in sys.argv[1:]
stale = []
os.makedirs(OUT, exist_ok=True)
for name, d in [("aibom-overview", overview), ("aibom-artifact", detail), ("aibomd-health", health)]:
    path = os.path.join(OUT, name + ".json")
    text = json.dumps(d, indent=2) + "\n"
    if check:
        old = open(path).read() if os.path.exists(path) else ""
        if old != text:
            stale.append(path)
    else:
        with open(path, "w") as f:
            f.write(text)
if stale:
    sys.exit("out of date (run python3 dashboards/generate.py): " + ", ".join(stale))
