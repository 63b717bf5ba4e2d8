"""The Python API (issue 12): ``cmteb_eval.evaluate`` on models in memory, mteb names as aliases,
never a stale result, and retrieve-then-rerank with an in-memory CrossEncoder equal to --reranker."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import write_tiny_bert

import cmteb_eval
from cmteb_eval.errors import UnknownNameError, UserError
from cmteb_eval.tasks.selection import select_by_any_name
from cmteb_eval.tasks.registry import Registry

st = pytest.importorskip("sentence_transformers")
torch = pytest.importorskip("torch")
import sentence_transformers.models  # noqa: E402  (st.models)

DEMO = ["DemoSTSEn"]


@pytest.fixture(scope="module")
def tiny_st(tmp_path_factory):
    """A tiny random SentenceTransformer (mean pooling, Normalize) and the folder it was saved to."""
    bert = write_tiny_bert(tmp_path_factory.mktemp("bert") / "bert", initializer_range=0.15)
    model = st.SentenceTransformer(modules=[st.models.Transformer(str(bert), max_seq_length=64),
                                            st.models.Pooling(32, pooling_mode="mean"), st.models.Normalize()],
                                   device="cpu")
    folder = tmp_path_factory.mktemp("st") / "tiny-st"
    model.save(str(folder))
    return model, folder


def test_results_object(tiny_st, tmp_path):
    model, _ = tiny_st
    results = cmteb_eval.evaluate(model, tasks=DEMO)
    scores = results.main_scores()
    assert list(scores) == ["DemoSTSEn"] and isinstance(scores["DemoSTSEn"]["test"], float)
    assert results.metrics()["DemoSTSEn"]["test"]["cosine_spearman"] == scores["DemoSTSEn"]["test"]
    frame = results.to_dataframe()
    assert set(frame.columns) >= {"task", "split", "metric", "value", "main"}
    assert frame[frame["main"]]["value"].tolist() == [scores["DemoSTSEn"]["test"]]
    [path] = results.save(tmp_path)
    saved = json.loads(path.read_text())
    assert re.fullmatch(r"in-memory-SentenceTransformer-[0-9a-f]{8}", results.model_name)  # a short identity
    assert path == tmp_path / results.model_name / "no_revision_available" / "DemoSTSEn.json"
    assert saved["scores"]["test"][0]["main_score"] == scores["DemoSTSEn"]["test"]
    assert saved["harness"]["model"]["weights_fingerprint"] == results.tasks[0].info["weights_fingerprint"]


def test_a_weight_changed_in_place_gives_the_new_score(tiny_st, tmp_path):
    """A training loop: the same object, new weights; never a stale result, also with output_dir (resume
    keeps a result only for the same weights)."""
    model = st.SentenceTransformer(str(tiny_st[1]), device="cpu")
    first = cmteb_eval.evaluate(model, tasks=DEMO, output_dir=tmp_path)
    again = cmteb_eval.evaluate(model, tasks=DEMO, output_dir=tmp_path)
    assert again.tasks[0].reused and again.main_scores() == first.main_scores()
    with torch.no_grad():
        model[0].auto_model.embeddings.word_embeddings.weight.mul_(-1.5).add_(0.1)
    changed = cmteb_eval.evaluate(model, tasks=DEMO, output_dir=tmp_path)
    assert not changed.tasks[0].reused
    assert changed.tasks[0].info["weights_fingerprint"] != first.tasks[0].info["weights_fingerprint"]
    assert changed.main_scores() != first.main_scores()
    fresh = cmteb_eval.evaluate(st.SentenceTransformer(str(tiny_st[1]), device="cpu"), tasks=DEMO)
    assert fresh.main_scores() == first.main_scores()  # the first score was the old weights'


def test_in_memory_equals_the_folder_it_was_saved_to(tiny_st):
    """The same embeddings through SentenceTransformer.encode (in memory) and our own reading of the folder."""
    model, folder = tiny_st
    from cmteb_eval.models.encoders.embedder import load_embedder
    from cmteb_eval.models.adapters.in_memory import adapt_embedder

    texts = ["what is panda?", "the cat sat on the mat", "hi", "今天天气很好"]
    ours = load_embedder(folder, device="cpu").encode(texts)
    assert float(np.abs(adapt_embedder(model, "m").encode(texts) - ours).max()) < 1e-5


def test_any_object_with_encode_and_a_given_identity(tiny_st, tmp_path):
    model, _ = tiny_st
    seen = []

    class Wrapper:
        def encode(self, texts, role=None):
            seen.append(role)
            return model.encode(texts)

    plain = cmteb_eval.evaluate(Wrapper(), tasks=DEMO, output_dir=tmp_path, model_name="wrapped")
    assert seen and set(seen) == {"text"}
    assert plain.tasks[0].info["identity"] == "none"
    again = cmteb_eval.evaluate(Wrapper(), tasks=DEMO, output_dir=tmp_path, model_name="wrapped")
    assert not again.tasks[0].reused  # no identity: never reused
    named = cmteb_eval.evaluate(Wrapper(), tasks=DEMO, output_dir=tmp_path, model_name="named", identity="step-1")
    assert cmteb_eval.evaluate(Wrapper(), tasks=DEMO, output_dir=tmp_path, model_name="named",
                               identity="step-1").tasks[0].reused
    assert named.main_scores() == plain.main_scores()


def test_bad_calls_are_user_errors(tiny_st):
    model, _ = tiny_st
    with pytest.raises(UserError, match="unknown option.*colour"):
        cmteb_eval.evaluate(model, tasks=DEMO, colour="red")
    with pytest.raises(UserError, match="no encode method"):
        cmteb_eval.evaluate(object(), tasks=DEMO)
    with pytest.raises(UnknownNameError, match="NoSuchTask"):
        cmteb_eval.evaluate(model, tasks=["NoSuchTask"])


def test_mteb_names_are_aliases():
    registry = Registry.load()
    assert [s.name for s in select_by_any_name(registry, ["CMedQAv1-reranking", "STSB", "CMedQAv1"])] == \
        ["CMedQAv1", "STSB"]
    chinese = select_by_any_name(registry, ["MTEB(cmn, v1)"])
    assert [s.name for s in chinese] == list(registry.benchmark("cmteb-v1").tasks)
    assert registry.benchmark("MTEB(Chinese)").name == "cmteb-v1"
    fake_task = SimpleNamespace(metadata=SimpleNamespace(name="CMedQAv1-reranking"))
    with pytest.raises(UserError, match=r"mteb task object.*tasks=\['CMedQAv1'\]"):
        select_by_any_name(registry, [fake_task])
    with pytest.raises(UnknownNameError, match=r"Unknown task or benchmark 'MTEB\(cmn, v2\)'.*MTEB\(cmn, v1\)"):
        select_by_any_name(registry, ["MTEB(cmn, v2)"])


@pytest.mark.slow
def test_mteb_names_match_mteb():
    """Our mteb names against mteb itself: every card's mteb name is an mteb task, and MTEB(cmn, v1) is cmteb-v1."""
    mteb = pytest.importorskip("mteb")
    registry = Registry.load()
    bench = mteb.get_benchmark("MTEB(cmn, v1)")
    ours = {s.name for s in select_by_any_name(registry, [t.metadata.name for t in bench.tasks])}
    assert ours == set(registry.benchmark("cmteb-v1").tasks)
    assert set(registry.benchmark("cmteb-v1").mteb_names) == {bench.name, *bench.aliases}
    with pytest.raises(UserError, match="tasks=\\['CMedQAv2'\\]"):
        cmteb_eval.evaluate("unused", tasks=[mteb.get_task("CMedQAv2-reranking")])


