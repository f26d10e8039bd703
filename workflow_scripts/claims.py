"""Rule `claims`: the reproduction scorecard (gmnn.claims) over the tidy tables of the
configured figure groups -> results/claims.csv and figures/claims.md."""

from gmnn.claims import counts, tables_from_inputs, write_scorecard
from gmnn.workflow import job

log = job(snakemake)
tables = tables_from_inputs(snakemake.input, {"atoms": dict(snakemake.params.atoms)})
card = write_scorecard(tables, snakemake.output.csv, snakemake.output.md)
log.info("%s", counts(card))
