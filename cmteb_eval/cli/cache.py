"""``cmteb-eval cache info|clear``: the persistent embedding cache (``models/cache.py``)."""

from __future__ import annotations

import argparse


def add_parser(commands) -> None:
    cache = commands.add_parser("cache", help="show or clear the persistent embedding cache")
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("--cache-dir", help="cache folder (default: $CMTEB_EVAL_CACHE or ~/.cache/cmteb-eval)")


def command_cache(args: argparse.Namespace) -> int:
    from ..models.cache.store import EmbeddingCache

    cache = EmbeddingCache(args.cache_dir)
    if args.action == "clear":
        freed = cache.clear()
        print(f"Cleared the embedding cache at {cache.root} ({freed / 2**20:.1f} MiB freed).")
        return 0
    rows = cache.info()
    print(f"Embedding cache: {cache.root}")
    if not rows:
        print("  (empty)")
        return 0
    print("| Namespace | Model | Role | Pooling | Max length | Dtype | Backend | Entries | MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        meta = row["meta"]
        cell = lambda key: str(meta.get(key, "?")).replace("|", "/")[:40]  # noqa: E731  (meta is the user's file)
        model = meta.get("model") if isinstance(meta.get("model"), dict) else {}
        shown = model.get("id") or _local_label(meta.get("label"), model.get("weights"))
        print(f"| {row['namespace'][:12]} | {str(shown).replace('|', '/')[:60]} | {cell('role')} | {cell('pooling')} | "
              f"{cell('max_length')} | {cell('dtype')} | {cell('backend')} | {row['entries']} | "
              f"{row['bytes'] / 2**20:.1f} |")
    print(f"\n{sum(r['entries'] for r in rows)} embeddings, {sum(r['bytes'] for r in rows) / 2**20:.1f} MiB")
    return 0


def _local_label(label, weights) -> str:
    """A local model as its path's last parts (the namespace's label) and its weights' short hash."""
    from pathlib import PurePath

    name = "/".join(PurePath(str(label)).parts[-2:]) if isinstance(label, str) and label else "local model"
    return f"{name} (weights {str(weights)[:10]})" if weights else name
