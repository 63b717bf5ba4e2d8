"""What a run shows while it works, and what it measured.

- ``progress(what, total, unit)``: a tqdm bar on stderr (done/total, tokens/s, ETA) when stdout
  and stderr are terminals; otherwise (a pipe, a log file, ``--quiet``) one plain line on stdout
  every ``LOG_INTERVAL`` seconds (30; ``$CMTEB_EVAL_LOG_INTERVAL``), plus a first line with the
  measured rate and a time estimate once the first batches ran. ``configured(quiet=...)`` picks
  the mode for the run (the command line does); unconfigured (library use) nothing is shown.
- ``METER``: the current task's encode time, scoring time (cross-encoder and search), cache hits
  and texts encoded; the runner resets it per task and writes it into the result's harness block.
- ``$CMTEB_EVAL_STOP_AFTER_BATCHES=N[:SIGNAL]``: a test hook that sends this process SIGNAL
  (TERM by default, or KILL) after the N-th encoded batch, to interrupt a run deterministically.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Iterator

LOG_INTERVAL = 30.0
FIRST_ESTIMATE_AFTER = 3.0  # seconds of work before the first estimate line (log mode)
_mode: str | None = None  # "bar", "log" or "off"; None: not configured (library use): silent


def configure(quiet: bool = False, mode: str | None = None) -> None:
    """``mode`` explicitly, else a bar on a terminal and log lines elsewhere (always log lines with ``quiet``)."""
    global _mode
    if mode is None:
        terminal = all(getattr(s, "isatty", lambda: False)() for s in (sys.stdout, sys.stderr))
        mode = "bar" if terminal and not quiet else "log"
    _mode = mode


@contextmanager
def configured(quiet: bool = False, mode: str | None = None) -> Iterator[None]:
    """``configure`` for one run (``cmteb-eval run``), then the mode before it again: a command run
    in-process does not leave the Python API that runs next showing progress."""
    global _mode
    before = _mode
    configure(quiet, mode)
    try:
        yield
    finally:
        _mode = before


def current_mode() -> str:
    """The mode ``configure`` set; "off" when nothing did (the Python API, mteb handed our embedder: a
    library prints nothing of its own accord)."""
    return _mode or "off"


def note(line: str) -> None:
    """One line of the run's story (what the cache held, what is encoded), when a run configured the mode."""
    if current_mode() != "off":
        print(line, flush=True)


def log_interval() -> float:
    try:
        return float(os.environ.get("CMTEB_EVAL_LOG_INTERVAL", LOG_INTERVAL))
    except ValueError:
        return LOG_INTERVAL


def duration(seconds: float) -> str:
    if seconds < 9.95:
        return f"{max(0.0, seconds):.1f}s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def count(n: float) -> str:
    """12345 -> '12.3k', 1234567 -> '1.23M'."""
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    if n >= 1e4:
        return f"{n / 1e3:.1f}k"
    return f"{int(n)}"


