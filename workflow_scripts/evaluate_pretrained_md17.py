"""Rule `evaluate_pretrained_md17` (Fig. 6, red line): the ANI-1x pre-trained model itself
on the MD17 coupled-cluster test set -> metrics JSON.

input.model: the model directory (or its model.json); input.data: the converted MD17
coupled-cluster data; input.split: its split JSON; params.n_train: the first n_train
training structures of the split, on which the constant energy offset between the two
levels of theory is fitted (gmnn.analysis.ani.offset_corrected_errors: energy errors after
adding mean(E_label - E_pred) over them, stored as energy_offset_eV; forces compared
unchanged); params.record: molecule, seed, n_pretrain, ... The JSON has the keys of the
pipeline's metrics.json (energy_mae, energy_rmse, force_mae, force_rmse in kcal/mol and
kcal/mol/Angstrom, n_structures) plus energy_offset_eV, n_offset and n_pretrain.
"""

from gmnn.workflow import start_job

log = start_job(snakemake.log[0], snakemake.threads, append=False)

from gmnn.analysis.ani import (  # noqa: E402
    model_dir,
    offset_corrected_errors,
    training_summary,
)
from gmnn.data import load_split, read_h5  # noqa: E402
from gmnn.fingerprints import file_sha256  # noqa: E402
from gmnn.io import atomic_write_json, load_model  # noqa: E402

inp, params = snakemake.input, snakemake.params
record = dict(params.record)
n_train = int(params.n_train)
path = model_dir(inp.model)
model = load_model(path)
trained = training_summary(model)
n_pretrain = record.get("n_pretrain", trained.get("n_train"))
if trained.get("n_train") is not None and n_pretrain != trained["n_train"]:
    raise ValueError(
        f"{path}: pre-trained on {trained['n_train']} structures, but the record says "
        f"n_pretrain = {n_pretrain}"
    )
split = load_split(inp.split)
sha256 = file_sha256(inp.data)
if split.source_sha256 and split.source_sha256 != sha256:
    raise ValueError(f"{inp.split}: made for another data file than {inp.data} (SHA-256 differs)")
if len(split.train) < n_train:
    raise ValueError(f"{inp.split}: {len(split.train)} training structures < n_train={n_train}")
structures = read_h5(inp.data)
train, test = structures[split.train[:n_train]], structures[split.test]
log.info(
    "evaluating %s on %d test structures of %s (energy offset from %d training structures)",
    path,
    len(test),
    inp.data,
    len(train),
)
metrics = offset_corrected_errors(model, train, test)
out = {
    **record,
    **metrics,
    "n_pretrain": n_pretrain,
    "model": str(path),
    "test_data": str(inp.data),
    "test_data_sha256": sha256,
    "split": str(inp.split),
    "training": trained,
}
atomic_write_json(snakemake.output[0], out)
log.info(
    "%s: offset %.6f eV, energy RMSE %.3f, force RMSE %s",
    snakemake.output[0],
    metrics["energy_offset_eV"],
    metrics["energy_rmse"],
    f"{metrics['force_rmse']:.3f}" if "force_rmse" in metrics else "-",
)
