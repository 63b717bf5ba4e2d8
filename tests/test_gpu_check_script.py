"""The prepared GPU check (benchmarks/gpu_check.py) runs end to end; here on CPU with a tiny model."""

import json
import os
import subprocess
import sys

from conftest import REPO


def test_gpu_check_smoke_on_cpu(tmp_path):
    out = tmp_path / "gpu_check.json"
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--device", "cpu", "--sizes", "tiny",
                           "--dtypes", "bfloat16", "--texts", "48", "--out", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    tiny = report["sizes"]["tiny"]
    assert tiny["float32"]["texts_per_s"] > 0 and tiny["bfloat16"]["finite"]
    # bf16 keeps ~3 significant digits: close to fp32, not equal
    assert 0 < tiny["bfloat16"]["max_abs_diff_vs_fp32"] < 0.1
    assert tiny["bfloat16"]["spearman_of_cosines_vs_fp32"] > 0.5
