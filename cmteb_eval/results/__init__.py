"""Layer 5, results: result files on disk. ``write.py`` is the one writer and ``read.py`` the one
reader (strict JSON, checksum, whose file it is); ``integrity.py`` seals and verifies, ``naming.py``
says where files go, ``items.py`` writes and reads per-item files, ``owner.py`` keeps a result
folder to one model; ``mteb_meta.py`` writes and reads mteb's model_meta.json, ``discover.py`` finds the
result files of any folder (ours, mteb's cache, the results repository), ``foreign.py`` reads others'
files (legacy mteb 1.x, NaN) and ``mteb_tasks.py`` maps a file's mteb task names to our cards.
"""
