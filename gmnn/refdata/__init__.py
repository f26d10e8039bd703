"""Reference data made by the project itself: what the embedded default is built from.

Reading, converting and splitting data sets is :mod:`gmnn.data`; this package generates
them with quantum-chemistry codes, offline and without the network:

* :mod:`gmnn.refdata.qc`: sampling by GFN2-xTB Langevin MD (tblite), labelling with PySCF
  (DFT, CCSD(T)) in chunks, merging the chunks into one data set (the MD17-like
  embedded data, ``rules/embedded.smk``);
* :mod:`gmnn.refdata.systems`: named molecules, peptides and clusters (ASE, RDKit);
* :mod:`gmnn.refdata.embedded_ani`: the embedded ANI-like data sets built from them
  (``rules/embedded_ani.smk``);
* :mod:`gmnn.refdata.peptide`: the paper's deca-alanine built as an ideal α-helix
  (PeptideBuilder, RDKit) and relaxed with GFN2-xTB.

tblite, PySCF, RDKit and PeptideBuilder are imported only inside the functions that need
them, so importing these modules needs NumPy, SciPy and ASE alone (never TensorFlow).
"""
