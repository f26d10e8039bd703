"""Rule `collect_md`: per-run MD summaries, spectra and peaks -> three tidy tables."""

import logging

from gmnn.analysis.md import PEAKS, RUNS, SPECTRA, collect_md
from gmnn.workflow import error_boundary

error_boundary(snakemake.log[0])
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
inp, out = snakemake.input, snakemake.output
tables = collect_md(inp.summaries, inp.spectra, inp.peaks)
RUNS.write(tables.runs, out.runs)
SPECTRA.write(tables.spectra, out.spectra)
PEAKS.write(tables.peaks, out.peaks)
