"""Layer 1, tasks: what a task is, before any data or model. ``card.py`` parses and validates the
declarative TOML cards (``TaskSpec``), ``registry.py`` finds them (built-in, user, benchmarks),
``types.py`` is the ONE task-type table (columns, main metric, instruction, ``[scoring]`` schema,
evaluator, protocol id, per-item format) and ``items.py`` declares each type's per-item format; ``aliases.py`` maps mteb's task names to our cards and ``selection.py`` selects tasks by any of
those names.
"""
