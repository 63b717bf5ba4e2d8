"""Command line: ``cmteb-eval run|tasks|cache|card|table|reproduce|compare|check|plot|report``; ``python run_eval.py ARGS`` is
``cmteb-eval run ARGS``. The parser and the dispatch; each command lives in a module of its own
(``run.py``, ``tasks.py``, ``cache.py``, ``card.py``, ``report.py`` with ``report_args.py``, ``page.py``)."""

from __future__ import annotations

import argparse
import sys

from ..errors import UserError
from . import cache, card, page, report, report_args, run, tasks


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cmteb-eval", description="Evaluate embedders and rerankers on C-MTEB and MTEB.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    commands = parser.add_subparsers(dest="command", required=True)
    run.add_run_arguments(commands.add_parser("run", help="evaluate a model on tasks and write result files"))
    tasks.add_parser(commands)
    report_args.add_report_parsers(commands)  # table, reproduce, compare, check, plot
    cache.add_parser(commands)
    card.add_parser(commands)
    page.add_parser(commands)  # report --html
    return parser


COMMANDS = {"run": run.command_run, "tasks": tasks.command_tasks, "cache": cache.command_cache, "card": card.command_card,
            "report": page.command_report, **report.REPORT_COMMANDS}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        _handle_sigterm()
    try:
        code = COMMANDS[args.command](args)
        flush_stdout()
        return code
    except BrokenPipeError:  # `cmteb-eval reproduce ... | head`: the reader has all it wanted
        from ..report.outputs import quiet_stdout

        quiet_stdout()
        return 141  # 128 + SIGPIPE, as a shell reports a command that a closed pipe stopped
    except UserError as exc:
        if getattr(args, "debug", False):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\nInterrupted. Every finished task's result file was kept; rerun the same command to "
              "continue: tasks with a complete result of the same configuration are skipped.", file=sys.stderr)
        return 130
    finally:
        if "torch.distributed" in sys.modules:  # leave a torchrun process group cleanly
            from ..models.distributed import shutdown

            shutdown()


def flush_stdout() -> None:
    """Flush what the command printed now, so a full disk or closed pipe is a clean error, not a
    traceback at exit."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        from ..report.outputs import OutputError, quiet_stdout

        quiet_stdout()
        raise OutputError(f"Cannot write to standard output: {exc.strerror or exc}.",
                          "Free space on that disk, or send the output elsewhere (or use --output FILE).") from None


def _terminate_as_interrupt(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt


def _handle_sigterm() -> None:
    """SIGTERM (a scheduler's stop) stops like Ctrl-C: the running task is dropped, finished ones kept."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate_as_interrupt)


def run_main(argv: list[str] | None = None) -> int:
    """``python run_eval.py ARGS`` == ``cmteb-eval run ARGS``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    return main((["--debug"] if debug else []) + ["run"] + [a for a in argv if a != "--debug"])
