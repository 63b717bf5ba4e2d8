"""What identifies a local model: the SHA-256 of every byte of the files that make its numbers.

A local model folder is identified by its content, not its path: the config, every weight
file (each shard an index names too), any model code beside them, and every tokenizer
file, each hashed whole and streamed. Result files (``weights_fingerprint``,
``tokenizer_fingerprint``, hence the resume key) and the embedding cache's namespace
use the same two fingerprints, so a checkpoint overwritten in place (one layer changed
in the middle of a file) is a new configuration and a new cache namespace.

Hashing a multi-GB checkpoint takes seconds, so a file's hash is remembered by its
resolved path, size, mtime, ctime and inode: in memory for the process, and, when the
embedding cache is on, in ``<cache root>/file-hashes.json`` for later processes. An edit
changes size, mtime or ctime (ctime cannot be set back by hand), so a remembered hash is
used only for the bytes it was computed from. A damaged or unreadable hash file, or an
entry that does not parse, just means the file is hashed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Iterable

from ...errors import ModelLoadError

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                "pytorch_model.bin.index.json")
# ONNX exports as sentence-transformers (onnx/) and optimum (the root) save them, with external data
ONNX_FILES = ("model.onnx", "onnx/model.onnx")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "sentencepiece.bpe.model", "spiece.model",
                   "tokenizer.model", "vocab.json")
# Read by the tokenizer besides its vocabulary: they change token ids too.
TOKENIZER_EXTRA_FILES = ("merges.txt", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json")
HASH_FILE = "file-hashes.json"
HASH_FILE_FORMAT = 1
MAX_REMEMBERED = 4096  # entries kept in the hash file (newest first)
BLOCK = 1 << 22

_memory: dict[tuple, str] = {}


def regular_stat(path: Path) -> os.stat_result | None:
    """The stat of ``path`` when it is a regular file (through symlinks), None when absent;
    ModelLoadError when it exists but is a folder, a FIFO, a device or a symlink loop."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise ModelLoadError(f"Model file {path} cannot be read: {getattr(exc, 'strerror', None) or exc}.",
                             "Replace it with the file from the model's original release.") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise ModelLoadError(f"Model file {path} is {kind}.",
                             "Replace it with the file from the model's original release.")
    return info


