"""One entry point per kind of pipeline job: the rules' scripts call these."""

from __future__ import annotations

from pathlib import Path

from gmnn.workflow.design import Setting


def train_job(
    *,
    data,
    split,
    n_train: int,
    out_dir,
    setting: str,
    training: dict,
    model: dict | None = None,
    finetune: dict | None = None,
    pretrained=None,
    record: dict | None = None,
    metrics=None,
    provenance: dict | None = None,
    log=None,
) -> dict | None:
    """One training job of the pipeline: train (pre-train, from scratch) or fine-tune one
    model on the first ``n_train`` training structures of ``split`` and, if ``metrics``
    is a path, evaluate it on the split's test set and write the errors there.

    ``training``, ``model`` and ``finetune`` are the config sections (mappings onto
    :class:`~gmnn.train.TrainConfig`, :class:`~gmnn.model.config.ModelConfig`,
    :class:`~gmnn.transfer.FinetuneConfig`); the setting fixes the loss (``*_E`` runs
    see neither training nor validation forces) and ``training["seed"]`` the seed. A
    fine-tuning run whose configured architecture differs from the pre-trained model's
    is an error naming both values. A checkpoint in ``out_dir`` of another run (other
    settings, data or initial weights) is discarded, since the pipeline reran the job
    because something changed. Returns the metrics record (or None).
    """
    from gmnn.data import load_split, read_h5
    from gmnn.io import atomic_write_json, read_model_meta
    from gmnn.model.config import ModelConfig
    from gmnn.train import TrainConfig, fit
    from gmnn.transfer import FinetuneConfig
    from gmnn.transfer import finetune as run_finetune

    kind = Setting.parse(setting)
    config = TrainConfig.from_dict({**training, "loss": kind.loss})
    model_config = ModelConfig.from_dict(model)
    out_dir = Path(out_dir)
    structures = read_h5(data)
    parts = load_split(split)
    if len(parts.train) < n_train:
        raise ValueError(f"{split}: {len(parts.train)} training structures < n_train={n_train}")
    train, valid = structures[parts.train[:n_train]], structures[parts.valid]
    if kind.loss == "E":
        train, valid = train.without_labels(forces=True), valid.without_labels(forces=True)
    if log:
        log.info("%s %s: train %d, valid %d, %s", setting, out_dir, len(train), len(valid), config)
    if kind.finetuned:
        if pretrained is None:
            raise ValueError(f"setting {setting!r} needs a pre-trained model")
        check_architecture(model_config, read_model_meta(pretrained)["config"], pretrained)
        run_finetune(
            pretrained,  # a path: the model's provenance records where it came from
            train,
            valid,
            out_dir,
            config=config,
            finetune_config=FinetuneConfig.from_dict(
                {**(finetune or {}), "mode": kind.finetune_mode}
            ),
            provenance=provenance,
            on_mismatch="restart",
        )
    else:
        fit(
            train,
            valid,
            out_dir,
            config=config,
            model_config=model_config,
            provenance=provenance,
            on_mismatch="restart",
        )
    if metrics is None:
        return None
    result = evaluate_on_split(out_dir / "model", data, split, dict(record or {}), log)
    atomic_write_json(metrics, result)
    return result


