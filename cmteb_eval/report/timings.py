"""Which runs' times may be compared (``plot speed``, ``table --table speed``): a time is a measurement
of one machine by one tool, so by default only runs written by cmteb-eval on one machine are compared
(the machine id is in each result's harness block, ``results/write.machine_record``)."""

from __future__ import annotations

from typing import Sequence


def comparable_timings(models: Sequence, any_machine: bool = False
                       ) -> tuple[list, dict[str, str], str]:
    """The models whose times may be compared, those left out (label -> why) and what the kept ones
    share: by default only runs written by cmteb-eval (an mteb file's time was measured by another
    tool, on an unknown machine) and all on the machine of the first one (``harness.machine``);
    ``any_machine``: every timed model, said to be from several machines and tools."""
    kept, left_out = [], {}
    single = [next(iter(ms)) for ms in ({t.machine for t in m.tasks.values()} for m in models) if len(ms) == 1]
    single = [m for m in single if m is not None]
    reference = max(single, key=single.count) if single else None  # the machine most runs were timed on
    for model in models:
        if model.origin != "run":
            left_out[model.label] = "a published reference: no timings"
            continue
        if any_machine:
            kept.append(model)
            continue
        if any(t.foreign for t in model.tasks.values()):
            left_out[model.label] = "not written by cmteb-eval (its times come from another tool, machine unknown)"
            continue
        machines = {t.machine for t in model.tasks.values()}
        if None in machines:
            left_out[model.label] = "its results do not record the machine they were timed on (written by an " \
                                    "older cmteb-eval)"
            continue
        if len(machines) > 1:
            left_out[model.label] = f"its tasks were timed on {len(machines)} machines"
            continue
        if machines != {reference}:
            left_out[model.label] = f"timed on another machine ({next(iter(machines))}, not {reference})"
            continue
        kept.append(model)
    what = ("times from several tools or machines, NOT comparable (--any-machine)" if any_machine
            else f"runs by cmteb-eval on one machine ({reference})")
    return kept, left_out, what
