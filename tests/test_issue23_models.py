"""Issue 23, models in memory: nothing stale from a model in memory, nothing overwritten by a namesake.

One test per row of the issue's table on the Python API (each failed on the code before the fix): a
setting of one module changed between two calls re-runs (result files) and misses (embedding cache);
two models never share a default name; an explicit name owned by another identity is refused before
anything runs; saving a reused result keeps its per-item file, timing and provenance; an in-memory copy
of the packaged model resumes the CLI's result; strings where lists are expected. The oracle of every
score is a fresh call on the model as it is now (no output folder, no cache).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import write_tiny_bert

import cmteb_eval
from cmteb_eval.errors import ModelLoadError, UserError

st = pytest.importorskip("sentence_transformers")
torch = pytest.importorskip("torch")
from sentence_transformers import models as st_models  # noqa: E402

DEMO = ["DemoSTSEn"]


@pytest.fixture(scope="module")
def bert(tmp_path_factory) -> Path:
    return write_tiny_bert(tmp_path_factory.mktemp("bert23") / "bert", initializer_range=0.3)


def build(bert: Path, *, seed: int = 0, dense: bool = True, prompt: str = "") -> "st.SentenceTransformer":
    """A tiny SentenceTransformer: Transformer, mean Pooling, Dense (Tanh), Normalize; with ``prompt`` its
    default prompt (so include_prompt matters)."""
    modules = [st_models.Transformer(str(bert), max_seq_length=64), st_models.Pooling(32, pooling_mode="mean")]
    torch.manual_seed(seed)  # after loading: the Dense weights depend on the seed alone
    if dense:
        modules.append(st_models.Dense(32, 16))
    modules.append(st_models.Normalize())
    prompts = {"text": prompt} if prompt else None
    return st.SentenceTransformer(modules=modules, device="cpu", prompts=prompts,
                                  default_prompt_name="text" if prompt else None)


def score(results) -> float:
    return results.main_scores()["DemoSTSEn"]["test"]


def fresh(model) -> float:
    """The oracle: the model as it is now, evaluated with no output folder and no cache."""
    return score(cmteb_eval.evaluate(model, tasks=DEMO))


CHANGES = {
    "pooling mode": lambda m: setattr(m[1], "pooling_mode", "cls"),
    "dense activation": lambda m: setattr(m[2], "activation_function", torch.nn.Identity()),
    "include_prompt": lambda m: setattr(m[1], "include_prompt", False),
    "max length": lambda m: setattr(m, "max_seq_length", 4),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_module_setting_changed_between_calls_reruns(bert, tmp_path, change):
    model = build(bert, prompt="query: a long prompt that counts" if change == "include_prompt" else "")
    first = cmteb_eval.evaluate(model, tasks=DEMO, output_dir=tmp_path)
    CHANGES[change](model)
    again = cmteb_eval.evaluate(model, tasks=DEMO, output_dir=tmp_path)
    expected = fresh(model)
    assert expected != score(first)  # the change changes the score
    assert not again.tasks[0].reused and score(again) == expected
    assert again.tasks[0].info["weights_fingerprint"] != first.tasks[0].info["weights_fingerprint"]


@pytest.mark.parametrize("change", ["pooling mode", "dense activation"])
def test_a_module_setting_changed_between_calls_misses_the_embedding_cache(bert, tmp_path, change):
    model = build(bert)
    cache = str(tmp_path / "cache")
    cmteb_eval.evaluate(model, tasks=DEMO, cache_dir=cache)
    CHANGES[change](model)
    assert score(cmteb_eval.evaluate(model, tasks=DEMO, cache_dir=cache)) == fresh(model)


def test_two_models_with_default_names_get_two_folders(bert, tmp_path):
    one, two = build(bert, seed=1), build(bert, seed=2)  # different Dense weights
    a = cmteb_eval.evaluate(one, tasks=DEMO, output_dir=tmp_path)
    b = cmteb_eval.evaluate(two, tasks=DEMO, output_dir=tmp_path)
    assert a.model_name != b.model_name and a.model_name.startswith("in-memory-SentenceTransformer-")
    for result in (a, b):
        saved = json.loads(result.tasks[0].path.read_text())
        assert saved["scores"]["test"][0]["main_score"] == score(result)
    assert score(a) == fresh(one) and score(b) == fresh(two)


def test_an_explicit_name_owned_by_another_model_is_refused_before_anything_runs(bert, tmp_path):
    one, two = build(bert, seed=1), build(bert, seed=2)
    cmteb_eval.evaluate(one, tasks=DEMO, output_dir=tmp_path, model_name="exp")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(UserError, match=r"belongs to another model.*identity .*identity .*model_name="):
        cmteb_eval.evaluate(two, tasks=DEMO, output_dir=tmp_path, model_name="exp")
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    # the same model again under its name: resumed
    assert cmteb_eval.evaluate(one, tasks=DEMO, output_dir=tmp_path, model_name="exp").tasks[0].reused


def test_two_cross_encoders_with_different_heads_never_share_a_name(bert, tmp_path):
    from test_cross_encoder import write_tiny_retrieval

    card = write_tiny_retrieval(tmp_path / "data")
    ce_folder = write_tiny_bert(tmp_path / "ce", classifier=True, initializer_range=0.3)
    first, second = st.CrossEncoder(str(ce_folder), device="cpu"), st.CrossEncoder(str(ce_folder), device="cpu")
    with torch.no_grad():
        second.model.classifier.weight.mul_(-1.0)
    out = tmp_path / "out"
    run = dict(tasks=["Tiny"], task_files=[str(card)], output_dir=out, rerank_top_k=4, pooling="mean")
    cmteb_eval.evaluate(str(bert), reranker=first, model_name="exp", **run)
    with pytest.raises(UserError, match="belongs to another model"):
        cmteb_eval.evaluate(str(bert), reranker=second, model_name="exp", **run)
    assert cmteb_eval.evaluate(str(bert), reranker=first, model_name="exp", **run).tasks[0].reused  # its own name
    a = cmteb_eval.evaluate(str(bert), reranker=first, **run)  # default names: the reranker's short identity
    b = cmteb_eval.evaluate(str(bert), reranker=second, **run)
    assert a.model_name != b.model_name and a.tasks[0].path.is_file() and b.tasks[0].path.is_file()


def test_saving_a_reused_result_keeps_its_file(bert, tmp_path):
    model = build(bert)
    out = tmp_path / "out"
    cmteb_eval.evaluate(model, tasks=DEMO, output_dir=out)
    again = cmteb_eval.evaluate(model, tasks=DEMO, output_dir=out)
    assert again.tasks[0].reused
    path = again.tasks[0].path
    items = path.parent / "items" / path.name
    before = (path.read_bytes(), items.read_bytes())
    assert again.save(out) == [path]
    assert (path.read_bytes(), items.read_bytes()) == before  # per-item file, timing, provenance kept
    [copy] = again.save(tmp_path / "elsewhere")
    assert copy.read_bytes() == before[0] and (copy.parent / "items" / copy.name).read_bytes() == before[1]
    payload = json.loads(copy.read_text())
    assert payload["evaluation_time"] > 0 and payload["harness"]["items"] is not None


def test_a_missing_dense_config_is_a_clear_error(bert, tmp_path):
    folder = tmp_path / "st"
    build(bert).save(str(folder))
    [dense] = [p for p in folder.iterdir() if p.name.endswith("_Dense")]
    (dense / "config.json").unlink()
    with pytest.raises(ModelLoadError, match=r"Dense module's config .*config.json is missing"):
        cmteb_eval.evaluate(str(folder), tasks=DEMO)


def test_strings_where_lists_are_expected(tmp_path, shared):
    from test_cross_encoder import write_tiny_retrieval

    card = write_tiny_retrieval(tmp_path / "data")
    model = build(write_tiny_bert(tmp_path / "b", initializer_range=0.3))
    one = cmteb_eval.evaluate(model, tasks=["Tiny"], task_files=str(card), data_dirs=str(tmp_path / "data"))
    listed = cmteb_eval.evaluate(model, tasks=["Tiny"], task_files=[str(card)], data_dirs=[str(tmp_path / "data")])
    assert one.main_scores() == listed.main_scores()
    with pytest.raises(UserError, match="data_dirs takes a path or a list of paths"):
        cmteb_eval.evaluate(model, tasks=DEMO, data_dirs=3)


def test_an_in_memory_copy_of_the_packaged_model_resumes_the_cli(tmp_path, capsys):
    from cmteb_eval.cli import main, packaged_minilm

    out = tmp_path / "out"
    assert main(["run", "--tasks", "DemoSTSEn", "--output-dir", str(out), "--no-cache"]) == 0
    [written] = list(out.glob("*/*/DemoSTSEn.json"))
    cli = json.loads(written.read_text())["scores"]["test"][0]["main_score"]
    model = st.SentenceTransformer(str(packaged_minilm()), device="cpu")
    for name in (None, "sentence-transformers/all-MiniLM-L6-v2"):
        resumed = cmteb_eval.evaluate(model, tasks=DEMO, output_dir=out, model_name=name)
        assert resumed.tasks[0].reused and resumed.tasks[0].path == written and score(resumed) == cli
    model[1].pooling_mode = "cls"  # no longer the folder's model: a model of its own, never the CLI's result
    changed = cmteb_eval.evaluate(model, tasks=DEMO, output_dir=out)
    assert not changed.tasks[0].reused and changed.tasks[0].path != written and score(changed) != cli


def test_the_identity_is_every_module_and_stable_while_the_model_runs(bert, tmp_path):
    """memory_identity: unchanged by encoding and by loading the same folder again; changed by each setting
    of each module (the components a result file's weights_fingerprint and the cache key hash)."""
    from cmteb_eval.models.adapters.memory_identity import identity_components, memory_identity

    model = build(bert, prompt="query: ")
    base = memory_identity(model)
    model.encode(["a cat", "今天天气很好"], prompt="query: ")
    assert memory_identity(model) == base
    folder = tmp_path / "st"
    model.save(str(folder))
    assert memory_identity(st.SentenceTransformer(str(folder), device="cpu")) == \
        memory_identity(st.SentenceTransformer(str(folder), device="cpu"))
    changes = {**CHANGES,
               "prompts": lambda m: setattr(m, "prompts", {"text": "passage: "}),
               "tokenizer": lambda m: m.tokenizer.add_tokens(["panda-bear"]),
               "weights": lambda m: m[2].linear.weight.data.mul_(2.0)}
    seen = {base}
    for name, change in changes.items():
        changed = build(bert, prompt="query: ")
        change(changed)
        assert memory_identity(changed) not in seen, name
        seen.add(memory_identity(changed))
    assert set(identity_components(model)) >= {"weights", "modules", "objects"}