def md_job(
    *,
    model,
    data,
    dynamics: dict,
    trajectory,
    summary,
    record: dict | None = None,
    architecture: dict | None = None,
    log=None,
) -> dict:
    """One MD job of the pipeline: a run (:func:`gmnn.md.run_md`) of the model in the
    directory ``model`` from the lowest-energy structure of ``data``, with ``dynamics``
    the :class:`~gmnn.md.MDConfig` of the run; the summary (``record`` plus the run's
    summary and where the start structure came from) is written to ``summary``.

    ``architecture`` is the pipeline's ``model`` section: a model that does not match it
    is an error naming both values. A checkpoint of another run (other settings, start
    structure or model weights) is discarded: the pipeline reran the job because
    something changed. A diverging run is recorded in the summary, not raised.
    """
    from gmnn.calculator import GMNNCalculator
    from gmnn.data import read_h5
    from gmnn.fingerprints import file_sha256
    from gmnn.io import atomic_write_json, read_model_meta
    from gmnn.md import MDConfig, run_md
    from gmnn.model.config import ModelConfig

    config = MDConfig.from_dict(dict(dynamics))
    if architecture is not None:
        check_architecture(
            ModelConfig.from_dict(architecture), read_model_meta(model)["config"], model
        )
    structures = read_h5(data)
    start = structures.lowest_energy()
    atoms = structures.atoms(start)
    atoms.calc = None
    if log:
        log.info("MD of %s from structure %d of %s: %s", model, start, data, config)
    result = run_md(
        atoms, GMNNCalculator(model), config, trajectory, log=log, on_mismatch="restart"
    )
    out = {
        **(record or {}),
        **result,
        "model": str(model),
        "start_structure": {"data": str(data), "index": start, "sha256": file_sha256(data)},
    }
    atomic_write_json(summary, out)
    if log:
        log.info(
            "%s: %d of %d steps, %.2f ms per step%s",
            summary,
            result["steps_done"],
            result["steps_requested"],
            1000 * result["seconds_per_step"],
            f", DIVERGED: {result['reason']}" if result["diverged"] else "",
        )
    return out


def check_architecture(config, trained: dict, model_path) -> None:
    """A configured :class:`ModelConfig` must describe the model at ``model_path``
    (whose stored config is ``trained``); the error names every value that differs."""
    wanted = config.to_dict()

    def plain(value):
        return list(value) if isinstance(value, (list, tuple)) else value

    wrong = [
        f"model.{k} = {wanted[k]!r} in the config, but {model_path} has {k} = {trained.get(k)!r}"
        for k in wanted
        if k != "dtype" and plain(trained.get(k)) != wanted[k]
    ]
    if wrong:
        raise ValueError(
            "the configured model does not match the pre-trained one:\n  " + "\n  ".join(wrong)
        )


def evaluate_on_split(model_dir, data_path, split_path, record: dict, log=None) -> dict:
    """Test errors of the model in ``model_dir`` on the test part of a split.

    ``record`` (molecule, setting, n_train, seed, test_set, ...) is returned with the
    errors of :func:`gmnn.analysis.error_metrics` (kcal/mol, kcal/mol/Å), the data's
    checksum and the model's training summary added: one ``metrics.json`` of the pipeline.
    """
    import math

    from gmnn.analysis import error_metrics
    from gmnn.data import load_split, read_h5
    from gmnn.fingerprints import file_sha256
    from gmnn.io import load_model

    model_dir = Path(model_dir)
    model = load_model(model_dir)
    trained = model.provenance
    if record.get("n_train") is not None and trained.get("n_train") != record["n_train"]:
        raise ValueError(
            f"{model_dir}: trained on {trained.get('n_train')} structures, "
            f"expected {record['n_train']}"
        )
    test = read_h5(data_path)[load_split(split_path).test]
    if log:
        log.info(
            "evaluating %s on %d %s test structures", model_dir, len(test), record.get("test_set")
        )
    metrics = error_metrics(model, test)
    keys = ("epochs_run", "best_epoch", "n_valid", "steps_run", "best_step")
    training = {k: trained.get(k) for k in keys if k in trained}
    # strict JSON: validation metrics a run lacks (E-only: forces) are left out, not NaN
    best_valid = trained.get("best_valid") or {}
    training["best_valid"] = {k: v for k, v in best_valid.items() if math.isfinite(v)}
    out = dict(record)
    out.update(metrics)
    out.update(
        {
            "model": str(model_dir),
            "test_data": str(data_path),
            "test_data_sha256": file_sha256(data_path),
            "split": str(split_path),
            "training": training,
        }
    )
    return out


# --------------------------------------------------------------------------------------------
# Deca-alanine MD (Figs. 7, 8; rules/ala10.smk)


