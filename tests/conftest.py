"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data directory (``$GMNN_SHARED_DATA`` or ``<repo>/../shared/data``).

    Tests using it are skipped when it is absent, e.g. in a user's clone of the
    repository, which has no ``../shared``.
    """
    env = os.environ.get("GMNN_SHARED_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not root.is_dir():
        pytest.skip(
            f"shared data directory {root} not found (set GMNN_SHARED_DATA to use real data)"
        )
    return root


@pytest.fixture
def make_structures():
    """Factory for small random labelled :class:`gmnn.data.Structures` (H, C, O).

    ``make_structures(n_atoms=(3, 5, 2, 4), seed=0, meta=None, groups=False)``: structure
    ``i`` has ``n_atoms[i]`` atoms; ids are ``100, 101, ...``; with ``groups=True`` the
    structures alternate between groups ``"g0"`` and ``"g1"``.
    """
    import numpy as np

    from gmnn.data import Structures

    def make(n_atoms=(3, 5, 2, 4), seed=0, meta=None, groups=False) -> Structures:
        rng = np.random.default_rng(seed)
        n_atoms = np.asarray(n_atoms)
        total = int(n_atoms.sum())
        kwargs = {}
        if groups:
            kwargs = {"groups": np.arange(len(n_atoms)) % 2, "group_names": ["g0", "g1"]}
        return Structures(
            numbers=rng.choice([1, 6, 8], size=total),
            positions=rng.normal(size=(total, 3)) * 2.0,
            n_atoms=n_atoms,
            energy=rng.normal(size=len(n_atoms)),
            forces=rng.normal(size=(total, 3)),
            ids=np.arange(len(n_atoms)) + 100,
            meta=meta if meta is not None else {"source": "random", "level_of_theory": "none"},
            **kwargs,
        )

    return make
