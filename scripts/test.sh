#!/usr/bin/env bash
# Set up (idempotent) and run the test suite offline, with hub caches in a temp dir.
# The real-data tests read ../shared (override with CMTEB_SHARED_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
tmp_home=$(mktemp -d)
trap 'rm -rf "$tmp_home"' EXIT
export HF_HOME="$tmp_home/hf" HF_DATASETS_CACHE="$tmp_home/datasets" MTEB_CACHE="$tmp_home/mteb"
exec .venv/bin/python -m pytest "$@"
