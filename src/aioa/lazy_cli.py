"""The `aioa` group with each subcommand built when it is first used.

Typer turns every command of an app into a click command at each start, evaluating each parameter's annotation
(~0.1 CPU-s for aioa's 80 commands), although a call runs one of them. `lazy_group(app)` is the group Typer would
build for `app`, except that a subcommand is built (by Typer, from the same registration) when click first asks for
it by name: `aioa report daily` builds `report`, `aioa --help` builds them all to list them."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, MutableMapping
from functools import partial

import typer
from typer import main as typer_main
from typer.core import TyperGroup


class _BuiltOnFirstUse(MutableMapping):
    """A group's `commands`: name -> click command, each built by its builder on first look-up, in Typer's order."""

    def __init__(self, builders: dict[str, Callable]) -> None:
        self._entries: dict[str, object] = dict(builders)
        self._built: set[str] = set()

    def __getitem__(self, name: str):
        if name not in self._built:
            self._entries[name] = self._entries[name]()  # KeyError for a name that is no command
            self._built.add(name)
        return self._entries[name]

    def __setitem__(self, name: str, command) -> None:
        self._entries[name] = command
        self._built.add(name)

    def __delitem__(self, name: str) -> None:
        del self._entries[name]
        self._built.discard(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def built(self) -> list[str]:
        """The names built so far, in Typer's order."""
        return [name for name in self._entries if name in self._built]


def lazy_group(app: typer.Typer) -> TyperGroup:
    """`typer.main.get_command(app)` for an app of named subcommands and sub-apps, its subcommands built on use."""
    options = {"pretty_exceptions_short": app.pretty_exceptions_short, "rich_markup_mode": app.rich_markup_mode}
    builders: dict[str, Callable] = {}
    for info in app.registered_commands:  # Typer's order: the commands, then the sub-apps
        name = info.name or typer_main.get_command_name(info.callback.__name__)
        builders[name] = partial(typer_main.get_command_from_info, info, **options)
    for info in app.registered_groups:
        name = typer_main.solve_typer_info_defaults(info).name
        if not name:
            raise ValueError("a sub-app added without a name merges its commands into the group: build it eagerly")
        builders[name] = partial(typer_main.get_group_from_info, info, suggest_commands=app.suggest_commands, **options)
    bare = copy.copy(app)  # the group itself (help, callback, options) as Typer builds it, without the subcommands
    bare.registered_commands, bare.registered_groups = [], []
    group = typer_main.get_group(bare)
    if app._add_completion:  # what typer.main.get_command adds to a root group
        group.params.extend(typer_main.get_install_completion_arguments())
    group.commands = _BuiltOnFirstUse(builders)
    return group
