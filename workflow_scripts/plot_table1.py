"""Rule `table1`: Table 1 (COMP6) in the paper's layout, as Markdown and LaTeX, from the
tidy table (no models or data needed)."""

from gmnn.io import atomic_write_text
from gmnn.plots.ani import table1_latex, table1_markdown
from gmnn.workflow import job

log = job(snakemake)
names = dict(snakemake.params.names)
atomic_write_text(snakemake.output.md, table1_markdown(snakemake.input.csv, names))
atomic_write_text(snakemake.output.tex, table1_latex(snakemake.input.csv, names))
log.info("wrote %s and %s", snakemake.output.md, snakemake.output.tex)
