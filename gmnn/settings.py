"""Typed settings: the one home of every default and every range check.

Each component of ``gmnn`` has one frozen dataclass of settings (``ModelConfig`` in
:mod:`gmnn.model.config`, ``TrainConfig`` in :mod:`gmnn.train.config`, ``FinetuneConfig``
in :mod:`gmnn.transfer`, ``MDConfig``/``DivergenceConfig`` in :mod:`gmnn.md`). They all
derive from :class:`Settings`, which gives them

* validation of types and ranges in one place, from the field declarations made with
  :func:`option` (``ge``, ``gt``, ``le``, ``lt``, ``choices``), with errors that name the
  key as it is spelt in a configuration file (``training.epochs: must be >= 1, got 0``);
* :meth:`Settings.from_dict`, which refuses unknown (e.g. misspelt) keys by name and
  builds nested settings from nested mappings;
* :meth:`Settings.to_dict`, JSON-ready (tuples as lists), the inverse of ``from_dict``.

A section of the pipeline's ``config.yaml`` maps one-to-one onto one of these classes;
the pipeline passes it through, and the command-line interface takes its defaults from
the same fields (:func:`cli_default`).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

__all__ = ["Settings", "SettingsError", "option", "cli_default", "differences"]


class SettingsError(ValueError):
    """A setting has a wrong name, type or value; ``key`` is its dotted path."""

    def __init__(self, key: str, problem: str):
        self.key, self.problem = key, problem
        super().__init__(f"{key}: {problem}" if key else problem)


def option(
    default: Any = MISSING,
    *,
    doc: str = "",
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: tuple | None = None,
    default_factory: Any = MISSING,
):
    """A settings field with its default, documentation and allowed range."""
    meta = {"doc": doc, "ge": ge, "gt": gt, "le": le, "lt": lt, "choices": choices}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


def _name(tp) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value, tp, key: str):
    """``value`` checked against the annotation ``tp`` (and converted where lossless)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        errors = []
        for a in inner:
            try:
                return _coerce(value, a, key)
            except SettingsError as err:
                errors.append(err.problem)
        raise SettingsError(key, " or ".join(errors))
    if tp is Any:
        return value
    if isinstance(tp, type) and issubclass(tp, Settings):
        if isinstance(value, tp):
            return value
        if isinstance(value, dict):
            return tp.from_dict(value, where=key)
        raise SettingsError(key, f"must be a mapping, got {value!r}")
    simple = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if tp in simple:
        number = tp in (int, float) and isinstance(value, (int, float))
        if isinstance(value, bool) != (tp is bool) or not (number or isinstance(value, tp)):
            raise SettingsError(key, f"must be {simple[tp]}, got {value!r}")
        if tp is int and isinstance(value, float) and not value.is_integer():
            raise SettingsError(key, f"must be an integer, got {value!r}")
        if tp is float and not math.isfinite(value):
            raise SettingsError(key, f"must be a finite number, got {value!r}")
        return tp(value)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise SettingsError(key, f"must be a list, got {value!r}")
        item = args[0]
        return tuple(_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise SettingsError(key, f"must be a mapping, got {value!r}")
        k_tp, v_tp = args
        return {_coerce(k, k_tp, key): _coerce(v, v_tp, f"{key}.{k}") for k, v in value.items()}
    raise TypeError(f"unsupported settings annotation {tp!r} for {key}")  # pragma: no cover


def _check_range(value, meta: dict, key: str) -> None:
    values = value if isinstance(value, tuple) else (value,)
    for v in values:
        if v is None or isinstance(v, (dict, Settings)):
            continue
        if meta.get("choices") is not None and v not in meta["choices"]:
            raise SettingsError(key, f"must be one of {list(meta['choices'])}, got {v!r}")
        if isinstance(v, str):
            continue
        for bound, ok, word in (
            ("ge", lambda a, b: a >= b, ">="),
            ("gt", lambda a, b: a > b, ">"),
            ("le", lambda a, b: a <= b, "<="),
            ("lt", lambda a, b: a < b, "<"),
        ):
            limit = meta.get(bound)
            if limit is not None and not ok(v, limit):
                raise SettingsError(key, f"must be {word} {limit}, got {v!r}")


@dataclass(frozen=True)
class Settings:
    """Base of every settings class (frozen dataclasses with checked fields).

    Subclasses (made frozen dataclasses automatically) declare fields with
    :func:`option` and may add cross-field checks in :meth:`check` (raise
    :class:`SettingsError` with the field's name).
    """

    section: ClassVar[str] = ""  # its name in config.yaml, for messages

    def __init_subclass__(cls, **kwargs):
        # every subclass is a frozen dataclass without having to say so
        super().__init_subclass__(**kwargs)
        dataclass(frozen=True)(cls)

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            value = _coerce(getattr(self, f.name), hints[f.name], f.name)
            _check_range(value, f.metadata, f.name)
            object.__setattr__(self, f.name, value)
        self.check()

    def check(self) -> None:
        """Cross-field checks of a subclass (raise SettingsError naming the field)."""

    @classmethod
    def from_dict(cls, data: dict | None, where: str | None = None):
        """Settings from a mapping; unknown keys are an error naming them."""
        where = cls.section if where is None else where
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise SettingsError(where, f"must be a mapping, got {data!r}")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(known))
        if unknown:
            names = ", ".join(f"{where}.{k}" if where else k for k in unknown)
            raise SettingsError(
                f"{where}.{unknown[0]}" if where else unknown[0],
                f"unknown setting(s) {names}; known: {', '.join(known)}",
            )
        missing = [
            f.name
            for f in fields(cls)
            if f.name not in data and f.default is MISSING and f.default_factory is MISSING
        ]
        if missing:
            key = f"{where}.{missing[0]}" if where else missing[0]
            raise SettingsError(key, "is required")
        try:
            return cls(**data)
        except SettingsError as err:
            if where:
                raise SettingsError(f"{where}.{err.key}", err.problem) from None
            raise

    def to_dict(self) -> dict:
        """JSON-ready mapping of every field (nested settings as mappings)."""

        def plain(v):
            if isinstance(v, Settings):
                return v.to_dict()
            if isinstance(v, tuple):
                return [plain(x) for x in v]
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            return v

        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}

    def replace(self, **changes):
        """A copy with ``changes`` applied (and checked)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def defaults(cls) -> dict:
        """The default of every field that has one (JSON-ready)."""
        out = {}
        for f in fields(cls):
            if f.default is not MISSING:
                out[f.name] = f.default
            elif f.default_factory is not MISSING:
                out[f.name] = f.default_factory()

        def plain(v):
            if isinstance(v, Settings):
                return v.to_dict()
            return list(v) if isinstance(v, tuple) else v

        return {k: plain(v) for k, v in out.items()}

    @classmethod
    def docs(cls) -> dict[str, str]:
        return {f.name: f.metadata.get("doc", "") for f in fields(cls)}


def cli_default(cls: type[Settings], name: str):
    """The default of ``cls.name`` for an argparse option (one place for each default)."""
    value = cls.defaults()[name]
    return list(value) if isinstance(value, tuple) else value


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths where two JSON-like values differ, with both values (for messages)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old:
                out.append(f"{path}: absent before, now {_short(new[key])}")
            elif key not in new:
                out.append(f"{path}: {_short(old[key])} before, absent now")
            else:
                out += differences(old[key], new[key], path)
        return out
    if old != new:
        return [f"{prefix or 'value'}: {_short(old)} before, now {_short(new)}"]
    return []


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
