"""The command groups of the CLI: quiet help screens, and commands other packages add lazily.

Other packages add commands through `EXTENSIONS` in `tether.cli.app` — a name and an
`"module:attribute"` string. The module is imported only when that command runs or a
help screen lists it, so a package's imports cost nothing to the rest of the CLI. The
attribute may be a `typer.Typer` (several commands become `tether NAME …`; one command
becomes `tether NAME`) or a plain function (a command of its own).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from tether.cli.coercion import install as install_coercion


def _prepare(params: list[Any]) -> list[Any]:
    """No `<bool>` beside a flag in help screens (a flag takes no value to describe), and
    coercion that imports pydantic only for a value that needs converting."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    install_coercion(params)
    return params


class TetherCommand(TyperCommand):
    """A command whose help screen shows no type beside its flags."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters, flags without a type label."""
        return _prepare(super().get_params(ctx))


class TetherGroup(TyperGroup):
    """A group whose help screens show no type beside flags, with lazily loaded extensions."""

    extensions: Mapping[str, str] = {}

    def get_params(self, ctx: Any) -> list[Any]:
        """The group's own parameters (`--help`), flags without a type label."""
        return _prepare(super().get_params(ctx))

    def list_commands(self, ctx: Any) -> list[str]:
        """Built-in commands, then the extensions that are installed."""
        names = super().list_commands(ctx)
        return names + [n for n in self.extensions if n not in names and self._load(n)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """A built-in command or, on first use, an extension."""
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.extensions:
            command = self._load(cmd_name)
        if command is not None:
            _prepare(command.get_params(ctx))
        return command

    def _load(self, name: str) -> Any:
        if name in self.commands:
            return self.commands[name]
        module_name, _, attribute = self.extensions[name].partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # The extension's package is not part of this install: no such command. Any
            # other missing module is a real bug and must show.
            if exc.name is not None and module_name.startswith(exc.name):
                return None
            raise
        command = _as_command(getattr(module, attribute), name)
        self.commands[name] = command
        return command


def _as_command(target: Any, name: str) -> Any:
    if isinstance(target, typer.Typer):
        command = typer.main.get_command(target)
    elif callable(target):
        single = typer.Typer()
        single.command(name, cls=TetherCommand)(target)
        command = typer.main.get_command(single)
    else:
        raise TypeError(f"extension {name!r} is neither a Typer app nor a function")
    command.name = name
    return command


def sub_app(help_text: str) -> typer.Typer:
    """A command group (`tether pair …`) with the CLI's conventions."""
    return typer.Typer(help=help_text, no_args_is_help=True, cls=TetherGroup)
