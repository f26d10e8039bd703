"""gmnn.md.MDConfig / DivergenceConfig: defaults, ranges, cross-field checks, identity;
`gmnn md` validates through them and names its options."""

from __future__ import annotations

import re

import pytest

from gmnn.cli import main
from gmnn.md import DivergenceConfig, MDConfig
from gmnn.settings import SettingsError, cli_default


def test_defaults_are_the_pipeline_settings():
    cfg = MDConfig(steps=100)
    assert cfg.integrator == "langevin"
    assert (cfg.timestep_fs, cfg.friction_per_fs) == (0.5, 0.002)
    assert (cfg.write_interval, cfg.checkpoint_interval) == (2, 2000)
    assert cfg.divergence == DivergenceConfig(max_force=50.0, bond_factor=2.0, escape_distance=10.0)
    assert cli_default(MDConfig, "friction_per_fs") == 0.002
    assert MDConfig.from_dict({"steps": 100, "divergence": {"max_force": None}}).divergence == (
        DivergenceConfig(max_force=None)
    )


def test_steps_must_be_a_multiple_of_the_write_interval():
    with pytest.raises(SettingsError, match=r"^md\.dynamics\.steps: .*write_interval \(2\).*301"):
        MDConfig.from_dict({"steps": 301})
    with pytest.raises(SettingsError, match=r"steps: .*write_interval \(5\), got 12"):
        MDConfig(steps=12, write_interval=5)
    with pytest.raises(SettingsError, match=r"checkpoint_interval: .*write_interval \(4\)"):
        MDConfig(steps=8, write_interval=4, checkpoint_interval=2002)


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"steps": -10}, "steps"),
        ({"steps": 0}, "steps"),
        ({"temperature_K": -300.0}, "temperature_K"),
        ({"timestep_fs": 0.0}, "timestep_fs"),
        ({"friction_per_fs": 0.0}, "friction_per_fs"),
        ({"write_interval": 0}, "write_interval"),
        ({"checkpoint_interval": 0}, "checkpoint_interval"),
        ({"seed": -1}, "seed"),
        ({"integrator": "verlet"}, "integrator"),
        ({"initialise_velocities": "yes"}, "initialise_velocities"),
        ({"divergence": {"max_force": -1.0}}, "divergence.max_force"),
        ({"divergence": {"bond_factor": 0.9}}, "divergence.bond_factor"),
        ({"divergence": {"escape_distance": 0}}, "divergence.escape_distance"),
        ({"frction_per_fs": 0.1}, "frction_per_fs"),
    ],
)
def test_out_of_range_values_name_the_key(changes, key):
    with pytest.raises(SettingsError) as err:
        MDConfig.from_dict({"steps": 100, **changes})
    assert err.value.key == f"md.dynamics.{key}"
    assert str(err.value).startswith(f"md.dynamics.{key}: ")


def test_identity_leaves_out_what_does_not_change_the_trajectory():
    a = MDConfig(steps=100, checkpoint_interval=10)
    assert a.identity() == MDConfig(steps=4000, checkpoint_interval=400).identity()
    assert "steps" not in a.identity() and "checkpoint_interval" not in a.identity()
    assert a.identity() != MDConfig(steps=100, write_interval=4).identity()
    off = {k: v for k, v in DivergenceConfig().to_dict().items() if k != "max_force_spread"}
    assert a.identity()["divergence"] == off  # (the spread stop off: left out)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--steps", "-10", "--steps: must be >= 1, got -10"),
        ("--timestep-fs", "0", "--timestep-fs: must be > 0.0, got 0.0"),
        ("--temperature-K", "-300", "--temperature-K: must be > 0.0, got -300.0"),
        ("--pressure-bar", "inf", "--pressure-bar: must be a finite number, got inf"),
        ("--steps", "11", "--steps: must be a multiple of write_interval (2), got 11"),
        (
            "--checkpoint-interval",
            "5",
            "--checkpoint-interval: must be a multiple of write_interval",
        ),
    ],
)
def test_cli_md_names_the_bad_option(option, value, message, capsys):
    args = ["md", "--model", "no-model", "--structure", "no.xyz", "--steps", "10"]
    rc = main([*args, option, value])
    assert rc == 2
    assert message in capsys.readouterr().err


def test_cli_md_options_are_the_settings_names(capsys):
    """Every MDConfig field but the nested divergence is an option spelt as the field,
    --integrator offers the registry's integrators, and the old spellings are gone."""
    from gmnn.md import INTEGRATORS

    with pytest.raises(SystemExit):
        main(["md", "--help"])
    text = capsys.readouterr().out
    flags = set(re.findall(r"--[\w-]+", text))
    for name in MDConfig.docs():
        if name != "divergence":
            assert "--" + name.replace("_", "-") in flags, name
    assert not {"--temperature", "--timestep", "--friction", "--interval"} & flags
    assert "--integrator {" + ",".join(INTEGRATORS) + "}" in text
    with pytest.raises(SystemExit):
        main(
            [
                "md",
                "--model",
                "m",
                "--structure",
                "x.xyz",
                "--steps",
                "10",
                "--integrator",
                "verlet",
            ]
        )
    assert "invalid choice: 'verlet'" in capsys.readouterr().err


def test_cli_md_builds_the_config_of_its_options():
    from gmnn.cli import _md_config, build_parser

    args = build_parser().parse_args(
        ["md", "--model", "m", "--structure", "x.xyz", "--steps", "40", "--integrator", "npt_mtk"]
        + ["--pressure-bar", "5", "--write-interval", "4", "--no-initialise-velocities"]
    )
    assert _md_config(args) == MDConfig(
        steps=40,
        integrator="npt_mtk",
        pressure_bar=5.0,
        write_interval=4,
        initialise_velocities=False,
    )
