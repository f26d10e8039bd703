"""Rule `collect_md`: per-run MD summaries, spectra and peaks -> three tidy tables."""

import json
import logging

from gmnn.analysis.aggregate import read_table, write_table

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
inp, out = snakemake.input, snakemake.output
KEYS = ["molecule", "setting", "n_train", "temperature_K", "seed"]

runs = []
for summary_path, peaks_path in zip(inp.summaries, inp.peaks, strict=True):
    s = json.loads(open(summary_path).read())
    peaks = read_table(peaks_path)
    runs.append(
        {
            **{k: s[k] for k in KEYS},
            "steps_requested": s["steps_requested"],
            "steps_done": s["steps_done"],
            "time_ps": s["time_ps"],
            "diverged": int(bool(s["diverged"])),
            "reason": s["reason"] or "",
            "diverged_at_ps": s["diverged_at_ps"] if s["diverged"] else "",
            "seconds_per_step": s["seconds_per_step"],
            "production_ps": peaks[0]["production_ps"] if peaks else 0.0,
        }
    )
write_table(
    runs,
    out.runs,
    [
        *KEYS,
        "steps_requested",
        "steps_done",
        "time_ps",
        "diverged",
        "reason",
        "diverged_at_ps",
        "seconds_per_step",
        "production_ps",
    ],
    [
        "Langevin NVT runs: time_ps simulated; diverged 1 = stopped early (reason); "
        "seconds_per_step = wall time per MD step (force call and trajectory writing "
        "included); production_ps = time used for the spectrum"
    ],
)
spectra = [row for path in inp.spectra for row in read_table(path)]
write_table(
    spectra,
    out.spectra,
    [*KEYS, "wavenumber_cm1", "intensity"],
    [
        "Vibrational power spectra: Fourier transform of the mass-weighted VACF "
        "(Hann window), intensity normalised to unit area over the grid (1/cm^-1)"
    ],
)
peaks = [row for path in inp.peaks for row in read_table(path)]
write_table(
    peaks,
    out.peaks,
    [*KEYS, "band", "center_cm1", "fwhm_cm1", "method", "production_ps"],
    ["Fitted stretch-band peaks (Lorentzian fit, parabola fallback), cm^-1"],
)
logging.info("%d runs, %d spectrum rows, %d peaks", len(runs), len(spectra), len(peaks))
