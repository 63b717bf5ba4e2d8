"""Prompts per task (issue 24): mteb's key scheme over the sources in order, the known cards, and
parity with the references on identical inputs: sentence-transformers ``encode(prompt=...)`` for
vectors, mteb 2.26's own loaders for Qwen3-Embedding (``q3e_instruct_loader``) and e5
(``SentenceTransformerEncoderWrapper`` with its ``model_prompts``) for the prompt strings of every
task and for main scores on an STS, a retrieval and a reranking task built from slices of real data.

Models: tiny random ones laid out like the hub folders (tests/prompt_models.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import write_tiny_bert
from prompt_models import QWEN3_QUERY_PROMPT, write_tiny_e5, write_tiny_qwen3_embedding

from cmteb_eval.errors import ModelLoadError, UserError
from cmteb_eval.evaluators.base import RunOptions
from cmteb_eval.models.encoders.embedder import load_embedder
from cmteb_eval.models.identity.prompts import PromptTable, card_for, prompt_cards
from cmteb_eval.models.protocol import PASSAGE, QUERY, TEXT
from cmteb_eval.run.runner import evaluate_task
from cmteb_eval.tasks.aliases import mteb_name
from cmteb_eval.tasks.registry import Registry

st = pytest.importorskip("sentence_transformers")
mteb = pytest.importorskip("mteb")

VECTOR_TOL = 1e-5
STS_TOL = 1e-6
MTEB2_ROUNDING = 5e-6 + 1e-12  # mteb 2 rounds its trec_eval means to 5 decimals
QWEN3 = "Qwen/Qwen3-Embedding-0.6B"
E5 = "intfloat/e5-small-v2"
TEXTS = ["what is panda?", "今天天气很好 我喜欢吃苹果", "hi", "一个男人在弹吉他。"]
# FlagEmbedding's cross-lingual T2Reranking tasks: in neither mteb 2.26 nor Qwen's table, so no card has
# their instruction (a per-task card refuses them by name)
NOT_IN_MTEB = {"T2RerankingEn2Zh", "T2RerankingZh2En"}
STS_ROWS, RERANK_QUERIES, RETRIEVAL_ROWS, RETRIEVAL_QUERIES = 80, 25, 300, 40


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.load()


@pytest.fixture(scope="module")
def real_tasks(registry):
    return [s for s in registry.tasks.values() if not s.name.startswith("Demo") and s.name not in NOT_IN_MTEB]


@pytest.fixture(scope="module")
def qwen3(tmp_path_factory, shared) -> Path:
    corpus = [json.loads(line)["sentence1"] for line in
              (shared / "data" / "cmteb" / "STSB" / "test.jsonl").read_text(encoding="utf-8").splitlines()[:300]]
    corpus += [QWEN3_QUERY_PROMPT, "Retrieve semantically similar text", "the cat sat on the mat"] + TEXTS
    return write_tiny_qwen3_embedding(tmp_path_factory.mktemp("qwen3"), corpus)


@pytest.fixture(scope="module")
def e5(tmp_path_factory) -> Path:
    bert = write_tiny_bert(tmp_path_factory.mktemp("bert") / "bert", initializer_range=0.15)
    return write_tiny_e5(bert, tmp_path_factory.mktemp("e5"))


def mteb_metadata(spec):
    return mteb.get_task(mteb_name(spec)).metadata


# ------------------------------------------------------------------------------- the key scheme

ALL_KEYS = ["STSB-query", "STSB", "STS-query", "STS", "T2Retrieval-query", "T2Retrieval-document", "T2Retrieval",
            "Retrieval-query", "Retrieval-document", "Retrieval", "query", "document"]


@pytest.mark.parametrize("task_name", ["STSB", "T2Retrieval"])
def test_most_specific_key_wins_as_in_mteb(registry, task_name):
    """Dropping keys from the most specific down, the key we pick is mteb's ``get_prompt_name``'s, for
    every side the task's type encodes (mteb encodes STS texts with no prompt type)."""
    from mteb.models.abs_encoder import get_prompt_name
    from mteb.types import PromptType

    spec = registry.task(task_name)
    sides = {"query": (QUERY, PromptType.query), "document": (PASSAGE, PromptType.document)} \
        if spec.type == "Retrieval" else {"text": (TEXT, None)}
    for side, (role, prompt_type) in sides.items():
        for start in range(len(ALL_KEYS) + 1):
            table = {key: f"<{key}>" for key in ALL_KEYS[start:]}
            ours = PromptTable(table, "test").find((spec.name,), spec.type, side, generic=True)
            theirs = get_prompt_name(table, mteb_metadata(spec), prompt_type)
            assert (ours.key if ours else None) == theirs, (side, start)


