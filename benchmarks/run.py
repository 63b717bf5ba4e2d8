"""Side-by-side speed benchmark: cmteb-eval (cold and warm cache) vs mteb vs plain sentence-transformers.

One run, one process tree, strictly sequential: each configuration is a child process
started by this script and timed from start to exit (imports, model and data loading
included: what a user waits for). All of them evaluate the same model on the same STS
tasks from the same local files; the script checks that their scores agree and writes
BENCHMARKS.md.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/run.py            # defaults below
    .venv/bin/python benchmarks/run.py --tasks LCQMC,STSB,PAWSX --data-dir ../shared/data/cmteb

Configurations: (a) ``cmteb-eval run`` with an empty cache (the default backend, which on
CPU is the lean forward, and transformers' own forward with ``--backend torch``), (b) the same command again with the warm cache, (c) mteb 2.x's
``mteb.evaluate`` on a SentenceTransformer with ``cache=None``, (d) plain
sentence-transformers ``encode`` plus scipy Spearman. Then (e) encoder throughput of each
backend over the tasks' distinct texts, against the limit implied by the model's FLOPs
and the machine's measured matmul rate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

MTEB_CHILD = r"""
import json, sys, time
start = time.perf_counter()
import mteb
from datasets import Dataset, DatasetDict
from sentence_transformers import SentenceTransformer
tasks_arg, data_dir, model_dir = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
model = SentenceTransformer(model_dir, device="cpu")
tasks, scores = [], {}
for name in tasks_arg:
    rows = [json.loads(line) for line in open(f"{data_dir}/{name}/test.jsonl", encoding="utf-8")]
    task = mteb.get_task(name, eval_splits=["test"])
    columns = {k: [r[k] for r in rows] for k in ("sentence1", "sentence2", "score")}
    task.dataset = {"default": DatasetDict({"test": Dataset.from_dict(columns)})}
    task.data_loaded = True
    tasks.append(task)
result = mteb.evaluate(model, tasks, cache=None, show_progress_bar=False)
for task_result in result.task_results:
    scores[task_result.task_name] = task_result.scores["test"][0]["cosine_spearman"]
print(json.dumps({"scores": scores, "inner_s": time.perf_counter() - start}))
"""

ST_CHILD = r"""
import json, sys, time
start = time.perf_counter()
import numpy as np
from scipy.stats import spearmanr
from sentence_transformers import SentenceTransformer
from sklearn.metrics.pairwise import paired_cosine_distances
tasks_arg, data_dir, model_dir = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
model = SentenceTransformer(model_dir, device="cpu")
scores = {}
for name in tasks_arg:
    rows = [json.loads(line) for line in open(f"{data_dir}/{name}/test.jsonl", encoding="utf-8")]
    a = model.encode([r["sentence1"] for r in rows], batch_size=32, convert_to_numpy=True)
    b = model.encode([r["sentence2"] for r in rows], batch_size=32, convert_to_numpy=True)
    # cosine as mteb computes it (1 - ||a_hat - b_hat||^2 / 2): identical pairs tie at exactly 1
    cosine = 1 - paired_cosine_distances(a, b)
    scores[name] = float(spearmanr(cosine, [float(r["score"]) for r in rows]).statistic)
print(json.dumps({"scores": scores, "inner_s": time.perf_counter() - start}))
"""

# The start of the encoder-only children: argv[1:4] are tasks, data folder and model folder;
# ``texts`` are the tasks' distinct sentences.
DISTINCT_TEXTS = r"""
import json, sys, time
import numpy as np
from cmteb_eval.models.encoders.embedder import load_embedder
tasks_arg, data_dir, model_dir = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
texts = []
for name in tasks_arg:
    for line in open(f"{data_dir}/{name}/test.jsonl", encoding="utf-8"):
        row = json.loads(line)
        texts += [row["sentence1"], row["sentence2"]]
