"""Which prompt each text of a task gets: mteb's key scheme over sources in order.

A *prompt table* maps keys to prompts, in mteb's key scheme; for one side of one task the most
specific key wins:

    <Task>-query, <Task>-document, <Task>, <Type>-query, <Type>-document, <Type>, query, document

(``<Task>`` is our card's name or mteb's name for it). The sides: ``query`` and ``document`` for
Retrieval and Reranking, ``text`` for both sides of STS and PairClassification and the texts of
Classification, Clustering and Summarization, which take only the ``<Task>`` and ``<Type>`` keys,
as mteb encodes them with no prompt type. The generic ``query`` key goes on queries of tasks whose
card says they take the model's instruction (the task card's default, ``query_instruction``).

A value is the prompt put before the text, or a template with ``{text}`` (what comes after it is a
suffix: bge-en-icl's ``\\n<response>``). A table may carry a ``query_template`` /
``document_template`` with ``{instruction}`` and ``{text}``: its values are then instructions
formatted into it (Qwen3-Embedding's ``Instruct: {instruction}\\nQuery:{text}``), and an empty
instruction is no prompt at all, as in the authors' and mteb's code.

Sources, first match wins: the command line (``--prompts FILE``, ``--query-instruction``,
``--document-instruction``), the Python API (``prompts=``), the known model card
(``prompt_cards.toml``, one of its variants), the folder's sentence-transformers prompts.
An empty value is an explicit "no prompt" and ends the search.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .cards import read_cards
from ...errors import ModelLoadError, UserError
from ...tasks.aliases import mteb_name
from ..protocol import PASSAGE, QUERY

SIDES = ("query", "document", "text")
GENERIC_KEYS = ("query", "document")
TEMPLATE_KEYS = ("query_template", "document_template")
DEFAULT_VARIANT = ""  # the card's own default_variant


@dataclass(frozen=True)
class Prompt:
    """A resolved prompt: the text put before (and after) each text, the key that chose it and where
    the table came from."""

    prefix: str = ""
    suffix: str = ""
    key: str = ""
    source: str = ""

    def apply(self, text: str) -> str:
        return f"{self.prefix}{text}{self.suffix}"

    def __bool__(self) -> bool:
        return bool(self.prefix or self.suffix)

    def recorded(self) -> dict[str, str]:
        out = {"prompt": self.prefix}
        if self.suffix:
            out["suffix"] = self.suffix
        out["prompt_key"] = self.key
        out["prompt_source"] = self.source
        return out


NO_PROMPT = Prompt(source="no source has a prompt for this side")


@dataclass(frozen=True)
class PromptTable:
    """One source's prompts in mteb's key scheme (values as given), with its templates."""

    entries: Mapping[str, str]
    source: str  # a short name, which each prompt records
    templates: Mapping[str, str] = field(default_factory=dict)  # query_template / document_template
    text_default: str = ""  # a sentence-transformers folder's default prompt, for texts no key names
    origin: str = ""  # where the table's data come from in full (repository @ commit : path), when not ``source``
    required: tuple[str, ...] = ()  # sides every task must find a key for (a card of per-task instructions)
    # in-context examples per task ({query, response}), put before the prompt as FlagICLModel.set_examples
    # builds them: each example in ``examples_template`` with the task's instruction, joined and followed by "\n\n"
    examples: Mapping[str, list] = field(default_factory=dict)
    examples_template: str = "<instruct>{instruction}\n<query>{query}\n<response>{response}"

    def find(self, names: tuple[str, ...], task_type: str | None, side: str,
             generic: bool) -> Prompt | None:
        """The prompt of the most specific key for ``side``, or None when no key matches."""
        keys = []
        sided = side if side != "text" else None
        for name in names:
            if sided:
                keys.append(f"{name}-{sided}")
            keys.append(name)
        if task_type:
            if sided:
                keys.append(f"{task_type}-{sided}")
            keys.append(task_type)
        if sided and generic:
            keys.append(sided)
        for key in keys:
            if key in self.entries:
                return self._render(self.entries[key], key, side, names)
        if side == "text" and self.text_default:
            return Prompt(self.text_default, "", "default_prompt_name", self.source)
        return None

    def _render(self, value: str, key: str, side: str, names: tuple[str, ...] = ()) -> Prompt:
        if not value:
            return Prompt("", "", key, self.source)
        template = self.templates.get("document_template" if side == "document" else "query_template")
        text = template.replace("{instruction}", value) if template else value
        prefix, found, suffix = text.partition("{text}")
        shots = next((self.examples[n] for n in names if n in self.examples), None) if side != "document" else None
        if shots:
            prefix = "\n\n".join(self.examples_template.format(instruction=shot.get("instruct", value),
                                                                 query=shot.get("query", ""),
                                                                 response=shot.get("response", ""))
                                 for shot in shots) + "\n\n" + prefix
        return Prompt(prefix, suffix if found else "", key, self.source)


def check_table(entries: Any, where: str) -> tuple[dict[str, str], dict[str, str]]:
    """(prompts, templates) of a table read from a file or given to the API; a clear error otherwise."""
    if not isinstance(entries, Mapping):
        raise UserError(f"{where}: a prompt table must map keys to prompts (got {type(entries).__name__}).",
                        "Write keys such as 'STSB', 'Retrieval-query', 'query', 'document' with string values.")
    prompts, templates = {}, {}
    for key, value in entries.items():
        if not isinstance(value, str):
            raise UserError(f"{where}: the prompt of key {key!r} is {type(value).__name__}, not a string.",
                            "Give each key one string (\"\" for no prompt).")
        if key in TEMPLATE_KEYS:
            if "{text}" not in value:
                raise UserError(f"{where}: {key} {value!r} has no '{{text}}'.",
                                "Write the template with {instruction} and {text}, e.g. "
                                "'Instruct: {instruction}\\nQuery:{text}'.")
            templates[key] = value
        elif value.count("{text}") > 1:
            raise UserError(f"{where}: the prompt of key {key!r} holds '{{text}}' more than once.",
                            "A template wraps the text once: 'prefix{text}suffix'.")
        else:
            prompts[str(key)] = value
    return prompts, templates


def read_prompt_file(path: str | Path) -> dict[str, str]:
    """A ``--prompts`` file: TOML or JSON, one table in mteb's key scheme."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--prompts {path}: cannot be read ({exc}).", "Pass a TOML or JSON file of prompts.") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"--prompts {path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'} ({exc}).",
                        "Write one table of key = \"prompt\" lines (TOML) or one JSON object.") from None
    check_table(data, f"--prompts {path}")
    return data