def test_sources_in_order_templates_and_empty(tiny_bert, tmp_path, registry):
    """The command line's table beats the known card, which beats the folder; an empty value is "no
    prompt" and ends the search; a value with {text} wraps the text; the generic query key goes only
    on queries of tasks whose card takes the instruction (ArguAna's does not)."""
    prompts = tmp_path / "p.toml"
    prompts.write_text('STSB = "<s>{text}</s>"\n"Retrieval-document" = ""\nquery = "Q: "\n', encoding="utf-8")
    model = load_embedder(tiny_bert, device="cpu", model_name="BAAI/bge-small-zh-v1.5", prompts=str(prompts),
                          document_instruction="D: ")
    sts, t2, arguana = registry.task("STSB"), registry.task("T2Retrieval"), registry.task("ArguAna")
    wrapped = model.prompt_for(TEXT, sts)
    assert (wrapped.prefix, wrapped.suffix, wrapped.source) == ("<s>", "</s>", f"--prompts {prompts}")
    assert wrapped.apply("x") == "<s>x</s>"
    assert model.prompt_for(QUERY, t2).prefix == "Q: "
    assert model.prompt_for(PASSAGE, t2).prefix == "" and model.prompt_for(PASSAGE, t2).key == "Retrieval-document"
    assert model.prompt_for(QUERY, arguana).prefix == ""  # query_instruction = false on its card
    card = load_embedder(tiny_bert, device="cpu", model_name="BAAI/bge-small-zh-v1.5")
    assert card.prompt_for(QUERY, t2).prefix == "为这个句子生成表示以用于检索相关文章："
    assert card.prompt_for(QUERY, t2).source == "known card bge-zh, variant authors"
    assert card.prompt_for(TEXT, sts).prefix == ""
    vectors = model.encode(["一个男人"], role=TEXT, task=sts)
    assert np.allclose(vectors, card.encode(["<s>一个男人</s>"], role=TEXT, task=None), atol=VECTOR_TOL)
    as_json = tmp_path / "p.json"
    as_json.write_text(json.dumps({"STS": "J: "}), encoding="utf-8")
    assert load_embedder(tiny_bert, device="cpu", pooling="cls", prompts=str(as_json)).prompt_for(TEXT, sts).prefix == "J: "


@pytest.mark.parametrize("content, match", [("STSB = 3\n", "not a string"), ("[x\n", "not valid TOML"),
                                            ('query_template = "no text"\n', "has no '{text}'")])
def test_bad_prompt_file_is_refused_by_name(tiny_bert, tmp_path, content, match):
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=match):
        load_embedder(tiny_bert, device="cpu", pooling="cls", prompts=str(path))


def test_unknown_variant_is_refused(tiny_bert):
    with pytest.raises(ModelLoadError, match="variants authors, mteb"):
        load_embedder(tiny_bert, device="cpu", pooling="mean", model_name=E5, prompt_variant="nope")
    with pytest.raises(ModelLoadError, match="no known prompt card"):
        load_embedder(tiny_bert, device="cpu", pooling="cls", prompt_variant="mteb")


