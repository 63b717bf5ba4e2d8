"""Tiny random LLM rerankers laid out as their hub folders (config.json, safetensors weights,
tokenizer.json + tokenizer_config.json), with a byte-level BPE tokenizer the test trains on the
texts it scores. Hidden size 32, 2 layers, initializer_range 0.5 (scores spread, not near-ties)."""

from __future__ import annotations

from pathlib import Path

SPECIALS = ["<pad>", "<bos>", "<eos>", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
PROMPTS = [
    "Given a query A and a passage B, determine whether the passage contains an answer to the query by "
    "providing a prediction of either 'Yes' or 'No'.",
    "Judge whether the Document meets the requirements based on the Query and the Instruct provided. Note that "
    "the answer can only be \"yes\" or \"no\".",
    "<Instruct>: Given a web search query, retrieve relevant passages that answer the query\n<Query>: \n<Document>: ",
    "A: B: \nsystem\nuser\nassistant\n",
]


def train_tokenizer(folder: Path, texts: list[str], *, bos: bool) -> "object":
    """A byte-level BPE (any text tokenises, Chinese too) with 'Yes', 'yes', 'no' as single tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    corpus = list(texts) + PROMPTS + ["Yes\nyes\nno\nNo"] * 200
    tokenizer.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", eos_token="<eos>",
                                   bos_token="<bos>" if bos else None, unk_token=None)
    for word in ("Yes", "yes", "no"):
        assert len(fast(word, add_special_tokens=False)["input_ids"]) == 1, word
    fast.save_pretrained(str(folder))
    return fast


def write_gemma(folder: Path, texts: list[str], seed: int = 0) -> Path:
    """bge-reranker-v2-gemma's layout: GemmaForCausalLM (tied embeddings), a tokenizer with <bos>."""
    import torch
    from transformers import GemmaConfig, GemmaForCausalLM

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(folder, texts, bos=True)
    config = GemmaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=8192,
                         initializer_range=0.5, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    config.architectures = ["GemmaForCausalLM"]
    torch.manual_seed(seed)
    GemmaForCausalLM(config).eval().save_pretrained(folder)
    return folder


def write_qwen3(folder: Path, texts: list[str], seed: int = 0, classifier: bool = False) -> Path:
    """Qwen3-Reranker's layout: Qwen3ForCausalLM (tied embeddings), a tokenizer without <bos>
    (``classifier``: a Qwen3ForSequenceClassification conversion instead)."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM, Qwen3ForSequenceClassification

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(folder, texts, bos=False)
    config = Qwen3Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=40960,
                         initializer_range=0.5, tie_word_embeddings=True, pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id, num_labels=1)
    config.architectures = ["Qwen3ForSequenceClassification" if classifier else "Qwen3ForCausalLM"]
    torch.manual_seed(seed)
    (Qwen3ForSequenceClassification if classifier else Qwen3ForCausalLM)(config).eval().save_pretrained(folder)
    return folder


def reference_minicpm_class():
    """FlagEmbedding 1.4.2's LayerWiseMiniCPMForCausalLM (models/modeling_minicpm_reranker.py, the
    reference of bge-reranker-v2-minicpm-layerwise), made to build under transformers 5.25 without
    changing its forward: transformers 5 wants ``_tied_weights_keys`` as a dict (it ties none here:
    the score heads are not the embeddings). The config then needs ``rope_scaling = None`` (transformers
    5 fills in a default dict the code reads as a scaling type), ``use_cache = False`` (its legacy
    cache call is gone) and eager attention (``reference_config``)."""
    from FlagEmbedding.inference.reranker.decoder_only.models import modeling_minicpm_reranker as reference

    class LayerWiseMiniCPMForCausalLM(reference.LayerWiseMiniCPMForCausalLM):
        _tied_weights_keys = {}

    return LayerWiseMiniCPMForCausalLM


def reference_config(**fields):
    from FlagEmbedding.inference.reranker.decoder_only.models.configuration_minicpm_reranker import (
        LayerWiseMiniCPMConfig)

    config = LayerWiseMiniCPMConfig(**fields)
    config.rope_scaling = None
    config.use_cache = False
    config._attn_implementation = "eager"
    return config


def write_minicpm_layerwise(folder: Path, texts: list[str], seed: int = 0):
    """bge-reranker-v2-minicpm-layerwise's layout: model_type minicpm, LayerWiseMiniCPMForCausalLM with a
    one-output score head per layer from ``start_layer`` (head_type simple, head_multi), MiniCPM's
    scale_emb / scale_depth / dim_model_base. 4 layers, heads for layers 2 to 4. Returns the folder and
    the reference model built (the weights saved)."""
    import json

    import torch

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(folder, texts, bos=True)
    fields = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=4,
                  num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096, initializer_range=0.3,
                  scale_emb=12, scale_depth=1.4, dim_model_base=8, start_layer=2, head_multi=True,
                  head_type="simple", pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                  eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(seed)
    model = reference_minicpm_class()(reference_config(**fields)).eval()
    model.save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(fields, architectures=["LayerWiseMiniCPMForCausalLM"], model_type="minicpm", rope_scaling=None,
                  auto_map={"AutoConfig": "configuration_minicpm_reranker.LayerWiseMiniCPMConfig",
                            "AutoModelForCausalLM": "modeling_minicpm_reranker.LayerWiseMiniCPMForCausalLM"})
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return folder, model


def layerwise_reference_scores(folder: Path, model, pairs, cutoff_layer: int):
    """LayerWiseFlagLLMReranker.compute_score (FlagEmbedding 1.4.2's LayerWiseLLMReranker, its defaults:
    "A: "/"B: " instructions, max_length 512) on the reference model above: the class's own
    constructor loads the model with from_pretrained, which does not build under transformers 5.25,
    so its base class is initialised as the constructor does and the model and tokenizer are set."""
    from FlagEmbedding.abc.inference import AbsReranker
    from FlagEmbedding.inference.reranker.decoder_only.layerwise import LayerWiseLLMReranker
    from transformers import AutoTokenizer

    reranker = LayerWiseLLMReranker.__new__(LayerWiseLLMReranker)
    AbsReranker.__init__(reranker, model_name_or_path=str(folder), use_fp16=False,
                         query_instruction_for_rerank="A: ", passage_instruction_for_rerank="B: ", devices="cpu",
                         batch_size=8, max_length=512, normalize=False, cutoff_layers=None, prompt=None,
                         cache_dir=None)
    reranker.cutoff_layers, reranker.prompt = None, None
    reranker.tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
    reranker.model = model
    return reranker.compute_score([list(p) for p in pairs], cutoff_layers=[cutoff_layer])
