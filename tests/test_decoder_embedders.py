"""Decoder embedders and the reference libraries' objects (issue 24, Required 4-6).

Tiny random models laid out as each family's hub folder (``decoder_models.py``) are compared with the
reference on the same inputs: sentence-transformers for Qwen3-Embedding's ST folder, FlagEmbedding
1.4.2's FlagLLMModel for bge-multilingual-gemma2, FlagModel / FlagICLModel / BGEM3FlagModel objects given
to the Python API; vectors to 1e-5, main scores to 1e-6 on an STS task (a slice of C-MTEB STSB), a
retrieval and a reranking task (slices of the real qbqtc judgements in ../shared). The rows of the
issue's table: bge-multilingual-gemma2 runs without hand-given flags; a FlagModel object keeps its
instruction; a folder with auto_map no longer runs the stock class silently.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import write_tiny_bert
from decoder_models import QWEN_EOS, WEB_SEARCH, write_decoder

import cmteb_eval
from cmteb_eval.errors import ModelLoadError, UserError
from cmteb_eval.models.encoders.embedder import load_embedder
from cmteb_eval.models.protocol import PASSAGE, QUERY, TEXT

FlagEmbedding = pytest.importorskip("FlagEmbedding")

QUERIES = ["花呗怎么还款", "如何申请信用卡", "What is a giant panda?"]
PASSAGES = ["借呗可以提前还款吗，今天天气很好", "一个男人在弹吉他。", "A bear species of China.", "猫坐在垫子上。"]
GEMMA_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query."
ZH_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："
STS_ROWS, QBQTC_ROWS, RETRIEVAL_QUERIES, RERANK_QUERIES = 200, 250, 25, 25


class Takes:
    """A task view: whether its queries take the instruction."""

    def __init__(self, query_instruction: bool = True, type: str = "Retrieval", name: str = "SomeRetrieval") -> None:
        self.query_instruction, self.type, self.name = query_instruction, type, name


# Per-task prompts are issue 24's other half (identity/prompts.py, tests/test_prompts.py: the cards' strings
# against mteb's loaders). Here the mechanics are compared, so both sides get the same prompts: the
# family's card knows no instruction for these test-made tasks and would refuse them by name.
QWEN_QUERY = f"Instruct: {WEB_SEARCH}\nQuery:"
QWEN_PROMPTS = {"query": QWEN_QUERY, "document": "", "STS": ""}
GEMMA_PROMPTS = {"query": f"<instruct>{GEMMA_INSTRUCTION}\n<query>", "document": "", "STS": ""}


@pytest.fixture(scope="module")
def families(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    return {
        "qwen3": write_decoder(root / "Qwen3-Embedding-0.6B", "qwen3",
                               st_prompts={"query": f"Instruct: {WEB_SEARCH}\nQuery:", "document": ""}),
        "gemma2": write_decoder(root / "bge-multilingual-gemma2", "gemma2", seed=1),
        "qwen2": write_decoder(root / "gte-Qwen2-1.5B-instruct", "qwen2", seed=2),
        "mistral": write_decoder(root / "bge-en-icl", "mistral", seed=3),
        "plain": write_decoder(root / "my-decoder", "qwen2", seed=4),
    }


@pytest.fixture(scope="module")
def tasks(shared, tmp_path_factory):
    """An STS task (the first rows of C-MTEB STSB test), a retrieval and a reranking task (qbqtc_dev)."""
    from parity_data import read_jsonl, write_jsonl
    from ranking_reference import read_qbqtc, reranking_rows, retrieval_tables, write_qbqtc_tasks

    folder = tmp_path_factory.mktemp("tasks")
    rows = read_jsonl(shared / "data" / "cmteb" / "STSB" / "test.jsonl")[:STS_ROWS]
    write_jsonl(folder / "SliceSTS" / "test.jsonl", {k: [r[k] for r in rows] for k in ("sentence1", "sentence2",
                                                                                       "score")})
    sts_card = folder / "SliceSTS.toml"
    sts_card.write_text('name = "SliceSTS"\ntype = "STS"\nlanguages = ["cmn-Hans"]\neval_splits = ["test"]\n'
                        '[dataset]\nhub_id = "cmteb-eval/stsb-slice"\nrevision = "local"\nlocal_dir = "SliceSTS"\n',
                        encoding="utf-8")
    qbqtc = read_qbqtc(shared / "data" / "extra" / "qbqtc_dev.jsonl")
    corpus, queries, qrels = retrieval_tables(qbqtc[:QBQTC_ROWS], RETRIEVAL_QUERIES)
    rerank = {k: v[:RERANK_QUERIES] for k, v in reranking_rows(qbqtc, only_complete=True).items()}
    cards = write_qbqtc_tasks(folder, rerank, corpus, queries, qrels)
    return [str(sts_card), *map(str, cards)]


NAMES = ["SliceSTS", "QbqtcRetrieval", "QbqtcReranking"]


def bert_for(tasks, folder: Path) -> Path:
    """A tiny random BERT whose vocabulary holds every character of the tasks' data (the conftest one
    knows a few dozen Chinese characters: the rest would all be [UNK] and their vectors ties)."""
    import conftest

    chars = sorted({c for card in tasks for path in Path(card).parent.rglob("*.jsonl")
                    for c in path.read_text(encoding="utf-8") if not c.isspace() and not c.isascii()})
    vocab = conftest.VOCAB
    try:
        conftest.VOCAB = vocab + chars
        return write_tiny_bert(folder, initializer_range=0.5)
    finally:
        conftest.VOCAB = vocab


def scores_of(model, tasks, **options):
    return {task: split["dev" if "Qbqtc" in task else "test"]
            for task, split in cmteb_eval.evaluate(model, tasks=NAMES, task_files=tasks, **options).main_scores().items()}


# ------------------------------------------------------------------ families run from their folders


def test_qwen3_embedding_folder_equals_sentence_transformers(families):
    """Qwen3-Embedding's ST folder: last token, left padding, <|endoftext|> from its tokenizer, the query prompt."""
    from sentence_transformers import SentenceTransformer

    ours = load_embedder(families["qwen3"], device="cpu", prompts=QWEN_PROMPTS)
    reference = SentenceTransformer(str(families["qwen3"]), device="cpu")
    assert ours.describe()["family"] == "Qwen3-Embedding" and ours.pads_left
    assert ours.tokenizer(QUERIES[:1])["input_ids"][0][-1] == ours.tokenizer.convert_tokens_to_ids(QWEN_EOS)
    np.testing.assert_allclose(ours.encode(QUERIES, role=QUERY, task=Takes()),
                               reference.encode(QUERIES, prompt_name="query"), atol=1e-5)
    np.testing.assert_allclose(ours.encode(PASSAGES, role=PASSAGE, task=Takes()), reference.encode(PASSAGES),
                               atol=1e-5)


