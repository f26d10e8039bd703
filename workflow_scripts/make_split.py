"""Rule `split_md17`: seeded split with nested training sets (gmnn.data.sources.md17_split;
dft: the test set is outside the first md17.dft.n_train training structures only)."""

from gmnn.data import DataError, read_h5, save_split_of
from gmnn.data.sources import md17_split
from gmnn.workflow import job

log = job(snakemake)
p, wc = snakemake.params, snakemake.wildcards
structures = read_h5(snakemake.input.data)
try:
    split = md17_split(
        structures, p.train_sizes, p.n_valid, p.n_test, int(wc.seed), n_train=p.n_train
    )
except DataError as err:
    sizes = (
        "md17.cc.train_sizes" if wc.level == "cc" else "md17.dft.n_train (or pretrain_size.sizes)"
    )
    raise SystemExit(
        f"{snakemake.input.data}: {err.problem}\n"
        f"Adjust {sizes} / md17.{wc.level}.n_valid / n_test in the config."
    ) from err
log.info(save_split_of(split, snakemake.input.data, snakemake.output[0]))