def ala10_structure_job(*, source, kind: str, output, log=None) -> dict:
    """The initial helix of the deca-alanine runs, written as extended XYZ with the PDB
    atom names, residue numbers and names (:mod:`gmnn.data.ala10`): ``kind`` ``pdb``
    reads the downloaded PDB (a file, or the staged directory holding it:
    :func:`gmnn.data.sources.ala10_file`);
    ``embedded`` copies the committed built-and-relaxed helix. Checked to be the paper's
    C30H53N11O10."""
    from ase.io import read

    from gmnn.data.ala10 import read_ala10_pdb
    from gmnn.data.sources import ala10_file
    from gmnn.fingerprints import file_sha256
    from gmnn.io import atomic_path

    source = Path(source)
    if kind == "pdb":
        source = ala10_file(source)  # a staged directory: its PDB
        atoms = read_ala10_pdb(source)
    elif kind == "embedded":
        atoms = read(source, format="extxyz")
    else:
        raise ValueError(f"ala10.source: unknown kind {kind!r} (download or embedded)")
    formula = atoms.get_chemical_formula(mode="hill")
    if formula != "C30H53N11O10":
        raise ValueError(f"{source}: {formula}, not the paper's Ala10 (C30H53N11O10)")
    atoms.info = {"source": str(source), "source_sha256": file_sha256(source)}
    atoms.calc = None
    with atomic_path(output) as tmp:
        atoms.write(tmp, format="extxyz")
    if log:
        log.info("Ala10 helix from %s (%s): %d atoms -> %s", source, kind, len(atoms), output)
    return atoms.info


def solvate_job(*, helix, output, solvation: dict, log=None) -> dict:
    """The helix in a periodic water box (:func:`gmnn.md.solvate.solvate` with
    ``solvation``: n_water, density_g_cm3, margin_A, tolerance_A, seed), checked for
    the minimum O-O distance over periodic images; written as extended XYZ."""
    from ase.io import read

    from gmnn.io import atomic_path
    from gmnn.md.solvate import density, min_oo_distance, solvate

    solute = read(helix, format="extxyz")
    settings = dict(solvation)
    box = solvate(
        solute,
        n_water=int(settings["n_water"]),
        density_g_cm3=float(settings.get("density_g_cm3", 1.0)),
        margin=float(settings.get("margin_A", 2.0)),
        tolerance=float(settings.get("tolerance_A", 2.0)),
        seed=int(settings.get("seed", 0)),
    )
    d_oo = float(min_oo_distance(box))
    if d_oo < 0.9 * float(settings.get("tolerance_A", 2.0)):
        raise ValueError(
            f"{output}: packmol left waters {d_oo:.2f} Å apart (O-O, periodic images "
            f"included), below 0.9 x tolerance_A"
        )
    info = {
        "n_atoms": len(box),
        "n_water": int(settings["n_water"]),
        "box_A": [float(x) for x in box.cell.lengths()],
        "density_g_cm3": float(density(box)),
        "min_oo_A": d_oo,
    }
    for key, value in list(box.info.items()):
        if not isinstance(value, (int, float, str)):
            box.info.pop(key)
    box.info.update({k: v for k, v in info.items() if k != "box_A"})
    with atomic_path(output) as tmp:
        box.write(tmp, format="extxyz")
    if log:
        log.info("solvated %s: %s", helix, info)
    return info


