"""Rule `power_spectrum`: spectrum and stretch-band peaks of one MD run (no TensorFlow).

Windowing, normalisation and the production part: gmnn.analysis.md.run_spectrum (config
section `spectra`).
"""

from gmnn.analysis.md import RUN_PEAKS, RUN_SPECTRUM, run_spectrum
from gmnn.workflow import job

job(snakemake)
inp, out = snakemake.input, snakemake.output
result = run_spectrum(inp.summary, inp.trajectory, snakemake.params.spectra)
RUN_SPECTRUM.write(result.spectrum, out.spectrum, comments=result.comments)
RUN_PEAKS.write(result.peaks, out.peaks)
