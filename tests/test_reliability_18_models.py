"""Issue 18, the cache and the model: an unusable cache never fails a task, model arguments
checked before loading, remote code and token ids named. Each test fails on the code before the fix."""

from __future__ import annotations

import errno
import json
import shutil

import pytest

from cmteb_eval.cli import main
from cmteb_eval.errors import ModelLoadError
from cmteb_eval.results.naming import safe_name
from helpers_18 import tiny_bert_with_vocab, write_card, write_jsonl


# ------------------------------------------------------------------ an unusable cache


def _unusable_cache(tmp_path, kind, monkeypatch):
    import cmteb_eval.models.cache.store as cache_module

    root = tmp_path / "cache"
    if kind == "a file":
        root.write_text("not a folder")
    elif kind == "a full disk":
        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(cache_module, "write_shard", full)
    elif kind == "read-only":  # (tests may run as root, whom a chmod does not stop)
        real = cache_module.tempfile.mkstemp

        def refused(*args, **kwargs):
            if str(kwargs.get("dir", "")).startswith(str(root)):
                raise PermissionError(errno.EACCES, "Permission denied")
            return real(*args, **kwargs)
        monkeypatch.setattr(cache_module.tempfile, "mkstemp", refused)
    return root


@pytest.mark.parametrize("kind", ["a file", "a full disk", "read-only"])
def test_an_unusable_cache_falls_back_to_running_without_it(tmp_path, tiny_bert, capsys, monkeypatch, kind):
    root = _unusable_cache(tmp_path, kind, monkeypatch)
    out = tmp_path / "out"
    assert main(["run", "--model", str(tiny_bert), "--pooling", "cls", "--tasks", "DemoSTSEn", "DemoSTSZh",
                 "--cache-dir", str(root), "--output-dir", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("cannot be used") == 1 and "--no-cache" in err and "--cache-dir" in err
    assert {p.name for p in (out / safe_name(str(tiny_bert)) / "no_revision_available").glob("*.json")} == \
        {"DemoSTSEn.json", "DemoSTSZh.json", "model_meta.json"}


def test_a_folder_named_like_a_shard_does_not_break_the_cache(tmp_path, tiny_bert):
    from cmteb_eval.models.cache.store import EmbeddingCache
    from cmteb_eval.models.encoders.embedder import load_embedder

    cache = EmbeddingCache(tmp_path / "cache")
    embedder = load_embedder(tiny_bert, pooling="cls", cache=cache)
    first = embedder.encode(["the cat", "a dog"])
    folder = next(iter(cache._namespaces.values())).folder
    (folder / f"{'cd' * 32}.npz").mkdir()
    fresh = load_embedder(tiny_bert, pooling="cls", cache=EmbeddingCache(tmp_path / "cache"))
    with pytest.warns(UserWarning, match="damaged"):
        again = fresh.encode(["the cat", "a dog"])
    assert (again == first).all()


# ------------------------------------------------------------------ model arguments checked first


@pytest.mark.parametrize("value", ["129", "100000000000000000000"])
def test_a_max_length_beyond_the_models_positions_is_refused(tiny_bert, tmp_path, capsys, value):
    assert main(["run", "--model", str(tiny_bert), "--pooling", "cls", "--tasks", "DemoSTSEn", "--max-length", value,
                 "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "max_position_embeddings 128" in err and "--max-length 128 or less" in err


def test_a_max_length_that_leaves_no_room_for_text_is_refused(tmp_path, capsys):
    tiny_bert = tiny_bert_with_vocab(tmp_path / "spread", initializer_range=0.5)  # words get distinct vectors
    words = ["cat", "dog", "sat", "mat", "panda", "bear", "china", "giant"]
    card = write_card(tmp_path, "FirstWord", "STS", local_dir="data")
    write_jsonl(tmp_path / "data" / "test.jsonl", [{"sentence1": f"{words[i]} is here", "sentence2": words[(3 * i) % 8],
                                                    "score": float(i % 5)} for i in range(8)])
    common = ["run", "--model", str(tiny_bert), "--pooling", "cls", "--task-file", str(card), "--tasks", "FirstWord",
              "--output-dir", str(tmp_path / "out"), "--no-cache"]
    assert main([*common, "--max-length", "2"]) == 2  # [CLS] [SEP] only: every text alike
    assert "leaves no room for text" in capsys.readouterr().err
    assert main([*common, "--max-length", "3"]) == 0  # one word of text: meaningful here
    capsys.readouterr()
    same = write_card(tmp_path, "SameWord", "STS", local_dir="same")  # every text starts with 'the'
    write_jsonl(tmp_path / "same" / "test.jsonl", [{"sentence1": f"the {w}", "sentence2": f"the {w} sat",
                                                    "score": float(i % 5)} for i, w in enumerate(words)])
    assert main([*common[:5], "--task-file", str(same), "--tasks", "SameWord", *common[-3:], "--max-length", "3"]) == 1
    assert "the same cosine similarity" in capsys.readouterr().err  # not blamed on the data


@pytest.mark.parametrize("device", ["tpu", "nonsense:0", "cuda", "cuda:7"])
def test_a_device_that_is_not_there_is_refused_before_loading(tiny_bert, tmp_path, capsys, monkeypatch, device):
    import torch

    from cmteb_eval.models.identity import loading

    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.device_count() > 7:
        pytest.skip("this machine has that GPU")

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded before the device was checked")

    monkeypatch.setattr(loading, "read_config_fields", no_loading)
    assert main(["run", "--model", str(tiny_bert), "--pooling", "cls", "--tasks", "DemoSTSEn", "--device", device,
                 "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"--device {device}" in err.replace("'", "") and "Traceback" not in err


def test_a_remote_code_model_fails_naming_trust_remote_code(tmp_path, tiny_bert):
    from cmteb_eval.models.identity import loading
    from cmteb_eval.models.encoders.embedder import load_embedder

    folder = tmp_path / "custom"
    shutil.copytree(tiny_bert, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="my-own-encoder", auto_map={"AutoModel": "modeling_mine.MyEncoder"})
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="--trust-remote-code"):
        load_embedder(folder, pooling="cls")
    hub = loading._hub_error("org/custom", None, ValueError("... set the option `trust_remote_code=True` ..."))
    assert "--trust-remote-code" in str(hub)


def test_a_token_id_outside_the_vocabulary_is_a_clear_error(tmp_path):
    from cmteb_eval.models.encoders.embedder import load_embedder

    folder = tiny_bert_with_vocab(tmp_path / "mismatched")
    with (folder / "vocab.txt").open("a", encoding="utf-8") as handle:
        handle.write("zebra\n")  # a word the weights have no embedding row for
    embedder = load_embedder(folder, pooling="cls")
    with pytest.raises(ModelLoadError, match="vocab_size"):
        embedder.encode(["zebra"])
