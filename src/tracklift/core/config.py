"""Typed configs: frozen dataclasses whose fields carry their own help and bounds.

A field declared with `option(default, help, low=, high=, choices=)` is checked once, when the config is built
(`@config` makes the class frozen and validated), and the same declaration gives the command line its flag
(`add_config_flags`, `config_from_args`) and a backend spec its `name:key=value,…` options (`config_from_spec`).
So a default, a bound or a help text is written once, beside the field it belongs to.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")

SCALARS = (bool, int, float, str)


def option(
    default: Any,
    help: str,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: tuple | None = None,
    secret: bool = False,
) -> Any:
    """A config field: `default`, a one-line `help`, inclusive bounds `low`/`high` for numbers (for a tuple of
    numbers, every element), or the allowed `choices`. A `secret` (an API key) is left out of the repr, so it
    never reaches a log line or an error message."""
    return dataclasses.field(
        default=default, repr=not secret, metadata={"help": help, "low": low, "high": high, "choices": choices}
    )


def config(cls: type[T]) -> type[T]:
    """Class decorator: a frozen dataclass whose `option` fields are validated on construction (before the
    class's own `__post_init__`, if any). Change one with `dataclasses.replace`, which validates again."""
    own = cls.__dict__.get("__post_init__")

    def __post_init__(self) -> None:
        validate(self)
        if own is not None:
            own(self)

    cls.__post_init__ = __post_init__
    return dataclasses.dataclass(frozen=True)(cls)


def validate(instance: Any) -> None:
    """Raise ValueError naming `Class.field`, the rule and the value for the first field out of its bounds."""
    hints = _hints(type(instance))
    for f in dataclasses.fields(instance):
        meta = f.metadata
        if "help" not in meta:
            continue
        value = getattr(instance, f.name)
        where = f"{type(instance).__name__}.{f.name}"
        kind = _scalar(hints[f.name])
        if value is None:
            if not _optional(hints[f.name]):
                raise ValueError(f"{where} must be set, got None")
            continue
        for v in value if isinstance(value, tuple) else (value,):
            _check(where, v, kind, meta)


def _check(where: str, value: Any, kind: type | None, meta) -> None:
    if kind is not None:
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise ValueError(f"{where} must be {kind.__name__}, got {value!r}")
    if meta["choices"] is not None and value not in meta["choices"]:
        raise ValueError(f"{where} must be one of {', '.join(map(str, meta['choices']))}, got {value!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value:
            raise ValueError(f"{where} must be a number, got NaN")
        if meta["low"] is not None and value < meta["low"]:
            raise ValueError(f"{where} must be ≥ {meta['low']}, got {value}")
        if meta["high"] is not None and value > meta["high"]:
            raise ValueError(f"{where} must be ≤ {meta['high']}, got {value}")


def add_config_flags(
    parser: argparse.ArgumentParser, cls: type, flags: dict[str, str] | None = None, dest_prefix: str = ""
) -> None:
    """Add a flag per scalar `option` field of `cls` (`--field-name`, or the name given in `flags`, which then
    also selects the fields). Unset flags stay None, so the dataclass default applies (see `config_from_args`)."""
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if "help" not in f.metadata or (flags is not None and f.name not in flags):
            continue
        kind = _flag_type(hints[f.name])
        if kind is None:
            continue
        flag = flags[f.name] if flags is not None else "--" + f.name.replace("_", "-")
        text = f"{f.metadata['help']} (default {f.default})"
        dest = dest_prefix + f.name
        if kind is bool:
            parser.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            metavar = None if f.metadata["choices"] else flag.lstrip("-").replace("-", "_").upper()
            parser.add_argument(
                flag, dest=dest, type=kind, default=None, choices=f.metadata["choices"], metavar=metavar, help=text
            )


def config_from_args(cls: type[T], args: argparse.Namespace, dest_prefix: str = "", **fixed: Any) -> T:
    """`cls` built from the flags `add_config_flags` added (those left unset keep their defaults) and `fixed`."""
    given = {
        f.name: getattr(args, dest_prefix + f.name)
        for f in dataclasses.fields(cls)
        if getattr(args, dest_prefix + f.name, None) is not None
    }
    return cls(**{**given, **fixed})


def parse_spec_options(text: str, where: str) -> dict[str, str]:
    """'a=1,b=x' -> {'a': '1', 'b': 'x'}; `where` names the spec in errors."""
    options: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"{where}: option {item!r} is not key=value")
        if key.strip() in options:
            raise ValueError(f"{where}: option {key.strip()!r} given twice")
        options[key.strip()] = value.strip()
    return options


def spec_keys(cls: type) -> dict[str, type]:
    """The options a spec may set on `cls`: each scalar `option` field's name and the type its value parses to."""
    hints = _hints(cls)
    return {
        f.name: _flag_type(hints[f.name])
        for f in dataclasses.fields(cls)
        if "help" in f.metadata and _flag_type(hints[f.name]) is not None
    }


def config_from_spec(cls: type[T], text: str, where: str, **fixed: Any) -> T:
    """`cls` from the 'key=value,…' options of a backend spec (e.g. the part after 'rgbd:'), each value parsed
    as its field's type; an unknown key or a bad value is a ValueError naming `where` and the valid keys."""
    settable = spec_keys(cls)
    values: dict[str, Any] = {}
    for key, raw in parse_spec_options(text, where).items():
        if key not in settable:
            raise ValueError(f"{where}: unknown option {key!r} (options: {', '.join(sorted(settable))})")
        values[key] = _parse(settable[key], raw, f"{where}: option {key}")
    try:
        return cls(**{**values, **fixed})
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


def _parse(kind: type, raw: str, where: str) -> Any:
    if kind is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{where} must be true or false, got {raw!r}")
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{where} must be {kind.__name__}, got {raw!r}") from None


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _optional(hint: Any) -> bool:
    return type(None) in typing.get_args(hint)


def _scalar(hint: Any) -> type | None:
    """The scalar type a field holds (bool, int, float, str; also inside `X | None` and `tuple[X, ...]`), else None."""
    if hint in SCALARS:
        return hint
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None) and a is not Ellipsis]
    if origin in (typing.Union, types.UnionType, tuple) and len(set(args)) == 1 and args[0] in SCALARS:
        return args[0]
    return None


def _flag_type(hint: Any) -> type | None:
    """The type a single command-line value of the field parses to; None for tuples and non-scalars."""
    return None if typing.get_origin(hint) is tuple else _scalar(hint)
