"""tests/servers.py with real processes: `running()` yields once the server answers and always stops it (killing one
that ignores SIGTERM), and a server that exits or never answers fails the start with the end of its output."""

from __future__ import annotations

import os
import signal
import sys
import time
import urllib.request

import pytest

from tests.servers import free_port, port_answers, running, url_answers_ok


def test_yields_once_the_url_answers_and_stops_the_server_after(tmp_path):
    (tmp_path / "hello.txt").write_text("hello from the test server")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    assert not port_answers(port)()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    with running(command, ready=url_answers_ok(f"{base}/hello.txt")) as process:
        assert process.poll() is None and port_answers(port)()
        with urllib.request.urlopen(f"{base}/hello.txt", timeout=10) as answer:
            assert answer.read() == b"hello from the test server"
        assert not url_answers_ok(f"{base}/missing.txt")()  # 404 is an answer, but not a ready one
    assert process.returncode == -signal.SIGTERM, getattr(process, "signal_state", "")  # seen once: -9 after 30 s
    assert not port_answers(port)()


def test_a_server_that_exits_before_it_is_ready_fails_the_start_with_its_output():
    command = [sys.executable, "-c", "import sys; print('no settings here'); sys.exit(3)"]
    failed = pytest.raises(RuntimeError, match=r"exited with 3 before it was ready(.|\n)*no settings here")
    with failed, running(command, ready=port_answers(free_port())):
        pytest.fail("the block ran without a server")


def test_a_server_that_never_answers_fails_the_start_and_is_stopped(tmp_path):
    pid_file = tmp_path / "pid"
    script = "import os, pathlib, sys, time; print('slow', flush=True); "
    script += "pathlib.Path(sys.argv[1]).write_text(str(os.getpid())); time.sleep(120)"

    def never_ready() -> bool:
        while not pid_file.exists():  # the process has started and printed (a loaded machine starts it slowly)
            time.sleep(0.05)
        return False

    failed = pytest.raises(RuntimeError, match=r"was not ready within 1 s(.|\n)*slow")
    with failed, running([sys.executable, "-c", script, str(pid_file)], ready=never_ready, start_timeout_s=1):
        pytest.fail("the block ran without a server")
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)  # stopped and reaped


def test_a_process_that_ignores_sigterm_is_killed(tmp_path):
    log = tmp_path / "stubborn.log"
    script = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ignoring', flush=True); "
    script += "time.sleep(120)"
    with running(
        [sys.executable, "-c", script], log=log, ready=lambda: "ignoring" in log.read_text(), stop_timeout_s=0.5
    ) as process:
        assert process.poll() is None
    assert process.returncode == -signal.SIGKILL
    assert log.read_text() == "ignoring\n"
    ignored = dict(field.split(":") for field in process.signal_state.split())["SigIgn"]  # what the kill saw
    assert int(ignored, 16) & 1 << (signal.SIGTERM - 1)
