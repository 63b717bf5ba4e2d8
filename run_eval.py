#!/usr/bin/env python3
"""The main job: ``python run_eval.py [ARGS]`` is ``cmteb-eval run [ARGS]``.

With no arguments it evaluates the packaged all-MiniLM-L6-v2 on the ``demo`` benchmark offline.
"""

import sys

from cmteb_eval.cli.main import run_main

if __name__ == "__main__":
    sys.exit(run_main())
