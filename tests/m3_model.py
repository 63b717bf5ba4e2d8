"""A tiny random bge-m3 laid out as the hub folder (BAAI/bge-m3): an XLM-RoBERTa encoder, a tokenizer
the test writes (one token per character, ``<s> text </s>`` as XLM-R's tokenizer frames a text), and
the two heads FlagEmbedding's BGEM3 loads beside the weights: ``sparse_linear.pt`` (Linear(hidden, 1))
and ``colbert_linear.pt`` (Linear(hidden, hidden)), saved as ``torch.save(linear.state_dict())``."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]  # XLM-R's ids 0..3


def write_tiny_m3(folder: Path, texts: Iterable[str], *, seed: int = 0, heads: bool = True,
                  max_length: int = 512) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

    folder.mkdir(parents=True, exist_ok=True)
    chars = sorted({c for text in texts for c in text.lower() if not c.isspace()})
    vocab = {token: i for i, token in enumerate(SPECIALS + ["<mask>"] + chars)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(),
                                                     pre_tokenizers.Split("", behavior="isolated")])
    backend.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                                           special_tokens=[("<s>", 0), ("</s>", 2)])
    from tokenizers import normalizers

    backend.normalizer = normalizers.Lowercase()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>",
                                        cls_token="<s>", sep_token="</s>", pad_token="<pad>", unk_token="<unk>",
                                        mask_token="<mask>", model_max_length=max_length)
    tokenizer.save_pretrained(folder)
    config = XLMRobertaConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                              intermediate_size=64, max_position_embeddings=max_length + 2, pad_token_id=1,
                              bos_token_id=0, eos_token_id=2, initializer_range=0.5)
    torch.manual_seed(seed)
    model = XLMRobertaModel(config, add_pooling_layer=False).eval()
    model.save_pretrained(folder)
    if heads:
        sparse = torch.nn.Linear(32, 1)  # spread so that most tokens get a weight > 0 (relu keeps those)
        torch.nn.init.normal_(sparse.weight, std=0.1)
        torch.nn.init.constant_(sparse.bias, 0.15)
        torch.save(sparse.state_dict(), folder / "sparse_linear.pt")
        colbert = torch.nn.Linear(32, 32)
        torch.nn.init.normal_(colbert.weight, std=0.5)
        torch.save(colbert.state_dict(), folder / "colbert_linear.pt")
    return folder
