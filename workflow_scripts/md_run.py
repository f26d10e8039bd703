"""Rule `md`: Langevin NVT with one model, from the lowest-energy coupled-cluster structure.

The trajectory grows in md.partial.traj next to the declared md.traj, with the checkpoint
md.ckpt.npz; both survive a killed job, and the rerun continues from the checkpoint. At the
end the trajectory is renamed to md.traj and the checkpoint removed. A diverging run is
recorded (summary.json: diverged, reason, diverged_at_ps), not raised.
"""

import os
from pathlib import Path

from gmnn.workflow import start_job

log = start_job(snakemake.log[0], snakemake.threads)

from gmnn.calculator import GMNNCalculator  # noqa: E402
from gmnn.data import file_sha256, read_h5  # noqa: E402
from gmnn.io import atomic_write_json  # noqa: E402
from gmnn.md import DivergenceMonitor, run_langevin  # noqa: E402

inp, out, p = snakemake.input, snakemake.output, snakemake.params
trajectory = Path(out.trajectory)
partial = trajectory.with_name("md.partial.traj")
checkpoint = trajectory.with_name("md.ckpt.npz")
model_dir = Path(inp.model[0]).parent

data = read_h5(inp.data)
start = data.lowest_energy()
atoms = data.atoms(start)
atoms.calc = None
monitor = DivergenceMonitor(atoms, **p.divergence)
log.info(
    "MD of %s from structure %d of %s: %d steps, %s", model_dir, start, inp.data, p.steps, p.md
)
summary = run_langevin(
    atoms,
    GMNNCalculator(model_dir),
    steps=p.steps,
    trajectory=partial,
    checkpoint=checkpoint,
    monitor=monitor,
    log=log,
    **p.md,
)
os.replace(partial, trajectory)
checkpoint.unlink(missing_ok=True)
record = dict(p.record)
record.update(summary)
record.update(
    {
        "model": str(model_dir),
        "start_structure": {"data": inp.data, "index": start, "sha256": file_sha256(inp.data)},
        "trajectory": str(trajectory),
        "divergence_checks": monitor.settings(),
    }
)
atomic_write_json(out.summary, record)
log.info(
    "%s: %d of %d steps, %.2f ms per step%s",
    out.summary,
    summary["steps_done"],
    summary["steps_requested"],
    1000 * summary["seconds_per_step"],
    f", DIVERGED: {summary['reason']}" if summary["diverged"] else "",
)
