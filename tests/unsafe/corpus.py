"""Writes the unsafe-serialization corpus: malicious and benign pickle-based files made
with the real `pickle`, `zipfile` and `numpy` (torch and joblib are not installed: their
layouts are written with `pickle`/`zipfile` the way they write them).

Usage: corpus.py OUTDIR -> prints a JSON list of the file names written.
"""
import collections
import io
import json
import os
import pickle
import pickletools
import socket
import subprocess
import sys
import types
import runpy
import zipfile

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
written = []


def reducer(fn, *args):
    """An object whose unpickling calls fn(*args)."""

    class Payload:
        def __reduce__(self):
            return (fn, args)

    return Payload()


def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    written.append(name)


def ops(data):
    return [op.name for op, _, _ in pickletools.genops(data)]


# torch-style globals: torch is not installed, so its module names are registered as
# modules whose functions pickle by reference exactly as torch's do
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")


def _rebuild_tensor_v2(*a):
    return a


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2


class FloatStorage:
    pass


FloatStorage.__module__ = "torch"
torch.FloatStorage = FloatStorage
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


def state_dict(extra=None):
    sd = collections.OrderedDict()
    sd["weight"] = reducer(_rebuild_tensor_v2, "0", 0, (2, 2), (2, 1))
    sd["kind"] = FloatStorage
    if extra is not None:
        sd["hook"] = extra
    return sd


# -- malicious --------------------------------------------------------------------------
write("os_system_p0.pkl", pickle.dumps(reducer(os.system, "true"), protocol=0))
write("subprocess_popen_p4.pkl", pickle.dumps(reducer(subprocess.Popen, ["true"]), protocol=4))
write("builtins_eval_p2.pkl", pickle.dumps(reducer(eval, "1+1"), protocol=2))
# the module and name strings were pickled before as data: STACK_GLOBAL takes them from
# the memo (BINGET), not from inline strings
memo = pickle.dumps([exec.__module__, exec.__qualname__, reducer(exec, "x=1")], protocol=5)
assert "BINGET" in ops(memo) and "STACK_GLOBAL" in ops(memo), ops(memo)
write("exec_memo_p5.pkl", memo)
write("socket_p3.pkl", pickle.dumps(reducer(socket.create_connection, ("127.0.0.1", 9)), protocol=3))
write("runpy.joblib", pickle.dumps({"model": reducer(runpy.run_path, "/nonexistent.py")}, protocol=4))


def legacy_torch(obj):
    """torch.save(..., _use_new_zipfile_serialization=False): five pickles, then raw
    storage bytes."""
    b = io.BytesIO()
    for part in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}, obj, ["0"]):
        pickle.dump(part, b, protocol=2)
    b.write((4).to_bytes(8, "little") + bytes(range(16)))
    return b.getvalue()


write("legacy_evil.pt", legacy_torch(state_dict(reducer(os.system, "true"))))


def torch_zip(obj, compression=zipfile.ZIP_STORED):
    """The PyTorch zip layout: archive/data.pkl, archive/data/0, archive/version."""
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compression) as z:
        z.writestr("archive/data.pkl", pickle.dumps(obj, protocol=2))
        z.writestr("archive/data/0", bytes(range(256)) * 4)
        z.writestr("archive/version", "3\n")
    return b.getvalue()


write("zip_evil.pth", torch_zip(state_dict(reducer(subprocess.check_output, ["id"]))))
write("zip_deflated_evil.ckpt", torch_zip(state_dict(reducer(os.system, "true")), zipfile.ZIP_DEFLATED))
arr = np.empty(2, dtype=object)
arr[0], arr[1] = {"a": 1}, reducer(os.system, "true")
np.save(os.path.join(out, "object_evil.npy"), arr, allow_pickle=True)
written.append("object_evil.npy")
# cut after the dangerous import: found, and the file is said to be cut
evil = pickle.dumps([reducer(os.system, "true"), list(range(1000))], protocol=4)
write("truncated_after_global.pkl", evil[: len(evil) // 2])

# -- benign ---------------------------------------------------------------------------
write("ordered_dict.pkl", pickle.dumps(collections.OrderedDict(a=1, b=[1, 2]), protocol=4))
write("numpy_array.pkl", pickle.dumps(np.arange(6, dtype=np.float32).reshape(2, 3), protocol=4))
write("legacy_benign.bin", legacy_torch(state_dict()))
write("zip_benign.pt", torch_zip(state_dict()))
write("sklearn_like.joblib", pickle.dumps({"coef": np.ones(3), "classes": ["a", "b"]}, protocol=4))
obj = np.empty(2, dtype=object)
obj[0], obj[1] = {"a": 1}, "text"
np.save(os.path.join(out, "object_benign.npy"), obj, allow_pickle=True)
written.append("object_benign.npy")
np.save(os.path.join(out, "numeric.npy"), np.arange(10, dtype=np.int64))
written.append("numeric.npy")

print(json.dumps(written))
