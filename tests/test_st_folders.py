"""Every sentence-transformers folder: the same vectors as ``SentenceTransformer.encode``, or refused
naming the part we do not run (issue 12). Each folder is saved by sentence-transformers itself
(6.2 in the test extras) into a temp folder; the old (<= 5.3) on-disk formats are written the way
those versions wrote them (ST 6.2 loads them too, so the reference is still its own ``encode``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import write_tiny_bert

from cmteb_eval.errors import ModelLoadError, UserError, WrongModelKindError
from cmteb_eval.models.encoders.embedder import load_embedder
from cmteb_eval.models.protocol import PASSAGE, QUERY, TEXT

st = pytest.importorskip("sentence_transformers")
import sentence_transformers.models  # noqa: E402,F401  (st.models)
torch = pytest.importorskip("torch")

TOL = 1e-5
PROMPT = "represent this sentence: "
LONG = " ".join(["the cat sat on the mat and the dog is a giant panda bear of china"] * 12)
TEXTS = ["what is panda?", "the cat sat on the mat", "hi", "a giant panda bear species", LONG,
         "今天天气很好", "the dog sat on the mat."]


@pytest.fixture(scope="module")
def bert(tmp_path_factory) -> Path:
    return write_tiny_bert(tmp_path_factory.mktemp("bert") / "bert", initializer_range=0.15)


def save(modules, folder: Path, **kwargs) -> Path:
    st.SentenceTransformer(modules=modules, **kwargs).save(str(folder))
    return folder


def transformer(bert: Path, **kwargs):
    return st.models.Transformer(str(bert), max_seq_length=kwargs.pop("max_seq_length", 64), **kwargs)


def reference(folder: Path, texts=TEXTS, **kwargs) -> np.ndarray:
    return st.SentenceTransformer(str(folder), device="cpu").encode(list(texts), convert_to_numpy=True, **kwargs)


def ours(folder: Path, role=TEXT, texts=TEXTS, **kwargs) -> np.ndarray:
    return load_embedder(folder, device="cpu", cache=None, **kwargs).encode(list(texts), role=role)


def assert_same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape
    assert float(np.abs(a - b).max()) < TOL


def to_legacy(folder: Path, max_seq_length: int | None = None) -> Path:
    """Rewrite a 6.2 save in the <= 5.3 format: module types sentence_transformers.models.X, the
    Pooling booleans, max_seq_length in sentence_bert_config.json (not in tokenizer_config.json)."""
    modules = json.loads((folder / "modules.json").read_text())
    for entry in modules:
        entry["type"] = "sentence_transformers.models." + entry["type"].rpartition(".")[2]
        sub = folder / entry["path"]
        if entry["type"].endswith("Pooling"):
            new = json.loads((sub / "config.json").read_text())
            modes = [new["pooling_mode"]] if isinstance(new["pooling_mode"], str) else new["pooling_mode"]
            legacy = {"word_embedding_dimension": new["embedding_dimension"]}
            for key, mode in (("cls_token", "cls"), ("mean_tokens", "mean"), ("max_tokens", "max"),
                              ("mean_sqrt_len_tokens", "mean_sqrt_len_tokens"),
                              ("weightedmean_tokens", "weightedmean"), ("lasttoken", "lasttoken")):
                legacy[f"pooling_mode_{key}"] = mode in modes
            legacy["include_prompt"] = new["include_prompt"]
            (sub / "config.json").write_text(json.dumps(legacy))
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_seq_length,
                                                                  "do_lower_case": False}))
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    tokenizer_config.pop("model_max_length", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    return folder


# ------------------------------------------------------------ the table, row by row


def test_minilm_resaved_by_sentence_transformers_6(minilm_dir, tmp_path):
    """New Pooling format ({'pooling_mode': 'mean', ...}) and the max length only in tokenizer_config.json."""
    folder = tmp_path / "minilm-6.2"
    st.SentenceTransformer(str(minilm_dir), device="cpu").save(str(folder))
    assert json.loads((folder / "1_Pooling/config.json").read_text())["pooling_mode"] == "mean"
    model = load_embedder(folder, device="cpu", cache=None)
    assert model.settings.max_length == 256  # not 512: tokenizer_config.json's model_max_length, as ST reads it
    assert_same(model.encode(TEXTS), reference(folder))


def test_minilm_with_dense_and_old_pooling_format(minilm_dir, tmp_path):
    """MiniLM + Dense(384 -> 128) + Normalize: 128-dimensional vectors, as sentence-transformers gives."""
    base = st.SentenceTransformer(str(minilm_dir), device="cpu")
    torch.manual_seed(0)
    folder = save([base[0], base[1], st.models.Dense(384, 128, activation_function=torch.nn.Tanh()),
                   st.models.Normalize()], tmp_path / "minilm-dense")
    to_legacy(folder, max_seq_length=256)
    expected = reference(folder)
    assert expected.shape[1] == 128
    for backend in ("lean", "torch"):
        assert_same(ours(folder, backend=backend), expected)


@pytest.mark.parametrize("modes", ["cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken",
                                   ("cls", "mean", "max")])
@pytest.mark.parametrize("legacy", [False, True], ids=["format-5.4+", "format-5.3"])
def test_every_pooling_mode_in_both_formats(bert, tmp_path, modes, legacy):
    folder = save([transformer(bert), st.models.Pooling(32, pooling_mode=modes)], tmp_path / "pool")
    if legacy:
        to_legacy(folder, max_seq_length=48)
        assert load_embedder(folder, device="cpu").settings.max_length == 48
    assert_same(ours(folder), reference(folder))


def test_prompts_include_prompt_dense_layernorm_normalize(bert, tmp_path):
    """Prompts (query prompt = the instruction; the default prompt on every other text, as mteb runs it),
    include_prompt false, Dense with and without bias and their activations, LayerNorm, Normalize."""
    torch.manual_seed(1)
    folder = save([transformer(bert, do_lower_case=True), st.models.Pooling(32, pooling_mode="mean", include_prompt=False),
                   st.models.Dense(32, 16, activation_function=torch.nn.Tanh()),
                   st.models.Dense(16, 8, bias=False, activation_function=torch.nn.Identity()),
                   st.models.Dense(8, 8, activation_function=torch.nn.GELU()), st.models.LayerNorm(8),
                   st.models.Normalize()], tmp_path / "full", prompts={"query": PROMPT, "document": ""},
                  default_prompt_name="query")
    model = load_embedder(folder, device="cpu", cache=None)
    info = model.describe()
    assert info["query_instruction"] == PROMPT and "prompts['query']" in info["instruction_source"]
    assert info["include_prompt"] is False and len(info["modules_after_pooling"]) == 4
    ref = st.SentenceTransformer(str(folder), device="cpu")
    assert_same(model.encode(TEXTS, role=QUERY), ref.encode_query(TEXTS, prompt=PROMPT))
    assert_same(model.encode(TEXTS, role=PASSAGE), ref.encode_document(TEXTS, prompt=""))
    assert_same(model.encode(TEXTS, role=TEXT), ref.encode(TEXTS))  # default_prompt_name
    lean = load_embedder(folder, device="cpu", cache=None, backend="lean")
    assert_same(lean.encode(TEXTS, role=QUERY), ref.encode_query(TEXTS, prompt=PROMPT))


def test_old_prompt_format_and_truncate_dim(bert, tmp_path):
    torch.manual_seed(2)
    folder = save([transformer(bert), st.models.Pooling(32, pooling_mode="cls", include_prompt=False),
                   st.models.Normalize()], tmp_path / "cls", prompts={"query": PROMPT, "passage": "passage: "},
                  truncate_dim=16)
    config = json.loads((folder / "config_sentence_transformers.json").read_text())
    assert config["truncate_dim"] == 16
    del config["prompts"]["document"]  # as ST 3.x wrote it: {"query": ..., "passage": ...}
    (folder / "config_sentence_transformers.json").write_text(json.dumps(config))
    ref = st.SentenceTransformer(str(folder), device="cpu")
    model = load_embedder(folder, device="cpu", cache=None)
    assert model.instruction_for(PASSAGE, None) == ""  # ST 6 adds document: '', which encode_document takes first
    assert_same(model.encode(TEXTS, role=QUERY), ref.encode_query(TEXTS))
    assert_same(model.encode(TEXTS, role=PASSAGE), ref.encode_document(TEXTS))
    assert_same(model.encode(TEXTS, role=TEXT), ref.encode(TEXTS))


def test_old_layout_with_the_transformer_in_a_subfolder(minilm_dir, tmp_path):
    folder = tmp_path / "old-layout"
    sub = folder / "0_Transformer"
    sub.mkdir(parents=True)
    for item in minilm_dir.iterdir():
        if item.is_file() and item.name not in ("modules.json", "config_sentence_transformers.json", "README.md"):
            shutil.copy(item, sub / item.name)
        elif item.is_dir():
            shutil.copytree(item, folder / item.name)
    modules = json.loads((minilm_dir / "modules.json").read_text())
    modules[0]["path"] = "0_Transformer"
    (folder / "modules.json").write_text(json.dumps(modules))
    model = load_embedder(folder, device="cpu", cache=None)
    assert model.settings.max_length == 256
    assert_same(model.encode(TEXTS), reference(folder))


def test_a_dense_weight_is_part_of_the_identity(bert, tmp_path):
    """The Dense module's weights are in the result's configuration and the embedding cache's key."""
    torch.manual_seed(3)
    folder = save([transformer(bert), st.models.Pooling(32, pooling_mode="mean"), st.models.Dense(32, 8)],
                  tmp_path / "dense")
    before = load_embedder(folder, device="cpu")
    reloaded = st.SentenceTransformer(str(folder), device="cpu")
    with torch.no_grad():
        reloaded[2].linear.weight[0, 0] += 0.5
    reloaded.save(str(folder))
    after = load_embedder(folder, device="cpu")
    assert before.fingerprint == after.fingerprint  # the transformer's files did not change
    assert before.describe()["modules_fingerprint"] != after.describe()["modules_fingerprint"]
    assert before.cache_identity(TEXT, "") != after.cache_identity(TEXT, "")


