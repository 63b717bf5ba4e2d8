"""What reports hand to others: the Hugging Face model-index of ``cmteb-eval card`` (``model_card.py``),
the ``.eval_results/`` files mteb 2.9+ writes (``eval_results.py``) and the self-contained HTML
leaderboard page of ``cmteb-eval report --html`` (``page.py``). May import the rest of ``report/``;
imported by ``cli/`` only.
"""
