"""A user's own molecule, the results side: the transfer-learning card
(:mod:`gmnn.molecules.card`). The data side is :mod:`gmnn.refdata.molecules`; the config
section and its checks are :mod:`gmnn.workflow.molecules`."""
