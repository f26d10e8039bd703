"""The experimental design (gmnn.workflow.Design): built once from a pipeline config,
its cross-checks name the key at fault; in milliseconds, without Snakemake's DAG (the
errors reach `snakemake -n` as well: tests/pipeline/test_config.py)."""

from __future__ import annotations

import sys

import pytest
import yaml
from _configs import EMBEDDED, pipeline_config

from gmnn.md import get_integrator
from gmnn.workflow import ConfigError, Design
from gmnn.workflow.ani import AniModel


def problems(*layers) -> str:
    with pytest.raises(ConfigError) as err:
        Design.from_config(pipeline_config(*layers))
    return str(err.value)


@pytest.fixture(scope="module")
def paper():
    return Design.from_config(pipeline_config())


@pytest.fixture(scope="module")
def embedded():
    return Design.from_config(pipeline_config(EMBEDDED))


def test_the_committed_configs_build(paper, embedded):
    figures = ["fig2", "fig3", "fig4", "figS1", "figS2", "figS3", "figS4", "figS5"]
    expected = [f"figures/{f}.pdf" for f in figures]
    expected += ["figures/table1.md", "figures/fig5.pdf", "figures/fig6.pdf"]
    expected += ["figures/fig7.pdf", "figures/fig8.pdf", "figures/claims.md"]
    assert sorted(embedded.figure_targets()) == sorted(expected)
    assert paper.figure_targets()[0] == "figures/fig2.pdf"
    assert paper.grid.train_sizes == sorted(paper.grid.train_sizes)
    assert paper.md.steps > 0 and paper.md.runs()[0]["seed"] == paper.config["md"]["seed"]


def test_figure_groups_switch_off():
    design = Design.from_config(
        pipeline_config(EMBEDDED, {"md": None, "ani": None, "pretrain_size": None})
    )
    assert design.figure_targets() == ["figures/fig2.pdf", "figures/claims.md"]
    assert design.md is None and design.ani is None and design.ala10 is None


def test_ani_exports_and_cards(paper, embedded):
    ani = paper.ani
    exports = ani.exports
    top, cc_top = max(ani.section["table1"]["sizes"]), max(ani.cc_sizes)
    assert exports["ani1x_pretrained"].model == AniModel(top)
    assert exports["ani1ccx_finetuned"].model == AniModel(top, "finetune_E", cc_top)
    card = exports["ani1ccx_finetuned"].card
    assert card["finetuning"]["level_of_theory"] == "CCSD(T)*/CBS"
    assert card["pretraining"]["n_train"] == top and card["seeds"] == ani.seeds
    embedded_card = embedded.ani.exports["ani1x_pretrained"].card
    assert embedded_card["pretraining"]["level_of_theory"] == "GFN2-xTB (tblite)"
    off = Design.from_config(pipeline_config(EMBEDDED, {"ani": {"export": False}}))
    assert off.ani.exports == {}


def test_the_pretraining_has_a_length_of_its_own():
    ani = Design.from_config(
        pipeline_config(
            EMBEDDED,
            {
                "ani": {
                    "training": {"steps": 300},
                    "ani1x": {"training": {"steps": None, "epochs": 40}},
                }
            },
        )
    ).ani
    pretraining, finetuning = ani.training_params(1, "ani1x"), ani.training_params(1)
    assert pretraining["epochs"] == 40 and pretraining["steps"] is None
    # the ANI-1ccx runs keep ani.training; everything else is shared
    assert finetuning["steps"] == 300 and finetuning["epochs"] != 40
    other = {k: v for k, v in pretraining.items() if k not in ("epochs", "steps")}
    assert other == {k: v for k, v in finetuning.items() if k not in ("epochs", "steps")}
    assert other["seed"] == 1


def test_the_main_job_builds_its_design_without_the_qc_extra(monkeypatch):
    """README command 1 installs `.[pipeline]` only: counting the committed ANI-1ccx-role
    structures must not build the systems (RDKit, the qc extra)."""
    from pathlib import Path

    monkeypatch.setitem(sys.modules, "rdkit", None)  # import rdkit fails
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    with pytest.raises(ImportError):
        import rdkit  # noqa: F401
    held = Design.from_config(pipeline_config(EMBEDDED)).ani.data_structures(
        pipeline_config(EMBEDDED)["embedded_ani"]
    )
    assert held["ani1ccx"][0] == 618 and held["ani1x"][0] == 9280


