"""The generated-input sweep's bookkeeping and its model, cache and CLI strategies.

Every generated case ends in one outcome: ``ok`` (it worked), ``refused`` (a clean UserError,
one paragraph), or a defect: ``traceback`` (any other exception), ``silently wrong`` (a
number, a vector or a kept result that the input should have changed or refused) or ``lost
file`` (a completed result, or a file we should only have set aside, gone). ``record`` counts
them per family; ``test_generated_inputs.py`` prints the counts at the end of its module.
"""

from __future__ import annotations

import json
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from cmteb_eval.errors import UserError

COUNTS: Counter = Counter()
DEFECTS = ("traceback", "silently wrong", "lost file")
FAST, SLOW = 12, 200  # examples per family: default suite, slow suite


def sweep(examples: int):
    return settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))


class Defect(AssertionError):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


def wrong(detail: str) -> Defect:
    return Defect("silently wrong", detail)


def lost(detail: str) -> Defect:
    return Defect("lost file", detail)


@contextmanager
def case(family: str):
    """Count one generated case; a UserError inside is ``refused``, any other exception a defect."""
    try:
        yield
    except UserError as exc:
        if "Traceback" in str(exc):
            COUNTS[family, "traceback"] += 1
            raise Defect("traceback", str(exc)) from None
        COUNTS[family, "refused"] += 1
    except Defect as exc:
        COUNTS[family, exc.kind] += 1
        raise
    except Exception as exc:
        COUNTS[family, "traceback"] += 1
        raise Defect("traceback", f"{type(exc).__name__}: {exc}") from exc
    else:
        COUNTS[family, "ok"] += 1


def summary() -> str:
    families = sorted({family for family, _ in COUNTS})
    lines = []
    for family in families:
        total = sum(n for (f, _), n in COUNTS.items() if f == family)
        parts = ", ".join(f"{kind} {COUNTS[family, kind]}" for kind in ("ok", "refused", *DEFECTS))
        lines.append(f"  {family:14} {total:5} cases: {parts}")
    total = sum(COUNTS.values())
    defects = ", ".join(f"{kind} {sum(COUNTS[f, kind] for f in families)}" for kind in DEFECTS)
    lines.append(f"  {'all':14} {total:5} cases: {defects}")
    return "generated-input sweep:\n" + "\n".join(lines)


# ------------------------------------------------------------------ cards: [scoring] tables

SCORING_VALUES = st.one_of(st.booleans(), st.integers(-3, 600), st.floats(allow_nan=True), st.text(max_size=6),
                           st.sampled_from(["true", "false", "v1", "v2", "v3", "mteb2", "rows", "1", ""]),
                           st.lists(st.integers(0, 3), max_size=2))
SCORING_KEYS = st.sampled_from(["ignore_identical_ids", "ignore_identical_idz", "allow_dangling_qrels", "protocol",
                                "data_layout", "samples_per_label", "n_experiments", "seed", "max_iter",
                                "batch_size", "Seed", "protocol ", ""])


# ------------------------------------------------------------------ model folders

MODEL_MUTATIONS = st.sampled_from([
    "drop a layer", "drop word embeddings", "drop the pooler", "drop one tensor", "add a tensor",
    "add a pre-training head", "reshape a tensor", "scale a tensor", "flip a byte in the data",
    "flip a byte in the header", "truncate the weights", "empty weights", "weights are a folder",
    "config: more layers", "config: fewer layers", "config: other hidden size", "config: other vocab size",
    "config: not json", "config: no model_type", "config: a list", "config: unknown model_type",
    "tokenizer: vocab line changed", "tokenizer: tokenizer.json garbage", "tokenizer: lower case flipped",
    "tokenizer: files removed", "index naming a missing shard", "index that is not json", "no change",
    "an extra unrelated file", "config: classifier architecture", "tokenizer: more tokens than the embeddings",
])