def test_qwen3_embedding_scores_equal_sentence_transformers(families, tasks):
    from sentence_transformers import SentenceTransformer

    folder_scores = scores_of(str(families["qwen3"]), tasks, device="cpu", prompts=QWEN_PROMPTS)
    reference_scores = scores_of(SentenceTransformer(str(families["qwen3"]), device="cpu"), tasks,
                                 prompts=QWEN_PROMPTS)
    for task in NAMES:
        assert folder_scores[task] == pytest.approx(reference_scores[task], abs=1e-6), task


def test_a_family_runs_in_its_authors_gpu_dtype_and_not_on_the_lean_backend(families, monkeypatch):
    """On CUDA, --dtype auto is the family's dtype (bf16 for Qwen3-Embedding, fp16 for FlagLLMModel's gemma2),
    recorded in the result's model info; an explicit --dtype wins. The lean (BERT-only) forward steps aside."""
    from cmteb_eval.models.encoders import runtime

    assert load_embedder(families["qwen3"], device="cpu", backend="auto").backend == "torch"
    monkeypatch.setattr(runtime, "pick_device", lambda device: "cuda")  # the choice only: nothing runs here
    assert load_embedder(families["qwen3"]).describe()["dtype"] == "bfloat16"
    assert load_embedder(families["gemma2"]).describe()["dtype"] == "float16"
    assert load_embedder(families["qwen3"], dtype="float32").describe()["dtype"] == "float32"


