"""A small reader and writer of the safetensors format (8-byte little-endian header length, a JSON
header, then the tensors' bytes), enough for cnnzoo's weight files without another dependency.
read() gives torch tensors; read_numpy() gives numpy arrays and needs no torch."""
import json
import struct


def _entries(path):
    """(metadata, [(name, dtype, shape, bytes)] in the order of the file's bytes)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    base = 8 + n
    out = []
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = e["data_offsets"]
        out.append((name, e["dtype"], e["shape"], blob[base + begin:base + end]))
    return metadata, out


def read(path):
    """Returns (tensors, metadata): an ordered dict name -> torch tensor, in the order of the file."""
    import torch
    dtypes = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
              "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}
    metadata, entries = _entries(path)
    tensors = {}
    for name, dtype, shape, data in entries:
        tensors[name] = torch.frombuffer(bytearray(data), dtype=dtypes[dtype]).reshape(shape).clone()
    return tensors, metadata


def read_numpy(path):
    """As read(), with numpy arrays (F32, F64, F16, I64 and I32)."""
    import numpy as np
    dtypes = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4"}
    metadata, entries = _entries(path)
    return {name: np.frombuffer(data, dtype=dtypes[dtype]).reshape(shape) for name, dtype, shape, data in entries}, metadata


def write(path, tensors, metadata=None):
    """Writes an ordered dict name -> torch tensor; tensors keep their dtype and are laid out in order."""
    import torch
    names = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
             torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8"}
    header, chunks, at = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().cpu().view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [at, at + len(data)]}
        chunks.append(data)
        at += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)
