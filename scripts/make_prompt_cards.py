"""Writes cmteb_eval/models/identity/prompt_cards.toml: the known models' prompt tables, as data.

Each variant names its source. The per-task instructions of the ``mteb`` variants are read from the
installed mteb (2.26.24): its model implementation's template and each task's metadata prompt (or
its abstask's prompt), as ``InstructSentenceTransformerModel.get_instruction`` picks them. The
``authors`` variant of Qwen3-Embedding is its evaluation harness's table (QWEN3_AUTHORS below) with
that harness's rules (qwen3_embedding_model.py): STS and PairClassification always take "Retrieve
semantically similar text", Retrieval documents none (unless the table gives a task both sides),
Reranking documents the task's instruction, a task missing from the table mteb's metadata prompt.

Run: PYTHONPATH=. python scripts/make_prompt_cards.py  (needs mteb installed; rerun when mteb changes)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cmteb_eval.tasks.aliases import mteb_name
from cmteb_eval.tasks.registry import Registry

OUT = Path(__file__).resolve().parents[1] / "cmteb_eval" / "models" / "identity" / "prompt_cards.toml"
QWEN_REPO = "QwenLM/Qwen3-Embedding @ f4ad0c434c0e3534494e26a4a6bdfd8ab1431968"
STS_RULE = "Retrieve semantically similar text"
# QwenLM/Qwen3-Embedding evaluation/task_prompts.json is a git-LFS object (sha256 c9493103...) absent from
# the snapshot; its entries for our tasks as copied in HKUST-KnowComp/Reasoning-Embedding @
# 761051bc8d9450a20bee0dddfb3c28c714c9d23a : evaluation/task_prompts.json (a copy that adds a "default" key
# and entries after "ATEC"). A dict value gives both sides (mteb 1.x's prompt types query/passage).
QWEN3_AUTHORS = {
    "AmazonCounterfactualClassification": "Classify a given Amazon customer review text as either counterfactual or not-counterfactual",
    "AmazonPolarityClassification": "Classify Amazon reviews into positive or negative sentiment",
    "AmazonReviewsClassification": "Classify the given Amazon review into its appropriate rating category",
    "Banking77Classification": "Given a online banking query, find the corresponding intents",
    "EmotionClassification": "Classify the emotion expressed in the given Twitter message into one of the six emotions: anger, fear, joy, love, sadness, and surprise",
    "ImdbClassification": "Classify the sentiment expressed in the given movie review text from the IMDB dataset",
    "MassiveIntentClassification": "Given a user utterance as query, find the user intents",
    "MassiveScenarioClassification": "Given a user utterance as query, find the user scenarios",
    "MTOPDomainClassification": "Classify the intent domain of the given utterance in task-oriented conversation",
    "MTOPIntentClassification": "Classify the intent of the given utterance in task-oriented conversation",
    "ToxicConversationsClassification": "Classify the given comments as either toxic or not toxic",
    "TweetSentimentExtractionClassification": "Classify the sentiment of a given tweet as either positive, negative, or neutral",
    "TNews": "Classify the fine-grained category of the given news title",
    "IFlyTek": "Given an App description text, find the appropriate fine-grained category",
    "MultilingualSentiment": "Classify sentiment of the customer review into positive, neutral, or negative",
    "JDReview": "Classify the customer review for iPhone on e-commerce platform into positive or negative",
    "OnlineShopping": "Classify the customer review for online shopping into positive or negative",
    "Waimai": "Classify the customer review from a food takeaway platform into positive or negative",
    "ArxivClusteringP2P": "Identify the main and secondary category of Arxiv papers based on the titles and abstracts",
    "ArxivClusteringS2S": "Identify the main and secondary category of Arxiv papers based on the titles",
    "BiorxivClusteringS2S": "Identify the main category of Biorxiv papers based on the titles",
    "MedrxivClusteringS2S": "Identify the main category of Medrxiv papers based on the titles",
    "RedditClustering": "Identify the topic or theme of Reddit posts based on the titles",
    "RedditClusteringP2P": "Identify the topic or theme of Reddit posts based on the titles and posts",
    "StackExchangeClusteringP2P": "Identify the topic or theme of StackExchange posts based on the given paragraphs",
    "TwentyNewsgroupsClustering": "Identify the topic or theme of the given news articles",
    "CLSClusteringS2S": "Identify the main category of scholar papers based on the titles",
    "ThuNewsClusteringS2S": "Identify the topic or theme of the given news articles based on the titles",
    "ThuNewsClusteringP2P": "Identify the topic or theme of the given news articles based on the titles and contents",
    "AskUbuntuDupQuestions": "Retrieve duplicate questions from AskUbuntu forum",
    "MindSmallReranking": "Retrieve relevant news articles based on user browsing history",
    "SciDocsRR": "Given a title of a scientific paper, retrieve the titles of other relevant papers",
    "StackOverflowDupQuestions": "Retrieve duplicate questions from StackOverflow forum",
    "T2Reranking": "Given a Chinese search query, retrieve web passages that answer the question",
    "MmarcoReranking": "Given a Chinese search query, retrieve web passages that answer the question",
    "CMedQAv1": "Given a Chinese community medical question, retrieve replies that best answer the question",
    "CMedQAv2": "Given a Chinese community medical question, retrieve replies that best answer the question",
    "ArguAna": {"query": "Given a claim, find documents that refute the claim",
                "passage": "Given a claim, find documents that refute the claim"},
    "ClimateFEVER": "Given a claim about climate change, retrieve documents that support or refute the claim",
    "DBPedia": "Given a query, retrieve relevant entity descriptions from DBPedia",
    "FEVER": "Given a claim, retrieve documents that support or refute the claim",
    "FiQA2018": "Given a financial question, retrieve user replies that best answer the question",
    "HotpotQA": "Given a multi-hop question, retrieve documents that can help answer the question",
    "MSMARCO": "Given a web search query, retrieve relevant passages that answer the query",
    "NFCorpus": "Given a question, retrieve relevant documents that best answer the question",
    "NQ": "Given a question, retrieve Wikipedia passages that answer the question",
    "QuoraRetrieval": "Given a question, retrieve questions that are semantically equivalent to the given question",
    "SCIDOCS": "Given a scientific paper title, retrieve paper abstracts that are cited by the given paper",
    "SciFact": "Given a scientific claim, retrieve documents that support or refute the claim",
    "Touche2020": "Given a question, retrieve detailed and persuasive arguments that answer the question",
    "TRECCOVID": "Given a query on COVID-19, retrieve documents that answer the query",
    "T2Retrieval": "Given a Chinese search query, retrieve web passages that answer the question",
    "MMarcoRetrieval": "Given a web search query, retrieve relevant passages that answer the query",
    "DuRetrieval": "Given a Chinese search query, retrieve web passages that answer the question",
    "CovidRetrieval": "Given a question on COVID-19, retrieve news articles that answer the question",
    "CmedqaRetrieval": "Given a Chinese community medical question, retrieve replies that best answer the question",
    "EcomRetrieval": "Given a user query from an e-commerce website, retrieve description sentences of relevant products",
    "MedicalRetrieval": "Given a medical question, retrieve user replies that best answer the question",
    "VideoRetrieval": "Given a video search query, retrieve the titles of relevant videos",
    "CQADupstackGamingRetrieval": {
        "query": "Given a question, retrieve detailed question descriptions from Stackexchange that are duplicates to the given question",
        "passage": "Given a question, retrieve detailed question descriptions from Stackexchange that are duplicates to the given question"},
    "CQADupstackUnixRetrieval": {
        "query": "Given a question, retrieve detailed question descriptions from Stackexchange that are duplicates to the given question",
        "passage": "Given a question, retrieve detailed question descriptions from Stackexchange that are duplicates to the given question"},
    "SummEval": "Retrieve semantically similar text",
}
ASYMMETRIC = ("Retrieval", "Reranking")
EXAMPLES = OUT.with_name("prompt_examples.toml")
EXAMPLE_LINES: list[str] = []
MARKER = "# ---- below: generated by scripts/make_prompt_cards.py"


def mteb_instruction(name: str, side: str | None) -> str | None:
    """mteb's instruction for a task (its metadata prompt, else its abstask's), as
    AbsEncoder.get_instruction picks it when the model has no prompts_dict; None: not an mteb task."""
    import mteb
    from mteb.abstasks.abstask import get_abstask_prompt

    try:
        task = mteb.get_task(name)
    except (KeyError, ValueError):
        return None
    prompt = task.metadata.prompt
    if isinstance(prompt, dict):
        prompt = prompt.get(side) if side else next(iter(prompt.values()), "")
    return prompt or get_abstask_prompt(name) or ""


def specs():
    return [s for s in Registry.load().tasks.values() if not s.name.startswith("Demo")]


def mteb_variant(template: str, source: str) -> dict:
    """Instruction on queries and on every text of symmetric tasks, none on documents."""
    prompts = {"Retrieval-document": "", "Reranking-document": ""}
    for spec in specs():
        side = "query" if spec.type in ASYMMETRIC else None
        found = mteb_instruction(mteb_name(spec), side)
        if found is None:
            continue
        prompts[f"{mteb_name(spec)}-query" if side else mteb_name(spec)] = found
    return {"source": source, "query_template": template, "document_template": "{instruction}{text}",
            "required": ["query", "text"], "prompts": prompts}


def qwen3_authors() -> dict:
    prompts = {"STS": STS_RULE, "PairClassification": STS_RULE, "Retrieval-document": "",
               "Retrieval-query": "Retrieval relevant passage for the given query."}
    for spec in specs():
        name = mteb_name(spec)
        value = QWEN3_AUTHORS.get(spec.name, QWEN3_AUTHORS.get(name))
        if spec.type in ("STS", "PairClassification"):
            continue  # the harness's rule, whatever the table says
        if value is None:  # the harness falls back on mteb's metadata prompt
            value = mteb_instruction(name, "query" if spec.type in ASYMMETRIC else None)
            if value is None:
                continue
        key = spec.name if spec.name in QWEN3_AUTHORS else name
        if isinstance(value, dict):
            prompts[f"{key}-query"] = value["query"]
            prompts[f"{key}-document"] = value["passage"]
        elif spec.type == "Retrieval":
            prompts[f"{key}-query"] = value
        else:  # Reranking: both sides (the harness zeroes documents of Retrieval only)
            prompts[key] = value
    return {"source": f"{QWEN_REPO} : evaluation/qwen3_embedding_model.py (Qwen3Embedding.get_instruction, "
                      f"format_instruction), evaluation/run_mteb.sh (template 'Instruct: {{}}\\nQuery:'), "
                      f"evaluation/task_prompts.json (text as copied in HKUST-KnowComp/Reasoning-Embedding @ "
                      f"761051bc8d9450a20bee0dddfb3c28c714c9d23a : evaluation/task_prompts.json)",
            "query_template": "Instruct: {instruction}\nQuery:{text}",
            "document_template": "Instruct: {instruction}\nQuery:{text}", "required": ["query", "text"],
            "prompts": prompts}


FLAG_REPO = os.environ.get("FLAG_REPO", "/work/.mirror/FlagOpen+FlagEmbedding/repo")  # a git dir (fetch)
FLAG_COMMIT = "7ed43d67ec03fbe5c31c0992dbfa941fb1860549"
PAIR_COLUMNS = (("query", "pos"), ("query", "positive"), ("sent1", "sent2"), ("sum1", "sum2"))


def flag_instruction(spec) -> tuple[str, str] | None:
    """(key, instruction) of FlagEmbedding 1.4.2's MTEB runner for our task (its task name or mteb's)."""
    import importlib.util

    import FlagEmbedding  # its evaluation package imports faiss: read prompts.py alone (it imports only typing)

    path = Path(FlagEmbedding.__file__).parent / "evaluation" / "mteb" / "prompts.py"
    spec_ = importlib.util.spec_from_file_location("flag_mteb_prompts", path)
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
    get_task_def_by_task_name_and_type = module.get_task_def_by_task_name_and_type
    for name in dict.fromkeys((spec.name, mteb_name(spec))):
        try:
            return name, get_task_def_by_task_name_and_type(name, spec.type)
        except (KeyError, ValueError):
            continue
    return None


def flag_variant(template: str, source: str) -> dict:
    """FlagEmbedding's MTEB runner: the task's instruction on queries (encode_queries) and, through
    encode (= encode_queries), on every text of the other types; documents (encode_corpus) take none."""
    prompts = {"Retrieval-document": "", "Reranking-document": ""}
    for spec in specs():
        found = flag_instruction(spec)
        if found is None:
            continue
        key, instruction = found
        prompts[f"{key}-query" if spec.type in ASYMMETRIC else key] = instruction
    return {"source": source, "query_template": template, "document_template": "{instruction}{text}",
            "required": ["query", "text"], "prompts": prompts}


def flag_examples() -> dict[str, list[dict[str, str]]]:
    """The published few-shot examples (FlagEmbedding/evaluation/mteb/examples/<Task>.csv) of our tasks
    whose file holds (query, answer) pairs: first column the query, second the response."""
    import csv
    import io
    import subprocess

    def show(path: str) -> str | None:
        done = subprocess.run(["git", "--git-dir", FLAG_REPO, "show", f"{FLAG_COMMIT}:{path}"],
                              capture_output=True, text=True)
        return done.stdout if done.returncode == 0 else None

    out = {}
    for spec in specs():
        stem = "CQADupstackRetrieval" if spec.name.startswith("CQADupstack") else mteb_name(spec)
        text = show(f"FlagEmbedding/evaluation/mteb/examples/{stem}.csv")
        if text is None:
            continue
        rows = list(csv.reader(io.StringIO(text)))
        if tuple(rows[0]) not in PAIR_COLUMNS:
            continue
        out[mteb_name(spec)] = [{"query": q, "response": r} for q, r in rows[1:]]
    return out


def toml_value(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def write_variant(lines: list[str], family: str, name: str, variant: dict) -> None:
    lines.append(f"\n[{family}.variants.{name}]")
    for key in ("source", "note", "query_template", "document_template", "required"):
        if key in variant:
            lines.append(f"{key} = {toml_value(variant[key])}")
    lines.append(f"\n[{family}.variants.{name}.prompts]")
    for key, value in variant["prompts"].items():
        lines.append(f"{toml_value(key)} = {toml_value(value)}")
    for task, shots in variant.get("examples", {}).items():  # in a file of their own (their size)
        for shot in shots:
            EXAMPLE_LINES.append(f"\n[[{toml_value(family)}.{toml_value(name)}.{toml_value(task)}]]")
            EXAMPLE_LINES.extend(f"{key} = {toml_value(value)}" for key, value in shot.items())


def main() -> None:
    import mteb

    version = mteb.__version__
    manual = OUT.read_text(encoding="utf-8").split(MARKER)[0]  # the hand-written cards above the marker
    lines = [manual.rstrip(), "", f"{MARKER} with mteb {version} ----"]
    lines += ["\n[qwen3-embedding]",
              'models = ["Qwen/Qwen3-Embedding-0.6B", "Qwen/Qwen3-Embedding-4B", "Qwen/Qwen3-Embedding-8B"]',
              'default_variant = "authors"  # the published MTEB/C-MTEB numbers come from the authors\' harness']
    write_variant(lines, "qwen3-embedding", "authors", qwen3_authors())
    write_variant(lines, "qwen3-embedding", "mteb", mteb_variant(
        "Instruct: {instruction}\nQuery:{text}",
        f"mteb {version} : mteb/models/model_implementations/qwen3_models.py (instruction_template, "
        f"apply_instruction_to_passages=False; each task's metadata prompt)"))
    lines += ["\n[gte-qwen2-instruct]",
              'models = ["Alibaba-NLP/gte-Qwen2-1.5B-instruct", "Alibaba-NLP/gte-Qwen2-7B-instruct"]',
              'default_variant = "mteb"']
    write_variant(lines, "gte-qwen2-instruct", "mteb", mteb_variant(
        "Instruct: {instruction}\nQuery: {text}",
        f"mteb {version} : mteb/models/model_implementations/gte_models.py (instruction_template, "
        f"apply_instruction_to_passages=False; each task's metadata prompt)"))
    lines += ["\n[multilingual-e5-large-instruct]", 'models = ["intfloat/multilingual-e5-large-instruct"]',
              'default_variant = "mteb"']
    write_variant(lines, "multilingual-e5-large-instruct", "mteb", mteb_variant(
        "Instruct: {instruction}\nQuery: {text}",
        f"mteb {version} : mteb/models/model_implementations/e5_instruct.py (E5_INSTRUCTION, "
        f"apply_instruction_to_passages=False; each task's metadata prompt)"))
    flag_source = ("FlagEmbedding 1.4.2 (PyPI) : FlagEmbedding/evaluation/mteb/prompts.py "
                   "(get_task_def_by_task_name_and_type), runner.py and searcher.py (encode_queries on queries and, "
                   "via encode, on every other text; encode_corpus on documents), {model} (query_instruction_format)")
    mteb_none = {"source": f"mteb {version} : mteb/models/model_implementations/bge_models.py (a "
                           f"SentenceTransformerEncoderWrapper without model_prompts: the folder's own "
                           f"sentence-transformers prompts, if any)", "prompts": {}}
    lines += ["\n[bge-multilingual-gemma2]", 'models = ["BAAI/bge-multilingual-gemma2"]',
              'default_variant = "authors"  # the published C-MTEB/MTEB numbers come from FlagEmbedding\'s runner']
    write_variant(lines, "bge-multilingual-gemma2", "authors", flag_variant(
        "<instruct>{instruction}\n<query>{text}",
        flag_source.format(model="inference/embedder/decoder_only/base.py BaseLLMEmbedder")))
    write_variant(lines, "bge-multilingual-gemma2", "mteb", mteb_none)
    lines += ["\n[bge-en-icl]", 'models = ["BAAI/bge-en-icl"]', 'default_variant = "authors"']
    zero_shot = flag_variant("<instruct>{instruction}\n<query>{text}\n<response>",
                             flag_source.format(model="inference/embedder/decoder_only/icl.py ICLLLMEmbedder "
                                                      "(query_instruction_format and suffix '\\n<response>')"))
    write_variant(lines, "bge-en-icl", "authors", zero_shot)
    few_shot = dict(zero_shot, source=zero_shot["source"] + f"; examples: FlagOpen/FlagEmbedding @ {FLAG_COMMIT} : "
                    f"FlagEmbedding/evaluation/mteb/examples/<Task>.csv, those of (query, answer) pairs, first column "
                    f"the query and second the response (our reading: the runner loads <Task>.json and never "
                    f"passes them on)", examples=flag_examples())
    write_variant(lines, "bge-en-icl", "authors-icl", few_shot)
    write_variant(lines, "bge-en-icl", "mteb", mteb_none)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    EXAMPLES.write_text(f"# In-context examples of the prompt cards' variants (prompt_cards.toml): family.variant.task,\n"
                        f"# each example a query and a response; generated by scripts/make_prompt_cards.py.\n"
                        + "\n".join(EXAMPLE_LINES) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
