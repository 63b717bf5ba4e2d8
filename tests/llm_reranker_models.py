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
