"""Rule `embedded_ani_sample`: GFN2-xTB Langevin MD of one system of the embedded ANI-like
data (gmnn.refdata.embedded_ani.sample_system): frames, energies and forces."""

import json

import numpy as np

from gmnn.io import atomic_save_npz
from gmnn.refdata import embedded_ani, qc
from gmnn.workflow import job

log = job(snakemake)
p, system = snakemake.params, snakemake.wildcards.system
log.info("sampling %s: %s, %s", system, p.spec, p.sampling)
sample = embedded_ani.sample_system(system, p.spec["temperature_K"], p.spec["frames"], p.sampling)
sample["info"] = np.array(json.dumps({"spec": p.spec, "code_versions": qc.provenance()}))
atomic_save_npz(snakemake.output[0], sample)
log.info(
    "%s: %d frames of %d atoms in %.1f s",
    system,
    len(sample["energy"]),
    len(sample["numbers"]),
    float(sample["wall_s"]),
)
