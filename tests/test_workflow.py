"""Pipeline glue in the library (gmnn.workflow): setting names, model references, the
typed config sections, the architecture check of fine-tuning jobs."""

from __future__ import annotations

import pytest

from gmnn.model.config import ModelConfig
from gmnn.workflow import ModelRef, Setting, check_architecture, typed_settings


def test_setting_names_are_parsed_in_one_place():
    assert Setting.parse("finetune_EF") == Setting("finetune_EF", "finetune", "EF")
    assert Setting.parse("scratch_E").loss == "E" and not Setting.parse("scratch_E").finetuned
    assert Setting.parse("pretrain").kind == "pretrain"
    names = ["scratch_E", "scratch_EF", "finetune_E", "finetune_EF"]
    assert Setting.names() == [
        *names,
        *("finetune_nd_E", "finetune_nd_EF", "finetune_lp_E", "finetune_lp_EF"),
    ]
    # non-discriminative fine-tuning (Fig. 6, green): its own kind and FinetuneConfig mode
    nd = Setting.parse("finetune_nd_EF")
    assert (nd.kind, nd.loss, nd.finetuned) == ("finetune_nd", "EF", True)
    assert nd.finetune_mode == "non_discriminative"
    assert Setting.parse("finetune_E").finetune_mode == "discriminative"
    # the linear probe (the comparison on a user's molecule): its own kind and mode
    lp = Setting.parse("finetune_lp_E")
    assert (lp.kind, lp.loss, lp.finetune_mode) == ("finetune_lp", "E", "linear_probe")
    assert Setting.parse("scratch_E").finetune_mode is None
    for bad in ("finetune", "scratch_F", "transfer_EF", "", "finetune_x_E", "nd_E"):
        with pytest.raises(ValueError, match="unknown setting"):
            Setting.parse(bad)


def test_model_references():
    sizes = {"small": 32, "large": 128}
    assert ModelRef.parse("finetune_EF@small", sizes) == ModelRef("finetune_EF", 32)
    assert ModelRef.parse("scratch_E@950", sizes) == ModelRef("scratch_E", 950)
    assert ModelRef.parse("pretrain", sizes) == ModelRef("pretrain", None)
    with pytest.raises(ValueError, match=r"md.models: size 'huge' of 'scratch_E@huge'"):
        ModelRef.parse("scratch_E@huge", sizes, "md.models")
    with pytest.raises(ValueError, match="needs a size"):
        ModelRef.parse("scratch_E", sizes, "md.models")
    with pytest.raises(ValueError, match="unknown setting"):
        ModelRef.parse("fine_EF@small", sizes, "md.models")


def test_architecture_of_a_finetuning_run_must_match():
    trained = {**ModelConfig().to_dict(), "species": [1, 6, 8], "seed": 0}
    check_architecture(ModelConfig(), trained, "models/pre")
    with pytest.raises(
        ValueError, match=r"model.cutoff = 5.0 in the config, but models/pre has cutoff = 4.0"
    ):
        check_architecture(ModelConfig(cutoff=5.0), trained, "models/pre")


def test_typed_sections_of_a_pipeline_config():
    md = {"equilibration_ps": 0.5, "production_ps": 2.5, "temperatures_K": [100, 300]}
    typed = typed_settings({"training": {"epochs": 100}, "md": {**md, "dynamics": {}}})
    assert typed["training"].epochs == 100 and typed["model"] == ModelConfig()
    assert typed["md"].timestep_fs == 0.5 and typed["md"].friction_per_fs == 0.002
    with pytest.raises(ValueError, match=r"training.epoch: unknown"):
        typed_settings({"training": {"epoch": 100}})
    with pytest.raises(ValueError, match=r"md.dynamics.friction_per_fs: must be > 0"):
        typed_settings({"md": {**md, "dynamics": {"friction_per_fs": -0.01}}})
    with pytest.raises(ValueError, match=r"md.dynamics.timestep_fs: must be > 0"):
        typed_settings({"md": {**md, "dynamics": {"timestep_fs": 0}}})
    assert typed_settings({"md": None})["md"] is None


def test_md_job_refuses_a_model_of_another_architecture(tmp_path):
    from _synthetic import emt_structures

    from gmnn.data import write_h5
    from gmnn.io import save_model
    from gmnn.model import GMNN
    from gmnn.workflow import md_job

    data = emt_structures("CH3OH", n=3)
    write_h5(data, tmp_path / "cc.h5")
    model = GMNN([1, 6, 8], ModelConfig(hidden=(8,), n_radial=2))
    save_model(model, tmp_path / "model")
    kwargs = dict(
        model=tmp_path / "model",
        data=tmp_path / "cc.h5",
        dynamics={"steps": 4, "write_interval": 2, "temperature_K": 100.0},
        trajectory=tmp_path / "md.traj",
        summary=tmp_path / "summary.json",
    )
    with pytest.raises(ValueError, match=r"model.cutoff = 5.0 in the config, but .* 4.0"):
        md_job(**kwargs, architecture={"cutoff": 5.0, "hidden": [8], "n_radial": 2})
    out = md_job(**kwargs, architecture={"hidden": [8], "n_radial": 2}, record={"seed": 0})
    assert out["steps_done"] == 4 and out["seed"] == 0 and (tmp_path / "md.traj").exists()
