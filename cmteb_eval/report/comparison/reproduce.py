"""Reproduction report: our run of a model against its published scores, task by task.

Per task: ours, published, delta and a verdict against a tolerance (points), with how each
side was made (our protocol and harness versions; the published source and mteb version).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ...errors import UserError
from ..scores import ModelScores, check_tolerance

DEFAULT_TOLERANCE = 0.05


@dataclass
class Reproduction:
    ours: ModelScores
    published: ModelScores
    frame: pd.DataFrame
    tolerance: float

    @property
    def checked(self) -> pd.DataFrame:
        """Tasks with a published score."""
        return self.frame[self.frame["Verdict"] != "no published score"]

    @property
    def failed(self) -> pd.DataFrame:
        return self.checked[self.checked["Verdict"] != "reproduced"]

    @property
    def exit_code(self) -> int:
        """0 when every task with a published score is reproduced, 1 otherwise."""
        return 0 if self.failed.empty else 1

    def report(self) -> str:
        from ..formats import frame_to_markdown

        shown = self.frame.drop(columns=["Our harness"])
        for column in ("Ours", "Published"):
            shown[column] = shown[column].map(lambda v: "-" if pd.isna(v) else f"{v:.2f}")
        shown["Delta"] = shown["Delta"].map(lambda v: "-" if pd.isna(v) else f"{v:+.2f}")
        versions = sorted({v for v in self.frame["Our harness"] if v})
        matched = (self.frame["Verdict"] == "reproduced").sum()
        if self.foreign:  # files cmteb-eval did not write: nothing of ours was run
            shown = shown.rename(columns={"Ours": "File", "Our protocol": "File's protocol"})
            shown["Verdict"] = shown["Verdict"].replace({"reproduced": "matches", "DIFFERENT": "differs"})
            lines = [f"## Published files checked against published numbers: {self.ours.name} ({self.ours.source})",
                     "", "These result files were not written by cmteb-eval (no harness block): this is no "
                     "reproduction, only a check that the files agree with the published scores.", "",
                     f"Published: {self.published.source}. Tolerance: ±{self.tolerance:.2f} points.", "",
                     frame_to_markdown(shown), ""]
            if versions:
                lines.append("Written by: " + "; ".join(versions))
            lines.append(f"{matched} of {len(self.checked)} task split(s) with a published score match it within "
                         f"±{self.tolerance:.2f} (files not made by cmteb-eval).")
            return "\n".join(lines)
        lines = [f"## Reproduction: {self.ours.name} ({self.ours.source})", "",
                 f"Published: {self.published.source}. Tolerance: ±{self.tolerance:.2f} points.", "",
                 frame_to_markdown(shown), ""]
        if versions:
            lines.append("Our harness: " + "; ".join(versions))
        lines.append(f"{matched} of {len(self.checked)} task split(s) with a "
                     f"published score reproduced within ±{self.tolerance:.2f}.")
        return "\n".join(lines)

    @property
    def foreign(self) -> bool:
        """Every result compared was written by another tool (mteb): a check of files, not a reproduction."""
        return bool(self.ours.tasks) and all(t.foreign for t in self.ours.tasks.values())


def _our_harness(entry) -> str:
    v = entry.versions
    if entry.foreign:
        return str(v.get("harness") or "another tool")
    parts = [f"{v.get('harness', 'cmteb-eval')} {v.get('cmteb-eval') or ''}".strip()]
    if v.get("mteb"):
        parts.append(f"mteb {v['mteb']} installed")
    if v.get("project_commit"):
        parts.append(f"commit {str(v['project_commit'])[:10]}")
    return ", ".join(parts)


def reproduce(ours: ModelScores, published: ModelScores, tolerance: float = DEFAULT_TOLERANCE) -> Reproduction:
    """One row per task and split of ours; every split with a published number is compared."""
    tolerance = check_tolerance(tolerance)  # the same rule as the regression gate's
    rows = []
    for task, entry in ours.tasks.items():
        reference = published.tasks.get(task)
        for split, score in entry.splits.items():
            row = {"Task": task, "Split": split, "Ours": score, "Published": None, "Delta": None,
                   "Verdict": "no published score", "Our protocol": entry.protocol or "", "Published protocol": "",
                   "Our harness": _our_harness(entry)}
            if reference is not None and split in reference.splits:
                row["Published"] = reference.splits[split]
                row["Published protocol"] = f"{reference.protocol or ''} ({reference.source})" \
                    if reference.source != published.source else (reference.protocol or "")
                row["Delta"] = score - row["Published"]
                row["Verdict"] = "reproduced" if abs(row["Delta"]) <= tolerance + 1e-9 else "DIFFERENT"
            rows.append(row)
    frame = pd.DataFrame(rows, columns=["Task", "Split", "Ours", "Published", "Delta", "Verdict", "Our protocol",
                                        "Published protocol", "Our harness"])
    frame[["Ours", "Published", "Delta"]] = frame[["Ours", "Published", "Delta"]].astype("float64")
    if frame["Published"].isna().all():
        raise UserError(f"None of the {len(frame)} task split(s) of {ours.name} has a published score in "
                        f"{published.name}.", "Run tasks the published model was evaluated on, or pass another --reference.")
    return Reproduction(ours, published, frame, tolerance)
