"""Safety: names cannot write outside the output folder, nothing loads pickles,
remote code is off unless asked for and the result records it."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmteb_eval.errors import UserError
from cmteb_eval.results.naming import MAX_NAME, result_path, safe_name

REPO = Path(__file__).resolve().parent.parent

NASTY = st.one_of(
    st.text(),
    st.text(alphabet="./\\~:a\x00 ", max_size=30),
    st.lists(st.sampled_from(["..", ".", "", "~", "etc", "passwd", "C:", "\\\\server", "a b"]), max_size=6)
    .map("/".join),
    st.builds(lambda a, b: a + b, st.sampled_from(["/", "../", "..\\", "~/", "C:\\", "//"]), st.text(max_size=20)),
)


@settings(max_examples=400, deadline=None)
@given(NASTY)
def test_safe_name_is_a_single_harmless_path_part(name):
    safe = safe_name(name)
    assert safe and safe not in (".", "..")
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert not safe.startswith(".")  # never hidden, never a dot-name
    assert len(safe) <= MAX_NAME
    assert safe == safe_name(safe)  # stable: a folder name maps to itself


@settings(max_examples=300, deadline=None)
@given(model=NASTY, task=st.one_of(NASTY, st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,10}", fullmatch=True)),
       part=st.one_of(st.just("items"), NASTY))
def test_result_paths_stay_inside_the_output_folder(tmp_path_factory, model, task, part):
    """Any model name is made safe; a task or part name that is not a plain name is refused."""
    root = tmp_path_factory.getbasetemp() / "out"
    plain = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
    for args in ((model, task), (model, task, part)):
        if not all(plain.fullmatch(name) for name in args[1:]):
            with pytest.raises(UserError, match="plain ASCII names"):
                result_path(root, *args)
            continue
        path = result_path(root, *args)
        normal = Path(os.path.normpath(path))
        assert normal == path and root.resolve() in normal.parents
        assert normal.name.endswith(".json") and not normal.name.startswith(".")


def test_long_names_do_not_collide():
    a, b = "x" * 200 + "a", "x" * 200 + "b"
    assert safe_name(a) != safe_name(b) and len(safe_name(a)) <= MAX_NAME


def test_hub_ids_keep_mtebs_folder_names():
    assert safe_name("BAAI/bge-base-zh-v1.5") == "BAAI__bge-base-zh-v1.5"
    assert safe_name("/models/bge-small") == "models__bge-small"
    assert safe_name("/home/u/models/bge-small/") == "bge-small"


# ------------------------------------------------------------------ no pickles

def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            keywords = {k.arg: k.value for k in node.keywords}
            yield node, owner, name, keywords


def _is_const(node, value):
    return isinstance(node, ast.Constant) and node.value is value


def test_no_module_loads_pickles():
    """Every loader in the package refuses pickles: no pickle/joblib/read_pickle at all,
    torch.load only with weights_only=True, numpy.load only with allow_pickle=False."""
    problems = []
    for path in sorted((REPO / "cmteb_eval").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.split(".")[0] in ("pickle", "cPickle", "dill", "joblib", "cloudpickle") for n in names):
                    problems.append(f"{path.name}:{node.lineno} imports a pickle module")
        for node, owner, name, kw in _calls(tree):
            where = f"{path.name}:{node.lineno}"
            if name in ("read_pickle", "loads") and owner in ("pd", "pandas", "pickle"):
                problems.append(f"{where} {owner}.{name}")
            if name == "load" and owner == "torch" and not _is_const(kw.get("weights_only"), True):
                problems.append(f"{where} torch.load without weights_only=True")
            if name == "load" and owner in ("np", "numpy") and not _is_const(kw.get("allow_pickle"), False):
                problems.append(f"{where} numpy.load without allow_pickle=False")
            if "weights_only" in kw and not _is_const(kw["weights_only"], True):
                problems.append(f"{where} passes weights_only other than True")
            if "allow_pickle" in kw and not _is_const(kw["allow_pickle"], False):
                problems.append(f"{where} passes allow_pickle other than False")
    assert not problems, problems


def test_transformers_loads_bin_weights_without_pickles_by_default():
    import inspect

    from transformers import PreTrainedModel

    assert inspect.signature(PreTrainedModel.from_pretrained).parameters["weights_only"].default is True


def test_the_pickle_scan_catches_what_it_should(tmp_path):
    tree = ast.parse("import torch, numpy as np\ntorch.load(p)\nnp.load(p)\nnp.load(p, allow_pickle=False)\n")
    found = [(o, n, _is_const(kw.get("allow_pickle"), False)) for _, o, n, kw in _calls(tree) if n == "load"]
    assert found == [("torch", "load", False), ("np", "load", False), ("np", "load", True)]


# ------------------------------------------------------------------ remote code

def test_remote_code_is_off_by_default_and_recorded(tiny_bert, tmp_path):
    import json

    from cmteb_eval.cli import main

    assert main(["run", "--model", str(tiny_bert), "--pooling", "cls", "--tasks", "DemoSTSEn",
                 "--output-dir", str(tmp_path)]) == 0
    result = json.loads(next(tmp_path.rglob("DemoSTSEn.json")).read_text())
    assert result["harness"]["model"]["trust_remote_code"] is False
    assert result["harness"]["config"]["model"]["trust_remote_code"] is False
