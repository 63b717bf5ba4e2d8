"""Decoder-embedder families (Qwen3-Embedding, gte-Qwen2-instruct, bge-multilingual-gemma2, bge-en-icl):
recognising a model as one, and the mechanics its authors run it with, read from ``families.toml``
(each family names its source: repository @ commit : path).

A decoder model that neither a family, a known card, its sentence-transformers files nor the command
line describes is refused by ``undescribed_decoder``, naming the pooling, padding side and prompts it
needs: a decoder's vector is its last token's, and running it as a BERT (CLS or mean pooling, no
instruction) gives a number that looks like a score and is not one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .cards import read_cards
from ...errors import ModelLoadError

# model_type values of decoder-only transformers (their AutoModel is a causal stack)
DECODER_TYPES = frozenset({"qwen2", "qwen3", "qwen2_moe", "qwen3_moe", "gemma", "gemma2", "gemma3", "gemma3_text",
                           "mistral", "mixtral", "llama", "phi", "phi3", "gpt2", "gpt_neox", "falcon", "olmo",
                           "olmo2", "starcoder2", "stablelm", "internlm2", "minicpm", "glm", "deepseek_v2"})


@dataclass(frozen=True)
class Family:
    name: str
    pooling: str
    padding_side: str  # "left", "right" or "tokenizer" (the folder's tokenizer_config decides)
    eos: str  # the token every text ends with ("" none)
    normalize: bool
    max_length: int
    gpu_dtype: str
    query_instruction: str
    remote_code: str
    runs: str  # "folder" or "api-object"
    source: str
    prompt_card: str = ""  # the prompt_cards.toml card of its per-task prompts
    matched_by: str = ""

    def settings(self) -> dict[str, Any]:
        """The EncoderSettings fields this family sets."""
        return {"pooling": self.pooling, "normalize": self.normalize, "max_length": self.max_length,
                "query_instruction": self.query_instruction, "instruction_source": f"family {self.name}: {self.source}",
                "family": self.name, "eos": self.eos, "padding_side": self.padding_side}


def families() -> dict[str, dict[str, Any]]:
    return read_cards("families.toml")


def _family(name: str, matched_by: str) -> Family:
    fields = {k: v for k, v in families()[name].items() if k not in ("names", "model_types")}
    return Family(name=name, matched_by=matched_by, **fields)


def model_type_of(config: Any) -> str | None:
    value = getattr(config, "model_type", None)
    return value if isinstance(value, str) else None


def is_decoder(config: Any) -> bool:
    """A decoder-only model: its model_type is a causal stack, or its architectures name a causal LM."""
    architectures = getattr(config, "architectures", None) or []
    return model_type_of(config) in DECODER_TYPES or any(str(a).endswith("ForCausalLM") for a in architectures)


def find_family(names: tuple[str | None, ...], config: Any, st_pooling: str | None = None) -> Family | None:
    """The family of a model: by a name (hub id, --model-name, folder name) that contains one of a family's
    names, its config's model_type being the family's; else by a family's model_type with the
    sentence-transformers lasttoken Pooling these families ship."""
    model_type = model_type_of(config)
    for family, fields in families().items():
        if model_type not in fields["model_types"]:
            continue
        for name in filter(None, names):
            if any(pattern in str(name).lower() for pattern in fields["names"]):
                return _family(family, f"name {name!r} and model_type {model_type!r}")
    if st_pooling == "lasttoken":
        for family, fields in families().items():
            if model_type in fields["model_types"]:
                return _family(family, f"model_type {model_type!r} with a sentence-transformers lasttoken Pooling")
    return None


def family_list() -> list[str]:
    """One line per family, for ``run --help`` and the docs."""
    return [f"{name} ({', '.join(fields['model_types'])}; {fields['pooling']} pooling, "
            f"{'EOS ' + fields['eos'] if fields['eos'] else 'no EOS added'}"
            f"{'' if fields['runs'] == 'folder' else '; as a FlagICLModel object in the Python API'})"
            for name, fields in families().items()]


def refuse_api_only(model: str, family: Family) -> None:
    """A family whose recipe cmteb-eval does not run from a folder is refused, naming the way it runs."""
    if family.runs == "folder":
        return
    raise ModelLoadError(
        f"Model {model!r} is a {family.name} model ({family.matched_by}): its queries are built as {family.source}; "
        f"cmteb-eval does not rebuild that from a folder, and running the folder with a plain prefix would give "
        "another number.",
        "Evaluate it through the Python API with the reference object: "
        "cmteb_eval.evaluate(FlagICLModel(path, query_instruction_for_retrieval=..., examples_for_task=...), "
        "tasks=[...]).")


def undescribed_decoder(model: str, config: Any) -> ModelLoadError:
    """The refusal for a decoder model no family, card, sentence-transformers file or flag describes."""
    known = ", ".join(families())
    architectures = ", ".join(getattr(config, "architectures", None) or [])
    return ModelLoadError(
        f"Model {model!r} is a decoder ({model_type_of(config)}, {architectures})"
        f" that no known family ({known}), model card, sentence-transformers file or flag describes. A decoder "
        f"embedder needs (1) its pooling: the last token's hidden state (lasttoken), (2) its padding side: left, "
        f"so every row ends on its last token (or right with the last real token picked; and whether an EOS "
        f"token must end each text), and (3) its prompts: the instruction its authors put before queries (e.g. "
        f"'Instruct: <task>\\nQuery: '), per task.",
        "Pass --pooling lasttoken and --query-instruction with the authors' instruction (and --max-length), "
        "or --model-name with the hub id of a known family, or add sentence-transformers files (modules.json, "
        "a lasttoken Pooling, prompts) to the folder.")
