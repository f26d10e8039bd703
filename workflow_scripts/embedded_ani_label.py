"""Rule `embedded_ani_label`: accurate-level energies of evenly spaced frames of one system
(gmnn.refdata.embedded_ani.label_accurate; failed SCFs are kept as NaN and listed)."""

import json

import numpy as np

from gmnn.io import atomic_save_npz
from gmnn.refdata import embedded_ani
from gmnn.workflow import job

log = job(snakemake)
with np.load(snakemake.input[0]) as npz:
    sample = {k: npz[k] for k in npz.files}
labels = embedded_ani.label_accurate(
    snakemake.wildcards.system, sample, snakemake.params.config, snakemake.threads
)
atomic_save_npz(
    snakemake.output[0],
    {
        "frames": labels["frames"],
        "energy": labels["energy"],
        "info": np.array(json.dumps(labels["info"])),
    },
)
log.info(
    "%s: %d energies, %d failed, %.1f s",
    snakemake.wildcards.system,
    len(labels["frames"]),
    len(labels["info"]["failures"]),
    sum(labels["info"]["wall_s"]),
)
