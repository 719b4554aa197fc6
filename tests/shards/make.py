"""Writes the many-file artifacts of tests/shards.rs with the real libraries: a 3-shard
safetensors model with its index (huggingface_hub's splitter, safetensors' writer) and a
tokenizer_config.json with a chat template, a GGUF split in 3 (gguf-py's writer), a GGUF with
a chat template, a 5-shard parquet dataset (pyarrow) and 3 WebDataset tar shards (tarfile).
Usage: make.py ROOT TEMPLATE; prints the expected sizes and hashes as JSON."""
import hashlib, json, os, sys, tarfile, io
import numpy as np
import gguf
import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub.serialization import split_state_dict_into_shards_factory
from safetensors.numpy import save_file

root = sys.argv[1]
template = sys.argv[2]
out = {}

# a 3-shard safetensors model with its index, laid out as huggingface_hub writes it
model = os.path.join(root, "tiny-sharded")
os.makedirs(model, exist_ok=True)
state = {f"layer.{i}.weight": np.full((64, 64), i, np.float32) for i in range(3)}
split = split_state_dict_into_shards_factory(
    state, get_storage_size=lambda t: t.nbytes,
    filename_pattern="model{suffix}.safetensors", max_shard_size=64 * 64 * 4)
assert len(split.filename_to_tensors) == 3, split.filename_to_tensors
for fname, names in split.filename_to_tensors.items():
    save_file({n: state[n] for n in names}, os.path.join(model, fname), metadata={"format": "np"})
with open(os.path.join(model, "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": split.metadata, "weight_map": split.tensor_to_filename}, f, indent=2)
with open(os.path.join(model, "config.json"), "w") as f:
    json.dump({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}, f)
with open(os.path.join(model, "tokenizer_config.json"), "w") as f:
    json.dump({"model_max_length": 128, "chat_template": template}, f)
out["template_sha256"] = hashlib.sha256(template.encode()).hexdigest()

# a GGUF split in 3 (gguf-py's writer, one tensor per split)
gdir = os.path.join(root, "gguf-split")
os.makedirs(gdir, exist_ok=True)
w = gguf.GGUFWriter(os.path.join(gdir, "tiny-split.gguf"), "llama", split_max_tensors=1)
w.add_name("tiny-split")
for i in range(3):
    w.add_tensor(f"t{i}", np.full((16, 16), i, np.float32))
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()

# a GGUF with a chat template
w = gguf.GGUFWriter(os.path.join(root, "chatty.gguf"), "llama")
w.add_name("chatty")
w.add_chat_template(template)
w.add_tensor("w", np.zeros((8, 8), np.float32))
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()

# a 5-shard parquet dataset
ddir = os.path.join(root, "corpus", "data")
os.makedirs(ddir, exist_ok=True)
for i in range(5):
    t = pa.table({"text": [f"row {i}-{j}" for j in range(10)], "label": list(range(10))})
    pq.write_table(t, os.path.join(ddir, f"train-{i:05d}-of-00005.parquet"))

# WebDataset tar shards
wdir = os.path.join(root, "wds")
os.makedirs(wdir, exist_ok=True)
for i in range(3):
    with tarfile.open(os.path.join(wdir, f"shard-{i:06d}.tar"), "w") as tf:
        for k in range(2):
            data = f"sample {i}-{k}".encode()
            ti = tarfile.TarInfo(f"{i:04d}{k:02d}.txt")
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
print(json.dumps(out))
