"""A local model is identified by every byte of its files, and a checkpoint that does not match
its config is refused (issue 14, cases 1, 3 and the tokenizer part of 4)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from cmteb_eval.errors import ModelLoadError
from cmteb_eval.models.identity import fingerprint
from cmteb_eval.models.rerankers.cross_encoder import load_reranker
from cmteb_eval.models.encoders.embedder import load_embedder
from cmteb_eval.models.protocol import PASSAGE
from conftest import write_tiny_bert
from mutation_helpers import cli, copy_model, edit_config, save_tensors, tensors, write_wide_bert
from reliability_helpers import write_sts_task

TEXTS = ["the cat sat on the mat", "what is panda?", "今天天气很好", "a dog"]


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    return write_wide_bert(tmp_path_factory.mktemp("wide") / "model")


def run_args(model, card, out, cache=None):
    return ["run", "--model", str(model), "--pooling", "cls", "--device", "cpu", "--task-file", str(card),
            "--tasks", "Ident", "--output-dir", str(out)] + (["--cache-dir", str(cache)] if cache else ["--no-cache"])


def main_score(out):
    (path,) = [p for p in out.rglob("Ident.json") if p.parent.name != "items"]
    payload = json.loads(path.read_text())
    return payload["scores"]["test"][0]["main_score"], payload["harness"]["model"]


def test_a_layer_edited_in_the_middle_of_the_weights_is_a_new_configuration(tmp_path, wide):
    """Case 1: one layer scaled by 0.5 in the middle of model.safetensors (same size, same header)."""
    model = copy_model(wide, tmp_path / "ckpt")
    card = write_sts_task(tmp_path / "cards", "Ident", n_rows=24)
    out, cache = tmp_path / "out", tmp_path / "cache"
    code, first_log, err = cli(*run_args(model, card, out, cache))
    assert code == 0, err
    first, first_info = main_score(out)
    values = tensors(model)
    size = (model / "model.safetensors").stat().st_size
    values["encoder.layer.3.intermediate.dense.weight"] *= 0.5
    save_tensors(model, values)
    assert (model / "model.safetensors").stat().st_size == size

    code, second_log, err = cli(*run_args(model, card, out, cache))
    assert code == 0, err
    assert "already done" not in second_log and "made with another configuration" in second_log
    assert "0 hit(s)" in second_log  # a new cache namespace: no vector of the old weights is served
    second, second_info = main_score(out)
    assert second_info["weights_fingerprint"] != first_info["weights_fingerprint"]
    code, _, err = cli(*run_args(model, card, tmp_path / "fresh"))  # the edited model, no cache, no resume
    assert code == 0, err
    assert main_score(tmp_path / "fresh")[0] == second


def test_an_edited_tokenizer_file_is_a_new_configuration(tmp_path, tiny_bert):
    """Case 4 (tokenizer): the tokenizer decides the token ids; resume must notice an edit."""
    model = copy_model(tiny_bert, tmp_path / "m")
    card = write_sts_task(tmp_path / "cards", "Ident", n_rows=12)
    assert cli(*run_args(model, card, tmp_path / "out"))[0] == 0
    tokenizer_config = model / "tokenizer_config.json"
    config = json.loads(tokenizer_config.read_text())
    config["do_lower_case"] = not config.get("do_lower_case", True)
    tokenizer_config.write_text(json.dumps(config))
    code, log, err = cli(*run_args(model, card, tmp_path / "out"))
    assert code == 0, err
    assert "made with another configuration" in log and "tokenizer_fingerprint" in log


def test_every_byte_counts_and_hashes_are_remembered_across_processes(tmp_path, wide, monkeypatch):
    model = copy_model(wide, tmp_path / "m")  # a new file: its hash is not known in this process
    before = fingerprint.weights_fingerprint(model, fingerprint.HashStore.under(tmp_path / "cache"))
    assert (tmp_path / "cache" / fingerprint.HASH_FILE).is_file()
    fingerprint._memory.clear()  # as a new process
    opened = []
    monkeypatch.setattr(fingerprint, "open", lambda path, *a, **k: opened.append(path) or open(path, *a, **k),
                        raising=False)
    assert fingerprint.weights_fingerprint(model, fingerprint.HashStore.under(tmp_path / "cache")) == before
    assert opened == []  # no file read again: every hash came from the hash file
    # one byte in the middle of the weights, same size, mtime restored: still noticed (ctime changed)
    path = model / "model.safetensors"
    stat = path.stat()
    with open(path, "r+b") as handle:
        handle.seek(stat.st_size // 2)
        byte = handle.read(1)
        handle.seek(stat.st_size // 2)
        handle.write(bytes([byte[0] ^ 1]))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    fingerprint._memory.clear()
    assert fingerprint.weights_fingerprint(model, fingerprint.HashStore.under(tmp_path / "cache")) != before


@pytest.mark.parametrize("damage", ["not json", "wrong checksum", "bad entry"])
def test_a_damaged_hash_file_only_means_hashing_again(tmp_path, tiny_bert, damage):
    fingerprint._memory.clear()
    store = fingerprint.HashStore.under(tmp_path)
    good = fingerprint.weights_fingerprint(tiny_bert, store)
    hash_file = tmp_path / fingerprint.HASH_FILE
    body = json.loads(hash_file.read_text())
    if damage == "not json":
        hash_file.write_text("{")
    elif damage == "wrong checksum":  # an entry edited to claim another hash
        key = next(iter(body["entries"]))
        body["entries"][key][4] = "0" * 64
        hash_file.write_text(json.dumps(body))
    else:
        key = next(iter(body["entries"]))
        body["entries"][key] = ["x"]
        body["checksum"] = fingerprint._checksum(body["entries"])
        hash_file.write_text(json.dumps(body))
    fingerprint._memory.clear()
    assert fingerprint.weights_fingerprint(tiny_bert, fingerprint.HashStore.under(tmp_path)) == good


def test_every_shard_an_index_names_is_hashed(tmp_path, tiny_bert):
    from transformers import BertModel

    model = BertModel.from_pretrained(str(tiny_bert))
    folder = tmp_path / "sharded"
    model.save_pretrained(folder, max_shard_size="50KB")
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (tiny_bert / name).exists():
            (folder / name).write_bytes((tiny_bert / name).read_bytes())
    shards = sorted(folder.glob("model-*.safetensors"))
    assert len(shards) > 2
    assert {p.name for p in fingerprint.weight_files(folder)} >= {p.name for p in shards}
    before = fingerprint.weights_fingerprint(folder)
    middle = shards[len(shards) // 2]
    data = bytearray(middle.read_bytes())
    data[-10] ^= 1
    middle.write_bytes(bytes(data))
    assert fingerprint.weights_fingerprint(folder) != before
    middle.unlink()
    with pytest.raises(ModelLoadError, match=f"names the shard {middle.name}, which is missing"):
        fingerprint.weight_files(folder)


# ------------------------------------------------------------------ case 3: incomplete checkpoints


def _drop(prefix):
    return lambda values: {k: v for k, v in values.items() if not k.startswith(prefix)}


def _reshape(values):
    import torch

    values["embeddings.word_embeddings.weight"] = torch.zeros(10, 32)
    return values


def _extra(values):
    import torch

    values["encoder.layer.9.output.dense.weight"] = torch.zeros(32, 32)
    return values


DAMAGE = {
    "a deleted layer": (_drop("encoder.layer.1."), None, "encoder.layer.1.attention"),
    "more layers in the config than in the file": (None, {"num_hidden_layers": 4}, "encoder.layer.2."),
    "absent word embeddings": (_drop("embeddings.word_embeddings"), None, "embeddings.word_embeddings.weight"),
    "a wrong shape": (_reshape, None, "of another shape"),
    "an unexpected tensor": (_extra, None, "encoder.layer.9.output.dense.weight"),
}


@pytest.mark.parametrize("backend", ["torch", "lean"])
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_an_incomplete_checkpoint_is_refused_naming_the_tensors(tmp_path, tiny_bert, damage, backend):
    edit, config, named = DAMAGE[damage]
    model = copy_model(tiny_bert, tmp_path / "m")
    if edit is not None:
        save_tensors(model, edit(tensors(model)))
    if config is not None:
        edit_config(model, **config)
    embedder = load_embedder(model, pooling="cls", backend=backend, device="cpu")
    with pytest.raises(ModelLoadError) as info:
        embedder.encode(TEXTS, role=PASSAGE)
    assert named in str(info.value) and "pooler" in str(info.value)  # the allowed exceptions are listed


def test_an_incomplete_checkpoint_fails_the_run_with_exit_1_and_no_result(tmp_path, tiny_bert):
    model = copy_model(tiny_bert, tmp_path / "m")
    save_tensors(model, _drop("encoder.layer.1.")(tensors(model)))
    card = write_sts_task(tmp_path / "cards", "Ident", n_rows=12)
    code, _, err = cli(*run_args(model, card, tmp_path / "out"))
    assert code == 1 and "missing from the checkpoint" in err and "Traceback" not in err
    assert not list((tmp_path / "out").rglob("Ident.json"))


def test_a_checkpoint_without_its_pooler_is_allowed_and_scores_as_with_it(tmp_path, tiny_bert):
    model = copy_model(tiny_bert, tmp_path / "m")
    save_tensors(model, _drop("pooler.")(tensors(model)))
    with_pooler = load_embedder(tiny_bert, pooling="cls", device="cpu").encode(TEXTS, role=PASSAGE)
    without = load_embedder(model, pooling="cls", device="cpu").encode(TEXTS, role=PASSAGE)
    np.testing.assert_array_equal(with_pooler, without)


def test_a_pretraining_head_left_in_the_checkpoint_is_allowed(tmp_path, tiny_bert):
    import torch

    model = copy_model(tiny_bert, tmp_path / "m")
    values = tensors(model)
    values["cls.predictions.bias"] = torch.zeros(3)
    save_tensors(model, values)
    load_embedder(model, pooling="cls", device="cpu").encode(TEXTS, role=PASSAGE)


def test_a_reranker_missing_its_classifier_or_pooler_is_refused(tmp_path, tiny_reranker):
    for prefix in ("classifier.", "bert.pooler."):
        model = copy_model(tiny_reranker, tmp_path / prefix.strip("."))
        save_tensors(model, _drop(prefix)(tensors(model)))
        with pytest.raises(ModelLoadError, match=prefix.replace(".", r"\.")):
            load_reranker(model, device="cpu")


def test_a_reranker_fingerprint_covers_its_tokenizer(tmp_path, tiny_reranker):
    model = copy_model(tiny_reranker, tmp_path / "r")
    before = load_reranker(model, device="cpu").describe()
    with open(model / "vocab.txt", "a", encoding="utf-8") as handle:
        handle.write("extra\n")
    after = load_reranker(model, device="cpu").describe()
    assert after["tokenizer_fingerprint"] != before["tokenizer_fingerprint"]
    assert after["weights_fingerprint"] == before["weights_fingerprint"]


def test_a_weights_path_that_is_a_folder_is_a_clean_error(tmp_path, tiny_bert):
    """Case 7: model.safetensors is a folder."""
    model = copy_model(tiny_bert, tmp_path / "m")
    (model / "model.safetensors").unlink()
    (model / "model.safetensors").mkdir()
    card = write_sts_task(tmp_path / "cards", "Ident", n_rows=12)
    code, _, err = cli(*run_args(model, card, tmp_path / "out"))
    assert code == 2 and "model.safetensors is a folder" in err and "Traceback" not in err


def test_a_model_path_that_is_a_symlink_loop_is_a_clean_error(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    code, _, err = cli("run", "--model", str(loop), "--tasks", "DemoSTSEn", "--output-dir", str(tmp_path / "o"))
    assert code == 2 and "symlink loop" in err


def test_a_tokenizer_with_more_tokens_than_the_embeddings_is_a_clean_error(tmp_path, tiny_bert, tiny_reranker):
    """Found by the generated sweep: token ids past the embedding matrix were an IndexError."""
    for source, kind in ((tiny_bert, "embedder"), (tiny_reranker, "reranker")):
        model = copy_model(source, tmp_path / kind)
        (model / "tokenizer.json").unlink()
        with open(model / "vocab.txt", "a", encoding="utf-8") as handle:
            handle.write("panda\nzebra\n")  # 'panda' now maps to an id past the last embedding row
        with pytest.raises(ModelLoadError, match="does not belong to these weights"):
            if kind == "embedder":
                load_embedder(model, pooling="cls", device="cpu", backend="lean").encode(["what is panda?"])
            else:
                load_reranker(model, device="cpu").score_pairs([("what is panda?", "a dog")])
