"""Rule `collect_ala10`: every deca-alanine run's tables -> the tidy RMSD series, runs
and backbone snapshots."""

from gmnn.analysis import ala10
from gmnn.workflow import collect_job, job

job(snakemake)
inp = snakemake.input
tables = {"series": ala10.SERIES, "runs": ala10.RUNS, "structures": ala10.STRUCTURES}
collect_job(ala10.collect, [inp.series, inp.stages, inp.structures], tables, snakemake.output)