# ------------------------------------------------------------ ONNX folders


def _export_onnx(model, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)

    class LastHidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones((2, 8), dtype=torch.long)
    axes = {0: "batch_size", 1: "sequence_length"}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(LastHidden(model.eval()), (ids, ids, torch.zeros_like(ids)), str(path),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"],
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                                        "last_hidden_state": axes}, opset_version=17, dynamo=False)


@pytest.mark.parametrize("where", ["onnx/model.onnx", "model.onnx"])
def test_onnx_only_folder(bert, tmp_path, where):
    """sentence-transformers' layout (onnx/model.onnx) and optimum's (model.onnx at the root), with the
    optimum graph's inputs (input_ids, attention_mask, token_type_ids) and no torch weights."""
    pytest.importorskip("onnxruntime")
    torch.manual_seed(4)
    folder = save([transformer(bert), st.models.Pooling(32, pooling_mode="mean"), st.models.Dense(32, 16),
                   st.models.Normalize()], tmp_path / "onnx")
    expected = reference(folder)
    _export_onnx(st.SentenceTransformer(str(folder), device="cpu")[0].auto_model, folder / where)
    (folder / "model.safetensors").unlink()
    model = load_embedder(folder, device="cpu", cache=None, backend="onnx")
    assert model.describe()["onnx_file"] == where
    assert_same(model.encode(TEXTS), expected)
    assert load_embedder(folder, device="cpu", cache=None, backend="auto").backend == "onnx"
    with pytest.raises(UserError, match="only as ONNX.*--backend onnx"):
        load_embedder(folder, device="cpu", backend="torch")


