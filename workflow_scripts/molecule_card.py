"""Rule `molecule_card`: results/molecules/<name>/card.{json,md} (gmnn.molecules.card.card_job):
levels and measured label costs, errors per setting (mean and standard error over seeds),
the recommended setting and why, the data-budget planner (gmnn.molecules.planner), the
exported ensemble with its checksums and the MD runs (gmnn.molecules.md: stability, force
spread, spectrum peaks) and the runs' spectra (spectra.png, which card.md shows)."""

from pathlib import Path

from gmnn.molecules.card import card_job
from gmnn.molecules.md import md_summary
from gmnn.plots.molecules import plot_md_spectra
from gmnn.workflow import job

log = job(snakemake)
inp, p = snakemake.input, snakemake.params
card = card_job(
    snakemake.wildcards.name,
    errors=inp.errors,
    data=dict(zip(p.levels, inp.data, strict=True)),
    out_dir=Path(snakemake.output.json).parent,
    planner=dict(p.planner),
    export=inp.export,
    md=md_summary(list(inp.md), list(inp.peaks)),
)
plot_md_spectra(p.runs, inp.spectra, inp.peaks, snakemake.wildcards.name, snakemake.output.spectra)
rec = card["recommendation"]
log.info("%s: recommended %s (%s)", snakemake.output.md, rec["setting"], rec["why"])
