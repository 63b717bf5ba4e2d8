"""bge-m3's sparse, ColBERT and hybrid scores (``scores``: each as FlagEmbedding 1.4.2's
``BGEM3FlagModel`` computes it) and how Retrieval and Reranking tasks use them (``ranking``: exact
search of the whole corpus, or the dense top k rescored, said in the result)."""