def given_table(prompts: Mapping[str, str] | str | Path | None, query_instruction: str | None,
                document_instruction: str | None, source: str) -> PromptTable | None:
    """The user's table: a file or mapping of prompts, with ``--query-instruction`` and
    ``--document-instruction`` as its ``query`` and ``document`` keys."""
    entries: dict[str, str] = {}
    if isinstance(prompts, (str, Path)):
        source = f"--prompts {prompts}" if source == "command line" else f"{source} {prompts}"
        entries = dict(read_prompt_file(prompts))
    elif prompts is not None:
        entries = dict(prompts)
    found, templates = check_table(entries, source)
    flags = []
    if query_instruction is not None:
        found["query"] = query_instruction
        flags.append("query")
    if document_instruction is not None:
        found["document"] = document_instruction
        flags.append("document")
    if not found and not templates:
        return None
    return PromptTable(found, source, templates)


# ---------------------------------------------------------------------------------- known cards

def prompt_cards() -> dict[str, dict[str, Any]]:
    return read_cards("prompt_cards.toml")


def prompt_examples() -> dict[str, dict[str, Any]]:
    """In-context examples by family, variant and task (``prompt_examples.toml``)."""
    return read_cards("prompt_examples.toml")


def known_prompt_families() -> list[str]:
    """'family (hub ids)' of every known prompt card, for --help."""
    return [f"{family} ({', '.join(m.split('/')[-1] for m in card.get('models', []))}; variants "
            f"{'/'.join(card.get('variants', {}))})" for family, card in prompt_cards().items()]


def card_for(hub_id: str | None, *names: str | None) -> tuple[str, dict[str, Any]] | None:
    """The prompt card that lists ``hub_id`` or one of ``names`` (a folder's own name matches the
    last part of a hub id)."""
    wanted = [n for n in (hub_id, *names) if n]
    for family, card in prompt_cards().items():
        models = [m.lower() for m in card.get("models", [])]
        shorts = [m.split("/")[-1] for m in models]
        for name in wanted:
            name = str(name).rstrip("/").lower()
            if name in models or name.split("/")[-1] in shorts:
                return family, card
    return None


def card_table(family: str, card: dict[str, Any], variant: str | None) -> PromptTable:
    """The prompt table of a known card's variant (its default_variant unless named)."""
    variants = card.get("variants", {})
    chosen = variant or card.get("default_variant") or next(iter(variants))
    if chosen not in variants:
        raise ModelLoadError(f"--prompt-variant {chosen!r}: the {family} card has the variants "
                             f"{', '.join(variants)}.", f"Pass --prompt-variant {' or '.join(variants)}.")
    data = variants[chosen]
    entries, templates = check_table({k: v for k, v in data.items()
                                      if k not in ("source", "note", "prompts", "required", "examples",
                                                   "examples_template")}
                                     | dict(data.get("prompts", {})), f"prompt card {family}")
    label = f"known card {family}, variant {chosen}"
    extra = {"examples_template": data["examples_template"]} if "examples_template" in data else {}
    return PromptTable(entries, label, templates, origin=f"{label}: {data['source']}",
                       required=tuple(data.get("required", ())),
                       examples=dict(prompt_examples().get(family, {}).get(chosen, {})), **extra)


