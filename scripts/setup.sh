#!/usr/bin/env bash
# Create .venv and install cmteb-eval with everything it needs (tests included).
# torch goes first and pinned: torch==2.13.0 is the CPU wheel; an unpinned torch would
# pull a multi-GB CUDA build. On a GPU machine, install the CUDA torch you want first
# and set CMTEB_TORCH_SPEC="" to keep it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${CMTEB_TORCH_SPEC-torch==2.13.0}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ -n "$TORCH_SPEC" ] && ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check "$TORCH_SPEC"
fi
.venv/bin/pip install --quiet --disable-pip-version-check -e ".[test]"
