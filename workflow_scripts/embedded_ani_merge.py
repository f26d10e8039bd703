"""Rule `embedded_ani_merge`: per-system samples and labels -> the committed data sets
(gmnn.refdata.embedded_ani.merge)."""

import json

import numpy as np

from gmnn.data import write_h5
from gmnn.refdata import embedded_ani, qc
from gmnn.workflow import job

log = job(snakemake)
p = snakemake.params


def load(path):
    with np.load(path) as npz:
        data = {k: npz[k] for k in npz.files}
    data["info"] = json.loads(str(data["info"]))
    return data


samples = dict(zip(p.systems, map(load, snakemake.input.samples), strict=True))
labels = dict(zip(p.train, map(load, snakemake.input.labels), strict=True))
versions = next(iter(samples.values()))["info"]["code_versions"]
sets = embedded_ani.merge(p.config, samples, labels, versions)
write_h5(sets["train"], snakemake.output.train)
write_h5(sets["accurate"], snakemake.output.accurate)
for subset, path in zip(p.subsets, snakemake.output.heldout, strict=True):
    write_h5(sets["heldout"][subset], path)
for name, s in [("train", sets["train"]), ("accurate", sets["accurate"]), *sets["heldout"].items()]:
    log.info("%s: %r", name, s)
log.info("code versions: %s", versions | {"merge": qc.provenance()})
