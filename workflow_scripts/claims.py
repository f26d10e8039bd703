"""Rule `claims`: the reproduction scorecard (gmnn.claims) over the tidy tables of the
configured figure groups -> results/claims.csv and figures/claims.md."""

import logging

from gmnn.claims import counts, tables_from_inputs, write_scorecard
from gmnn.workflow import error_boundary

error_boundary(snakemake.log[0])
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
tables = tables_from_inputs(snakemake.input, {"atoms": dict(snakemake.params.atoms)})
card = write_scorecard(tables, snakemake.output.csv, snakemake.output.md)
logging.info("%s", counts(card))
