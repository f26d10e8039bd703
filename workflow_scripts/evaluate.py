"""Rules `evaluate_pretrain`, `evaluate_comp6`, `evaluate_ani_md17` and
`molecule_evaluate_pretrained`: the test errors of
one model -> its metrics JSON (gmnn.workflow.evaluate_job; errors in kcal/mol and
kcal/mol/Angstrom).

input.model: the model's model.json; input.data: the test data, with input.split its split
(the split's test part), or the COMP6 subset files named by params.subsets in the same
order; params.n_offset (evaluate_ani_md17): energies shifted by their mean offset over the
split's first n_offset training structures; params.record: the fields naming the model.
"""

from gmnn.workflow import evaluate_job, finish, job

log = job(snakemake, tf=True, append=False)

inp, p = snakemake.input, snakemake.params
model = inp.model
if getattr(p, "member", None) is not None:  # molecule_evaluate_pretrained: an ensemble's member
    from gmnn.workflow.molecules import ensemble_member

    model = ensemble_member(inp.model, p.member)
evaluate_job(
    model=model,
    data=inp.data,
    split=getattr(inp, "split", None),
    subsets=getattr(p, "subsets", None),
    n_offset=getattr(p, "n_offset", None),
    record=p.record,
    output=snakemake.output[0],
    log=log,
)
finish()  # leave without the interpreter's teardown (gmnn.workflow.finish)
