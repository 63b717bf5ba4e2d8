"""Tiny randomly initialised models laid out like the hub folders of instruction-driven embedders,
for the prompt tests: Qwen3-Embedding (Qwen3 decoder, byte-level BPE tokenizer that appends
<|endoftext|>, left padding, sentence-transformers Transformer -> Pooling(lasttoken) -> Normalize
with its query/document prompts) and e5-*-v2 (BERT, mean pooling, Normalize, no prompts)."""

from __future__ import annotations

from pathlib import Path

EOS = "<|endoftext|>"
QWEN3_QUERY_PROMPT = "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:"


def write_tiny_qwen3_embedding(folder: Path, corpus: list[str], seed: int = 0) -> Path:
    """A Qwen3-Embedding-like sentence-transformers folder (hidden size 32, 2 layers)."""
    import sentence_transformers as st
    import sentence_transformers.models  # noqa: F401  (st.models)
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3Model

    raw = folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=[EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(corpus, trainer)
    eos_id = tokenizer.token_to_id(EOS)
    tokenizer.post_processor = processors.TemplateProcessing(single=f"$A {EOS}", pair=f"$A {EOS} $B {EOS}",
                                                             special_tokens=[(EOS, eos_id)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=EOS, pad_token=EOS, padding_side="left",
                                   model_max_length=256)
    fast.save_pretrained(raw)
    config = Qwen3Config(vocab_size=tokenizer.get_vocab_size(), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                         max_position_embeddings=512, initializer_range=0.5, eos_token_id=eos_id,
                         pad_token_id=eos_id, bos_token_id=eos_id)
    torch.manual_seed(seed)
    Qwen3Model(config).eval().save_pretrained(raw)
    modules = [st.models.Transformer(str(raw), max_seq_length=256), st.models.Pooling(32, pooling_mode="lasttoken"),
               st.models.Normalize()]
    out = folder / "Qwen3-Embedding-0.6B"
    st.SentenceTransformer(modules=modules, prompts={"query": QWEN3_QUERY_PROMPT, "document": ""}).save(str(out))
    return out


def write_tiny_e5(bert: Path, folder: Path) -> Path:
    """An e5-small-v2-like sentence-transformers folder on a tiny BERT (mean pooling, Normalize, no prompts)."""
    import sentence_transformers as st
    import sentence_transformers.models  # noqa: F401  (st.models)

    modules = [st.models.Transformer(str(bert), max_seq_length=128), st.models.Pooling(32, pooling_mode="mean"),
               st.models.Normalize()]
    out = folder / "e5-small-v2"
    st.SentenceTransformer(modules=modules).save(str(out))
    return out