def test_the_family_eos_is_appended_when_the_tokenizer_does_not(families, tmp_path):
    """An older Qwen3-Embedding tokenizer.json without the EOS post-processor: the recipe's EOS still ends
    every text (appended after truncation to max_length - 1), as the authors' first README appended it."""
    from tokenizers import Tokenizer, processors

    folder = tmp_path / "Qwen3-Embedding-0.6B"
    shutil.copytree(families["qwen3"], folder)
    for name in ("modules.json", "config_sentence_transformers.json"):
        (folder / name).unlink()
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.post_processor = processors.TemplateProcessing(single="$A", special_tokens=[])
    tokenizer.save(str(folder / "tokenizer.json"))
    plain = load_embedder(folder, device="cpu")
    assert plain.settings.pooling == "lasttoken" and plain.settings.eos == QWEN_EOS
    eos = plain.tokenizer.convert_tokens_to_ids(QWEN_EOS)
    assert plain.tokenizer(QUERIES[:1])["input_ids"][0][-1] != eos
    with_eos = load_embedder(families["qwen3"], device="cpu", use_instruction=False)
    np.testing.assert_allclose(plain.encode(PASSAGES, role=TEXT), with_eos.encode(PASSAGES, role=TEXT), atol=1e-5)
    short = load_embedder(folder, device="cpu", max_length=4)
    assert all(ids[-1] == eos and len(ids) == 4 for ids in short._ending_with_eos(
        short.tokenizer(PASSAGES, truncation=True, max_length=4)["input_ids"]))


def test_bge_multilingual_gemma2_runs_as_flagllmmodel_without_flags(families, tasks):
    """Issue row: bge-multilingual-gemma2 was refused until --pooling lasttoken --query-instruction were given
    by hand; recognised by name and model_type, it runs FlagLLMModel's recipe: equal vectors and scores."""
    from FlagEmbedding import FlagLLMModel

    ours = load_embedder(families["gemma2"], device="cpu", prompts=GEMMA_PROMPTS)
    info = ours.describe()
    assert info["family"] == "bge-multilingual-gemma2" and "FlagEmbedding @" in info["family_source"]
    reference = FlagLLMModel(str(families["gemma2"]), query_instruction_for_retrieval=GEMMA_INSTRUCTION,
                             query_instruction_format="<instruct>{}\n<query>{}", use_fp16=False, devices="cpu",
                             batch_size=32)
    np.testing.assert_allclose(ours.encode(QUERIES, role=QUERY, task=Takes()), reference.encode_queries(QUERIES),
                               atol=1e-5)
    np.testing.assert_allclose(ours.encode(PASSAGES, role=PASSAGE, task=Takes()), reference.encode_corpus(PASSAGES),
                               atol=1e-5)
    folder_scores = scores_of(str(families["gemma2"]), tasks, device="cpu", prompts=GEMMA_PROMPTS)
    object_scores = scores_of(reference, tasks)
    for task in NAMES:
        assert folder_scores[task] == pytest.approx(object_scores[task], abs=1e-6), task


def test_gte_qwen2_ends_every_text_with_eos_as_mtebs_loader_does(families, tmp_path, tasks):
    """gte-Qwen2's hub tokenizer does not append <|endoftext|> itself; mteb 2.26's loader passes
    add_eos_token=True (gte_models.py). The family's EOS gives the same vectors and scores."""
    from mteb.models.instruct_wrapper import InstructSentenceTransformerModel
    from mteb.models.model_implementations.gte_models import instruction_template
    from tokenizers import Tokenizer, processors

    folder = tmp_path / "gte-Qwen2-1.5B-instruct"
    shutil.copytree(families["qwen2"], folder)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    tokenizer.save(str(folder / "tokenizer.json"))
    from decoder_models import write_st_files

    prompt = instruction_template(WEB_SEARCH)
    write_st_files(folder, {"query": prompt, "document": ""})
    given = {"query": prompt, "document": "", "STS": ""}
    ours = load_embedder(folder, device="cpu", prompts=given)
    assert ours.settings.family == "gte-Qwen2-instruct" and ours.settings.query_instruction == prompt
    loader = InstructSentenceTransformerModel(str(folder), None, device="cpu", instruction_template=instruction_template,
                                              apply_instruction_to_passages=False, add_eos_token=True)
    reference = loader.model
    assert reference.tokenizer(["花呗"])["input_ids"][0][-1] == reference.tokenizer.convert_tokens_to_ids(QWEN_EOS)
    np.testing.assert_allclose(ours.encode(QUERIES, role=QUERY, task=Takes()), reference.encode(QUERIES, prompt=prompt),
                               atol=1e-5)
    np.testing.assert_allclose(ours.encode(PASSAGES, role=PASSAGE, task=Takes()), reference.encode(PASSAGES),
                               atol=1e-5)
    folder_scores = scores_of(str(folder), tasks, device="cpu", prompts=given)
    loader_scores = scores_of(reference, tasks, prompts=given)
    for task in NAMES:
        assert folder_scores[task] == pytest.approx(loader_scores[task], abs=1e-6), task


