"""Layer 5, results: result files on disk. ``write.py`` is the one writer and ``read.py`` the one
reader (strict JSON, checksum, whose file it is); ``integrity.py`` seals and verifies, ``naming.py``
says where files go, ``items.py`` writes and reads per-item files, ``owner.py`` keeps a result
folder to one model.
"""
