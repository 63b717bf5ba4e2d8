"""A real server for the served-model tests, and a fault-injecting proxy in front of it.

The server is infinity-emb from PyPI, in the virtual environment ``scripts/served_env.sh`` makes
once (its pins conflict with ours), started on 127.0.0.1 on a free port, waited for with a
bounded timeout and stopped. The proxy (``FaultProxy``) forwards to it and can answer a request
with a scripted status (429 with Retry-After, 500) or rewrite an answer (HTML, a vector dropped,
another dimension, another model id): the model is always computed by the real server.
Nothing here sends traffic anywhere but 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 300.0


def served_python() -> Path:
    """The server venv's python, made by scripts/served_env.sh when missing. In CI a failure to
    install fails the test; elsewhere (no registry, no python3-venv) it skips, saying why."""
    done = subprocess.run(["bash", str(REPO / "scripts" / "served_env.sh")], capture_output=True, text=True,
                          cwd=REPO, timeout=1800)
    if done.returncode != 0:
        reason = f"scripts/served_env.sh could not install infinity-emb: {done.stderr.strip()[-800:]}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return REPO / done.stdout.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class InfinityServer:
    """``infinity_emb v2`` serving ``models`` ({served name: local folder}) on 127.0.0.1:``port``."""

    def __init__(self, python: Path, models: dict[str, Path], port: int | None = None, log: Path | None = None,
                 api_key: str | None = None, threads: int = 1) -> None:
        self.python, self.models, self.port = python, models, port or free_port()
        self.threads = threads
        self.log_path = log or Path(os.environ.get("TMPDIR", "/tmp")) / f"infinity-{self.port}.log"
        self.api_key = api_key
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "InfinityServer":
        command = [str(self.python.parent / "infinity_emb"), "v2", "--host", "127.0.0.1", "--port", str(self.port),
                   "--device", "cpu", "--engine", "torch", "--no-model-warmup", "--log-level", "info",
                   "--batch-size", "32"]
        for name, folder in self.models.items():
            command += ["--model-id", str(folder), "--served-model-name", name]
        if self.api_key:
            command += ["--api-key", self.api_key]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1", "INFINITY_ANONYMOUS_USAGE_STATS": "0",
               "OMP_NUM_THREADS": str(self.threads), "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}
        env.pop("PYTHONPATH", None)  # never our packages inside the server's venv
        self.log = open(self.log_path, "w", encoding="utf-8")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                        stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"infinity exited with {self.process.returncode} before it was ready:\n"
                                   f"{self.log_path.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"infinity was not ready after {READY_TIMEOUT_S:.0f} s:\n"
                           f"{self.log_path.read_text(errors='replace')[-3000:]}")

    def requests_logged(self, route: str) -> int:
        return self.log_path.read_text(errors="replace").count(f'"POST {route} HTTP')

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        if getattr(self, "log", None) is not None:
            self.log.close()


class FaultProxy:
    """A proxy on 127.0.0.1 in front of ``upstream``. ``statuses``: answers (status, headers) given
    instead of forwarding, one per POST, in order; ``rewrite(path, body, n)``: the answer body
    returned for the n-th POST (bytes), given the real one. ``seen``: (monotonic time, method, path,
    the status returned) of each request."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.statuses: list[tuple[int, dict[str, str]]] = []
        self.rewrite: Callable[[str, bytes, int], bytes] | None = None
        self.rewrite_get: Callable[[str, bytes], bytes] | None = None
        self.rewrite_request: Callable[[bytes], bytes] | None = None
        self.seen: list[tuple[float, str, str, int]] = []
        self.posts = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self._forward("GET")

            def do_POST(self) -> None:
                self._forward("POST")

            def _forward(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else None
                number = 0
                if method == "POST":
                    proxy.posts += 1
                    number = proxy.posts
                    if proxy.statuses:
                        status, headers = proxy.statuses.pop(0)
                        proxy.seen.append((time.monotonic(), method, self.path, status))
                        return self._answer(status, b'{"error": "injected by the test proxy"}', headers)
                    if proxy.rewrite_request is not None:
                        body = proxy.rewrite_request(body)
                request = urllib.request.Request(proxy.upstream + self.path, data=body, method=method,
                                                 headers={k: v for k, v in self.headers.items()
                                                          if k.lower() in ("content-type", "authorization")})
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        status, answer = response.status, response.read()
                except urllib.error.HTTPError as exc:
                    status, answer = exc.code, exc.read()
                except (urllib.error.URLError, OSError):
                    status, answer = 502, b"<html><body>502 Bad Gateway</body></html>"
                if method == "POST" and proxy.rewrite is not None and status == 200:
                    answer = proxy.rewrite(self.path, answer, number)
                if method == "GET" and proxy.rewrite_get is not None and status == 200:
                    answer = proxy.rewrite_get(self.path, answer)
                proxy.seen.append((time.monotonic(), method, self.path, status))
                self._answer(status, answer, {})

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                kind = "text/html" if body.lstrip().startswith(b"<") else "application/json"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "FaultProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def json_rewrite(change: Callable[[dict], dict]) -> Callable[[str, bytes, int], bytes]:
    return lambda path, body, n: json.dumps(change(json.loads(body))).encode()


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m cmteb_eval`` in a subprocess, from this checkout."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                   **(env or {})}
    return subprocess.run([sys.executable, "-m", "cmteb_eval", *args], capture_output=True, text=True,
                          env=environment, timeout=timeout, cwd=REPO)