def test_every_card_names_its_source_and_covers_the_benchmarks(real_tasks):
    for family, card in prompt_cards().items():
        assert card["models"] and card["default_variant"] in card["variants"], family
        for name, variant in card["variants"].items():
            assert variant["source"].strip(), (family, name)
    for hub_id in ("Qwen/Qwen3-Embedding-4B", "intfloat/multilingual-e5-large", "BAAI/bge-large-en",
                   "Alibaba-NLP/gte-Qwen2-7B-instruct", "intfloat/multilingual-e5-large-instruct"):
        assert card_for(hub_id) is not None, hub_id
    authors = PromptTable(prompt_cards()["qwen3-embedding"]["variants"]["authors"]["prompts"], "qwen3")
    assert len(real_tasks) >= 100
    for spec in real_tasks:  # every C-MTEB and MTEB(eng, v1) task has an instruction on its queries/texts
        side = "query" if spec.type in ("Retrieval", "Reranking") else "text"
        found = authors.find((spec.name, mteb_name(spec)), spec.type, side, generic=True)
        assert found is not None and found.prefix if found else False, spec.name


# ------------------------------------------------------------------------------- Qwen3-Embedding

def qwen3_mteb_loader(folder: Path):
    from mteb.models.model_implementations.qwen3_models import q3e_instruct_loader

    return q3e_instruct_loader(str(folder), revision=None, device="cpu")


def test_qwen3_mteb_variant_prompts_equal_mteb_loader_on_every_task(qwen3, real_tasks):
    """--prompt-variant mteb: our prompt of each side of every task is the one mteb 2.26's Qwen3 loader
    builds (get_task_instruction; none on documents)."""
    from mteb.types import PromptType

    ours = load_embedder(qwen3, device="cpu", model_name=QWEN3, prompt_variant="mteb")
    theirs = qwen3_mteb_loader(qwen3)
    checked = 0
    for spec in real_tasks:
        meta = mteb_metadata(spec)
        sides = ((QUERY, PromptType.query), (PASSAGE, PromptType.document)) \
            if spec.type in ("Retrieval", "Reranking") else ((TEXT, None),)
        for role, prompt_type in sides:
            expected = theirs.get_task_instruction(meta, prompt_type)
            if role == PASSAGE:  # apply_instruction_to_passages=False
                expected = ""
            assert ours.prompt_for(role, spec).prefix == expected, (spec.name, role)
            checked += 1
    assert checked >= len(real_tasks)


def test_a_task_without_an_instruction_is_refused_by_name(qwen3, registry):
    model = load_embedder(qwen3, device="cpu", model_name=QWEN3)
    with pytest.raises(ModelLoadError, match="no query prompt for task T2RerankingEn2Zh.*--prompts FILE"):
        model.encode(TEXTS, role=QUERY, task=registry.task("T2RerankingEn2Zh"))
    given = load_embedder(qwen3, device="cpu", model_name=QWEN3, prompts={"T2RerankingEn2Zh-query": ""})
    assert given.prompt_for(QUERY, registry.task("T2RerankingEn2Zh")).source == "command line"


def test_qwen3_authors_variant_is_the_default_and_differs_on_sts(qwen3, registry):
    """mteb#2907: the authors' harness puts "Retrieve semantically similar text" on every STS and
    pair-classification text, and the task's instruction on Reranking documents."""
    ours = load_embedder(qwen3, device="cpu", model_name=QWEN3)
    mteb_variant = load_embedder(qwen3, device="cpu", model_name=QWEN3, prompt_variant="mteb")
    sts, rerank = registry.task("STSB"), registry.task("T2Reranking")
    assert ours.prompt_for(TEXT, sts).prefix == "Instruct: Retrieve semantically similar text\nQuery:"
    assert mteb_variant.prompt_for(TEXT, sts).prefix == "Instruct: Retrieve semantically similar text.\nQuery:"
    assert ours.prompt_for(PASSAGE, rerank).prefix == ours.prompt_for(QUERY, rerank).prefix != ""
    assert ours.prompt_for(QUERY, sts).source == "known card qwen3-embedding, variant authors"
    reference = st.SentenceTransformer(str(qwen3), device="cpu")
    for role, task in ((TEXT, sts), (QUERY, rerank), (PASSAGE, rerank)):
        prompt = ours.prompt_for(role, task).prefix
        assert np.abs(ours.encode(TEXTS, role=role, task=task) - reference.encode(TEXTS, prompt=prompt)).max() \
            < VECTOR_TOL
    assert np.abs(ours.encode(TEXTS, role=TEXT, task=sts) - mteb_variant.encode(TEXTS, role=TEXT, task=sts)).max() \
        > 1e-3  # the two prompts really give other vectors