# ---------------------------------------------------------------------------------- resolving

@dataclass(frozen=True)
class PromptResolver:
    """The sources in order; ``prompt(task, role)`` is the first match."""

    tables: tuple[PromptTable, ...] = ()

    def prompt(self, task: Any, role: str) -> Prompt:
        side = "query" if role == QUERY else "document" if role == PASSAGE else "text"
        if task is None:  # no task: only the generic keys speak
            names, task_type, generic = (), None, True
        else:
            names = tuple(dict.fromkeys(n for n in (getattr(task, "name", None), _mteb_name(task)) if n))
            task_type = getattr(task, "type", None)
            generic = side != "query" or bool(getattr(task, "query_instruction", True))
        for table in self.tables:
            found = table.find(names, task_type, side, generic)
            if found is not None:
                return found
            if side in table.required and task is not None:
                raise ModelLoadError(
                    f"The {table.source} has no {side} prompt for task {names[0] if names else '?'} ({task_type}): "
                    f"this model is run with an instruction per task, and running it without one would give a "
                    f"silently different number.",
                    f"Pass --prompts FILE (API: prompts=) with a '{names[0] if names else task_type}' key holding "
                    f"the instruction (\"\" to run it without one).")
        return NO_PROMPT

    def sides(self, task: Any) -> dict[str, Prompt]:
        """The prompt of each side the task's type encodes (what a result file records)."""
        task_type = getattr(task, "type", None)
        roles = {"query": QUERY, "document": PASSAGE} if task_type in ("Retrieval", "Reranking") \
            else {"text": "text"}
        return {side: self.prompt(task, role) for side, role in roles.items()}

    def describe(self) -> list[str]:
        return [table.origin or table.source for table in self.tables]


def _mteb_name(task: Any) -> str | None:
    try:
        return mteb_name(task)
    except AttributeError:  # a TaskView that is not a card
        return None


def st_table(prompts: Mapping[str, str], default_name: str | None, where: str) -> PromptTable | None:
    """A sentence-transformers folder's prompts as a table: its non-empty prompts by key (task- and
    type-keyed ones included; sentence-transformers >= 5 writes empty query/document prompts into
    every save, which say nothing), and its default prompt for texts no key names."""
    entries = {k: v for k, v in prompts.items() if v and k not in ("passage", "corpus")}
    default = prompts.get(default_name, "") if default_name else ""
    if not entries and not default:
        return None
    return PromptTable(entries, f"sentence-transformers prompts of {where}", {}, default)


def resolve_prompts(model: str, folder: Path | None, model_name: str | None, st: Any,
                    prompts: Mapping[str, str] | str | Path | None = None, prompts_source: str = "command line",
                    query_instruction: str | None = None, document_instruction: str | None = None,
                    variant: str | None = None, known: tuple[str, dict[str, Any]] | None = None,
                    family_card: str | None = None) -> PromptResolver:
    """The model's prompt sources in order: what the user gave (``--prompts``/``prompts=``,
    ``--query-instruction``, ``--document-instruction``), the known card (``prompt_cards.toml``, by name,
    else ``family_card``: the card of the decoder family the model was recognised as; else the query
    instruction of ``known``, the model's ``model_cards.toml`` card), the folder's sentence-transformers
    prompts."""
    tables = []
    given = given_table(prompts, query_instruction, document_instruction, prompts_source)
    if given is not None:
        tables.append(given)
    names = (model_name, model, folder.name if folder else None)
    card = card_for(None, *names)
    if card is None and family_card:  # a folder named otherwise than the hub id, recognised as the family
        card = family_card, prompt_cards()[family_card]
    if card is not None:
        tables.append(card_table(*card, variant))
    else:
        if variant:
            raise ModelLoadError(f"--prompt-variant {variant!r}: model {model!r} has no known prompt card with "
                                 f"variants.", "Leave --prompt-variant out, or pass --model-name with a known hub id.")
        if known and known[1].get("query_instruction"):
            tables.append(PromptTable({"query": known[1]["query_instruction"]},
                                      f"known card {known[0]} (model_cards.toml query_instruction)"))
    if st is not None:
        found = st_table(st.prompts, st.default_prompt_name, "config_sentence_transformers.json")
        if found is not None:
            tables.append(found)
    return PromptResolver(tuple(tables))