def test_ala10_ensembles(paper):
    ala10, ani = paper.ala10, paper.ani
    assert ala10.n_pretrain == max(ani.section["table1"]["sizes"])
    assert ala10.members("scratch") == AniModel(None, "scratch_E", max(ani.cc_sizes))
    assert ala10.members("finetuned").npre == ala10.n_pretrain
    assert ala10.phases == ["gas", "water"] and ala10.atoms("gas") == 104
    n_water = paper.config["ala10"]["water"]["solvation"]["n_water"]
    assert ala10.atoms("water") == 104 + 3 * n_water
    water = ala10.stage_configs("water")
    assert len(water) == ala10.n_stages("water") and any(
        get_integrator(c.integrator).npt for c in water
    )
    assert not any(get_integrator(c.integrator).npt for c in ala10.stage_configs("gas"))


def test_several_problems_in_one_error():
    text = problems(
        EMBEDDED, {"md": {"molecule": "ethanol"}, "pretrain_size": {"finetune_sizes": [100]}}
    )
    assert text.startswith("Invalid configuration:\n  ")
    assert "md.molecule 'ethanol' is not in md17.molecules" in text
    assert "pretrain_size.finetune_sizes [100] are not in md17.cc.train_sizes" in text


# Many bad values in one config (embedded preset: 6000 MD steps, 520 DFT structures)
MANY = """\
bond_scan:
  ranges_A:
    O-H: [1.2, 0.8]
    C-H: [0.9, 0.95]
    N-H: [0.05, 1.5]
  points: 5
md:
  dynamics:
    write_interval: 8000
    checkpoint_interval: 8000
embedded_data:
  molecule: methanl
pretrain_size:
  sizes: [50, 100, 200, 600]
"""
MANY_NAMED = {
    "reversed range": "bond_scan.ranges_A.O-H=[1.2, 0.8]: the first distance must be below "
    "the second",
    "window wider than the range": "bond_scan.fit_window_A=0.05: the fit window (+-0.05 A "
    "around the minimum) is wider than bond_scan.ranges_A.C-H=[0.9, 0.95]",
    "range below the coincidence limit": "bond_scan.ranges_A.N-H=[0.05, 1.5]: starts below 0.1 A",
    "too few points for the fit": "bond_scan.points=5: a step of 0.3625 A on "
    "bond_scan.ranges_A.N-H=[0.05, 1.5] can leave fewer than 3 points within "
    "+-fit_window_A=0.05 A of the minimum for the harmonic fit; use at least 45 points",
    "write interval longer than the run": "md.dynamics.write_interval=8000 is longer than "
    "the run (equilibration_ps + production_ps = 6000 steps",
    "unknown embedded molecule": "embedded_data.molecule: unknown molecule 'methanl': use "
    "one of ['ethanol', 'methanol', 'water']",
    "pre-training size above the embedded data": "md17.dft needs 650 structures "
    "(pretrain_size.sizes up to 600, n_valid and n_test) but embedded_data.dft.n_structures "
    "is 520",
}

# checks that a first problem above would hide (elif), and test sets that come out empty
EMPTY = """\
md:
  dynamics:
    checkpoint_interval: 8000
md17:
  cc:
    train_sizes: [16, 32, 64, 128, 268]
pretrain_size:
  sizes: [50, 100, 200, 470]
"""
EMPTY_NAMED = {
    "checkpoint interval longer than the run": "md.dynamics.checkpoint_interval=8000 is "
    "longer than the run (equilibration_ps + production_ps = 6000 steps of "
    "md.dynamics.timestep_fs=0.5): a killed run would never have a checkpoint",
    "no DFT test structures left": "md17.dft: pretrain_size.sizes up to 470 and n_valid=50 "
    "take all embedded_data.dft.n_structures=520, leaving no test structures",
    "no coupled-cluster test structures left": "md17.cc: training set of 268 and "
    "n_valid=32 take all embedded_data.cc.n_structures=300, leaving no test structures",
}


@pytest.fixture(scope="module")
def many():
    return problems(EMBEDDED, MANY)


@pytest.fixture(scope="module")
def empty():
    return problems(EMBEDDED, EMPTY)


@pytest.mark.parametrize("what", sorted(MANY_NAMED))
def test_bad_design_values_are_named(many, what):
    assert MANY_NAMED[what] in many


@pytest.mark.parametrize("what", sorted(EMPTY_NAMED))
def test_empty_test_sets_and_checkpoints_are_named(empty, what):
    assert EMPTY_NAMED[what] in empty


