"""Rule `evaluate_comp6`: COMP6 v1 errors of one ANI-1x pre-trained model -> metrics JSON.

input.model: the model directory (or its model.json); input.subsets: the converted COMP6
subset files (gmnn HDF5), named by params.subsets in the same order; params.record: the
fields identifying the model (n_train, seed, setting, ...). The JSON holds, per subset and
pooled over all of them ("comp6"), energy errors per conformer (kcal/mol) and force errors
per Cartesian component (kcal/mol/Angstrom) with the exact sums they are pooled from
(gmnn.analysis.ani.comp6_errors).
"""

from gmnn.workflow import start_job

log = start_job(snakemake.log[0], snakemake.threads, append=False)

from gmnn.analysis.ani import (  # noqa: E402
    UNITS,
    check_names,
    comp6_errors,
    data_record,
    model_dir,
    training_summary,
)
from gmnn.data import read_h5  # noqa: E402
from gmnn.io import atomic_write_json, load_model  # noqa: E402

inp, params = snakemake.input, snakemake.params
paths = [inp.subsets] if isinstance(inp.subsets, str) else list(inp.subsets)
names = [params.subsets] if isinstance(params.subsets, str) else [str(n) for n in params.subsets]
check_names(names, paths)
record = dict(params.record)
path = model_dir(inp.model)
model = load_model(path)
trained = training_summary(model)
if record.get("n_train") is not None and trained.get("n_train") != record["n_train"]:
    raise ValueError(
        f"{path}: trained on {trained.get('n_train')} structures, expected {record['n_train']}"
    )
subsets = {name: read_h5(p) for name, p in zip(names, paths, strict=True)}
log.info(
    "evaluating %s on COMP6 subsets %s",
    path,
    ", ".join(f"{n} ({len(s)})" for n, s in subsets.items()),
)
errors = comp6_errors(model, subsets, log=log)
out = {
    **record,
    **errors,
    "units": UNITS,
    "model": str(path),
    "test_data": {name: data_record(p) for name, p in zip(names, paths, strict=True)},
    "training": trained,
}
atomic_write_json(snakemake.output[0], out)
pooled = errors["comp6"]
log.info(
    "%s: COMP6 energy MAE %.3f RMSE %.3f kcal/mol, force MAE %s RMSE %s kcal/mol/A",
    snakemake.output[0],
    pooled["energy_mae"],
    pooled["energy_rmse"],
    f"{pooled['force_mae']:.3f}" if "force_mae" in pooled else "-",
    f"{pooled['force_rmse']:.3f}" if "force_rmse" in pooled else "-",
)
