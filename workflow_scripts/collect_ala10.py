"""Rule `collect_ala10`: every deca-alanine run's tables -> the tidy RMSD series, runs
and backbone snapshots."""

import logging

from gmnn.analysis.ala10 import RUNS, SERIES, STRUCTURES, collect
from gmnn.workflow import error_boundary

error_boundary(snakemake.log[0])
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
inp, out = snakemake.input, snakemake.output
tables = collect(inp.series, inp.stages, inp.structures)
SERIES.write(tables.series, out.series)
RUNS.write(tables.runs, out.runs)
STRUCTURES.write(tables.structures, out.structures)
