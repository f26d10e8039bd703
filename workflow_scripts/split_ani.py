"""Rule `split_ani`: the ANI split convention (gmnn.data.splits.make_ani_split).

Per seed one permutation of all conformers of ``input.data`` (a converted ANI file):
validation first, then nested training prefixes for every size in
``params.train_sizes``, test = ``params.n_test`` (None: the rest; 0: none, e.g. ANI-1x,
whose test set is COMP6). With ``input.exclude_split`` and ``input.exclude_data`` (the
ANI-1ccx split and data), the ids of that split's test structures are kept out of this
split (ANI-1ccx ids are ANI-1x ids). Output: ``output[0]``, the split JSON.
"""

from gmnn.data import DataError, load_split, save_split_of
from gmnn.data.h5 import read_h5_ids
from gmnn.data.splits import make_ani_split
from gmnn.fingerprints import file_sha256
from gmnn.workflow import job

log = job(snakemake)
p, inputs = snakemake.params, snakemake.input
data = inputs.data
ids = read_h5_ids(data)
exclude_ids = None
exclude_split = getattr(inputs, "exclude_split", None)
exclude_data = getattr(inputs, "exclude_data", None)
if (exclude_split is None) != (exclude_data is None):
    raise SystemExit("split_ani: give both input.exclude_split and input.exclude_data, or neither")
if exclude_split is not None:
    other = load_split(exclude_split)
    other_ids = read_h5_ids(exclude_data)
    if other.n_total != len(other_ids):
        raise DataError(
            exclude_split,
            f"indexes {other.n_total} structures, but {exclude_data} has {len(other_ids)}",
        )
    if other.source_sha256 is not None and other.source_sha256 != file_sha256(exclude_data):
        raise DataError(exclude_split, f"was drawn for another file than {exclude_data}")
    exclude_ids = other_ids[other.test]
try:
    split = make_ani_split(
        ids,
        p.train_sizes,
        p.n_valid,
        p.n_test,
        seed=int(snakemake.wildcards.seed),
        exclude_ids=exclude_ids,
    )
except ValueError as err:
    raise SystemExit(
        f"{data}: {err}\nAdjust train_sizes / n_valid / n_test in the config."
    ) from err
log.info(
    "%s; %s excluded ids",
    save_split_of(split, data, snakemake.output[0]),
    0 if exclude_ids is None else len(exclude_ids),
)
