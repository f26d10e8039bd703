"""gmnn.md.integrators: one object per integrator in one registry, which the settings,
the run, the command line and the config schema ask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from gmnn.md import INTEGRATORS, MDConfig, get_integrator
from gmnn.runs import CheckpointDamaged
from gmnn.workflow.schema import load_schema

SCHEMA = Path(__file__).resolve().parents[2] / "rules" / "schemas" / "config.schema.yaml"


def _integrator_enums(node) -> list:
    """Every ``enum`` of a property called ``integrator`` in the schema."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "integrator" and isinstance(value, dict) and "enum" in value:
                found.append(value["enum"])
            found += _integrator_enums(value)
    elif isinstance(node, list):
        for value in node:
            found += _integrator_enums(value)
    return found


def test_the_schema_offers_the_registry_integrators():
    enums = _integrator_enums(load_schema(SCHEMA))
    assert enums, "no integrator enum in the schema"
    for enum in enums:
        assert enum == list(INTEGRATORS)


def test_the_settings_offer_the_registry_integrators():
    assert MDConfig.defaults()["integrator"] in INTEGRATORS
    for name in INTEGRATORS:
        assert MDConfig(steps=2, integrator=name).integrator == name
        assert get_integrator(name).name == name


def test_an_unknown_integrator_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown integrator 'verlet'; known: langevin, nose"):
        get_integrator("verlet")


def test_what_each_integrator_says():
    assert [n for n, i in INTEGRATORS.items() if i.npt] == ["npt_melchionna", "npt_mtk"]
    assert [n for n, i in INTEGRATORS.items() if i.fix_com] == ["langevin"]
    fields = set(MDConfig.docs())
    for integrator in INTEGRATORS.values():
        assert set(integrator.settings) <= fields
        assert all(key.startswith("integrator.") for key in integrator.state_keys)
    assert get_integrator("langevin").state == ()
    cfg = MDConfig(steps=2, integrator="npt_mtk", pressure_bar=3.0)
    assert cfg.integrator_settings() == {
        "thermostat_time_fs": 1000.0,
        "barostat_time_fs": 1000.0,
        "pressure_bar": 3.0,
    }


@pytest.mark.parametrize("name", [n for n, i in INTEGRATORS.items() if i.state])
def test_the_state_goes_back_onto_a_fresh_dynamics_object(name):
    integrator = get_integrator(name)
    cfg = MDConfig(steps=4, integrator=name, timestep_fs=2.0, thermostat_time_fs=50.0)
    atoms = bulk("Cu", cubic=True).repeat((2, 2, 2))
    atoms.rattle(0.05, seed=1)
    atoms.calc = EMT()
    rng = np.random.default_rng(0)
    dynamics = integrator.build(atoms, cfg, rng)
    dynamics.run(3)
    state = integrator.save_state(dynamics)
    assert sorted(state) == sorted(integrator.state_keys)
    fresh = integrator.build(atoms, cfg, rng)
    integrator.restore_state(fresh, state, "ck.npz")
    again = integrator.save_state(fresh)
    for key, value in state.items():
        np.testing.assert_array_equal(again[key], value)
    del state[integrator.state_keys[0]]
    with pytest.raises(CheckpointDamaged, match=integrator.state_keys[0]):
        integrator.restore_state(integrator.build(atoms, cfg, rng), state, "ck.npz")
