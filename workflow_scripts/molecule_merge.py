"""Rules `embedded_merge` and `molecule_merge`: the labelled chunks of one level -> the
final gmnn HDF5 file.

Structures dropped while labelling (NaN labels) are left out and listed in
`meta["dropped"]`; `ids` are the frame indices in the sampled trajectory; the cost of
every label is in `meta["label_cost"]` (gmnn.refdata.qc.merge_chunks).
"""

import json

from gmnn.data import write_h5
from gmnn.refdata.qc import merge_chunks
from gmnn.workflow import job

job(snakemake)
with open(snakemake.input.frames) as fh:
    record = json.load(fh)
out = snakemake.output[0]
# molecule_merge names the level in params, embedded_merge in its wildcard
level = getattr(getattr(snakemake, "params", None), "level", None) or snakemake.wildcards.level
write_h5(merge_chunks(snakemake.input.chunks, record, level, out), out)
