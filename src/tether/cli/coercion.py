"""Parameter coercion without pydantic where it changes nothing.

Typer (0.2x) coerces every parameter value through a pydantic `TypeAdapter`, built on
first use — and `--help`'s own value is one, so even `tether version` imports pydantic and
builds a schema: on this machine that is more than Typer's own import costs (figures in
docs/decisions.md). For the values that need no conversion — a missing value (None), or
text for a `str` parameter — the answer is known without pydantic, so this hands those
over as they are and lets Typer build its adapter only for a value that really needs
converting (`--port 8765`, `--limit 5`, a bool from an environment variable).

It leans on Typer internals (`_runtime_param`, `typer._coercion.RuntimeParam`); when a
Typer release moves them, `install()` does nothing and the CLI is merely slower (a test
notices: tests/cli/test_startup.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

try:
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer.core import TyperArgument, TyperOption
except ImportError:  # a Typer without these internals: keep its own coercion
    RuntimeParam = None  # type: ignore[assignment,misc]


def install(params: list[Any]) -> None:
    """Give each Typer parameter of a command the lazy coercion below."""
    if RuntimeParam is None:
        return
    for param in params:
        if (
            isinstance(param, TyperOption | TyperArgument)
            and getattr(param, "_runtime_param", "missing") is None
            and hasattr(param, "type_descriptor")
        ):
            descriptor = param.type_descriptor
            param._runtime_param = _Lazy(
                parameter_info=descriptor.parameter_info,
                annotation=descriptor.annotation,
                descriptor=descriptor,
            )


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class _Lazy(RuntimeParam):
        """None (handled by RuntimeParam.coerce) and text for a `str` parameter as they
        are; anything else through the runtime param Typer would have built."""

        descriptor: Any = None
        _built: list[Any] = field(default_factory=list, compare=False, repr=False)

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            info = self.parameter_info
            plain = (
                getattr(info, "parser", None) is None and getattr(info, "click_type", None) is None
            )
            if self.annotation is str and isinstance(value, str) and plain:
                return value
            if not self._built:
                self._built.append(build_runtime_param(self.descriptor))
            return self._built[0]._coerce_value(value, param=param, ctx=ctx)
