"""Rule `spectra_figure` (Figs. 4, S3-S5, as configured under figures.spectra): power
spectra of MD runs from the tidy tables.

params: panels (list of panels, each a list of [setting, n_train]), temperature_K,
title (optional), molecule (optional: the only one in the tables). output: pdf, png and,
optionally, table (Markdown table of the fitted peak centres of the figure's models).
"""

from gmnn.io import atomic_write_text
from gmnn.plots import peaks_table_markdown, plot_spectra, save_figure
from gmnn.workflow import job

log = job(snakemake)
panels = [[(str(s), int(n)) for s, n in panel] for panel in snakemake.params.panels]
temperature = float(snakemake.params.temperature_K)
molecule = getattr(snakemake.params, "molecule", None)
fig = plot_spectra(
    snakemake.input.spectra,
    snakemake.input.runs,
    panels,
    temperature,
    peaks=snakemake.input.peaks,
    molecule=molecule,
    title=getattr(snakemake.params, "title", None),
)
save_figure(fig, [snakemake.output.pdf, snakemake.output.png])
log.info("wrote %s and %s", snakemake.output.pdf, snakemake.output.png)
table = getattr(snakemake.output, "table", None)
if table:
    models = [m for panel in panels for m in panel]
    text = peaks_table_markdown(
        snakemake.input.peaks, molecule=molecule, models=models, temperatures=[temperature]
    )
    atomic_write_text(table, text)
    log.info("wrote %s", table)
