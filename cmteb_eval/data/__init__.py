"""Layer 2, data: a task's split from local files or the hub. ``locate.py`` is the one search for
local files, ``tables.py`` loads column tables, ``ranking.py`` loads retrieval and reranking data,
``hub.py`` loads from the hub at the pinned revision, ``offline.py`` is the one offline test, and
``checks.py`` holds the checks that name the task, the file and the fix.
"""
