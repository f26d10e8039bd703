"""Rule `molecule_split`: seeded split of one level of a molecule study
(gmnn.data.sources.md17_split, the MD17 convention: validation first, nested training
sets train[:n], the test set from the rest). params.sizes: train_sizes (None: every
structure outside the validation and test sets), n_valid, n_test."""

from gmnn.data import DataError, read_h5, save_split_of
from gmnn.data.sources import md17_split
from gmnn.workflow import job

log = job(snakemake)
p, wc = snakemake.params, snakemake.wildcards
data = snakemake.input.data
structures = read_h5(data)
sizes = dict(p.sizes)
if sizes["train_sizes"] is None:  # pre-training: all but the validation set
    sizes["train_sizes"] = [len(structures) - sizes["n_valid"]]
try:
    split = md17_split(
        structures, sizes["train_sizes"], sizes["n_valid"], sizes["n_test"], int(wc.seed)
    )
except DataError as err:
    raise SystemExit(
        f"{data}: {err.problem}\nAdjust {p.where}.train_sizes / n_valid / n_test "
        f"(or {p.where}.{wc.mlevel}.n_structures) in the config."
    ) from err
log.info(save_split_of(split, data, snakemake.output[0]))