def _key(path: Path, info: os.stat_result) -> tuple:
    return (str(path.resolve()), info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


class HashStore:
    """File hashes remembered across processes (``path`` None: in memory only)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._entries: dict[str, list] | None = None
        self._dirty = False

    @classmethod
    def under(cls, cache_root: str | Path | None) -> "HashStore":
        return cls(Path(cache_root) / HASH_FILE if cache_root is not None else None)

    def _load(self) -> dict[str, list]:
        if self._entries is None:
            self._entries = {}
            if self.path is not None:
                self._entries = _read_hash_file(self.path)
        return self._entries

    def digest(self, path: Path) -> str:
        """The SHA-256 (hex) of every byte of the regular file ``path``."""
        info = regular_stat(path)
        if info is None:
            raise ModelLoadError(f"Model file {path} does not exist.", "Restore it from the model's original release.")
        key = _key(path, info)
        if key in _memory:
            return _memory[key]
        remembered = self._load().get(key[0]) if self.path is not None else None
        if remembered is not None and tuple(remembered[:4]) == key[1:]:
            _memory[key] = remembered[4]
            return remembered[4]
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(BLOCK), b""):
                    digest.update(block)
        except OSError as exc:
            raise ModelLoadError(f"Model file {path} cannot be read: {exc.strerror or exc}.",
                                 "Replace it with the file from the model's original release.") from None
        value = digest.hexdigest()
        after = regular_stat(path)
        if after is not None and _key(path, after) == key:  # not changed while we read it
            _memory[key] = value
            if self.path is not None:
                entries = self._load()
                entries.pop(key[0], None)
                entries[key[0]] = [*key[1:], value]
                self._dirty = True
        return value

    def save(self) -> None:
        """Write the remembered hashes (atomically); a failure to write only costs a re-hash later."""
        if self.path is None or not self._dirty:
            return
        entries = dict(list(self._load().items())[-MAX_REMEMBERED:])
        body = {"format": HASH_FILE_FORMAT, "entries": entries}
        body["checksum"] = _checksum(entries)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-hashes-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(body, handle)
            os.replace(temp, self.path)
        except OSError:
            try:
                os.unlink(temp)
            except (OSError, UnboundLocalError):
                pass
        self._dirty = False


def _checksum(entries: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(entries, sort_keys=True).encode("utf-8")).hexdigest()


def _valid_entry(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 5 \
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value[:4]) \
        and isinstance(value[4], str) and len(value[4]) == 64 and all(c in "0123456789abcdef" for c in value[4])


def _read_hash_file(path: Path) -> dict[str, list]:
    """The entries of a hash file; anything unexpected (damage, another format) gives none."""
    try:
        if not path.is_file():
            return {}
        body = json.loads(path.read_text(encoding="utf-8"))
        entries = body["entries"]
        if body.get("format") != HASH_FILE_FORMAT or not isinstance(entries, dict) \
                or body.get("checksum") != _checksum(entries):
            return {}
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return {}
    return {k: v for k, v in entries.items() if isinstance(k, str) and _valid_entry(v)}


def _plain_member(folder: Path, name: Any, index: Path) -> Path:
    if not isinstance(name, str) or not name or any(c in name for c in "/\\\0") or name in (".", ".."):
        raise ModelLoadError(f"The weights index {index} names a shard {name!r} that is not a file name in "
                             f"the folder.", "Restore the index from the model's original release.")
    return folder / name


def weight_files(folder: Path) -> list[Path]:
    """Every weight file of a local model: the single files and each shard an index names."""
    found: dict[str, Path] = {}
    for name in WEIGHT_FILES:
        path = folder / name
        if regular_stat(path) is None:
            continue
        found[name] = path
        if name.endswith(".index.json"):
            try:
                index = json.loads(path.read_text(encoding="utf-8"))
                shards = list(index["weight_map"].values())
            except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ModelLoadError(f"The weights index {path} cannot be read ({type(exc).__name__}: "
                                     f"{str(exc)[:120]}).", "Restore it from the model's original release.") from None
            members = {_plain_member(folder, shard, path) for shard in shards}
            for member in sorted(members):
                shard = member.name
                if regular_stat(member) is None:
                    raise ModelLoadError(f"The weights index {path} names the shard {shard}, which is missing.",
                                         "Copy every shard of the checkpoint into the folder.")
                found[shard] = member
    return [found[name] for name in sorted(found)]


def onnx_files(folder: Path) -> list[Path]:
    """The folder's ONNX export (the root's model.onnx first, as sentence-transformers looks) and its data file."""
    for name in ONNX_FILES:
        if regular_stat(folder / name) is not None:
            data = folder / f"{name}_data"
            return [folder / name] + ([data] if regular_stat(data) is not None else [])
    return []


def _combined(folder: Path, paths: Iterable[Path], store: HashStore) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{path.relative_to(folder).as_posix()}\0{store.digest(path)}\n".encode("utf-8"))
    store.save()
    return digest.hexdigest()[:32]


def weights_fingerprint(folder: Path, store: HashStore | None = None) -> str:
    """A hash of the config, every weight file (all bytes), an ONNX export and any model code in ``folder``."""
    store = store or HashStore()
    code = sorted(p for p in folder.glob("*.py") if regular_stat(p) is not None)
    config = [folder / "config.json"] if regular_stat(folder / "config.json") is not None else []
    return _combined(folder, [*config, *weight_files(folder), *onnx_files(folder), *code], store)


def files_fingerprint(root: Path, paths: Iterable[Path], cache_root: str | Path | None = None) -> str:
    """A hash of the given files (a sentence-transformers folder's module configs and weights)."""
    return _combined(root, sorted(set(paths)), HashStore.under(cache_root))


def tokenizer_fingerprint(folder: Path, store: HashStore | None = None) -> str:
    """A hash of every tokenizer file in ``folder`` (they decide the token ids, hence the vectors)."""
    store = store or HashStore()
    names = (*TOKENIZER_FILES, *TOKENIZER_EXTRA_FILES)
    return _combined(folder, [folder / n for n in names if regular_stat(folder / n) is not None], store)


def local_fingerprints(folder: Path | None, cache_root: str | Path | None = None) -> tuple[str | None, str | None]:
    """(weights, tokenizer) fingerprints of a local model folder, None for a hub id; file hashes are
    remembered under the embedding cache's root when there is one."""
    if folder is None:
        return None, None
    store = HashStore.under(cache_root)
    return weights_fingerprint(folder, store), tokenizer_fingerprint(folder, store)
