"""Rule `power_spectrum`: spectrum and stretch-band peaks of one MD run (no TensorFlow).

The first `equilibration_ps` of the trajectory are dropped; the rest (up to the end, or
up to where a diverged run stopped) is the production part. Windowing and normalisation:
gmnn.analysis.spectra (config section `spectra`). A run with less than two VACF windows
of production data gets an empty spectrum (header only) and NaN peaks.
"""

import json
import logging

import numpy as np

from gmnn.analysis.aggregate import write_table
from gmnn.analysis.spectra import trajectory_spectrum

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
inp, out, cfg = snakemake.input, snakemake.output, snakemake.params.spectra
run = json.loads(open(inp.summary).read())
keys = {k: run[k] for k in ("molecule", "setting", "n_train", "temperature_K", "seed")}
grid = np.arange(0.0, cfg["grid_max_cm1"] + cfg["grid_step_cm1"] / 2, cfg["grid_step_cm1"])
result = trajectory_spectrum(
    inp.trajectory,
    frame_dt_fs=run["timestep_fs"] * run["interval"],
    skip_ps=run["equilibration_ps"],
    grid=grid,
    max_lag_ps=cfg["max_lag_ps"],
    window=cfg["window"],
    pad_factor=cfg["pad_factor"],
)
production_ps, peaks = result["production_ps"], result["peaks"]
rows = []
if result["intensity"] is not None:
    rows = [
        {**keys, "wavenumber_cm1": w, "intensity": i}
        for w, i in zip(grid, result["intensity"], strict=True)
    ]
else:
    logging.warning(
        "%s: %.2f ps of production data (diverged: %s), less than twice max_lag_ps=%s: no spectrum",
        inp.trajectory,
        production_ps,
        run["diverged"],
        cfg["max_lag_ps"],
    )

write_table(
    rows,
    out.spectrum,
    [*keys, "wavenumber_cm1", "intensity"],
    [
        f"power spectrum of {production_ps:.3f} ps of production MD; intensity normalised "
        f"to unit area on the grid (1/cm^-1); VACF window {cfg['window']} over "
        f"{cfg['max_lag_ps']} ps"
    ],
)
peak_rows = [
    {
        **keys,
        "band": band,
        "center_cm1": fit["center"],
        "fwhm_cm1": fit["fwhm"],
        "method": fit["method"],
        "production_ps": production_ps,
    }
    for band, fit in peaks.items()
]
write_table(
    peak_rows,
    out.peaks,
    [*keys, "band", "center_cm1", "fwhm_cm1", "method", "production_ps"],
    ["strongest peak in each stretch band (gmnn.analysis.spectra.STRETCH_BANDS), cm^-1"],
)
logging.info("%s: %.2f ps production; peaks %s", out.spectrum, production_ps, peaks)