# one bad value over the embedded preset
@pytest.mark.parametrize(
    ("bad", "named"),
    [
        (
            "md17:\n  cc:\n    train_sizes: [16, 512]\n",
            "md17.cc needs 544 structures (training set of 512, n_valid and n_test) but "
            "embedded_data.cc.n_structures is 300",
        ),
        ("md17:\n  cc:\n    train_sizes: [64, 16]\n", "md17.cc.train_sizes must be increasing"),
        ("md:\n  molecule: ethanol\n", "md.molecule 'ethanol' is not in md17.molecules"),
        ("md:\n  seed: 7\n", "md.seed=7 is not in md17.seeds"),
        ("md:\n  sizes: {small: 17}\n", "md.sizes.small=17 is not in md17.cc.train_sizes"),
        (
            "pretrain_size:\n  finetune_sizes: [100]\n",
            "pretrain_size.finetune_sizes [100] are not in md17.cc.train_sizes",
        ),
        ("md17:\n  settings: [finetune_EF]\n", "pretrain_size needs md17.settings to include"),
        # typed gmnn settings
        ("model:\n  cutoff: -4.0\n", "model.cutoff: must be > 0.0, got -4.0"),
        ("training:\n  epoch: 3\n", "training.epoch: unknown setting(s) training.epoch"),
        (
            "md:\n  dynamics:\n    frction_per_fs: 0.1\n",
            "md.dynamics.frction_per_fs: unknown setting(s)",
        ),
        ("finetune:\n  mode: lora\n", "finetune.mode: must be one of"),
        ("spectra:\n  window: hamming\n", "spectra.window: must be one of ['hann', 'none']"),
        (
            "spectra:\n  max_lag_ps: 2.0\n",
            "spectra.max_lag_ps=2.0: the spectra need two VACF windows of production, but "
            "md.production_ps is 2.5",
        ),
        # model references and figures
        ("md:\n  models: [scratch_EF@huge]\n", "md.models: size 'huge' of 'scratch_EF@huge'"),
        ("bond_scan:\n  models: [scratch_EF@17]\n", "bond_scan.models: scratch_EF@17: 17"),
        (
            "figures:\n  spectra:\n    fig4: {temperature_K: 200, panels: [[scratch_EF@large]]}\n",
            "figures.spectra.fig4.temperature_K=200 is not in md.temperatures_K",
        ),
        (
            "figures:\n  spectra:\n    fig4: {temperature_K: 300, panels: [[scratch_E@16]]}\n",
            "figures.spectra.fig4: scratch_E@16 is not among md.models",
        ),
        ("figures:\n  bonds:\n    figS1: S-H\n", "figures.bonds.figS1='S-H' is not in"),
        ("md:\n  production_ps: 2.5005\n", "not a multiple of md.dynamics.write_interval 2"),
        # the ANI study
        (
            "ani:\n  comp6_subsets: [s66x8]\n",
            "ani.comp6_subsets: 's66x8' is not an embedded_ani.heldout subset",
        ),
        (
            "ani:\n  fig6: {molecules: [ethanol]}\n",
            "ani.fig6.molecules: ethanol is not in md17.molecules ['methanol']",
        ),
        ("ani:\n  fig6: {n_train: 17}\n", "ani.fig6.n_train=17 is not in md17.cc.train_sizes"),
        # the ANI study's sizes against its data (issue 22): 9280 ANI-1x-role frames,
        # 618 accurate ones, 250 of them the ANI-1ccx-role test set (kept out of ANI-1x)
        (
            "ani:\n  ani1ccx:\n    train_sizes: [40, 80, 600]\n",
            "ani.ani1ccx.train_sizes up to 600, n_valid=48 and n_test=null need 648 "
            "structures, but the embedded ANI-1ccx-role data (data/embedded/ani_wb97x.h5) "
            "hold 618",
        ),
        (
            "ani:\n  ani1ccx:\n    train_sizes: [40, 570]\n",
            "ani.ani1ccx.train_sizes up to 570 and n_valid=48 take all 618 structures",
        ),
        (
            "ani:\n  table1:\n    sizes: [960, 9100]\n",
            "ani.table1.sizes: 9100 pre-training structures and ani.ani1x.n_valid=256 need "
            "9356, but the embedded ANI-1x-role data (embedded_ani.train frames) hold 9280 "
            "less the 250 ANI-1ccx test structures (9030)",
        ),
        (  # fits the frames, but not once the ANI-1ccx-role test set is kept out
            "ani:\n  fig6:\n    pretrain_sizes: [960, 8900]\n",
            "ani.fig6.pretrain_sizes: 8900 pre-training structures and ani.ani1x.n_valid=256 "
            "need 9156",
        ),
        (
            "embedded_ani:\n  heldout:\n    drugs: {systems: [asprin], temperature_K: 400, "
            "frames: 64}\n",
            "embedded_ani.heldout.drugs.systems: unknown system 'asprin'",
        ),
        (
            "embedded_ani:\n  accurate:\n    extra_systems: {glycne: 3}\n",
            "embedded_ani.accurate.extra_systems: 'glycne' is not a train system (unknown)",
        ),
        (
            "spectra:\n  grid_step_cm1: 5000\n",
            "spectra.grid_step_cm1: must be below grid_max_cm1 (4500.0)",
        ),
        ("ani:\n  model: {cutof: 5.0}\n", "model + ani.model.cutof: unknown"),
        ("ani:\n  training: {epoch: 5}\n", "training + ani.training.epoch: unknown"),
        (
            "ani:\n  ani1x: {training: {steps: 0}}\n",
            "training + ani.training + ani.ani1x.training.steps",
        ),
    ],
)
def test_one_bad_value_names_the_key(bad, named):
    assert named in problems(EMBEDDED, bad)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"water": {"equilibration_ps": 600}}, "ala10.water.equilibration_ps=600"),
        (
            {"gas": {"stages": [{"integrator": "langevin", "time_ps": 0.0003}]}},
            "ala10.gas.stages[0].time_ps",
        ),
        ({"n_pretrain": 1000}, "ala10.n_pretrain=1000"),
        # issue 22, tried as a hostile user: a running average longer than what is
        # analysed, and a misspelt ala10.dynamics key (named there, not in each stage)
        ({"gas": {"window_ps": 1000.5}}, "ala10.gas.window_ps=1000.5: the running average"),
        (
            {"dynamics": {"temprature_K": 300}},
            "ala10.dynamics.temprature_K: unknown setting(s) ala10.dynamics.temprature_K",
        ),
        ({"n_train": 1000}, "ala10.n_train=1000 is not in ani.ani1ccx.train_sizes"),
        (
            {"gas": {"stages": [{"integrator": "npt_mtk", "time_ps": 1}]}},
            "ala10.gas.stages: NPT needs a periodic box",
        ),
    ],
)
def test_ala10_errors_name_the_key(change, message):
    assert message in problems({"ala10": change})


