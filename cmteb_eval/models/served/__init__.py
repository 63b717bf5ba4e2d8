"""Models behind an HTTP endpoint: an embedding server (OpenAI-compatible ``/embeddings``, TEI
``/embed``, infinity) as an ``Embedder`` and a reranking server (``/rerank``) as a ``PairScorer``.

- ``client.py``: the HTTP client (batches, concurrency, timeouts, retries with backoff, API key
  from an environment variable, the warning for plain http to another host);
- ``answers.py``: what an answer must hold before anything is stored;
- ``apis.py``: each API's requests and answers (OpenAI-compatible, infinity, TEI);
- ``embedder.py`` and ``reranker.py``: the adapters a run evaluates.
"""
