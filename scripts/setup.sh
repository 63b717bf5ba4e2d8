#!/usr/bin/env bash
# Create .venv and install cmteb-eval with everything it needs (tests included).
# torch goes first and pinned: torch==2.13.0 is the CPU wheel; an unpinned torch would
# pull a multi-GB CUDA build. On a GPU machine, install the CUDA torch you want first
# and set CMTEB_TORCH_SPEC="" to keep it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${CMTEB_TORCH_SPEC-torch==2.13.0}
say() { echo "setup.sh: $*" >&2; }
if [ ! -x .venv/bin/python ]; then
  say "making the virtual environment .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
if [ -n "$TORCH_SPEC" ] && ! .venv/bin/python -c "import torch" 2>/dev/null; then
  say "installing $TORCH_SPEC (the CPU wheel, about 200 MB; a minute or two)"
  .venv/bin/pip install --quiet --disable-pip-version-check "$TORCH_SPEC"
fi
say "installing cmteb-eval (editable) with its test extras: mteb, transformers, sentence-transformers, FlagEmbedding, ..."
.venv/bin/pip install --quiet --disable-pip-version-check -e ".[test]"
say "done: .venv/bin/cmteb-eval and .venv/bin/python are ready"
