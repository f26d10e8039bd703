"""Rule `table1`: Table 1 (COMP6) in the paper's layout, as Markdown and LaTeX, from the
tidy table (no models or data needed)."""

import logging

from gmnn.io import atomic_write_text
from gmnn.plots.ani import table1_latex, table1_markdown
from gmnn.workflow import error_boundary

error_boundary(snakemake.log[0])
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
atomic_write_text(snakemake.output.md, table1_markdown(snakemake.input.csv))
atomic_write_text(snakemake.output.tex, table1_latex(snakemake.input.csv))
logging.info("wrote %s and %s", snakemake.output.md, snakemake.output.tex)