# the paper-scale ANI study (config.yaml, source ani) against the published files
@pytest.mark.parametrize(
    ("bad", "named"),
    [
        (
            "ani:\n  comp6_subsets: [ani_md, drugbnak]\n",
            "ani.comp6_subsets: 'drugbnak' is not a COMP6 v1 subset ['ani_md', 'drugbank',",
        ),
        (
            "ani:\n  table1:\n    sizes: [524288, 5000000]\n",
            "ani.table1.sizes: 5000000 pre-training structures and ani.ani1x.n_valid=50000 "
            "need 5050000, but the ANI-1x data hold 4956005 less the 80211 ANI-1ccx test "
            "structures (4875794)",
        ),
        (
            "ani:\n  ani1ccx:\n    train_sizes: [1024, 485000]\n",
            "ani.ani1ccx.train_sizes up to 485000, n_valid=10000 and n_test=null need 495000 "
            "structures, but the ANI-1ccx data hold 489571",
        ),
        (
            "ani:\n  ani1ccx:\n    n_test: 100000\n",
            "n_test=100000 need 509360 structures, but the ANI-1ccx data hold 489571",
        ),
    ],
)
def test_paper_ani_sizes_and_subsets_are_checked(bad, named):
    assert named in problems(bad)


def test_ani_sizes_that_fit_exactly_pass():
    """The largest pre-training set that fits: every ANI-1x-role frame but the validation
    set and the ANI-1ccx-role test set (9280 - 256 - 250 = 8774), and without the
    exclusion every frame but the validation set (9024)."""
    Design.from_config(pipeline_config(EMBEDDED, "ani:\n  table1:\n    sizes: [960, 8774]\n"))
    text = "ani:\n  ani1x: {exclude_ani1ccx_test: false}\n  table1:\n    sizes: [960, 9024]\n"
    Design.from_config(pipeline_config(EMBEDDED, text))
    assert "8775 pre-training" in problems(EMBEDDED, "ani:\n  table1:\n    sizes: [960, 8775]\n")


def test_ala10_is_off_without_the_ani_study():
    design = Design.from_config(pipeline_config({"ani": None, "ala10": {"n_pretrain": 1}}))
    assert design.ala10 is None


def test_an_error_before_the_checks_is_one_line():
    with pytest.raises(ConfigError) as err:
        Design.from_config(pipeline_config(EMBEDDED, yaml.safe_dump({"model": {"cutoff": -1}})))
    assert str(err.value).startswith("Invalid configuration: model.cutoff")
