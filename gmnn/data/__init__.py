"""Data layer of gmnn: containers, readers, the gmnn HDF5 schema and splits.

Everything here is in eV, Å and eV/Å (see :mod:`gmnn.units`); readers convert from the
units of each file format. No TensorFlow is imported by this package.

Typical use::

    from gmnn.data import read, write_h5, make_split, save_split

    data = read("rmd17_ethanol_train_01.npz")   # format detected from the contents
    write_h5(data, "ethanol.h5")
    split = make_split(len(data), n_train=950, n_valid=50, n_test=0, seed=1)
    train = data[split.train]
"""

from gmnn.data.errors import DataError
from gmnn.data.h5 import read_h5, read_h5_ids, write_h5
from gmnn.data.readers import (
    read,
    read_ani_h5,
    read_ase,
    read_rmd17_npz,
    read_sgdml_npz,
    read_structure,
    sniff_format,
)
from gmnn.data.splits import (
    Split,
    load_split,
    make_ani_split,
    make_split,
    save_split,
    save_split_of,
)
from gmnn.data.structures import Structures

__all__ = [
    "DataError",
    "Split",
    "Structures",
    "load_split",
    "make_ani_split",
    "make_split",
    "read",
    "read_ani_h5",
    "read_ase",
    "read_structure",
    "read_h5",
    "read_h5_ids",
    "read_rmd17_npz",
    "read_sgdml_npz",
    "save_split",
    "save_split_of",
    "sniff_format",
    "write_h5",
]