texts = list(dict.fromkeys(texts))
"""

THROUGHPUT_CHILD = DISTINCT_TEXTS + r"""
import torch
backend = sys.argv[4]
model = load_embedder(model_dir, model_name="sentence-transformers/all-MiniLM-L6-v2", backend=backend)
ids = model.tokenizer(texts, truncation=True, max_length=model.settings.max_length)["input_ids"]
ids = list(dict.fromkeys(tuple(i) for i in ids))  # the embedder encodes each distinct token sequence once
lengths = np.array([len(i) for i in ids])
model.model  # load the weights before the clock starts
padded = sum(int(lengths[b].max()) * len(b) for b in
             __import__("cmteb_eval.models.encoders.runtime", fromlist=["x"]).token_budget_batches(
                 lengths, model.plan.max_tokens, model.plan.max_texts))
cpu0, t0 = time.process_time(), time.perf_counter()
model.encode(texts)
wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
config = model.model.config
h, layers, inter = config.hidden_size, config.num_hidden_layers, config.intermediate_size
# FLOPs per token: the dense layers (QKV, output, FFN up and down) and attention scores and mixing.
dense = 2 * layers * (4 * h * h + 2 * h * inter)
mean_len = float((lengths ** 2).sum() / lengths.sum())  # token-weighted sequence length
attention = 2 * layers * 2 * h * mean_len
threads = torch.get_num_threads()
def matmul_rate(m, k, n, repeat):
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(3):
        a @ b
    t = time.perf_counter()
    for _ in range(repeat):
        a @ b
    return 2 * m * k * n * repeat / (time.perf_counter() - t)
rate_big = matmul_rate(1024, 1024, 1024, 30)
rate_ffn = matmul_rate(2048, h, inter, 30)
print(json.dumps({"texts": len(texts), "sequences": len(ids), "tokens": int(lengths.sum()), "padded_tokens": int(padded),
                  "wall_s": wall, "cpu_s": cpu, "threads": threads, "flops_per_token": dense + attention,
                  "dense_flops_per_token": dense, "matmul_gflops_1024": rate_big / 1e9,
                  "matmul_gflops_ffn": rate_ffn / 1e9, "max_batch_tokens": model.plan.max_tokens,
                  "backend": model.backend}))
"""

AB_CHILD = DISTINCT_TEXTS + r"""
sample, reps = int(sys.argv[4]), int(sys.argv[5])
texts = [texts[i] for i in np.random.default_rng(0).choice(len(texts), min(sample, len(texts)), replace=False)]
models = {b: load_embedder(model_dir, model_name="sentence-transformers/all-MiniLM-L6-v2", backend=b)
          for b in ("lean", "torch")}
for model in models.values():
    model.encode(texts[:200])  # weights, tokenizer, prepacking
times = {b: [] for b in models}
for rep in range(reps):  # alternate the order so drifting load hits both alike
    for backend in (["lean", "torch"] if rep % 2 == 0 else ["torch", "lean"]):
        start = time.perf_counter()
        models[backend]._encode_unique(texts)
        times[backend].append(time.perf_counter() - start)
