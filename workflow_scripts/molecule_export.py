"""Rule `molecule_export`: the fine-tuned setting with the lowest test error at the largest
label count of a molecule study, every seed's model, as an exported ensemble with
checksums and a model card (gmnn.molecules.card.export_finetuned over
gmnn.export.export_ensemble).

input.errors: the study's errors.csv; input.models: model.json of every fine-tuned setting
at that count; input.data: the data files of params.levels (their meta name the levels of
theory); params.pretrained: the exported ensemble fine-tuned from (None: pre-trained here).
"""

from gmnn.data import read_h5
from gmnn.molecules.card import export_finetuned
from gmnn.workflow import job

log = job(snakemake)
inp, p = snakemake.input, snakemake.params
levels = {
    level: dict(read_h5(path).meta or {}) for level, path in zip(p.levels, inp.data, strict=True)
}
done = export_finetuned(
    snakemake.wildcards.name,
    inp.errors,
    list(inp.models),
    snakemake.output[0],
    levels=levels,
    pretrained=p.pretrained,
)
log.info("%s: %s at n=%d (%s)", done["path"], done["setting"], done["n_train"], done["why"])