# ------------------------------------------------------------ refused, naming the part


def _edit(folder: Path, name: str, change) -> None:
    path = folder / name
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("case, match", [
    ("module", "WordWeights"),
    ("activation", "my_package.Swish"),
    ("task", "sequence-classification"),
    ("cross-encoder", "CrossEncoder"),
    ("similarity", "euclidean"),
    ("kwargs", r"takes kwargs \['task'\]"),
])
def test_what_we_do_not_run_is_refused_by_name(bert, tmp_path, case, match):
    torch.manual_seed(5)
    folder = save([transformer(bert), st.models.Pooling(32, pooling_mode="mean"), st.models.Dense(32, 8)],
                  tmp_path / "model")  # not named after the case: the match is on the message
    if case == "module":
        _edit(folder, "modules.json", lambda m: m.insert(2, {"idx": 2, "name": "x", "path": "2_Dense",
                                                             "type": "sentence_transformers.models.WordWeights"}))
    elif case == "activation":
        _edit(folder, "2_Dense/config.json", lambda c: c.update(activation_function="my_package.Swish"))
    elif case == "task":
        _edit(folder, "sentence_bert_config.json", lambda c: c.update(transformer_task="sequence-classification"))
    elif case == "cross-encoder":
        _edit(folder, "config_sentence_transformers.json", lambda c: c.update(model_type="CrossEncoder"))
    elif case == "task-prompts":
        _edit(folder, "config_sentence_transformers.json",
              lambda c: c["prompts"].update({"T2Retrieval-query": "find: "}))
    elif case == "similarity":
        _edit(folder, "config_sentence_transformers.json", lambda c: c.update(similarity_fn_name="euclidean"))
    elif case == "kwargs":
        _edit(folder, "modules.json", lambda m: m[2].update(kwargs=["task"]))
    with pytest.raises((ModelLoadError, WrongModelKindError), match=match):
        load_embedder(folder, device="cpu")


