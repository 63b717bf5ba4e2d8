"""Small argument helpers every command shares."""

from __future__ import annotations

from ..errors import UserError


def split_names(values: list[str] | None) -> list[str]:
    """Names given space or comma separated, over repeated options (``--tasks A,B C``)."""
    return [name for value in values or [] for name in value.replace(",", " ").split() if name]


def check_positive(value: int | None, option: str, what: str = "a positive number") -> None:
    """A number option that must be at least 1 when given."""
    if value is not None and value < 1:
        raise UserError(f"{option} must be at least 1, got {value}.", f"Pass {what}.")