def test_in_memory_cross_encoder_reranks_as_the_reranker_option(tiny_st, tmp_path, capsys):
    """Retrieve with the embedder, rerank with a tiny random CrossEncoder made here: in memory through the API,
    and from its folder through `cmteb-eval run --reranker`, the same scores."""
    from test_cross_encoder import write_tiny_retrieval

    from cmteb_eval.cli import main

    _, folder = tiny_st
    card = write_tiny_retrieval(tmp_path / "data")
    ce_folder = write_tiny_bert(tmp_path / "ce", classifier=True, initializer_range=0.15)
    ce = st.CrossEncoder(str(ce_folder), device="cpu")
    api = cmteb_eval.evaluate(str(folder), tasks=["Tiny"], task_files=[str(card)], reranker=ce, rerank_top_k=4)
    out = tmp_path / "out"
    assert main(["run", "--model", str(folder), "--reranker", str(ce_folder), "--task-file", str(card),
                 "--tasks", "Tiny", "--rerank-top-k", "4", "--output-dir", str(out), "--no-cache"]) == 0
    [written] = list(out.glob("*/*/Tiny.json"))
    cli = json.loads(written.read_text())["scores"]["test"][0]
    assert api.main_scores()["Tiny"]["test"] == cli["main_score"]
    assert api.metrics()["Tiny"]["test"] == {k: v for k, v in cli.items() if isinstance(v, float) and k != "main_score"}
    from cmteb_eval.models.adapters.in_memory import cross_encoder_from

    pairs = [("what is panda?", "panda"), ("the cat", "the cat sat on the mat"), ("hi", "panda " * 100)]
    raw = ce.predict(pairs, activation_fn=torch.nn.Identity())  # sentence-transformers' own raw scores
    assert float(np.abs(raw - cross_encoder_from(ce, "ce").score_pairs(pairs)).max()) < 1e-5
    with pytest.raises(UserError, match="needs an embedder"):  # a CrossEncoder alone is the reranker
        cmteb_eval.evaluate(ce, tasks=DEMO)


