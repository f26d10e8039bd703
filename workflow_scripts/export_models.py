"""Rule `export_models`: the models of one setting (one per seed) -> an exported ensemble
with its model card (gmnn.export.export_ensemble; docs/models.md).

input.models: the members' model directories (or their model.json files), one per seed;
input.errors (optional): a tidy errors table (results/ani/table1.csv: subset, n_train,
quantity, metric, mean, sem, ...; kcal/mol, kcal/mol/Angstrom), of which the rows of the
members' n_train go on the card; params.card: the card (gmnn.export.ModelCard: name,
description, pretraining/finetuning data and levels of theory, n_train, seeds);
output[0]: the export directory; log[0].
"""

from pathlib import Path

from gmnn.workflow import job

log = job(snakemake)

from gmnn.export import export_ensemble, read_ensemble  # noqa: E402

models = [
    Path(p).parent if Path(p).name == "model.json" else Path(p) for p in snakemake.input.models
]
out = export_ensemble(
    models, snakemake.output[0], dict(snakemake.params.card), errors=snakemake.input.get("errors")
)
meta = read_ensemble(out)
log.info(
    "%s: %s, %d members (seeds %s), cutoff %g A",
    out,
    meta["name"],
    len(meta["members"]),
    [m["seed"] for m in meta["members"]],
    meta["cutoff"],
)
