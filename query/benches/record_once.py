"""Cost of exactly-once storage (migration 0014): inserts into the collector's logs table with
the views of 0001-0013 (no check) and with those of 0014 (each record id looked up in the
typed tables), in the same chDB process, over the same history. Prints a Markdown table.

  .venv/bin/python query/benches/record_once.py            # or with the env below
  AIBOM_BENCH_HISTORY=10000000 AIBOM_BENCH_ROUNDS=15 .venv/bin/python query/benches/record_once.py

The schema is query/tests/golden/single_node.sql (the rendering a unit test pins), applied
to two databases: `old` (migrations up to 0013) and `new` (up to 0014). Each gets the same
history in `runtime_events` (AIBOM_BENCH_HISTORY rows, default 1 000 000, 5 projects, over
the last 30 days; `new`'s with record ids). Then, per round and batch size
(AIBOM_BENCH_BATCHES, default 512,10000: aibomd sends up to 512 records per request), one
batch of log records shaped like aibomd's (access records, 13 attributes, a fresh record id
each, times "now") is generated into a staging table, and the same rows are inserted into
`old` and into `new` (order alternating), timed: what the collector's INSERT costs with each
set of views. Then the same batch is inserted again (a redelivery: `new` drops every row,
`old` stores them twice). Medians over AIBOM_BENCH_ROUNDS (default 10).
"""
import os, re, statistics, sys, time
from pathlib import Path

import chdb
from chdb import session

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "query/tests/golden/single_node.sql"


def env_int(name, default):
    return int(os.environ.get(name, default))


HISTORY = env_int("AIBOM_BENCH_HISTORY", 1_000_000)
ROUNDS = env_int("AIBOM_BENCH_ROUNDS", 10)
BATCHES = [int(b) for b in os.environ.get("AIBOM_BENCH_BATCHES", "512,10000").split(",")]


def migrations():
    """{version: [statement, ...]} from the golden rendering (database `aibom`)."""
    out, version, cur = {}, None, []
    for line in GOLDEN.read_text().splitlines():
        m = re.match(r"-- ==== (\d{4})_", line)
        if m:
            version = int(m.group(1))
            out[version] = []
            continue
        if line.strip().startswith("--"):
            continue
        if line.rstrip().endswith(";"):
            cur.append(line.rstrip()[:-1])
            stmt = "\n".join(cur).strip()
            if stmt:
                out[version].append(stmt)
            cur = []
        else:
            cur.append(line)
    return out


def main():
    s = session.Session()
    q = lambda sql: s.query(sql, "CSV")
    migs = migrations()
    assert 14 in migs, "the golden file has no 0014"
    for db, last in (("old", 13), ("new", 14)):
        q(f"CREATE DATABASE {db}")
        for v in sorted(migs):
            if v <= last:
                for stmt in migs[v]:
                    q(stmt.replace("`aibom`.", f"`{db}`."))
    now_ns = time.time_ns()
    t0 = time.time()
    for db in ("old", "new"):
        # the same rows in both; `new`'s carry record ids (0014's column)
        rid = ("record_id, ", "generateUUIDv4(number), ") if db == "new" else ("", "")
        q(f"""INSERT INTO {db}.runtime_events (project_id, time, event_id, {rid[0]}event_name,
            file_path, artifact_type, access_count, process_pid, process_executable_name)
            SELECT concat('proj-', toString(number % 5)),
                fromUnixTimestamp64Nano(toInt64({now_ns} - 60e9 - number * (2592000e9 / {max(HISTORY, 1)}))),
                rand64(), {rid[1]}'aibom.artifact.access', concat('/m/model-', toString(number % 2000), '.gguf'),
                'model', 1, toUInt32(number % 200), 'python3'
            FROM numbers({HISTORY})""")
    print(f"history: {HISTORY:,} rows into runtime_events of both databases in {time.time() - t0:.1f} s",
          file=sys.stderr)

    # let the merges of the history finish first: they would slow whichever insert they overlap
    t0 = time.time()
    while time.time() - t0 < 300 and str(q("SELECT count() FROM system.merges")).strip() != "0":
        time.sleep(1)
    print(f"waited {time.time() - t0:.0f} s for the history's merges", file=sys.stderr)
    q("CREATE TABLE stage AS new.otel_logs ENGINE = Memory")
    results = []
    seq = 0
    for batch in BATCHES:
        fresh = {"old": [], "new": []}
        again = {"old": [], "new": []}
        for r in range(ROUNDS):
            q("TRUNCATE TABLE stage")
            base = time.time_ns()
            q(f"""INSERT INTO stage (Timestamp, ServiceName, Body, ResourceAttributes, LogAttributes)
                SELECT fromUnixTimestamp64Nano(toInt64({base} + number * 1000)), 'aibomd', path,
                    map('service.name', 'aibomd', 'host.name', 'node-1'),
                    map('aibom.project.id', concat('proj-', toString(number % 5)),
                        'event.name', 'aibom.artifact.access', 'file.path', path,
                        'process.pid', toString(number % 200), 'process.executable.name', 'python3',
                        'aibom.access.count', '1', 'aibom.access.mode', 'read',
                        'aibom.artifact.type', 'model', 'aibom.artifact.format', 'gguf',
                        'aibom.artifact.provider', 'huggingface', 'aibom.tracer', 'ebpf',
                        'aibom.artifact.sha256', lower(hex(SHA256(path))),
                        'aibom.record.id', toString(generateUUIDv4(number + {seq})))
                FROM (SELECT number, concat('/m/model-', toString(number % 2000), '.gguf') AS path
                      FROM numbers({batch}))""")
            seq += batch
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for runs in (fresh, again):
                for db in order:
                    t = time.perf_counter()
                    q(f"INSERT INTO {db}.otel_logs SELECT * FROM stage")
                    runs[db].append(batch / (time.perf_counter() - t))
        results.append((batch, fresh, again))
    print(f"\nchDB {chdb.__version__}, history {HISTORY:,} rows, {ROUNDS} rounds, medians (rows/s into otel_logs, views included)\n")
    print("| batch (records per INSERT) | delivery | old views (0013) | new views (0014) | new / old |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for batch, fresh, again in results:
        for name, runs in (("first", fresh), ("again (all repeats)", again)):
            o, n = statistics.median(runs["old"]), statistics.median(runs["new"])
            print(f"| {batch:,} | {name} | {o:,.0f} | {n:,.0f} | {n / o:.2f} |")
    total = sum(b for b, *_ in results) * ROUNDS
    stored = {db: int(str(q(f"SELECT count() FROM {db}.runtime_events")).strip()) - HISTORY
              for db in ("old", "new")}
    print(f"\nrows these inserts stored in runtime_events ({total:,} records, each sent twice): "
          f"old {stored['old']:,}, new {stored['new']:,}")


if __name__ == "__main__":
    main()
