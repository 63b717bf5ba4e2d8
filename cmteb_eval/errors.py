"""The project's own error types.

Every problem a user can cause (a bad name, a bad file, missing data or model
files) is raised as a ``UserError``: the CLI prints its message and hint as one
paragraph and exits non-zero, without a traceback unless ``--debug`` is given.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input, with a hint on how to fix it."""

    exit_code = 2

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        """Message, then hint: on a line of its own when the message ends in a list of lines."""
        hint = self.hint.strip()
        return f"{self.message}{chr(10) if chr(10) in self.message else ' '}{hint}".strip()


class TaskCardError(UserError):
    """A task card is malformed: names the file and the field."""


class UnknownNameError(UserError):
    """An unknown task, benchmark, type or model name."""


class DataNotFoundError(UserError):
    """A task's data could be found neither in a local mirror nor on the hub."""


class DataFormatError(UserError):
    """A data file exists but is malformed: missing column, bad value, empty."""


class ModelLoadError(UserError):
    """A model folder or hub id cannot be loaded (missing weights, tokenizer...)."""


class WrongModelKindError(UserError):
    """A cross-encoder given where an embedder is expected, or the reverse."""


class EmbeddingError(UserError):
    """The model produced NaN or infinite embeddings or scores."""


class ServedModelError(UserError):
    """A served model's endpoint failed, or answered something its API does not return."""


class NotYetSupportedError(UserError):
    """A task type whose evaluator is not implemented in this version."""


def close_matches(name: str, candidates: list[str], n: int = 3) -> str:
    """Return a 'Did you mean ...?' sentence, or '' when nothing is close."""
    import difflib

    lowered = {c.lower(): c for c in candidates}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    if not hits:
        return ""
    return "Did you mean " + ", ".join(repr(lowered[h]) for h in hits) + "?"
