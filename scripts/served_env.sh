#!/usr/bin/env bash
# The real embedding/reranking server the served-model tests start: infinity-emb from PyPI, in a
# virtual environment of its own (its pins conflict with ours: sentence-transformers<4, numpy<2,
# transformers<=5.0). Created once in .served-venv/ (git-ignored) and reused while its marker
# matches the pins below. torch goes first and pinned (the CPU wheel; an unpinned torch would
# pull multi-GB CUDA wheels). Prints the venv's python on its last line.
# Override the folder with CMTEB_SERVED_VENV.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${CMTEB_SERVED_VENV:-.served-venv}
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${CMTEB_SERVED_TORCH_SPEC-torch==2.13.0}
PINS="infinity-emb[server,torch]==0.0.78"
MARKER="$VENV/.cmteb-served-pins"
want="$TORCH_SPEC $PINS"
if [ -x "$VENV/bin/infinity_emb" ] && [ "$(cat "$MARKER" 2>/dev/null)" = "$want" ]; then
  echo "$VENV/bin/python"
  exit 0
fi
started=$(date +%s)
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
if [ -n "$TORCH_SPEC" ]; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$TORCH_SPEC" >&2
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check "$PINS" >&2
echo "$want" > "$MARKER"
echo "served_env: $VENV created in $(( $(date +%s) - started )) s" >&2
echo "$VENV/bin/python"