def test_gte_qwen2_with_auto_map_needs_a_remote_code_decision(families, tmp_path):
    """gte-Qwen2's hub config names its own modeling_qwen.py (bidirectional attention): the stock Qwen2Model
    must not run silently."""
    folder = tmp_path / "gte-Qwen2-1.5B-instruct"
    shutil.copytree(families["qwen2"], folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_qwen.Qwen2Model"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError) as refused:
        load_embedder(folder, device="cpu")
    message = str(refused.value)
    assert "--trust-remote-code" in message and "--ignore-remote-code" in message and "causal attention" in message
    embedder = load_embedder(folder, device="cpu", ignore_remote_code=True)
    info = embedder.describe()
    assert info["family"] == "gte-Qwen2-instruct" and "stock transformers Qwen2Model" in info["remote_code_skipped"]
    assert embedder.encode(QUERIES[:1], role=TEXT).shape == (1, 32)


def test_auto_map_on_a_known_model_type_is_refused_then_recorded(tmp_path, capsys):
    """Issue row: a BERT folder whose config carries auto_map ran the stock BertModel without a word."""
    from cmteb_eval.cli import main

    folder = write_tiny_bert(tmp_path / "custom-bert")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_custom.CustomBert"}
    (folder / "config.json").write_text(json.dumps(config))
    out = tmp_path / "results"
    args = ["run", "--model", str(folder), "--pooling", "cls", "--tasks", "DemoSTSEn", "--device", "cpu",
            "--output-dir", str(out), "--no-cache"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "auto_map" in err and "--trust-remote-code" in err and "--ignore-remote-code" in err
    assert main(args + ["--ignore-remote-code"]) == 0
    [result] = [p for p in out.rglob("DemoSTSEn.json") if "harness" in json.loads(p.read_text())]
    recorded = json.loads(result.read_text())["harness"]["model"]
    assert "stock transformers BertModel" in recorded["remote_code_skipped"]


def test_an_undescribed_decoder_is_refused_naming_pooling_padding_and_prompts(families):
    with pytest.raises(ModelLoadError) as refused:
        load_embedder(families["plain"], device="cpu")
    message = str(refused.value)
    assert "lasttoken" in message and "padding side" in message and "instruction" in message
    assert "--pooling lasttoken" in message and "--query-instruction" in message
    described = load_embedder(families["plain"], device="cpu", pooling="lasttoken")  # a flag describes it
    assert described.settings.pooling == "lasttoken"


def test_bge_en_icl_folder_is_refused_naming_flagiclmodel(families):
    with pytest.raises(ModelLoadError, match="FlagICLModel"):
        load_embedder(families["mistral"], device="cpu")


# ------------------------------------------------------------------ the reference libraries' objects


def test_a_flagmodel_object_keeps_its_query_instruction(tmp_path, tasks):
    """Issue row: a FlagModel given to evaluate() was run as 'any object with encode', its queries without the
    instruction. Now: encode_queries on queries, encode_corpus on passages; the same scores as our run of
    the folder with that instruction."""
    from FlagEmbedding import FlagModel

    folder = bert_for(tasks, tmp_path / "tiny-bge")
    flag = FlagModel(str(folder), query_instruction_for_retrieval=ZH_INSTRUCTION, use_fp16=False, devices="cpu",
                     pooling_method="cls")
    results = cmteb_eval.evaluate(flag, tasks=NAMES, task_files=tasks)
    retrieval = next(t for t in results.tasks if t.spec.name == "QbqtcRetrieval")
    assert retrieval.info["query_instruction"] == ZH_INSTRUCTION
    assert retrieval.info["methods"] == {"query": "encode_queries", "passage": "encode_corpus", "text": "encode"}
    ours = {t: s["dev" if "Qbqtc" in t else "test"] for t, s in cmteb_eval.evaluate(
        str(folder), tasks=NAMES, task_files=tasks, pooling="cls", query_instruction=ZH_INSTRUCTION,
        device="cpu").main_scores().items()}
    for task in NAMES:
        assert results.main_scores()[task]["dev" if "Qbqtc" in task else "test"] == pytest.approx(ours[task], abs=1e-6)
    from cmteb_eval.models.adapters.flag_embedding import FlagEmbeddingEmbedder

    adapter = FlagEmbeddingEmbedder(flag, "tiny")
    np.testing.assert_allclose(adapter.encode(QUERIES, role=QUERY, task=Takes()), flag.encode_queries(QUERIES),
                               atol=1e-6)
    assert not np.allclose(adapter.encode(QUERIES, role=QUERY, task=Takes()), flag.encode(QUERIES), atol=1e-3)
    assert "warnings" not in retrieval.info
    bare = FlagEmbeddingEmbedder(FlagModel(str(folder), use_fp16=False, devices="cpu", pooling_method="cls"), "bare")
    assert "no query_instruction_for_retrieval" in bare.describe(Takes())["warnings"][0]
    assert "warnings" not in bare.describe(Takes(query_instruction=False))


def test_a_flag_icl_model_object_runs_its_examples_and_suffix(families):
    from FlagEmbedding import FlagICLModel

    from cmteb_eval.models.adapters.flag_embedding import FlagEmbeddingEmbedder

    examples = [{"instruct": GEMMA_INSTRUCTION, "query": "what is a panda?", "response": "A bear species of China."}]
    icl = FlagICLModel(str(families["mistral"]), query_instruction_for_retrieval=GEMMA_INSTRUCTION,
                       examples_for_task=examples, use_fp16=False, devices="cpu")
    adapter = FlagEmbeddingEmbedder(icl, "icl")
    np.testing.assert_allclose(adapter.encode(QUERIES, role=QUERY, task=Takes()), icl.encode_queries(QUERIES),
                               atol=1e-6)
    np.testing.assert_allclose(adapter.encode(PASSAGES, role=PASSAGE, task=Takes()), icl.encode_corpus(PASSAGES),
                               atol=1e-6)
    info = adapter.describe(Takes())
    assert info["query_suffix"] == "\n<response>" and "A bear species of China." in info["examples_prefix"]
    assert info["query_instruction"].startswith(info["examples_prefix"] + "<instruct>" + GEMMA_INSTRUCTION)


def test_a_bge_m3_object_gives_its_dense_vectors(tmp_path):
    from FlagEmbedding import BGEM3FlagModel

    from cmteb_eval.models.adapters.flag_embedding import FlagEmbeddingEmbedder

    folder = write_tiny_bert(tmp_path / "tiny-m3", initializer_range=0.5)
    m3 = BGEM3FlagModel(str(folder), use_fp16=False, devices="cpu")
    adapter = FlagEmbeddingEmbedder(m3, "m3")
    np.testing.assert_allclose(adapter.encode(QUERIES, role=QUERY, task=Takes()),
                               m3.encode_queries(QUERIES, return_dense=True)["dense_vecs"], atol=1e-6)
    assert adapter.describe()["vectors"] == "dense_vecs"


def test_another_flag_embedding_object_is_refused_with_the_fix():
    from cmteb_eval.models.adapters.flag_embedding import FlagEmbeddingEmbedder

    fake = type("FlagReranker", (), {"__module__": "FlagEmbedding.inference.reranker", "encode": lambda s, t: t})()
    with pytest.raises(UserError, match="FlagModel, FlagLLMModel, FlagICLModel or BGEM3FlagModel"):
        FlagEmbeddingEmbedder(fake, "x")


def test_an_encode_only_object_gets_a_warning_on_asymmetric_tasks(tasks):
    """An object whose encode cannot tell queries from documents: the retrieval and reranking results say so."""
    import zlib

    class Plain:
        def encode(self, texts):
            return np.stack([np.random.default_rng(zlib.crc32(t.encode())).normal(size=8) for t in texts])

    results = cmteb_eval.evaluate(Plain(), tasks=NAMES, task_files=tasks)
    warned = {t.spec.name: t.info.get("warnings") for t in results.tasks}
    assert warned["SliceSTS"] is None
    for task in ("QbqtcRetrieval", "QbqtcReranking"):
        assert warned[task] and "cannot tell queries from documents" in warned[task][0]


# ------------------------------------------------------------------ the plan


def test_the_plan_counts_texts_and_tokens_of_every_task_type(families, tasks):
    from cmteb_eval.run.plan import plan_lines
    from cmteb_eval.tasks.registry import Registry

    specs = Registry.load(tasks).select(NAMES, [])
    lines = plan_lines(specs, [], Path("out"), load_embedder(families["qwen3"], device="cpu", prompts=QWEN_PROMPTS),
                       None)
    for name in NAMES:
        [line] = [line for line in lines if line.strip().startswith(name)]
        assert "distinct text(s)" in line and "tokens to encode" in line, line
    assert any(line.strip().startswith("counted up front") for line in lines)
    # without prompts for these tasks, the card's refusal is said in the plan (the run then fails those tasks)
    lines = plan_lines(specs, [], Path("out"), load_embedder(families["qwen3"], device="cpu"), None)
    [line] = [line for line in lines if line.strip().startswith("QbqtcReranking")]
    assert "not counted" in line and "no query prompt for task QbqtcReranking" in line


def test_the_plan_counts_what_classification_encodes(shared, minilm):
    """Classification: the train rows some experiment uses and the test texts, as the evaluator encodes them."""
    from cmteb_eval.evaluators.classification import load_texts_and_labels, settings, undersample
    from cmteb_eval.run.plan import plan_lines, task_texts
    from cmteb_eval.tasks.registry import Registry

    [spec] = Registry.load([]).select(["EmotionClassification"], [])
    data = [str(shared / "data" / "mteb")]
    train, labels, _ = load_texts_and_labels(spec, "train", data)
    config = settings(spec)
    used = set().union(*undersample(labels, config["samples_per_label"], config["n_experiments"], config["seed"]))
    expected = set(train[i] for i in used) | set(load_texts_and_labels(spec, "test", data)[0])
    [texts] = task_texts(spec, data).values()  # one role: the texts (no query or document side)
    assert set(texts) == expected and len(texts) == len(expected)
    [line] = [line for line in plan_lines([spec], data, Path("out"), minilm, None) if "EmotionClassification" in line]
    assert f"{len(expected)} distinct text(s)" in line and "tokens to encode" in line


def test_a_family_folder_under_another_name_runs_with_its_familys_prompt_card(families, tmp_path):
    """A folder recognised as bge-multilingual-gemma2 by a name that only contains the family's name (a
    local copy, 'my-bge-multilingual-gemma2-copy') takes the family's per-task prompts, as the folder
    under the hub id's name does; without the family's card its queries ran with no instruction."""
    from cmteb_eval.tasks.registry import Registry

    copy = tmp_path / "my-bge-multilingual-gemma2-copy"
    shutil.copytree(families["gemma2"], copy)
    [spec] = Registry.load([]).select(["T2Retrieval"], [])
    renamed, canonical = load_embedder(copy, device="cpu"), load_embedder(families["gemma2"], device="cpu")
    assert renamed.describe()["family"] == "bge-multilingual-gemma2"
    assert renamed.prompt_for(QUERY, spec).prefix  # the card's T2Retrieval instruction, not none
    assert renamed.prompt_for(QUERY, spec) == canonical.prompt_for(QUERY, spec)
    assert renamed.describe(spec)["prompts"] == canonical.describe(spec)["prompts"]