@pytest.mark.slow
def test_packaged_minilm_in_memory_gives_the_published_stsb(shared):
    """The issue's check: a SentenceTransformer of the packaged MiniLM on STSB gives the published 0.378006
    (± 1e-4), and after a weight changes in place the next call gives the new weights' score. ~4 min."""
    from cmteb_eval.cli import packaged_minilm

    model = st.SentenceTransformer(str(packaged_minilm()), device="cpu")
    data = [str(shared / "data" / "cmteb")]
    score = cmteb_eval.evaluate(model, tasks=["STSB"], data_dirs=data).main_scores()["STSB"]["test"]
    assert abs(score - 0.378006) < 1e-4
    with torch.no_grad():
        model[0].auto_model.embeddings.word_embeddings.weight[1000:1200] *= 0.5
    changed = cmteb_eval.evaluate(model, tasks=["STSB"], data_dirs=data).main_scores()["STSB"]["test"]
    assert abs(changed - score) > 1e-4


def test_cli_model_takes_a_cross_encoder_folder_and_help_lists_the_kinds(tmp_path, capsys):
    """`--model` with a sentence-transformers CrossEncoder folder runs it as the reranker (here on a task that
    needs an embedder, so the task says so); `run --help` names the kinds --model takes."""
    from cmteb_eval.cli import main

    ce_folder = tmp_path / "ce-st"
    st.CrossEncoder(str(write_tiny_bert(tmp_path / "ce", classifier=True)), device="cpu").save(str(ce_folder))
    assert main(["run", "--model", str(ce_folder), "--tasks", "DemoSTSEn", "--output-dir", str(tmp_path / "o"),
                 "--no-cache"]) == 1
    captured = capsys.readouterr()
    assert "is a cross-encoder: evaluated as the reranker" in captured.out
    assert "needs an embedder" in captured.err
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    shown = " ".join(capsys.readouterr().out.split()).replace("- ", "-")  # argparse wraps after hyphens
    for kind in ("sentence-transformers folder", "ONNX folder", "cross-encoder folder", "cmteb_eval.evaluate"):
        assert kind in shown


