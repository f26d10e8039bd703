"""The config schema's setting names are gmnn's (gmnn.workflow.grid.SETTING_CHOICES,
gmnn.workflow.Setting, gmnn.workflow.ala10.TITLES), not a copy that can drift."""

from __future__ import annotations

import re

import yaml
from _configs import SCHEMA

from gmnn.workflow import Setting
from gmnn.workflow import ala10 as design_ala10
from gmnn.workflow.grid import SETTING_CHOICES


def resolve(schema: dict, n: dict) -> dict:
    while "$ref" in n:
        n = schema["$defs"][n["$ref"].removeprefix("#/$defs/")]
    return n


def node(schema: dict, key: str) -> dict:
    """The schema of ``key`` (dotted), its local ``$ref`` resolved."""
    out = schema
    for part in key.split("."):
        out = resolve(schema, resolve(schema, out)["properties"][part])
    return out


def test_setting_enums_are_gmnns():
    schema = yaml.safe_load(open(SCHEMA, encoding="utf-8"))
    for key, names in SETTING_CHOICES.items():
        assert resolve(schema, node(schema, key)["items"])["enum"] == names, key
        assert all(Setting.parse(n).name == n for n in names)
    assert node(schema, "ala10.models")["items"]["enum"] == list(design_ala10.TITLES)


def test_model_reference_pattern_accepts_the_grid_settings():
    schema = yaml.safe_load(open(SCHEMA, encoding="utf-8"))
    pattern = re.compile(resolve(schema, node(schema, "md.models")["items"])["pattern"])
    assert pattern.match("pretrain")
    for name in Setting.names():
        grid = Setting.parse(name).kind in ("scratch", "finetune")
        assert bool(pattern.match(f"{name}@16")) == grid, name
        assert bool(pattern.match(f"{name}@small")) == grid, name
