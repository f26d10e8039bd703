"""Fixtures of the data tests."""

from __future__ import annotations

import contextlib

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
