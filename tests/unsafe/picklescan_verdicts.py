"""Runs the real picklescan on each file given; prints one JSON object:
{name: {"dangerous": ["module.name", ...], "suspicious": [...], "scan_err": bool}}."""
import json
import logging
import os
import sys

from picklescan.scanner import SafetyLevel, scan_file_path

logging.disable(logging.CRITICAL)
out = {}
for path in sys.argv[1:]:
    r = scan_file_path(path)
    out[os.path.basename(path)] = {
        "dangerous": sorted({f"{g.module}.{g.name}" for g in r.globals if g.safety == SafetyLevel.Dangerous}),
        "suspicious": sorted({f"{g.module}.{g.name}" for g in r.globals if g.safety == SafetyLevel.Suspicious}),
        "scan_err": r.scan_err,
    }
print(json.dumps(out, indent=1))