@pytest.fixture(scope="module")
def slices(shared, tmp_path_factory, registry):
    """STSB (both splits, first rows) in the offline layout, and qbqtc_dev as a retrieval task (mteb's
    DuRetrieval) and a reranking task (mteb's T2Reranking)."""
    from ranking_reference import read_qbqtc, reranking_rows, retrieval_tables, write_qbqtc_tasks

    folder = tmp_path_factory.mktemp("slices")
    sts = {}
    for split in ("validation", "test"):
        rows = [json.loads(line) for line in
                (shared / "data" / "cmteb" / "STSB" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]
        rows = rows[:STS_ROWS]
        (folder / "data" / "STSB").mkdir(parents=True, exist_ok=True)
        (folder / "data" / "STSB" / f"{split}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        sts[split] = {k: [r[k] for r in rows] for k in ("sentence1", "sentence2", "score")}
    path = shared / "data" / "extra" / "qbqtc_dev.jsonl"
    rerank = reranking_rows(read_qbqtc(path), only_complete=True)
    rerank = {k: v[:RERANK_QUERIES] for k, v in rerank.items()}
    tables = retrieval_tables(read_qbqtc(path, RETRIEVAL_ROWS), RETRIEVAL_QUERIES)
    cards = write_qbqtc_tasks(folder, rerank, *tables)
    for card, name in zip(cards, ("T2Reranking", "DuRetrieval")):  # mteb's names: their prompts are looked up
        card.write_text(card.read_text(encoding="utf-8") + f'[reference]\nmteb_name = "{name}"\n', encoding="utf-8")
    tasks = Registry.load(list(cards))
    return {"sts": sts, "rerank": rerank, "tables": tables, "data": folder / "data",
            "STSB": registry.task("STSB"), "Reranking": tasks.task("QbqtcReranking"),
            "Retrieval": tasks.task("QbqtcRetrieval")}


def our_main_scores(model, slices) -> dict[str, float]:
    sts = evaluate_task(slices["STSB"], model, [slices["data"]])["test"].scores["cosine_spearman"]
    rerank = evaluate_task(slices["Reranking"], model, [], RunOptions(protocol="v2"))["dev"].scores["map_at_1000"]
    retrieval = evaluate_task(slices["Retrieval"], model, [])["dev"].scores["ndcg_at_10"]
    return {"sts": sts, "rerank": rerank, "retrieval": retrieval}


def mteb_main_scores(model, slices) -> dict[str, float]:
    from mteb_reference import mteb_scores_of
    from ranking_reference import mteb2_reranking, mteb2_retrieval

    sts = mteb_scores_of(model, "STSB", slices["sts"], "test")["cosine_spearman"]
    return {"sts": sts, "rerank": mteb2_reranking(slices["rerank"], model)["map_at_1000"],
            "retrieval": mteb2_retrieval(*slices["tables"], model)["ndcg_at_10"]}


def assert_scores_equal(ours: dict[str, float], theirs: dict[str, float]) -> None:
    assert ours["sts"] == pytest.approx(theirs["sts"], abs=STS_TOL)
    assert ours["rerank"] == pytest.approx(theirs["rerank"], abs=MTEB2_ROUNDING)
    assert ours["retrieval"] == pytest.approx(theirs["retrieval"], abs=MTEB2_ROUNDING)


def test_qwen3_main_scores_equal_mteb_loader(qwen3, slices):
    """STS, retrieval and reranking main scores of --prompt-variant mteb equal mteb.evaluate with mteb
    2.26's Qwen3-Embedding loader on the same folder and data."""
    ours = our_main_scores(load_embedder(qwen3, device="cpu", model_name=QWEN3, prompt_variant="mteb"), slices)
    theirs = mteb_main_scores(qwen3_mteb_loader(qwen3), slices)
    assert_scores_equal(ours, theirs)
    authors = our_main_scores(load_embedder(qwen3, device="cpu", model_name=QWEN3), slices)
    assert authors["sts"] != pytest.approx(ours["sts"], abs=1e-4)  # the STS prompt differs (mteb#2907)


# ------------------------------------------------------------------------------- e5

def e5_mteb_loader(folder: Path):
    from mteb.models.model_implementations.e5_models import model_prompts
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper

    return SentenceTransformerEncoderWrapper(str(folder), model_prompts=model_prompts, device="cpu")


def test_e5_prompts_equal_mteb_wrapper_and_the_authors_rule(e5, real_tasks):
    from mteb.models.abs_encoder import get_prompt
    from mteb.models.model_implementations.e5_models import model_prompts
    from mteb.types import PromptType

    authors = load_embedder(e5, device="cpu", model_name=E5)
    mteb_variant = load_embedder(e5, device="cpu", model_name=E5, prompt_variant="mteb")
    for spec in real_tasks:
        meta = mteb_metadata(spec)
        if spec.type in ("Retrieval", "Reranking"):
            assert mteb_variant.prompt_for(QUERY, spec).prefix == get_prompt(model_prompts, meta, PromptType.query)
            assert mteb_variant.prompt_for(PASSAGE, spec).prefix == get_prompt(model_prompts, meta,
                                                                                PromptType.document)
            assert (authors.prompt_for(QUERY, spec).prefix, authors.prompt_for(PASSAGE, spec).prefix) == \
                ("query: ", "passage: ")
        else:
            assert mteb_variant.prompt_for(TEXT, spec).prefix == (get_prompt(model_prompts, meta, None) or "")
            assert authors.prompt_for(TEXT, spec).prefix == "query: ", spec.name
    reference = st.SentenceTransformer(str(e5), device="cpu")
    sts = next(s for s in real_tasks if s.name == "STSB")
    assert np.abs(authors.encode(TEXTS, role=TEXT, task=sts) - reference.encode(TEXTS, prompt="query: ")).max() \
        < VECTOR_TOL


def test_e5_main_scores_equal_mteb_wrapper(e5, slices):
    ours = our_main_scores(load_embedder(e5, device="cpu", model_name=E5, prompt_variant="mteb"), slices)
    assert_scores_equal(ours, mteb_main_scores(e5_mteb_loader(e5), slices))


def test_document_instruction_flag_fixes_a_bare_e5_folder(e5, registry):
    """A folder no card names: --query-instruction and --document-instruction put e5's prefixes on
    both sides, as sentence-transformers' encode_query/encode_document(prompt=...) do."""
    t2 = registry.task("T2Retrieval")
    bare = load_embedder(e5, device="cpu", model_name="my-e5", query_instruction="query: ",
                         document_instruction="passage: ")
    reference = st.SentenceTransformer(str(e5), device="cpu")
    assert np.abs(bare.encode(TEXTS, role=PASSAGE, task=t2) - reference.encode(TEXTS, prompt="passage: ")).max() \
        < VECTOR_TOL
    assert np.abs(bare.encode(TEXTS, role=QUERY, task=t2) - reference.encode(TEXTS, prompt="query: ")).max() \
        < VECTOR_TOL


# ------------------------------------------------------------------------------- sentence-transformers prompts

def test_task_keyed_st_prompts_run(tiny_bert, tmp_path, registry):
    """A folder's prompts keyed by task or type (mteb's scheme) run instead of being refused."""
    import sentence_transformers.models  # noqa: F401

    folder = tmp_path / "keyed"
    st.SentenceTransformer(modules=[st.models.Transformer(str(tiny_bert), max_seq_length=64),
                                    st.models.Pooling(32, pooling_mode="mean")],
                           prompts={"query": "q: ", "document": "", "STSB": "sts: ", "Classification": "c: "}
                           ).save(str(folder))
    model = load_embedder(folder, device="cpu")
    assert model.prompt_for(TEXT, registry.task("STSB")).prefix == "sts: "
    assert model.prompt_for(TEXT, registry.task("TNews")).prefix == "c: "
    assert model.prompt_for(QUERY, registry.task("T2Retrieval")).prefix == "q: "
    reference = st.SentenceTransformer(str(folder), device="cpu")
    assert np.abs(model.encode(TEXTS, role=TEXT, task=registry.task("STSB"))
                  - reference.encode(TEXTS, prompt_name="STSB")).max() < VECTOR_TOL


# ------------------------------------------------------------------------------- what ran is recorded

def test_result_records_prompts_and_a_changed_prompt_reruns_only_its_task(tiny_bert, tmp_path, capsys):
    """Each result file names the prompt of each side and where it came from; the configuration (the
    resume key) holds the prompt strings, so changing DemoSTSZh's prompt recomputes DemoSTSZh only;
    ``check`` calls two results made with other prompts incomparable unless --ignore prompts."""
    import cmteb_eval
    from cmteb_eval.cli.main import main

    tasks = ["DemoSTSZh", "DemoSTSEn"]
    first = cmteb_eval.evaluate(tiny_bert, tasks, output_dir=tmp_path / "a", model_name="tiny", pooling="cls",
                                prompts={"DemoSTSZh": "句子：", "STS-query": "unused: "})
    data = json.loads(next((tmp_path / "a").rglob("DemoSTSZh.json")).read_text(encoding="utf-8"))
    recorded = data["harness"]["model"]["prompts"]
    assert recorded == {"text": {"prompt": "句子：", "prompt_key": "DemoSTSZh", "prompt_source": "prompts= (Python API)"}}
    assert data["harness"]["config"]["model"]["prompts"] == {"text": {"prompt": "句子："}}  # strings only
    other = json.loads(next((tmp_path / "a").rglob("DemoSTSEn.json")).read_text(encoding="utf-8"))
    assert other["harness"]["model"]["prompts"]["text"]["prompt"] == ""
    again = cmteb_eval.evaluate(tiny_bert, tasks, output_dir=tmp_path / "a", model_name="tiny", pooling="cls",
                                prompts={"DemoSTSZh": "另一个："})
    reused = {t.spec.name: t.reused for t in again.tasks}
    assert reused == {"DemoSTSZh": False, "DemoSTSEn": True}
    assert first.main_scores()["DemoSTSZh"] != again.main_scores()["DemoSTSZh"]
    cmteb_eval.evaluate(tiny_bert, tasks, output_dir=tmp_path / "b", model_name="tiny-plain", pooling="cls")
    capsys.readouterr()
    args = ["check", "--baseline", str(tmp_path / "a" / "tiny"), "--candidate", str(tmp_path / "b" / "tiny-plain"),
            "--tolerance", "100"]
    assert main(args) != 0
    assert "DemoSTSZh: different prompts" in capsys.readouterr().err
    assert main(args + ["--ignore", "prompts"]) == 0
    assert main(["table", str(tmp_path / "a"), str(tmp_path / "b"), "--tasks", *tasks]) == 0
    assert "different prompts" in capsys.readouterr().err


def test_cache_key_holds_the_prompt_and_suffix(tiny_bert):
    model = load_embedder(tiny_bert, device="cpu", pooling="cls")
    plain = model.cache_identity(QUERY, "Q: ")
    assert plain["instruction"] == "Q: " and "suffix" not in plain
    assert model.cache_identity(QUERY, "Q: ", "\n<response>")["suffix"] == "\n<response>"


def test_api_prompts_for_a_sentence_transformer_in_memory(tiny_bert, registry):
    """prompts= goes before a SentenceTransformer's own prompts (task-keyed ones run too); an object
    whose inputs we do not build refuses it instead of ignoring it."""
    import cmteb_eval
    import sentence_transformers.models  # noqa: F401
    from cmteb_eval.models.adapters.in_memory import adapt_embedder
    from cmteb_eval.models.identity.prompts import given_table

    model = st.SentenceTransformer(modules=[st.models.Transformer(str(tiny_bert), max_seq_length=64),
                                            st.models.Pooling(32, pooling_mode="mean")],
                                   prompts={"query": "q: ", "STSB": "sts: "}, device="cpu")
    given = given_table({"T2Retrieval-query": "t2: "}, None, "p: ", "prompts= (Python API)")
    ours = adapt_embedder(model, "st", given=given)
    t2, sts = registry.task("T2Retrieval"), registry.task("STSB")
    assert ours.instruction_for(QUERY, t2) == "t2: " and ours.instruction_for(PASSAGE, t2) == "p: "
    assert ours.instruction_for(TEXT, sts) == "sts: " and ours.instruction_for(QUERY, registry.task("DuRetrieval")) \
        == "q: "
    assert np.abs(ours.encode(TEXTS, role=TEXT, task=sts) - model.encode(TEXTS, prompt="sts: ")).max() < VECTOR_TOL
    assert ours.describe(sts)["prompts"]["text"]["prompt_key"] == "STSB"

    class Plain:
        def encode(self, texts):
            return np.ones((len(texts), 4), dtype=np.float32)

    with pytest.raises(UserError, match="cannot be applied"):
        cmteb_eval.evaluate(Plain(), ["DemoSTSZh"], prompts={"STS": "x: "})


# ------------------------------------------------------------------------------- bge-en-icl, bge-multilingual-gemma2

def test_bge_llm_prompt_strings_equal_flagembedding(registry):
    """The strings FlagEmbedding 1.4.2 puts around a query: FlagLLMModel's query_instruction_format, and
    FlagICLModel's examples prefix (set_examples, on the published examples) and '\\n<response>' suffix,
    with FlagEmbedding's MTEB runner's instruction of the task."""
    from types import SimpleNamespace

    from FlagEmbedding.abc.inference.AbsEmbedder import AbsEmbedder
    from FlagEmbedding.inference.embedder.decoder_only.icl import ICLLLMEmbedder
    from cmteb_eval.models.identity.prompts import PromptResolver, card_table

    query = "how do mad cow cases spread?"
    for family, variant, task_name, role in (("bge-multilingual-gemma2", "authors", "T2Retrieval", QUERY),
                                             ("bge-en-icl", "authors", "STSBenchmark", TEXT),
                                             ("bge-en-icl", "authors-icl", "STSBenchmark", TEXT),
                                             ("bge-en-icl", "authors-icl", "ArguAna", QUERY)):
        table = card_table(family, prompt_cards()[family], variant)
        spec = registry.task(task_name)
        ours = PromptResolver((table,)).prompt(spec, role)
        instruction = table.entries.get(f"{task_name}-query", table.entries.get(task_name))
        if family == "bge-multilingual-gemma2":
            assert ours.apply(query) == AbsEmbedder.get_detailed_instruct("<instruct>{}\n<query>{}", instruction, query)
            continue
        stub = SimpleNamespace(examples_for_task=None, examples_instruction_format="<instruct>{}\n<query>{}\n<response>{}",
                               query_instruction_for_retrieval=instruction,
                               get_detailed_example=ICLLLMEmbedder.get_detailed_example)
        ICLLLMEmbedder.set_examples(stub, table.examples.get(task_name))
        theirs = stub.prefix + AbsEmbedder.get_detailed_instruct("<instruct>{}\n<query>{}", instruction, query) \
            + "\n<response>"
        assert ours.apply(query) == theirs, (variant, task_name)
        assert (stub.prefix != "") == (variant == "authors-icl")
    assert PromptResolver((card_table("bge-en-icl", prompt_cards()["bge-en-icl"], None),)).prompt(
        registry.task("ArguAna"), PASSAGE).prefix == ""  # encode_corpus: no instruction on documents
