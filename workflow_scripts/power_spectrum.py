"""Rule `power_spectrum`: spectrum and stretch-band peaks of one MD run (no TensorFlow).

Windowing, normalisation and the production part: gmnn.analysis.md.run_spectrum (config
section `spectra`).
"""

import logging

from gmnn.analysis.md import RUN_PEAKS, RUN_SPECTRUM, run_spectrum
from gmnn.workflow import error_boundary

error_boundary(snakemake.log[0])
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
inp, out = snakemake.input, snakemake.output
result = run_spectrum(inp.summary, inp.trajectory, snakemake.params.spectra)
RUN_SPECTRUM.write(result.spectrum, out.spectrum, comments=result.comments)
RUN_PEAKS.write(result.peaks, out.peaks)
