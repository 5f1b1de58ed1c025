"""Read a PyTorch state dict (`torch.save` of a dict of tensors) with numpy only — no torch.

Two on-disk formats exist:
- zip (torch >= 1.6): members `<prefix>/data.pkl` (the pickled dict) and `<prefix>/data/<key>` (one raw
  little-endian storage per key); tensors reference storages through pickle persistent ids
  ('storage', StorageType, key, location, numel).
- legacy (pre-zip): five things back to back in one file — pickles of the magic number
  0x1950a86a20f9469cfc6c, the protocol version (1001) and a system-info dict, then the pickled dict (persistent
  ids ('storage', StorageType, key, location, numel, view_metadata)), then a pickled list of storage keys, then
  for each key in that order an 8-byte little-endian element count followed by the raw little-endian data.
Tensors are rebuilt by `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`, which we replace
with a placeholder resolved once the storages are read. Usage: `state = load_state_dict(path)` → dict name →
numpy array (C-contiguous copy, torch dtype kept: float32, float16, int64, ...).
"""
import collections
import io
import pickle
import struct
import zipfile

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

# torch storage class name -> numpy dtype (little-endian). BFloat16 is widened to float32 on read.
_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype("<u2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class _StorageType:
    """Stand-in for `torch.FloatStorage` etc.: only its name (→ dtype) matters."""

    def __init__(self, name):
        self.name = name
        if name not in _STORAGE_DTYPES:
            raise ValueError(f"unsupported storage type torch.{name}")
        self.dtype = _STORAGE_DTYPES[name]


class _TensorRef:
    """A tensor whose storage bytes may not have been read yet (legacy files put them after the pickle)."""

    def __init__(self, storage_key, offset, size, stride):
        self.storage_key, self.offset, self.size, self.stride = storage_key, offset, tuple(size), tuple(stride)


class _StorageRef:
    def __init__(self, key, storage_type, numel):
        self.key, self.storage_type, self.numel = key, storage_type, numel


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


class _Unpickler(pickle.Unpickler):
    """Resolves only the handful of globals a state dict needs; anything else is refused (no code runs)."""

    def __init__(self, file, storages):
        super().__init__(file)
        self.storages = storages  # key -> _StorageRef, filled as persistent ids are met

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing global {module}.{name} in a state dict")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        storage_type, key, _location, numel = pid[1], str(pid[2]), pid[3], pid[4]
        if len(pid) > 5 and pid[5] is not None:
            raise pickle.UnpicklingError("storage views (legacy view_metadata) are not supported")
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"storage type {storage_type!r} is not a torch storage class")
        self.storages.setdefault(key, _StorageRef(key, storage_type, numel))
        return key


def _materialise(obj, storages, buffers):
    """Replaces every _TensorRef inside `obj` (dicts, lists) with a numpy array copied out of its storage."""
    if isinstance(obj, _TensorRef):
        ref = storages[obj.storage_key]
        flat = np.frombuffer(buffers[obj.storage_key], dtype=ref.storage_type.dtype)
        itemsize = flat.dtype.itemsize
        count = int(np.prod(obj.size)) if obj.size else 1
        if count == 0:
            array = np.zeros(obj.size, dtype=flat.dtype)
        else:
            last = obj.offset + sum((s - 1) * st for s, st in zip(obj.size, obj.stride))
            if obj.offset < 0 or last >= flat.size:
                raise ValueError(f"tensor reaches element {last} of a {flat.size}-element storage")
            array = np.lib.stride_tricks.as_strided(
                flat[obj.offset:], shape=obj.size, strides=[st * itemsize for st in obj.stride]).copy()
        if ref.storage_type.name == "BFloat16Storage":
            array = (array.astype(np.uint32) << 16).view(np.float32)
        return np.ascontiguousarray(array.astype(array.dtype.newbyteorder("=")))
    if isinstance(obj, dict):
        return collections.OrderedDict((k, _materialise(v, storages, buffers)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v, storages, buffers) for v in obj)
    return obj


def _load_zip(path):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pkl) != 1:
            raise ValueError(f"{path}: expected one data.pkl in the zip, found {pkl}")
        prefix = pkl[0][: -len("data.pkl")]
        if prefix + "byteorder" in names and z.read(prefix + "byteorder").strip() != b"little":
            raise ValueError(f"{path}: big-endian checkpoints are not supported")
        storages = {}
        obj = _Unpickler(io.BytesIO(z.read(pkl[0])), storages).load()
        buffers = {}
        for key, ref in storages.items():
            raw = z.read(f"{prefix}data/{key}")
            need = ref.numel * ref.storage_type.dtype.itemsize
            if len(raw) < need:
                raise ValueError(f"{path}: storage {key} has {len(raw)} bytes, needs {need}")
            buffers[key] = raw[:need]
    return _materialise(obj, storages, buffers)


def _load_legacy(path):
    with open(path, "rb") as f:
        magic = pickle.load(f)
        if magic != LEGACY_MAGIC:
            raise ValueError(f"{path}: not a PyTorch file (magic {magic!r})")
        protocol = pickle.load(f)
        if protocol != 1001:
            raise ValueError(f"{path}: unsupported legacy protocol version {protocol}")
        sys_info = pickle.load(f)
        if not sys_info.get("little_endian", True):
            raise ValueError(f"{path}: big-endian checkpoints are not supported")
        storages = {}
        obj = _Unpickler(f, storages).load()
        keys = pickle.load(f)
        buffers = {}
        for key in keys:
            key = str(key)
            (numel,) = struct.unpack("<q", f.read(8))
            ref = storages[key]
            if numel != ref.numel:
                raise ValueError(f"{path}: storage {key} holds {numel} elements, the pickle says {ref.numel}")
            nbytes = numel * ref.storage_type.dtype.itemsize
            raw = f.read(nbytes)
            if len(raw) != nbytes:
                raise ValueError(f"{path}: file ends inside storage {key}")
            buffers[key] = raw
        missing = set(storages) - set(buffers)
        if missing:
            raise ValueError(f"{path}: storages {sorted(missing)} have no data")
    return _materialise(obj, storages, buffers)


def load_state_dict(path):
    """dict name -> numpy array from a zip-format or legacy `.pth` state dict."""
    obj = _load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path)
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a state dict, found {type(obj).__name__}")
    return obj


if __name__ == "__main__":
    import sys

    for name, array in load_state_dict(sys.argv[1]).items():
        print(name, array.dtype, list(array.shape))
