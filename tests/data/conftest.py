"""Fixtures of the data tests."""

from __future__ import annotations

import contextlib
from importlib.util import find_spec

import pytest

from gmnn.data import DataError


@pytest.fixture
def raises_naming():
    """``with raises_naming(path, match):`` expects a :class:`DataError` that matches
    ``match`` and whose message starts with the file at fault."""

    @contextlib.contextmanager
    def expect(path, match):
        with pytest.raises(DataError, match=match) as info:
            yield info
        assert str(info.value).startswith(str(path))

    return expect


@pytest.fixture
def one_pyscf_thread():
    """Run PySCF on one OpenMP thread: these tiny molecules gain nothing from more, and
    waiting threads slow the tests down badly on a busy machine."""
    if find_spec("pyscf") is None:
        yield
        return
    from pyscf import lib

    previous = lib.num_threads()
    lib.num_threads(1)
    yield
    lib.num_threads(previous)