def test_a_real_sentence_transformers_onnx_save():
    """tests/data/st_onnx_5.7: saved by sentence-transformers 5.7 with backend="onnx" (optimum-onnx's export,
    onnx/model.onnx, no torch weights; its empty 2_Normalize/ folder is not kept by git, which ST accepts).
    Its own encode's vectors are in reference.json; ST 6.2 here cannot run ONNX (no optimum for transformers 5)."""
    pytest.importorskip("onnxruntime")
    folder = Path(__file__).resolve().parent / "data" / "st_onnx_5.7"
    reference_file = json.loads((folder / "reference.json").read_text())
    model = load_embedder(folder, device="cpu", cache=None, backend="auto")
    assert model.backend == "onnx" and model.describe()["onnx_file"] == "onnx/model.onnx"
    assert_same(model.encode(reference_file["texts"]), np.asarray(reference_file["embeddings"], dtype=np.float32))


def test_do_lower_case_of_an_old_save_on_a_cased_tokenizer(bert, tmp_path):
    """sentence_bert_config.json's do_lower_case (<= 5.3) on a tokenizer that does not lowercase: a Lowercase
    normalizer goes in front, as sentence-transformers 6 loads it (cased words would otherwise be [UNK])."""
    folder = to_legacy(save([transformer(bert), st.models.Pooling(32, pooling_mode="mean")], tmp_path / "cased"), 64)
    _edit(folder, "tokenizer.json", lambda t: t["normalizer"].update(lowercase=False))
    _edit(folder, "tokenizer_config.json", lambda t: t.update(do_lower_case=False))
    _edit(folder, "sentence_bert_config.json", lambda c: c.update(do_lower_case=True))
    texts = ["What is PANDA?", "The Cat Sat on the Mat", "hi"]
    assert_same(ours(folder, texts=texts), reference(folder, texts=texts))
    _edit(folder, "sentence_bert_config.json", lambda c: c.update(do_lower_case=False))
    assert float(np.abs(ours(folder, texts=texts) - reference(folder, texts=[t.lower() for t in texts])).max()) > 1e-3


def test_a_cross_encoder_folder_keeps_its_saved_max_length(tmp_path):
    """CrossEncoder(p, max_length=32).save(q) writes model_max_length 32 into tokenizer_config.json: the reranker
    truncates there too (not at the position limit), so its raw scores are sentence-transformers' own."""
    from cmteb_eval.models.rerankers.cross_encoder import load_reranker

    saved = tmp_path / "ce-32"
    st.CrossEncoder(str(write_tiny_bert(tmp_path / "ce", classifier=True, initializer_range=0.15)),
                    max_length=32, device="cpu").save(str(saved))
    reranker = load_reranker(saved, device="cpu")
    assert reranker.max_length == 32 and "model_max_length" in reranker.settings_source
    pairs = [("what is panda?", LONG), ("the cat", "the cat sat on the mat")]
    raw = st.CrossEncoder(str(saved), device="cpu").predict(pairs, activation_fn=torch.nn.Identity())
    assert float(np.abs(reranker.score_pairs(pairs) - raw).max()) < TOL
