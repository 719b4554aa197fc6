"""Runs one schema rendering on chDB and reports what it built (used by query/tests/cluster.rs).

stdin: {"data": DIR, "config": XML or null, "statements": [...], "logs": INSERT statement,
"tables": [...]}. The statements run twice (migrations are idempotent), then the logs insert
(through `otel_logs`, the Distributed table in cluster mode), then a read of every table.
stdout: {"columns": {table: [[name, type], ...]}, "rows": {table: [[...], ...]}, "macros": ...}.
"""
import json, os, sys

import chdb

req = json.load(sys.stdin)
params = ""
if req.get("config"):
    path = os.path.join(req["data"], "config.xml")
    os.makedirs(req["data"], exist_ok=True)
    with open(path, "w") as f:
        f.write(req["config"])
    params = f"?config-file={path}"
conn = chdb.connect(f"file:{req['data']}/db{params}")
cur = conn.cursor()


def q(sql):
    try:
        cur.execute(sql)
    except Exception as e:  # noqa: BLE001 - report the statement with ClickHouse's error
        sys.exit(f"{e}\n-- in:\n{sql}")
    try:
        return [list(r) for r in cur.fetchall()]
    except Exception:  # noqa: BLE001 - DDL has no result
        return []


for _ in range(2):
    for s in req["statements"]:
        q(s)
q(req["logs"])
db = req["database"]
out = {"columns": {}, "rows": {}}
for t in req["tables"]:
    out["columns"][t] = q(
        f"SELECT name, type FROM system.columns WHERE database = '{db}' AND table = '{t}' "
        "ORDER BY position"
    )
for t, sql in req["reads"].items():
    out["rows"][t] = [[str(v) for v in r] for r in q(sql)]
out["engines"] = q(
    f"SELECT name, engine FROM system.tables WHERE database = '{db}' ORDER BY name"
)
print(json.dumps(out))