class Progress:
    """Counts ``unit``s (and tokens) done of ``total`` and shows them as the mode says."""

    def __init__(self, what: str, total: int, unit: str, tokens_total: int | None = None,
                 mode: str | None = None) -> None:
        self.what, self.total, self.unit, self.tokens_total = what, total, unit, tokens_total
        self.mode = mode or current_mode()
        self.done = self.tokens = 0
        self.started = self.last_line = time.monotonic()
        self.estimated = False
        self._first: tuple[float, int, int] | None = None  # (time, units, tokens) at the first batch's end
        self._bar = None
        if self.mode == "bar":
            import shutil

            from tqdm import tqdm

            width = shutil.get_terminal_size((0, 0)).columns  # 0: a terminal that does not say (tqdm would draw nothing)
            self._bar = tqdm(total=total, desc=f"    {what}", unit=f" {unit}", file=sys.stderr, leave=False,
                             mininterval=0.5, dynamic_ncols=width > 0, ncols=None if width > 0 else 100)

    def rate(self) -> tuple[float, float]:
        """(units/s, tokens/s) measured after the first batch (which also pays for loading the model)."""
        if self._first is not None and self.done > self._first[1]:
            since, done, tokens = self._first
            elapsed = max(time.monotonic() - since, 1e-9)
            return (self.done - done) / elapsed, (self.tokens - tokens) / elapsed
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return self.done / elapsed, self.tokens / elapsed

    def eta(self) -> float | None:
        units, tokens = self.rate()
        if self.tokens_total and tokens > 0:
            return (self.tokens_total - self.tokens) / tokens
        return (self.total - self.done) / units if units > 0 else None

    def line(self) -> str:
        units, tokens = self.rate()
        eta = self.eta()
        parts = [f"{self.done}/{self.total} {self.unit}"]
        if self.tokens:
            parts.append(f"{count(tokens)} tokens/s")
        else:
            parts.append(f"{units:.1f} {self.unit}/s")
        if eta is not None and self.done < self.total:
            parts.append(f"ETA {duration(eta)}")
        return f"    {self.what}: " + ", ".join(parts)

    def update(self, n: int, tokens: int = 0) -> None:
        self.done += n
        self.tokens += tokens
        if self._first is None:
            self._first = (time.monotonic(), self.done, self.tokens)
        if self._bar is not None:
            self._bar.update(n)
            if self.tokens:
                self._bar.set_postfix_str(f"{count(self.rate()[1])} tokens/s", refresh=False)
            return
        if self.mode != "log":
            return
        now = time.monotonic()
        if not self.estimated and now - self.started >= FIRST_ESTIMATE_AFTER and self.done < self.total:
            self.estimated = True
            self.last_line = now
            eta = self.eta()
            print(f"{self.line()} (estimate from the first batches: {duration(now - self.started + (eta or 0))} "
                  f"in all)", flush=True)
        elif now - self.last_line >= log_interval():
            self.last_line = now
            print(self.line(), flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@contextmanager
def progress(what: str, total: int, unit: str, tokens_total: int | None = None) -> Iterator[Progress]:
    bar = Progress(what, total, unit, tokens_total)
    try:
        yield bar
    finally:
        bar.close()


@dataclass
class Meter:
    """The current task's measurements (seconds and counts), reset by the runner per task."""

    encode_seconds: float = 0.0
    scoring_seconds: float = 0.0  # cross-encoder scoring and nearest-neighbour search
    cache_hits: int = 0
    texts_encoded: int = 0
    tokens_encoded: int = 0
    pairs_scored: int = 0
    requests: int = 0  # HTTP requests to a served model (retries included; absent from results when 0)
    retries: int = 0

    def reset(self) -> None:
        self.__init__()

    def as_dict(self, total_seconds: float) -> dict:
        out = asdict(self)
        out["encode_seconds"] = round(self.encode_seconds, 3)
        out["scoring_seconds"] = round(self.scoring_seconds, 3)
        out["total_seconds"] = round(total_seconds, 3)
        out["other_seconds"] = round(max(0.0, total_seconds - self.encode_seconds - self.scoring_seconds), 3)
        out["cached"] = self.cache_hits > 0 and self.texts_encoded == 0
        if not self.requests:  # a local model: the timing block as before
            out.pop("requests")
            out.pop("retries")
        return out


METER = Meter()


@contextmanager
def timed(field: str) -> Iterator[None]:
    """Add the time spent inside to METER's ``field`` (``encode_seconds`` or ``scoring_seconds``)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        setattr(METER, field, getattr(METER, field) + time.perf_counter() - started)


_batches = 0


def batch_done() -> None:
    """The test hook ``$CMTEB_EVAL_STOP_AFTER_BATCHES`` (module docstring); a no-op otherwise."""
    global _batches
    wanted = os.environ.get("CMTEB_EVAL_STOP_AFTER_BATCHES")
    if not wanted:
        return
    _batches += 1
    number, _, name = wanted.partition(":")
    if _batches == int(number):
        os.kill(os.getpid(), getattr(signal, f"SIG{name or 'TERM'}"))
