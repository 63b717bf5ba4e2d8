"""The Qwen3-Reranker model card's Transformers recipe, copied line for line (the reference the
LLM reranker is compared with). Source: QwenLM/Qwen3-Embedding @ f4ad0c434c0e3534494e26a4a6bdfd8ab1431968 :
README.md, "Transformers Usage" of Qwen3-Reranker. Only the hub id became a parameter (a local
folder), and the code was put in a function; the lines are the card's."""

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def card_scores(model_path, queries, documents, task=None):
    def format_instruction(instruction, query, doc):
        if instruction is None:
            instruction = 'Given a web search query, retrieve relevant passages that answer the query'
        output = "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {doc}".format(instruction=instruction,query=query, doc=doc)
        return output

    def process_inputs(pairs):
        inputs = tokenizer(
            pairs, padding=False, truncation='longest_first',
            return_attention_mask=False, max_length=max_length - len(prefix_tokens) - len(suffix_tokens)
        )
        for i, ele in enumerate(inputs['input_ids']):
            inputs['input_ids'][i] = prefix_tokens + ele + suffix_tokens
        inputs = tokenizer.pad(inputs, padding=True, return_tensors="pt", max_length=max_length)
        for key in inputs:
            inputs[key] = inputs[key].to(model.device)
        return inputs

    @torch.no_grad()
    def compute_logits(inputs, **kwargs):
        batch_scores = model(**inputs).logits[:, -1, :]
        true_vector = batch_scores[:, token_true_id]
        false_vector = batch_scores[:, token_false_id]
        batch_scores = torch.stack([false_vector, true_vector], dim=1)
        batch_scores = torch.nn.functional.log_softmax(batch_scores, dim=1)
        scores = batch_scores[:, 1].exp().tolist()
        return scores

    tokenizer = AutoTokenizer.from_pretrained(str(model_path), padding_side='left')
    model = AutoModelForCausalLM.from_pretrained(str(model_path)).eval()

    token_false_id = tokenizer.convert_tokens_to_ids("no")
    token_true_id = tokenizer.convert_tokens_to_ids("yes")
    max_length = 8192

    prefix = "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n"
    suffix = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
    prefix_tokens = tokenizer.encode(prefix, add_special_tokens=False)
    suffix_tokens = tokenizer.encode(suffix, add_special_tokens=False)

    if task is None:
        task = 'Given a web search query, retrieve relevant passages that answer the query'

    pairs = [format_instruction(task, query, doc) for query, doc in zip(queries, documents)]

    # Tokenize the input texts
    inputs = process_inputs(pairs)
    scores = compute_logits(inputs)
    return scores
