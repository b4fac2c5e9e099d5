"""Real helper processes for tests (API and app servers, workers, fake MCP servers): `running()` starts a command,
waits until it answers (a port, an HTTP URL) and always stops it; `free_port()` finds a port of 127.0.0.1 for it."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

# Loopback only: an http_proxy in the environment must not see the test's requests.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (the OS's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_answers(port: int) -> Callable[[], bool]:
    """Ready once something accepts a connection on `port` of 127.0.0.1."""

    def ready() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True

    return ready


def url_answers_ok(url: str) -> Callable[[], bool]:
    """Ready once a GET of `url` answers 2xx (a health or readiness probe)."""

    def ready() -> bool:
        try:
            with _NO_PROXY.open(url, timeout=2) as answer:
                return 200 <= answer.status < 300
        except OSError:  # refused, timed out, or an HTTP error status
            return False

    return ready


@contextmanager
def running(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log: Path | None = None,
    ready: Callable[[], bool] | None = None,
    start_timeout_s: float = 90,
    stop_timeout_s: float = 30,
) -> Iterator[subprocess.Popen]:
    """`command` in a new process (stdout and stderr to `log`, else to a temporary file), yielded once `ready()` is
    true (at once without `ready`); terminated when the block ends, killed if it has not exited `stop_timeout_s`
    later. If it exits or is not ready within `start_timeout_s`, RuntimeError with the end of its output."""
    with log.open("w+b") if log else tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            if ready is not None:
                _wait_until_ready(process, ready, start_timeout_s, output)
            yield process
        finally:
            _stop(process, stop_timeout_s)


def _wait_until_ready(process: subprocess.Popen, ready: Callable[[], bool], timeout_s: float, output: IO) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if process.poll() is not None:
            problem = f"exited with {process.returncode} before it was ready"
        elif time.monotonic() > deadline:
            problem = f"was not ready within {timeout_s:g} s"
        else:
            time.sleep(0.2)
            continue
        _stop(process, 10)  # the process shares the output's offset: it stops writing before we read
        output.seek(0)
        tail = output.read().decode(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(process.args[:4])} {problem}; its output ends:\n{tail}")


def _stop(process: subprocess.Popen, timeout_s: float) -> None:
    process.terminate()  # nothing if it has already exited
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.signal_state = _signal_state(process.pid)  # why SIGTERM did not stop it (blocked or ignored?)
        process.kill()
        process.wait()


def _signal_state(pid: int) -> str:
    """The kernel's view of a process's signals (SigBlk, SigIgn, SigCgt: hex masks, signal N at bit N - 1)."""
    try:
        masks = signal_masks(pid)
    except OSError as error:
        return f"unreadable: {error}"
    return " ".join(f"{name}:{mask:016x}" for name, mask in masks.items())


def signal_masks(pid: int | str) -> dict[str, int]:
    """SigBlk, SigIgn and SigCgt of a process (`"self"`: this one) from /proc: masks with signal N at bit N - 1.
    OSError where /proc cannot be read."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = (line.split(":", 1) for line in lines if line.startswith(("SigBlk", "SigIgn", "SigCgt")))
    return {name: int(value.strip(), 16) for name, value in fields}
