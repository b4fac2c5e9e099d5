"""Run `aioa ARGS` in a fresh Python process (the CLI's main() in-process there) and report which of the watched
packages (top-level names, or a dotted name for one submodule) it imported: the start-up tests' one probe."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PROBE = """
import json, sys
watched = set(json.loads(sys.argv[1]))
sys.argv = ["aioa", *sys.argv[2:]]
from aioa.cli import main
try:
    main()
except SystemExit as done:
    code = done.code
else:
    code = 0
loaded = {name for name, module in sys.modules.items() if module is not None}
imported = sorted(({name.split(".")[0] for name in loaded} | loaded) & watched)
print("\\n" + json.dumps({"code": code, "imported": imported}), file=sys.stderr)
"""


@dataclass(frozen=True)
class Probed:
    code: int | None
    imported: list[str]  # the watched packages the command imported, sorted
    stdout: str
    stderr: str


def run_cli(args: Iterable[str], env: Mapping[str, str], watched: Iterable[str], timeout: float = 300) -> Probed:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(sorted(watched)), *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    result = json.loads(done.stderr.strip().splitlines()[-1])
    return Probed(result["code"], result["imported"], done.stdout, done.stderr)
