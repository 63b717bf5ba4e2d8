"""Table building and rendering: missing cells, averages, sorting, highlighting, formats."""

import io
from html.parser import HTMLParser

import pandas as pd
import pytest

from cmteb_eval.report import tables as T
from cmteb_eval.report.scores import ModelScores, TaskScore


def model(name, scores, dimension=None):
    m = ModelScores(name, "run", f"/tmp/{name}", dimension=dimension)
    for task, (task_type, score) in scores.items():
        m.tasks[task] = TaskScore(task, task_type, "test", score)
    return m


@pytest.fixture
def models():
    return [model("a", {"STSB": ("STS", 40.0), "LCQMC": ("STS", 30.0), "Ocnli": ("PairClassification", 60.0)}, 384),
            model("b", {"STSB": ("STS", 50.0), "LCQMC": ("STS", 20.0)}, 768),
            model("c<&>", {"STSB": ("STS", 45.0), "LCQMC": ("STS", 36.0), "Ocnli": ("PairClassification", 55.0)})]


def test_type_table_means_and_missing(models):
    table = T.type_table(models, "STS", ["STSB", "LCQMC"])
    assert table.frame.loc["a", "Avg"] == pytest.approx(35.0)
    assert table.frame.loc["c<&>", "Avg"] == pytest.approx(40.5)
    pc = T.type_table(models, "PairClassification", ["Ocnli"])
    assert pd.isna(pc.frame.loc["b", "Ocnli"]) and pd.isna(pc.frame.loc["b", "Avg"])


def test_cmteb_table_shows_the_count_of_an_incomplete_average(models):
    """Issue 27: a model lacking a task gets the mean over the tasks it has, with the count (was "-")."""
    types = {"STSB": "STS", "LCQMC": "STS", "Ocnli": "PairClassification"}
    table = T.cmteb_table(models, types, ["STSB", "LCQMC", "Ocnli"])
    assert table.frame.loc["a", "Avg"] == pytest.approx((40 + 30 + 60) / 3)  # mean over tasks, not over types
    assert table.frame.loc["a", "STS"] == pytest.approx(35.0)
    assert table.frame.loc["b", "Avg"] == pytest.approx(35.0) and pd.isna(table.frame.loc["b", "PairClassification"])
    assert table.frame.loc["b", "STS"] == pytest.approx(35.0)
    markdown = T.to_markdown(table)
    row_b = next(line for line in markdown.splitlines() if line.startswith("| b |"))
    assert row_b.split(" | ")[2] == "35.00 (2/3)"  # Avg cell: 2 of the 3 tasks
    assert row_b.split(" | ")[4] == "35.00"  # STS: both tasks, complete, no count


def test_markdown_layout_bold_best_and_sorting(models):
    table = T.type_table(models, "STS", ["STSB", "LCQMC"]).sorted_by("avg")
    lines = T.to_markdown(table).splitlines()
    assert lines[0] == "| Model | STSB | LCQMC | Avg |"
    assert lines[1] == "|---|---|---|---|"
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| c<&>", "| a", "| b"]  # Avg 40.5, 35, 35 (stable)
    assert "| **50.00** |" in lines[4] and "**36.00**" in lines[2] and "**40.50**" in lines[2]
    ascending = T.type_table(models, "STS", ["STSB", "LCQMC"]).sorted_by("STSB", ascending=True)
    assert list(ascending.frame.index) == ["a", "c<&>", "b"]


class TableParser(HTMLParser):
    """Collects the cells of each table, and which cells are bold."""

    def __init__(self):
        super().__init__()
        self.tables, self.cell, self.bold, self.in_cell = [], None, False, False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.in_cell, self.cell, self.bold = True, "", False
        elif tag == "strong" and self.in_cell:
            self.bold = True

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append((self.cell.strip(), self.bold))
            self.in_cell = False

    def handle_data(self, data):
        if self.in_cell:
            self.cell += data


def test_html_parses_and_marks_the_best_value(models):
    types = {"STSB": "STS", "LCQMC": "STS", "Ocnli": "PairClassification"}
    document = T.render([T.cmteb_table(models, types, ["STSB", "LCQMC", "Ocnli"]),
                         T.type_table(models, "STS", ["STSB", "LCQMC"])], "html")
    parser = TableParser()
    parser.feed(document)
    parser.close()
    assert document.startswith("<!DOCTYPE html>") and len(parser.tables) == 2
    header, *rows = parser.tables[1]
    assert [c for c, _ in header] == ["Model", "STSB", "LCQMC", "Avg"]
    assert [r[0][0] for r in rows] == ["a", "b", "c<&>"]  # the name was escaped and reads back intact
    for column in (1, 2, 3):
        values = [float(r[column][0]) for r in rows]
        bold = [r[column][1] for r in rows]
        assert bold == [v == max(values) for v in values]
    cmteb_rows = parser.tables[0][1:]
    assert cmteb_rows[1][2][0] == "35.00 (2/3)"  # model b: the Avg over the 2 tasks of 3 it has


def test_csv_round_trips_the_numbers(models):
    table = T.type_table(models, "STS", ["STSB", "LCQMC"])
    back = pd.read_csv(io.StringIO(T.to_csv(table)), index_col="Model")
    assert back.loc["a", "Avg"] == pytest.approx(35.0) and back.loc["b", "LCQMC"] == pytest.approx(20.0)


def test_latex_escapes_and_bolds(models):
    text = T.to_latex(T.type_table(models, "STS", ["STSB", "LCQMC"]))
    assert r"\begin{tabular}{lrrr}" in text and r"\textbf{50.00}" in text
    assert r"c<\&>" in text


def test_duplicate_model_names_are_refused(models):
    from cmteb_eval.errors import UserError

    with pytest.raises(UserError, match="Two results folders hold the model 'a'"):
        T.type_table([models[0], models[0]], "STS", ["STSB"])
