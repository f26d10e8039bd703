"""One entry point per kind of pipeline job: the rules' scripts call these."""

from __future__ import annotations

from pathlib import Path

from gmnn.workflow.grid import Setting


def train_job(
    *,
    data,
    split,
    n_train: int | None,
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
    model on the first ``n_train`` training structures of ``split`` (None: all of them)
    and, if ``metrics``
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
    from gmnn.io import read_model_meta
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
    if n_train is None:
        n_train = len(parts.train)
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
    return evaluate_job(
        model=out_dir / "model",
        data=data,
        split=split,
        record=record or {},
        output=metrics,
        log=log,
    )


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
    ensemble: bool = False,
) -> dict:
    """One MD job of the pipeline: a run (:func:`gmnn.md.run_md`) of the model in the
    directory ``model`` from the lowest-energy structure of ``data``, with ``dynamics``
    the :class:`~gmnn.md.MDConfig` of the run; the summary (``record`` plus the run's
    summary and where the start structure came from) is written to ``summary``.

    ``ensemble``: ``model`` is an exported ensemble or a list of model directories, run
    as one :class:`~gmnn.calculator.EnsembleCalculator`; the summary adds the largest
    spread of the members over the frames (``max_energy_std`` eV, ``max_forces_std_max``
    eV/Å).

    ``architecture`` is the pipeline's ``model`` section: a model that does not match it
    is an error naming both values. A checkpoint of another run (other settings, start
    structure or model weights) is discarded: the pipeline reran the job because
    something changed. A diverging run is recorded in the summary, not raised.
    """
    from gmnn.calculator import EnsembleCalculator, GMNNCalculator
    from gmnn.data import read_h5
    from gmnn.fingerprints import file_sha256
    from gmnn.io import atomic_write_json, read_model_meta
    from gmnn.md import MDConfig, run_md
    from gmnn.model.config import ModelConfig

    config = MDConfig.from_dict(dict(dynamics))
    if architecture is not None and not ensemble:
        check_architecture(
            ModelConfig.from_dict(architecture), read_model_meta(model)["config"], model
        )
    structures = read_h5(data)
    start = structures.lowest_energy()
    atoms = structures.atoms(start)
    atoms.calc = None
    if log:
        log.info("MD of %s from structure %d of %s: %s", model, start, data, config)
    calculator = EnsembleCalculator(model) if ensemble else GMNNCalculator(model)
    result = run_md(atoms, calculator, config, trajectory, log=log, on_mismatch="restart")
    if ensemble:
        from gmnn.md.protocol import trajectory_spread

        result.update(trajectory_spread(trajectory))
    out = {
        **(record or {}),
        **result,
        "model": [str(m) for m in model] if isinstance(model, (list, tuple)) else str(model),
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


def evaluate_job(
    *,
    model,
    record: dict,
    data=None,
    split=None,
    subsets=None,
    n_offset: int | None = None,
    output=None,
    log=None,
) -> dict:
    """One evaluation job of the pipeline: the test errors of the model in the directory
    ``model`` (or its ``model.json``) as one record (:func:`model_record`), written to
    ``output`` (JSON) if given, and returned. One of three test sets:

    - ``data`` and ``split``: the split's test part (errors of
      :func:`gmnn.analysis.error_metrics`; rules ``evaluate_pretrain`` and every training
      rule that evaluates in the same job);
    - with ``n_offset`` too: a model trained on another level of theory, its energies
      shifted by their mean offset over the split's first ``n_offset`` training structures
      (:func:`gmnn.analysis.ani.offset_corrected_errors`; rule ``evaluate_ani_md17``,
      Fig. 6's red line);
    - ``subsets``: the names of the COMP6 subsets whose files ``data`` lists in the same
      order; errors on each and pooled (:func:`gmnn.analysis.ani.comp6_errors`; rule
      ``evaluate_comp6``, Table 1).

    ``record`` holds the fields that name the model (setting, molecule, n_train, seed,
    test_set, n_pretrain, ...). The model must have been trained on the record's
    ``n_train`` structures (for an offset evaluation: ``n_pretrain``, taken from the model
    when the record lacks it).
    """
    from gmnn.analysis.aggregate import PRETRAINED_SUMMARY, TRAINING_SUMMARY, training_summary
    from gmnn.analysis.ani import model_dir
    from gmnn.io import atomic_write_json, load_model

    model_path = model_dir(model)
    loaded = load_model(model_path)
    trained_on = (loaded.provenance or {}).get("n_train")
    record, key = dict(record), "n_train"
    if n_offset is not None:  # a pre-trained model: its own size is n_pretrain
        key = "n_pretrain"
        record[key] = record.get(key, trained_on)
    if record.get(key) is not None and trained_on != record[key]:
        if trained_on is not None or key == "n_train":
            raise ValueError(
                f"{model_path}: trained on {trained_on} structures, but the record says "
                f"{key} = {record[key]}"
            )
    if subsets is not None:
        test_data = _named_files(subsets, data)
        errors = _comp6_errors(loaded, test_data, log)
    elif n_offset is not None:
        test_data, errors = data, _offset_errors(loaded, data, split, n_offset, log)
    else:
        test_data, errors = data, _split_errors(loaded, data, split, record, log)
    # the records of pre-trained models evaluated on other data keep their own summary
    summary = training_summary(
        loaded, TRAINING_SUMMARY if subsets is None and n_offset is None else PRETRAINED_SUMMARY
    )
    out = model_record(
        record, errors, model=model_path, training=summary, test_data=test_data, split=split
    )
    if output is not None:
        atomic_write_json(output, out)
    if log:
        pooled = errors.get("comp6", errors)
        log.info(
            "%s: energy MAE %.3f RMSE %.3f kcal/mol, force MAE %s RMSE %s kcal/mol/A%s",
            output or model_path,
            pooled["energy_mae"],
            pooled["energy_rmse"],
            f"{pooled['force_mae']:.3f}" if "force_mae" in pooled else "-",
            f"{pooled['force_rmse']:.3f}" if "force_rmse" in pooled else "-",
            f", energy offset {errors['energy_offset_eV']:.6f} eV" if n_offset is not None else "",
        )
    return out


def model_record(record: dict, errors: dict, *, model, training: dict, test_data, split=None):
    """The record of one evaluated model, as the pipeline writes it (``metrics.json``, the
    rows of every error table): the fields of ``record`` that name the model, the
    ``errors`` (with their ``units``), the model's directory and ``training`` summary
    (:func:`gmnn.analysis.aggregate.training_summary`), the test data (a file: its path
    and ``test_data_sha256``; several files by name: ``{name: {path, sha256}}``) and the
    ``split`` file (if any)."""
    from gmnn.analysis.ani import data_record

    out = {**record, **errors, "model": str(model), "training": training}
    if isinstance(test_data, dict):
        out["test_data"] = {name: data_record(path) for name, path in test_data.items()}
    else:
        file = data_record(test_data)
        out.update(test_data=file["path"], test_data_sha256=file["sha256"])
    if split is not None:
        out["split"] = str(split)
    return out


def _split_errors(model, data, split, record: dict, log) -> dict:
    """Errors on the test part of ``split`` of ``data``."""
    from gmnn.analysis import error_metrics
    from gmnn.data import load_split, read_h5

    test = read_h5(data)[load_split(split).test]
    if log:
        log.info(
            "evaluating on %d %s test structures of %s", len(test), record.get("test_set"), data
        )
    return error_metrics(model, test)


def _offset_errors(model, data, split, n_offset: int, log) -> dict:
    """Errors on the test part of ``split`` of ``data`` after the energy offset fitted on
    its first ``n_offset`` training structures."""
    from gmnn.analysis.ani import offset_corrected_errors
    from gmnn.data import load_split, read_h5
    from gmnn.fingerprints import file_sha256

    n_offset = int(n_offset)
    parts = load_split(split)
    if parts.source_sha256 and parts.source_sha256 != file_sha256(data):
        raise ValueError(f"{split}: made for another data file than {data} (SHA-256 differs)")
    if len(parts.train) < n_offset:
        raise ValueError(f"{split}: {len(parts.train)} training structures < n_train={n_offset}")
    structures = read_h5(data)
    train, test = structures[parts.train[:n_offset]], structures[parts.test]
    if log:
        log.info(
            "evaluating on %d test structures of %s (energy offset from %d training structures)",
            len(test),
            data,
            len(train),
        )
    return offset_corrected_errors(model, train, test)


def _named_files(names, paths) -> dict:
    """``{name: path}``: one name per path, no name twice (a rule's params vs its input;
    one name or file may come as a plain string)."""
    from gmnn.analysis.ani import check_names

    names = [str(names)] if isinstance(names, str) else [str(n) for n in names]
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    check_names(names, paths)
    return dict(zip(names, paths, strict=True))


def _comp6_errors(model, subsets: dict, log) -> dict:
    """Errors on every COMP6 subset (name -> data file) and pooled over all of them."""
    from gmnn.analysis.ani import UNITS, comp6_errors
    from gmnn.data import read_h5

    structures = {name: read_h5(path) for name, path in subsets.items()}
    if log:
        log.info(
            "evaluating on COMP6 subsets %s",
            ", ".join(f"{n} ({len(s)})" for n, s in structures.items()),
        )
    return {**comp6_errors(model, structures, log=log), "units": UNITS}


def collect_job(collect, inputs: list, tables: dict, outputs) -> None:
    """One job that collects per-run tables into tidy ones: ``collect(*inputs)`` returns
    a named tuple of DataFrames, each written to the output of its name (``outputs[name]``
    or ``outputs.name``) in the layout ``tables[name]`` (a
    :class:`~gmnn.analysis.tables.Table`)."""
    collected = collect(*inputs)
    for name, table in tables.items():
        path = outputs[name] if isinstance(outputs, dict) else getattr(outputs, name)
        table.write(getattr(collected, name), path)


# --------------------------------------------------------------------------------------------
# Deca-alanine MD (Figs. 7, 8; rules/ala10.smk)


def ala10_structure_job(*, source, kind: str, output, log=None) -> dict:
    """The initial helix of the deca-alanine runs, written as extended XYZ with the PDB
    atom names, residue numbers and names (:mod:`gmnn.data.ala10`): ``kind`` ``pdb``
    reads the downloaded PDB (a file, or the staged directory holding it:
    :func:`gmnn.data.sources.ala10_file`);
    ``embedded`` copies the committed built-and-relaxed helix, with the level of theory it
    was relaxed at and the fmax reached (:func:`gmnn.analysis.ala10.relaxed_reference`:
    the reference forces of the gate before the MD, :func:`gmnn.analysis.ala10.force_gate`).
    Checked to be the paper's C30H53N11O10."""
    from ase.io import read

    from gmnn.analysis.ala10 import relaxed_reference
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
    reference = relaxed_reference(atoms.info.get("provenance")) if kind == "embedded" else {}
    atoms.info = {"source": str(source), "source_sha256": file_sha256(source), **reference}
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
    gate_structure=None,
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

    Stage 0 first records the gate (:func:`gmnn.analysis.ala10.force_gate`, the summary's
    ``gate``): the members' force RMSE against the reference forces of
    ``gate_structure`` (the initial helix in vacuum; default ``start``) and the ensemble's
    force spread there, so that the tables show why a run is expected to hold or fail.
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
    gate = {}
    if stage == 0:
        from gmnn.analysis.ala10 import force_gate

        gate_file = gate_structure or start
        found = force_gate(calculator, read(gate_file, format="extxyz"))
        gate = {"gate": {**found, "structure": str(gate_file)}}
        if log:
            log.info("gate on %s: %s", gate_file, gate["gate"])
    result = run_stage(
        atoms, calculator, config, trajectory, start_ps=start_ps, previous=previous, log=log
    )
    out = {
        **(record or {}),
        **result,
        **gate,
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
