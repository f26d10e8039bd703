"""Rule `collect_md`: per-run MD summaries, spectra and peaks -> three tidy tables."""

from gmnn.analysis import md
from gmnn.workflow import collect_job, job

job(snakemake)
inp = snakemake.input
tables = {"runs": md.RUNS, "spectra": md.SPECTRA, "peaks": md.PEAKS}
collect_job(md.collect_md, [inp.summaries, inp.spectra, inp.peaks], tables, snakemake.output)