def ensemble_md_stage_job(
    *,
    models: list,
    start,
    stages: list,
    base: dict,
    stage: int,
    trajectory,
    summary,
    previous_summary=None,
    previous_trajectory=None,
    where: str = "stages",
    record: dict | None = None,
    log=None,
) -> dict:
    """One stage of a staged MD protocol (:mod:`gmnn.md.protocol`) driven by the mean of
    the models in the directories ``models`` (:class:`gmnn.calculator.EnsembleCalculator`;
    one model: :class:`~gmnn.calculator.GMNNCalculator`).

    Stage 0 starts from the structure file ``start`` (extended XYZ); stage k > 0 from the
    last frame of ``previous_trajectory`` (positions, momenta, cell), unless
    ``previous_summary`` says that stage diverged or was skipped: then this stage is
    recorded as skipped. Resumable like every MD job (a checkpoint beside the
    trajectory); the summary (``record``, the stage's summary, the models and the start)
    is written to ``summary``.
    """
    from ase.io import read

    from gmnn.calculator import EnsembleCalculator, GMNNCalculator
    from gmnn.fingerprints import file_sha256
    from gmnn.io import atomic_write_json
    from gmnn.md.protocol import (
        read_stage_summary,
        run_stage,
        stage_configs,
        stage_start,
        stage_times,
    )

    configs = stage_configs(stages, base, where)
    if not 0 <= stage < len(configs):
        raise ValueError(f"{where}: no stage {stage} (the protocol has {len(configs)})")
    config = configs[stage]
    start_ps = stage_times(configs)[stage][0]
    template = read(start, format="extxyz")
    previous = None
    if stage > 0:
        previous = read_stage_summary(previous_summary)
    failed_before = previous is not None and (previous.get("diverged") or previous.get("skipped"))
    if failed_before:
        atoms, calculator = None, None
    else:
        atoms = template if stage == 0 else stage_start(previous_trajectory, template)
        dirs = [Path(m) for m in models]
        calculator = EnsembleCalculator(dirs) if len(dirs) > 1 else GMNNCalculator(dirs[0])
        if log:
            log.info(
                "stage %d (%s, %d steps) of %d atoms from %s, %d member(s): %s",
                stage,
                config.integrator,
                config.steps,
                len(atoms),
                start if stage == 0 else previous_trajectory,
                len(dirs),
                ", ".join(map(str, dirs)),
            )
    result = run_stage(
        atoms, calculator, config, trajectory, start_ps=start_ps, previous=previous, log=log
    )
    out = {
        **(record or {}),
        **result,
        "stage": stage,
        "n_atoms": len(template),
        "members": len(models),
        "models": [str(m) for m in models],
        "start_structure": {
            "file": str(start if stage == 0 else previous_trajectory),
            "sha256": file_sha256(start if stage == 0 else previous_trajectory),
        },
    }
    atomic_write_json(summary, out)
    if log:
        log.info(
            "%s: %d of %d steps%s%s",
            summary,
            result["steps_done"],
            result["steps_requested"],
            f", {1000 * result['seconds_per_step']:.2f} ms per step"
            if result.get("seconds_per_step")
            else "",
            f", DIVERGED at {result['failed_at_ps']:.2f} ps: {result['reason']}"
            if result["diverged"]
            else (", skipped" if result.get("skipped") else ""),
        )
    return out


def ala10_analysis_job(
    *,
    reference,
    trajectories: list,
    summaries: list,
    series,
    runs,
    structures,
    phase: str,
    model: str,
    equilibration_ps: float,
    window_ps: float,
    log=None,
) -> None:
    """RMSD, helicity and stability of one deca-alanine run (all its stages):
    :func:`gmnn.analysis.ala10.run_tables` written as ``series``, ``runs`` and
    ``structures`` (CSV)."""
    from ase.io import read

    from gmnn.analysis.ala10 import RUNS, SERIES, STRUCTURES, run_tables
    from gmnn.md.protocol import read_stage_summary

    stage_summaries = [read_stage_summary(p) for p in summaries]
    members = int(stage_summaries[0].get("members", 1))
    frames, stages, snapshots = run_tables(
        read(reference, format="extxyz"),
        trajectories,
        stage_summaries,
        phase=phase,
        model=model,
        equilibration_ps=equilibration_ps,
        window_ps=window_ps,
        members=members,
    )
    SERIES.write(frames, series)
    RUNS.write(stages, runs)
    STRUCTURES.write(snapshots, structures)
    if log:
        log.info(
            "%s/%s: %d frames, stages: %s", phase, model, len(frames), stages.to_dict("records")
        )