def mutate_model(folder: Path, mutation: str, draw) -> None:
    """Apply one named damage or edit to a tiny BERT folder (``draw`` picks where)."""
    import torch

    from mutation_helpers import edit_config, save_tensors, tensors

    weights = folder / "model.safetensors"
    values = tensors(folder) if weights.is_file() else {}
    names = sorted(values)
    pick = lambda options: options[draw(st.integers(0, len(options) - 1))]  # noqa: E731
    if mutation == "drop a layer":
        layer = draw(st.integers(0, 1))
        save_tensors(folder, {k: v for k, v in values.items() if f".layer.{layer}." not in k})
    elif mutation == "drop word embeddings":
        save_tensors(folder, {k: v for k, v in values.items() if "word_embeddings" not in k})
    elif mutation == "drop the pooler":
        save_tensors(folder, {k: v for k, v in values.items() if "pooler" not in k})
    elif mutation == "drop one tensor":
        name = pick(names)
        save_tensors(folder, {k: v for k, v in values.items() if k != name})
    elif mutation == "add a tensor":
        values[pick(["extra.weight", "encoder.layer.7.output.dense.bias", "embeddings.extra"])] = torch.zeros(3)
        save_tensors(folder, values)
    elif mutation == "add a pre-training head":
        values["cls.predictions.bias"] = torch.zeros(4)
        save_tensors(folder, values)
    elif mutation == "reshape a tensor":
        name = pick(names)
        values[name] = torch.zeros(*[s + 1 for s in values[name].shape])
        save_tensors(folder, values)
    elif mutation == "scale a tensor":
        name = pick([n for n in names if "pooler" not in n])
        values[name] = values[name] * draw(st.sampled_from([0.5, 2.0, -1.0]))
        save_tensors(folder, values)
    elif mutation.startswith("flip a byte"):
        data = bytearray(weights.read_bytes())
        header = 8 + int.from_bytes(data[:8], "little")
        where = draw(st.integers(header, len(data) - 1)) if mutation.endswith("data") else draw(st.integers(0, header))
        data[where] ^= 1 << draw(st.integers(0, 7))
        weights.write_bytes(bytes(data))
    elif mutation == "truncate the weights":
        data = weights.read_bytes()
        weights.write_bytes(data[:draw(st.integers(0, len(data) - 1))])
    elif mutation == "empty weights":
        weights.write_bytes(b"")
    elif mutation == "weights are a folder":
        weights.unlink()
        weights.mkdir()
    elif mutation.startswith("config: "):
        config = folder / "config.json"
        layers = json.loads(config.read_text())["num_hidden_layers"]
        change = mutation[len("config: "):]
        if change == "more layers":
            edit_config(folder, num_hidden_layers=layers + draw(st.integers(1, 3)))
        elif change == "fewer layers":
            edit_config(folder, num_hidden_layers=draw(st.integers(0, layers - 1)))
        elif change == "other hidden size":
            edit_config(folder, hidden_size=draw(st.sampled_from([16, 64])), num_attention_heads=2)
        elif change == "other vocab size":
            edit_config(folder, vocab_size=draw(st.integers(10, 300)))
        elif change == "not json":
            config.write_text("{")
        elif change == "no model_type":
            body = json.loads(config.read_text())
            body.pop("model_type")
            config.write_text(json.dumps(body))
        elif change == "a list":
            config.write_text("[1, 2]")
        elif change == "unknown model_type":
            edit_config(folder, model_type="no-such-model")
        elif change == "classifier architecture":
            edit_config(folder, architectures=["BertForSequenceClassification"])
    elif mutation == "tokenizer: vocab line changed":
        vocab = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
        vocab[draw(st.integers(5, len(vocab) - 1))] = "zzz"
        (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
        (folder / "tokenizer.json").unlink(missing_ok=True)  # else the fast tokenizer file wins
    elif mutation == "tokenizer: tokenizer.json garbage":
        (folder / "tokenizer.json").write_bytes(draw(st.binary(max_size=40)))
    elif mutation == "tokenizer: lower case flipped":
        path = folder / "tokenizer_config.json"
        body = json.loads(path.read_text())
        body["do_lower_case"] = not body.get("do_lower_case", True)
        path.write_text(json.dumps(body))
        (folder / "tokenizer.json").unlink(missing_ok=True)
    elif mutation == "tokenizer: more tokens than the embeddings":
        with open(folder / "vocab.txt", "a", encoding="utf-8") as handle:
            handle.write("panda\nzebra\n")  # 'panda' now has an id past the last embedding row
        (folder / "tokenizer.json").unlink(missing_ok=True)
    elif mutation == "tokenizer: files removed":
        for name in ("vocab.txt", "tokenizer.json"):
            (folder / name).unlink(missing_ok=True)
    elif mutation == "index naming a missing shard":
        (folder / "model.safetensors.index.json").write_text(json.dumps(
            {"metadata": {}, "weight_map": {n: draw(st.sampled_from(["model-2.safetensors", "../x", "x\0y",
                                                                     "model.safetensors"])) for n in names}}))
        weights.unlink()
    elif mutation == "index that is not json":
        (folder / "model.safetensors.index.json").write_bytes(draw(st.binary(max_size=20)))
    elif mutation == "an extra unrelated file":
        (folder / "notes.md").write_text("notes")


# ------------------------------------------------------------------ command lines

FOLDER, MISSING, FULL = "@folder", "@missing", "/dev/full"
NUMBERS = st.sampled_from(["-1", "0", "1", "3", "100", "nan", "x", "1e9", "2.5"])
PATHS = st.sampled_from(["@results", "@base", "@cand", FOLDER, MISSING, FULL, "@loop", "@file", "published:nope"])


def cli_arguments():
    """A command line: a subcommand and a few options with good, bad and odd values."""
    run_options = st.sampled_from([
        ("--tasks", st.sampled_from(["DemoSTSEn", "DemoSTSZh", "DemoPairClassificationZh", "Nope", "DemoSTSEn,Nope",
                                     ""])),
        ("--max-length", NUMBERS), ("--batch-size", NUMBERS), ("--max-batch-tokens", NUMBERS),
        ("--top-k", NUMBERS), ("--rerank-top-k", NUMBERS), ("--pooling", st.sampled_from(["cls", "mean", "max"])),
        ("--dtype", st.sampled_from(["float32", "float16", "int8", "auto"])),
        ("--backend", st.sampled_from(["auto", "lean", "torch", "tpu"])), ("--protocol", st.sampled_from(["v1", "v2",
                                                                                                         "v9"])),
        ("--query-instruction", st.text(max_size=5)), ("--no-instruction", None), ("--no-normalize", None),
        ("--sigmoid", None), ("--output-dir", PATHS), ("--data-dir", PATHS), ("--task-file", PATHS),
        ("--model", st.sampled_from(["@model", "@loop", MISSING, "@file", "no/such/model/id"])),
        ("--device", st.sampled_from(["cpu", "cuda:7", "tpu"])), ("--revision", st.sampled_from(["main", ""])),
    ])
    report_options = st.sampled_from([
        ("--seed", NUMBERS), ("--resamples", NUMBERS), ("--alpha", NUMBERS), ("--output", PATHS), ("--json", PATHS),
        ("--tolerance", NUMBERS), ("--format", st.sampled_from(["markdown", "csv", "html", "latex", "pdf"])),
        ("--table", st.sampled_from(["cmteb", "types", "STS", "nope"])), ("--tasks", st.sampled_from(["Unit", "X"])),
        ("--sort", st.sampled_from(["Avg", "Model", "Nope"])), ("--method", st.sampled_from(["bootstrap",
                                                                                               "permutation", "x"])),
    ])

    def flatten(pairs):
        out = []
        for name, value in pairs:
            out.append(name)
            if value is not None:
                out.append(value)
        return out

    def options(choices):
        return st.lists(choices.flatmap(lambda o: st.tuples(st.just(o[0]), o[1] if o[1] is not None
                                                              else st.none())), max_size=4).map(flatten)

    return st.one_of(
        st.tuples(st.just(["run"]), options(run_options)),
        st.tuples(st.sampled_from([["compare", "@base", "@cand"], ["compare", "@base"], ["table", "@results"],
                                   ["table"], ["check", "--baseline", "@base", "--candidate", "@cand"],
                                   ["reproduce", "@cand"], ["plot", "types", "@results", "-o", "@png"],
                                   ["plot", "delta", "@base", "@cand", "-o", "@png"]]),
                  options(report_options)),
        st.tuples(st.sampled_from([["cache", "info"], ["cache", "clear"], ["tasks"], ["tasks", "--benchmarks"]]),
                  options(st.sampled_from([("--cache-dir", PATHS), ("--type", st.sampled_from(["STS", "Nope"]))]))),
        st.tuples(st.just([]), st.lists(st.sampled_from(["run", "--bogus", "table", "-x", "cache"]),
                                        max_size=3)),
    ).map(lambda parts: parts[0] + parts[1])
