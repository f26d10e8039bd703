"""Rule `molecule_errors`: the metrics.json of every evaluation of a molecule's comparison
-> results/molecules/<name>/errors.csv (gmnn.molecules.card.ERRORS: setting, n_train,
seed, energy and force MAE and RMSE in kcal/mol and kcal/mol/Angstrom)."""

from gmnn.analysis.tables import read_json_object
from gmnn.molecules.card import ERRORS, errors_frame
from gmnn.workflow import job

log = job(snakemake)
records = [read_json_object(path, "metrics record") for path in snakemake.input]
ERRORS.write(errors_frame(records), snakemake.output[0])
log.info("%s: %d evaluations", snakemake.output[0], len(records))
