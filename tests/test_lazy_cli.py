"""`aioa` builds only the subcommand it runs (`aioa.lazy_cli`), and that group is the one Typer builds: the same
commands, options, defaults and help."""

from __future__ import annotations

import contextlib

import typer.main
from typer.testing import CliRunner

from aioa.cli import app
from aioa.lazy_cli import lazy_group

_PARAM_FIELDS = ("name", "opts", "secondary_opts", "default", "required", "nargs", "multiple", "help", "is_flag")


def _described(command) -> dict:
    """What a user and click see of a command: its class, texts, parameters and (a group's) subcommands."""
    return {
        "class": type(command).__name__,
        "name": command.name,
        "help": command.help,
        "short_help": command.short_help,
        "hidden": command.hidden,
        "no_args_is_help": getattr(command, "no_args_is_help", None),
        "context_settings": command.context_settings,
        "params": [tuple(repr(getattr(param, field, None)) for field in _PARAM_FIELDS) for param in command.params],
        "commands": {name: _described(sub) for name, sub in getattr(command, "commands", {}).items()},
    }


def _output(command, args: list[str]) -> str:
    """What `aioa ARGS` prints (stdout, then stderr)."""
    with CliRunner().isolation() as (stdout, stderr, _):
        with contextlib.suppress(SystemExit):
            command.main(args, prog_name="aioa")
        return stdout.getvalue().decode() + stderr.getvalue().decode()


def test_the_lazy_group_is_the_group_typer_builds() -> None:
    eager, lazy = typer.main.get_command(app), lazy_group(app)
    assert list(lazy.commands) == list(eager.commands)  # same names, same order (the order of `aioa --help`)
    assert len(lazy.commands) > 30
    assert _described(lazy) == _described(eager)  # every subcommand, built on the way
    for args in (["--help"], ["report", "--help"], ["report", "usage", "--help"], ["ingest", "claude-code", "--help"]):
        assert _output(lazy_group(app), args) == _output(eager, args), args


def test_only_the_invoked_subcommand_is_built() -> None:
    group = lazy_group(app)
    output = _output(group, ["report", "usage", "--help"])
    assert "--timezone" in output
    assert group.commands.built == ["report"]
    assert "Did you mean 'report'" in _output(group, ["reprot"])
    assert group.commands.built == ["report"]  # a typo's suggestion reads the names only
