"""Loads the artifacts make.py wrote as inference and training code does: each safetensors
shard through its index, the tokenizer config, the GGUF splits and the chat GGUF with
gguf-py's reader, the parquet dataset with pyarrow, each tar shard's members."""
import glob, json, os, sys, tarfile
import gguf
import pyarrow.parquet as pq
from safetensors import safe_open

root = sys.argv[1]
model = os.path.join(root, "tiny-sharded")
with open(os.path.join(model, "model.safetensors.index.json")) as f:
    index = json.load(f)
for shard in sorted(set(index["weight_map"].values())):
    with safe_open(os.path.join(model, shard), "np") as f:
        for k in f.keys():
            f.get_tensor(k)
with open(os.path.join(model, "tokenizer_config.json")) as f:
    json.load(f)
for p in sorted(glob.glob(os.path.join(root, "gguf-split", "*.gguf"))):
    gguf.GGUFReader(p)
gguf.GGUFReader(os.path.join(root, "chatty.gguf"))
pq.ParquetDataset(os.path.join(root, "corpus", "data")).read()
for p in sorted(glob.glob(os.path.join(root, "wds", "*.tar"))):
    with tarfile.open(p) as tf:
        for m in tf.getmembers():
            tf.extractfile(m).read()
