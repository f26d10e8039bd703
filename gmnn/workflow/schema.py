"""The pipeline's config schema (rules/schemas/config.schema.yaml), with the names that gmnn
defines filled in from gmnn rather than copied, and the validation of a config against it.

Where the schema lists names that gmnn owns (the experimental settings each figure may
compare, the MD integrators, the Ala10 ensembles), it says ``{x-gmnn-enum: <list>}``
instead of ``{enum: [...]}``; :func:`load_schema` fills in ``enum`` from :data:`ENUMS`, so
a setting or integrator added to gmnn is offered by the config without an edit of the
schema. :func:`validate_config` checks a config against it and fills its defaults, as
Snakemake's ``validate`` does, and names the key at fault in its first line.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import yaml

MARK = "x-gmnn-enum"


def _integrators() -> list[str]:
    from gmnn.md.integrators import INTEGRATORS

    return list(INTEGRATORS)


def _ala10_models() -> list[str]:
    from gmnn.workflow.ala10 import TITLES

    return list(TITLES)


def _settings(key: str) -> Callable[[], list[str]]:
    def names() -> list[str]:
        from gmnn.workflow.grid import SETTING_CHOICES

        return list(SETTING_CHOICES[key])

    return names


# The lists a schema may name with ``x-gmnn-enum``, each from where gmnn defines it.
ENUMS: dict[str, Callable[[], list[str]]] = {
    "integrators": _integrators,
    "ala10.models": _ala10_models,
    **{
        f"settings:{key}": _settings(key)
        for key in ("md17.settings", "ani.fig5.settings", "ani.fig6.settings")
        + ("pretrain_size.settings",)
    },
}


class SchemaError(ValueError):
    """The schema file itself is wrong (an unknown ``x-gmnn-enum`` name)."""


def fill_enums(node, where: str = "") -> None:
    """Replace every ``x-gmnn-enum: <name>`` under ``node`` by ``enum: [...]`` (in place)."""
    if isinstance(node, dict):
        if MARK in node:
            name = node.pop(MARK)
            if name not in ENUMS:
                raise SchemaError(
                    f"{where or '/'}: unknown {MARK} {name!r}; known: {sorted(ENUMS)}"
                )
            node["enum"] = ENUMS[name]()
        for key, value in node.items():
            fill_enums(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            fill_enums(value, f"{where}/{i}")


@cache
def _read(path: str, mtime_ns: int) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def load_schema(path) -> dict:
    """The schema file at ``path`` (rules/schemas/config.schema.yaml of the pipeline) with
    gmnn's names filled in (a fresh copy each call)."""
    import copy

    path = Path(path).resolve()
    schema = copy.deepcopy(_read(str(path), path.stat().st_mtime_ns))
    fill_enums(schema)
    return schema


def key_path(error) -> str:
    """The dotted config key of a jsonschema error (``ala10.water.stages[1].integrator``)."""
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validate_config(config: dict, path) -> dict:
    """Check ``config`` against the schema at ``path`` and fill in its defaults (in place;
    returns it). A violation raises :class:`ConfigSchemaError`, whose first line names the
    key and the value at fault."""
    from jsonschema import Draft202012Validator, validators

    schema = load_schema(path)
    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, subschema):
        for name, sub in properties.items():
            if "default" in sub and isinstance(instance, dict):
                instance.setdefault(name, sub["default"])
        yield from check_properties(validator, properties, instance, subschema)

    Validator = validators.extend(Draft202012Validator, {"properties": set_defaults})
    errors = sorted(Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigSchemaError(errors)
    return config


class ConfigSchemaError(ValueError):
    """A config that the schema refuses; the message names each key at fault."""

    def __init__(self, errors):
        self.errors = list(errors)
        lines = []
        for error in self.errors:
            # for anyOf/oneOf alternatives (a section or null), the error deepest inside
            # the config says more than "not valid under any of the given schemas"
            deepest = _deepest(error)
            lines.append(f"config key {key_path(deepest)}: {deepest.message}")
        super().__init__("Error validating config file.\n" + "\n".join(lines))


def _deepest(error):
    """The error among ``error`` and its alternatives' errors deepest in the config."""
    best = error
    for sub in error.context or ():
        sub = _deepest(sub)
        if len(sub.absolute_path) > len(best.absolute_path):
            best = sub
    return best