def test_the_readme_example_runs(tmp_path, monkeypatch):
    """The Python API example of docs/models.md (the README's manual, issue 27), as written (its save folder
    under a temp dir)."""
    readme = (Path(__file__).resolve().parent.parent / "docs" / "models.md").read_text(encoding="utf-8")
    start = readme.index("import cmteb_eval\nfrom cmteb_eval.cli import packaged_minilm")
    code = readme[start:readme.index("```", start)]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "docs/models.md", "exec"), namespace)
    assert set(namespace["results"].main_scores()) == {"DemoSTSEn", "DemoSTSZh"}
    # the packaged MiniLM unchanged in memory is that folder's model: named as `cmteb-eval run` names it
    assert namespace["results"].model_name == "sentence-transformers/all-MiniLM-L6-v2"
    assert (tmp_path / "results" / "sentence-transformers__all-MiniLM-L6-v2" / "no_revision_available"
            / "DemoSTSEn.json").is_file()


@pytest.mark.slow
def test_an_mteb_encoder_is_called_as_mteb_calls_it(tiny_st, shared):
    """mteb's own SentenceTransformer wrapper, given to evaluate(): the same STSB scores as the
    SentenceTransformer itself (tiny model; about a minute, half of it importing mteb)."""
    pytest.importorskip("mteb")
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper

    model, _ = tiny_st
    data = [str(shared / "data" / "cmteb")]
    wrapped = cmteb_eval.evaluate(SentenceTransformerEncoderWrapper(model), tasks=["STSB"], data_dirs=data)
    assert wrapped.tasks[0].info["identity"] == "SHA-256 of the weights and the settings of every module in memory"
    assert wrapped.main_scores() == cmteb_eval.evaluate(model, tasks=["STSB"], data_dirs=data).main_scores()


def test_the_embedding_cache_is_keyed_by_the_weights(tiny_st, tmp_path, monkeypatch):
    """With cache_dir, a second call with the same weights encodes nothing; after a weight changes in place,
    everything is encoded again (a new key), and the score is the new weights'."""
    model = st.SentenceTransformer(str(tiny_st[1]), device="cpu")
    cache = str(tmp_path / "cache")
    first = cmteb_eval.evaluate(model, tasks=DEMO, cache_dir=cache)
    encoded = []
    original = model.encode
    monkeypatch.setattr(model, "encode", lambda texts, **kw: encoded.append(len(texts)) or original(texts, **kw))
    again = cmteb_eval.evaluate(model, tasks=DEMO, cache_dir=cache)
    assert again.main_scores() == first.main_scores() and encoded == []  # every vector from the cache
    with torch.no_grad():
        model[0].auto_model.embeddings.word_embeddings.weight.mul_(-1.5).add_(0.1)
    changed = cmteb_eval.evaluate(model, tasks=DEMO, cache_dir=cache)
    assert encoded and changed.main_scores() != first.main_scores()


def test_our_own_loaded_models(tiny_st, tmp_path):
    """A model of ours (load_embedder, load_reranker, a ModelPair) is evaluated as it is, and gives what its
    folder gives."""
    from cmteb_eval.models.rerankers.cross_encoder import load_reranker
    from cmteb_eval.models.encoders.embedder import load_embedder
    from cmteb_eval.models.pair import ModelPair

    _, folder = tiny_st
    embedder = load_embedder(folder, device="cpu")
    assert cmteb_eval.evaluate(embedder, tasks=DEMO).main_scores() == \
        cmteb_eval.evaluate(str(folder), tasks=DEMO).main_scores()
    reranker = load_reranker(write_tiny_bert(tmp_path / "ce", classifier=True), device="cpu")
    with pytest.raises(UserError, match="needs an embedder"):  # a reranker alone, on a task needing embeddings
        cmteb_eval.evaluate(reranker, tasks=DEMO)
    pair = cmteb_eval.evaluate(ModelPair(embedder, None), tasks=DEMO)
    assert pair.main_scores() == cmteb_eval.evaluate(embedder, tasks=DEMO).main_scores()
