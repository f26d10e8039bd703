"""Rule `md`: one MD run (gmnn.md.run_md) of one model from the lowest-energy
coupled-cluster structure.

params.md is the gmnn.md.MDConfig of the run (config md.dynamics with temperature_K, steps
and seed filled in). The trajectory grows in md.partial.traj next to the declared md.traj,
with the checkpoint md.ckpt.npz; both survive a killed job, and the rerun continues from
the checkpoint (a checkpoint of other settings or another model: start over). At the end
the trajectory is renamed to md.traj and the checkpoint removed. A diverging run is
recorded (summary.json: diverged, reason, diverged_at_ps), not raised.
"""

from pathlib import Path

from gmnn.workflow import start_job

log = start_job(snakemake.log[0], snakemake.threads)

from gmnn.calculator import GMNNCalculator  # noqa: E402
from gmnn.data import file_sha256, read_h5  # noqa: E402
from gmnn.io import atomic_write_json  # noqa: E402
from gmnn.md import MDConfig, run_md  # noqa: E402

inp, out, p = snakemake.input, snakemake.output, snakemake.params
config = MDConfig.from_dict(dict(p.md))
model_dir = Path(inp.model[0]).parent
data = read_h5(inp.data)
start = data.lowest_energy()
atoms = data.atoms(start)
atoms.calc = None
log.info("MD of %s from structure %d of %s: %s", model_dir, start, inp.data, config)
summary = run_md(
    atoms, GMNNCalculator(model_dir), config, out.trajectory, log=log, on_mismatch="restart"
)
record = {
    **p.record,
    **summary,
    "model": str(model_dir),
    "start_structure": {"data": inp.data, "index": start, "sha256": file_sha256(inp.data)},
}
atomic_write_json(out.summary, record)
log.info(
    "%s: %d of %d steps, %.2f ms per step%s",
    out.summary,
    summary["steps_done"],
    summary["steps_requested"],
    1000 * summary["seconds_per_step"],
    f", DIVERGED: {summary['reason']}" if summary["diverged"] else "",
)
