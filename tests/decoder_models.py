"""Tiny random decoder embedders laid out as each family's hub folder (issue 24).

- ``Qwen3-Embedding-0.6B``: Qwen3Config, a byte-level BPE tokenizer whose post-processor appends
  ``<|endoftext|>`` and pads on the left (as the hub's tokenizer.json / tokenizer_config.json), and
  the sentence-transformers files the hub folder ships (modules.json, lasttoken Pooling, Normalize,
  prompts ``query`` / ``document``);
- ``gte-Qwen2-1.5B-instruct``: Qwen2Config, the same tokenizer layout (EOS appended, left padding);
- ``bge-multilingual-gemma2``: Gemma2Config (Gemma2Model), a tokenizer that adds ``<bos>`` only;
- ``bge-en-icl``: MistralConfig, a tokenizer that adds ``<s>`` (FlagICLModel's layout);
- a decoder no card describes (``my-decoder``): Qwen2Config under another name.

Hidden size 32, 2 layers, initializer_range 0.5 (so scores are not near-ties). The tokenizer is
trained here with ``tokenizers`` on a few real sentences, byte-level so every text tokenises.
"""

from __future__ import annotations

import json
from pathlib import Path

QWEN_EOS = "<|endoftext|>"
WEB_SEARCH = "Given a web search query, retrieve relevant passages that answer the query"
CORPUS = ["今天天气很好，我喜欢吃苹果。", "一个男人在弹吉他。", "猫坐在垫子上。", "为这个句子生成表示以用于检索相关文章：",
          "What is a giant panda? A bear species of China.", "Instruct: Query: <instruct> <query> <response>",
          "花呗怎么还款", "借呗可以提前还款吗", "蚂蚁借呗的额度为什么会下降", "如何申请信用卡"]


def train_tokenizer(folder: Path, *, bos: str | None, eos: str, pad: str, append_eos: bool, left: bool) -> None:
    """A byte-level BPE saved as a transformers fast tokenizer with the family's special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = list(dict.fromkeys([t for t in (pad, bos, eos) if t]))
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(CORPUS * 3, trainer=trainer)
    template = " ".join(filter(None, [bos, "$A", eos if append_eos else None]))
    tokenizer.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[(t, tokenizer.token_to_id(t)) for t in specials if t in template])
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=bos, eos_token=eos, pad_token=pad,
                                   padding_side="left" if left else "right", model_max_length=512)
    fast.save_pretrained(str(folder))


def save_model(folder: Path, config, model_class, seed: int) -> None:
    import torch

    torch.manual_seed(seed)
    model = model_class(config)
    model.eval()
    model.save_pretrained(str(folder))


def decoder_config(kind: str, vocab: int, pad_id: int, eos_id: int, bos_id: int | None):
    from transformers import Gemma2Config, MistralConfig, Qwen2Config, Qwen3Config

    common = dict(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=512, initializer_range=0.5, pad_token_id=pad_id,
                  eos_token_id=eos_id, bos_token_id=bos_id if bos_id is not None else eos_id)
    if kind == "qwen3":
        return Qwen3Config(head_dim=8, architectures=["Qwen3ForCausalLM"], **common)
    if kind == "qwen2":
        return Qwen2Config(architectures=["Qwen2ForCausalLM"], **common)
    if kind == "mistral":
        return MistralConfig(head_dim=8, architectures=["MistralModel"], **common)
    return Gemma2Config(head_dim=8, architectures=["Gemma2Model"], query_pre_attn_scalar=8, sliding_window=256,
                        **common)


def write_decoder(folder: Path, kind: str, *, seed: int = 0, st_prompts: dict | None = None) -> Path:
    """A tiny family folder: ``kind`` is qwen3 (Qwen3-Embedding), qwen2 (gte-Qwen2-instruct) or gemma2
    (bge-multilingual-gemma2); ``st_prompts``: write the sentence-transformers files with these prompts."""
    from transformers import Gemma2Model, MistralModel, Qwen2Model, Qwen3Model

    folder.mkdir(parents=True, exist_ok=True)
    if kind == "gemma2":
        train_tokenizer(folder, bos="<bos>", eos="<eos>", pad="<pad>", append_eos=False, left=False)
    elif kind == "mistral":
        train_tokenizer(folder, bos="<s>", eos="</s>", pad="</s>", append_eos=False, left=False)
    else:
        train_tokenizer(folder, bos=None, eos=QWEN_EOS, pad=QWEN_EOS, append_eos=True, left=True)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    config = decoder_config(kind, len(tokenizer), tokenizer.pad_token_id, tokenizer.eos_token_id,
                            tokenizer.bos_token_id)
    save_model(folder, config, {"qwen3": Qwen3Model, "qwen2": Qwen2Model, "gemma2": Gemma2Model,
                                       "mistral": MistralModel}[kind], seed)
    if st_prompts is not None:
        write_st_files(folder, st_prompts)
    return folder


def write_st_files(folder: Path, prompts: dict) -> None:
    """modules.json, lasttoken Pooling, Normalize, and the prompts, as the Qwen3-Embedding hub folder has them
    (QwenLM/Qwen3-Embedding's ST usage; Qwen/Qwen3-Embedding-0.6B: modules.json, 1_Pooling/config.json)."""
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": 32, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": False,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": True, "include_prompt": True}))
    (folder / "2_Normalize").mkdir(exist_ok=True)
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 512, "do_lower_case": False}))
    (folder / "config_sentence_transformers.json").write_text(json.dumps({
        "prompts": prompts, "default_prompt_name": None, "similarity_fn_name": "cosine"}))
