"""The config schema's names are gmnn's: the settings (gmnn.workflow.grid.SETTING_CHOICES),
the integrators (gmnn.md.INTEGRATORS) and the Ala10 ensembles (gmnn.workflow.ala10.TITLES)
are filled in from gmnn by gmnn.workflow.schema, not copied into the schema file."""

from __future__ import annotations

import re

import pytest
import yaml
from _configs import SCHEMA, pipeline_config

from gmnn.md import INTEGRATORS
from gmnn.workflow import Setting
from gmnn.workflow import ala10 as design_ala10
from gmnn.workflow.grid import SETTING_CHOICES
from gmnn.workflow.schema import (
    ENUMS,
    ConfigSchemaError,
    SchemaError,
    load_schema,
    validate_config,
)


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


def enums(node) -> list:
    """Every ``enum`` list under ``node``."""
    if isinstance(node, dict):
        return ([node["enum"]] if "enum" in node else []) + [
            e for v in node.values() for e in enums(v)
        ]
    if isinstance(node, list):
        return [e for v in node for e in enums(v)]
    return []


def test_setting_enums_are_gmnns():
    schema = load_schema(SCHEMA)
    for key, names in SETTING_CHOICES.items():
        assert resolve(schema, node(schema, key)["items"])["enum"] == names, key
        assert all(Setting.parse(n).name == n for n in names)
    assert node(schema, "ala10.models")["items"]["enum"] == list(design_ala10.TITLES)
    stage = schema["$defs"]["ala10_phase"]["properties"]["stages"]["items"]
    assert stage["properties"]["integrator"]["enum"] == list(INTEGRATORS)


def test_the_schema_file_copies_no_name_gmnn_owns():
    """The file marks where gmnn's names go; no list of them is written out in it."""
    raw = enums(yaml.safe_load(open(SCHEMA, encoding="utf-8")))
    owned = {n for names in SETTING_CHOICES.values() for n in names}
    owned |= set(INTEGRATORS) | set(design_ala10.TITLES)
    assert not [e for e in raw if set(e) & owned]


def test_a_new_integrator_is_offered_without_editing_the_schema(monkeypatch):
    monkeypatch.setitem(ENUMS, "integrators", lambda: ["langevin", "brand_new"])
    schema = load_schema(SCHEMA)
    stage = schema["$defs"]["ala10_phase"]["properties"]["stages"]["items"]
    assert stage["properties"]["integrator"]["enum"] == ["langevin", "brand_new"]


def test_an_unknown_enum_name_in_the_schema_is_named(tmp_path):
    bad = tmp_path / "schema.yaml"
    bad.write_text("type: object\nproperties:\n  x: {x-gmnn-enum: integratorz}\n")
    with pytest.raises(SchemaError, match="/properties/x: unknown x-gmnn-enum 'integratorz'"):
        load_schema(bad)


def test_errors_name_the_key_inside_lists_and_alternatives():
    config = pipeline_config()
    config["ala10"]["water"]["stages"][1]["integrator"] = "verlet"
    with pytest.raises(
        ConfigSchemaError, match=r"config key ala10\.water\.stages\[1\]\.integrator"
    ):
        validate_config(config, SCHEMA)


def test_model_reference_pattern_accepts_the_grid_settings():
    schema = load_schema(SCHEMA)
    pattern = re.compile(resolve(schema, node(schema, "md.models")["items"])["pattern"])
    assert pattern.match("pretrain")
    for name in Setting.names():
        grid = Setting.parse(name).kind in ("scratch", "finetune")
        assert bool(pattern.match(f"{name}@16")) == grid, name
        assert bool(pattern.match(f"{name}@small")) == grid, name


# issue 22: values under ala10.water (an anyOf of null and the phase) named by their key
@pytest.mark.parametrize(
    ("solvation", "named"),
    [
        ({"n_water": 0}, "config key ala10.water.solvation.n_water: 0 is less than the minimum"),
        (
            {"n_water": 10, "density_g_cm3": -1},
            "config key ala10.water.solvation.density_g_cm3: -1",
        ),
        ({"n_water": 10, "margin_A": -1}, "config key ala10.water.solvation.margin_A: -1"),
        ({"n_water": 10, "tolerance_A": 0}, "config key ala10.water.solvation.tolerance_A: 0"),
        ({"n_water": 10, "sed": 1}, "config key ala10.water.solvation: Additional properties"),
    ],
)
def test_solvation_errors_name_the_key(solvation, named):
    config = pipeline_config()
    config["ala10"]["water"]["solvation"] = solvation
    with pytest.raises(ConfigSchemaError) as err:
        validate_config(config, SCHEMA)
    assert named in str(err.value)
    assert "is not valid under any of the given schemas" not in str(err.value)
