"""Bytes per log record on the wire for one OTLP/JSON logs request (as the latency bench
sends to rotel): the JSON itself, the same request as OTLP protobuf (what aibomd's exporter
and the collectors' OTLP gRPC/HTTP exporters send), and that protobuf gzip'd.

  AIBOM_BENCH_BODY_OUT=/tmp/body.json cargo bench -p aibom-query --bench latency
  pip install --target /tmp/otproto opentelemetry-proto   # if not installed
  PYTHONPATH=/tmp/otproto .venv/bin/python query/benches/wire_bytes.py /tmp/body.json
"""
import gzip, sys

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

raw = open(sys.argv[1], "rb").read()
req = json_format.Parse(raw, ExportLogsServiceRequest())
n = sum(len(s.log_records) for r in req.resource_logs for s in r.scope_logs)
pb = req.SerializeToString()
gz = gzip.compress(pb, compresslevel=6)
print(f"records per request: {n}")
print(f"OTLP JSON:            {len(raw) / n:7.1f} bytes/record")
print(f"OTLP protobuf:        {len(pb) / n:7.1f} bytes/record")
print(f"OTLP protobuf + gzip: {len(gz) / n:7.1f} bytes/record")