print(json.dumps({"texts": len(texts), "times": times}))
"""


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def busy_processes() -> list[str]:
    """Other processes using CPU right now (ps), to state the load conditions honestly."""
    try:
        out = subprocess.run(["ps", "-eo", "pcpu,etimes,comm", "--sort=-pcpu"], capture_output=True,
                             text=True, timeout=10).stdout.splitlines()[1:8]
    except Exception:
        return []
    return [line.strip() for line in out if line.strip() and float(line.split()[0]) >= 5.0]


def timed(label: str, command: list[str], env: dict[str, str]) -> dict:
    shown = " ".join(command[:4]) if "-c" not in command else f"{command[0]} -c <child script>"
    print(f"[bench] {label}: {shown} ... (load {loadavg()})", flush=True)
    before = loadavg()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{label} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    print(f"[bench]   {wall:.1f} s", flush=True)
    return {"label": label, "wall_s": wall, "stdout": done.stdout, "load_before": before, "load_after": loadavg()}


def cmteb_scores(output_dir: Path, tasks: list[str]) -> dict[str, float]:
    folder = output_dir / "sentence-transformers__all-MiniLM-L6-v2"
    return {t: json.loads((folder / f"{t}.json").read_text())["scores"]["test"][0]["cosine_spearman"]
            for t in tasks}


def machine() -> dict[str, str]:
    import torch

    info = {"python": platform.python_version(), "torch": torch.__version__, "threads": str(torch.get_num_threads())}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in lscpu.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "Core(s) per socket", "L2 cache",
                               "L3 cache", "Hypervisor vendor"):
                info[key.strip()] = value.strip()
    except OSError:
        pass
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        info["memory"] = f"{int(mem) / 2**20:.1f} GiB"
    except OSError:
        pass
    for package in ("transformers", "sentence_transformers", "mteb", "onnxruntime"):
        try:
            info[package] = __import__(package).__version__
        except Exception:
            info[package] = "not installed"
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="LCQMC,STSB,PAWSX")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data" / "cmteb"))
    parser.add_argument("--model", help="model folder (default: the packaged all-MiniLM-L6-v2)")
    parser.add_argument("--backends", default="auto,torch",
                        help="cold runs to time; the first (auto: the CLI default) is also timed warm")
    parser.add_argument("--out", default=str(REPO / "BENCHMARKS.md"))
    parser.add_argument("--json", help="also write the raw numbers here")
    parser.add_argument("--ab-reps", type=int, default=5,
                        help="interleaved repetitions of the lean-vs-torch forward comparison (0 skips it)")
    args = parser.parse_args()

    from cmteb_eval.cli import packaged_minilm

    tasks = args.tasks.split(",")
    model_dir = args.model or str(packaged_minilm())
    python = sys.executable
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               PYTHONPATH=str(REPO))
    backends = args.backends.split(",")
    runs, scores = {}, {}
    busy_at_start = busy_processes()
    load_at_start = loadavg()
    with tempfile.TemporaryDirectory(prefix="cmteb-bench-") as scratch:
        scratch = Path(scratch)
        base = [python, "-m", "cmteb_eval", "run", "--model", model_dir, "--model-name",
                "sentence-transformers/all-MiniLM-L6-v2", "--tasks", args.tasks, "--data-dir", args.data_dir]
        for backend in backends:
            cache = scratch / f"cache-{backend}"
            out = scratch / f"out-{backend}-cold"
            label = f"a-cold-{backend}"
            runs[label] = timed(f"(a) cmteb-eval, empty cache, backend {backend}",
                                base + ["--output-dir", str(out), "--cache-dir", str(cache), "--backend", backend], env)
            scores[label] = cmteb_scores(out, tasks)
        warm_out = scratch / "out-warm"
        runs["b-warm"] = timed("(b) cmteb-eval, warm cache",
                               base + ["--output-dir", str(warm_out), "--cache-dir", str(scratch / f"cache-{backends[0]}"),
                                       "--backend", backends[0]], env)
        scores["b-warm"] = cmteb_scores(warm_out, tasks)
        runs["c-mteb"] = timed("(c) mteb.evaluate on a SentenceTransformer",
                               [python, "-c", MTEB_CHILD, args.tasks, args.data_dir, model_dir], env)
        scores["c-mteb"] = json.loads(runs["c-mteb"]["stdout"].splitlines()[-1])["scores"]
        runs["d-st"] = timed("(d) sentence-transformers encode + scipy",
                             [python, "-c", ST_CHILD, args.tasks, args.data_dir, model_dir], env)
        scores["d-st"] = json.loads(runs["d-st"]["stdout"].splitlines()[-1])["scores"]
        throughput = {}
        for backend in backends:
            run = timed(f"(e) encoder throughput, backend {backend}",
                        [python, "-c", THROUGHPUT_CHILD, args.tasks, args.data_dir, model_dir, backend], env)
            throughput[backend] = json.loads(run["stdout"].splitlines()[-1])
        ab = None
        if args.ab_reps > 0:
            run = timed("(f) lean vs torch forward, interleaved",
                        [python, "-c", AB_CHILD, args.tasks, args.data_dir, model_dir, "4000", str(args.ab_reps)], env)
            ab = json.loads(run["stdout"].splitlines()[-1])
    report = {"tasks": tasks, "runs": {k: {x: v[x] for x in ("wall_s", "load_before", "load_after")}
                                       for k, v in runs.items()},
              "scores": scores, "throughput": throughput, "ab": ab, "machine": machine(),
              "load_at_start": load_at_start, "busy_at_start": busy_at_start, "load_at_end": loadavg(),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    Path(args.out).write_text(render(report, " ".join(["python", "benchmarks/run.py"] + sys.argv[1:])), encoding="utf-8")
    worst = max_disagreement(scores, tasks)
    print(f"[bench] wrote {args.out}; largest score disagreement {worst:.2e}")
    return 0 if worst <= 1e-4 else 1


def max_disagreement(scores: dict[str, dict[str, float]], tasks: list[str]) -> float:
    return max(max(s[t] for s in scores.values()) - min(s[t] for s in scores.values()) for t in tasks)


def ab_section(ab: dict | None) -> list[str]:
    """The lean forward against transformers' forward, alternating, on the same texts and batches."""
    if not ab:
        return []
    median = {b: sorted(t)[len(t) // 2] for b, t in ab["times"].items()}
    lines = ["## Lean forward vs transformers' forward (interleaved)", "",
             f"The same {ab['texts']} distinct texts (a fixed random sample of the tasks' texts), encoded "
             f"{len(ab['times']['lean'])} times by each backend in alternating order, in one process, weights loaded "
             "beforehand. One cold run per backend cannot separate them (the matmul rate itself moved ~10% between "
             "the two throughput runs above); alternating repetitions can.", "",
             "| Backend | Seconds per repetition | Median |", "|---|---|---|"]
    for backend, times in ab["times"].items():
        lines.append(f"| {backend} | {', '.join(f'{t:.2f}' for t in times)} | {median[backend]:.2f} |")
    lines += ["", f"Median lean / torch: **{median['lean'] / median['torch']:.3f}**.", ""]
    return lines


def bounds_section(report: dict, default_cold: str) -> list[str]:
    """Where the cold and warm runs' time goes, from this run's own numbers."""
    runs, throughput = report["runs"], report["throughput"]
    counts = next(iter(throughput.values()), {"texts": "?", "sequences": "?"})
    backend = default_cold.removeprefix("a-cold-")
    lines = ["## Method and what bounds the rest", ""]
    if backend in throughput:
        t = throughput[backend]
        cold = runs[default_cold]["wall_s"]
        floor = t["tokens"] * t["dense_flops_per_token"] / (t["matmul_gflops_ffn"] * 1e9)
        lines += [
            f"- Cold run ({default_cold}): {cold:.1f} s, of which the encoder over the {t['sequences']} distinct "
            f"token sequences takes {t['wall_s']:.1f} s (section above, same backend, tokenising included); the "
            f"other {cold - t['wall_s']:.1f} s are imports, loading the tokenizer and weights, scoring and writing "
            "the result files.",
            f"- The encoder's floor on this machine: the dense layers alone need {floor:.1f} s for these tokens at the "
            f"measured matmul rate, so the encoder runs at {floor / t['wall_s']:.0%} of it. The rest of its time is "
            "attention, layer norms and memory traffic; fp32 is kept (bf16 or int8 would be faster but move scores "
            "beyond 1e-4).",
        ]
    lines += [
        f"- Warm run: {runs['b-warm']['wall_s']:.1f} s. Every vector comes from the embedding cache, so neither "
        "torch nor transformers is imported and no tokenizer or weights are loaded: the time is Python and numpy "
        "start-up, reading the task files, hashing the texts, reading the cached vectors, scoring and writing.",
        "- mteb encodes every sentence of every pair, duplicates included, through sentence-transformers with "
        "batches of 32; cmteb-eval encodes each distinct token sequence once (texts that differ only in "
        f"characters outside the model's vocabulary tokenise alike: the {counts['texts']} distinct texts here are "
        f"{counts['sequences']} distinct sequences), in length-sorted batches sized by a token budget, through the lean "
        "forward (fused QKV projection, oneDNN-prepacked weights with GELU and the residual additions fused into "
        "their GEMMs, no pooler head).",
        "",
    ]
    return lines


def render(report: dict, command: str) -> str:
    runs, scores, tasks = report["runs"], report["scores"], report["tasks"]
    mteb_wall = runs["c-mteb"]["wall_s"]
    cold = [k for k in runs if k.startswith("a-cold-")]
    default_cold = cold[0]
    worst = max_disagreement(scores, tasks)
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `{command}` on {report['date']}. Tasks: {', '.join(tasks)} (test splits, local files); "
        "model: the packaged all-MiniLM-L6-v2 (mean pooling, max length 256), CPU, float32.",
        "",
        "## Wall time (one run, sequential, each configuration a fresh child process: imports, model and data "
        "loading included)",
        "",
        "| Configuration | Wall time (s) | vs mteb | Load avg before → after |",
        "|---|---|---|---|",
    ]
    names = {"b-warm": "(b) cmteb-eval, warm cache", "c-mteb": "(c) mteb 2.x `evaluate` (SentenceTransformer, cache=None)",
             "d-st": "(d) sentence-transformers `encode` + scipy Spearman"}
    for key, run in runs.items():
        name = names.get(key) or f"(a) cmteb-eval, empty cache, `--backend {key.split('-')[-1]}`"
        lines.append(f"| {name} | {run['wall_s']:.1f} | {run['wall_s'] / mteb_wall:.3f} | "
                     f"{run['load_before']} → {run['load_after']} |")
    lines += [
        "",
        f"Targets: empty cache ≤ 0.75 × mteb: **{runs[default_cold]['wall_s'] / mteb_wall:.3f}** "
        f"({'met' if runs[default_cold]['wall_s'] <= 0.75 * mteb_wall else 'NOT met'}); warm cache ≤ 1/20 = 0.05 × mteb: "
        f"**{runs['b-warm']['wall_s'] / mteb_wall:.3f}** "
        f"({'met' if runs['b-warm']['wall_s'] <= mteb_wall / 20 else 'NOT met'}).",
        "",
        "## Scores (cosine Spearman, test)",
        "",
        "| Configuration | " + " | ".join(tasks) + " |",
        "|---|" + "---|" * len(tasks),
    ]
    for key, values in scores.items():
        lines.append(f"| {key} | " + " | ".join(f"{values[t]:.6f}" for t in tasks) + " |")
    lines += ["", f"Largest disagreement between any two configurations: {worst:.2e} "
                  f"({'all agree to 1e-4' if worst <= 1e-4 else 'DISAGREE beyond 1e-4'}).", ""]
    lines += ["## Encoder throughput vs the machine's limit", "",
              "| Backend | Texts (distinct token sequences) | Tokens (padded) | Wall s | CPU s | Texts/s | Tokens/s | "
              "Limit tokens/s | Fraction of limit |", "|---|---|---|---|---|---|---|---|---|"]
    for backend, t in report["throughput"].items():
        limit = t["matmul_gflops_ffn"] * 1e9 / t["flops_per_token"]
        lines.append(f"| {backend} ({t.get('backend', backend)}) | {t['texts']} ({t['sequences']}) | {t['tokens']} ({t['padded_tokens']}) | {t['wall_s']:.1f} | "
                     f"{t['cpu_s']:.1f} | {t['texts'] / t['wall_s']:.0f} | {t['tokens'] / t['wall_s']:.0f} | "
                     f"{limit:.0f} | {t['tokens'] / t['wall_s'] / limit:.2f} |")
    first = next(iter(report["throughput"].values()))
    lines += [
        "",
        f"Limit = measured fp32 matmul rate at the model's FFN shape ({first['matmul_gflops_ffn']:.1f} GFLOP/s with "
        f"{first['threads']} threads; {first['matmul_gflops_1024']:.1f} GFLOP/s for 1024³) divided by the model's "
        f"{first['flops_per_token'] / 1e6:.1f} MFLOP per token ({first['dense_flops_per_token'] / 1e6:.1f} MFLOP in "
        "the dense layers, the rest attention at the token-weighted mean length). Padding is counted as waste, "
        f"not work: batches hold at most {first['max_batch_tokens']} padded tokens.",
        "",
    ]
    lines += ab_section(report.get("ab"))
    lines += bounds_section(report, default_cold)
    lines += [
        "## Machine and load",
        "",
    ]
    for key, value in report["machine"].items():
        lines.append(f"- {key}: {value}")
    lines += ["", f"Load average (1, 5, 15 min) at start: {report['load_at_start']}; at end: {report['load_at_end']}.",
              "Processes using ≥5% CPU at start (pcpu, elapsed s, command): "
              + ("; ".join(report["busy_at_start"]) or "none"), ""]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
