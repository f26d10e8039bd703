"""gmnn.train.api.late_gain: how much a run still gained in the last quarter of its steps."""

import pytest

from gmnn.train.api import late_gain


def _history(losses, every=10):
    return [{"step": every * (i + 1), "valid_loss": v} for i, v in enumerate(losses)]


def test_plateau_gains_nothing():
    # the best before the last quarter is not beaten afterwards
    assert late_gain(_history([4.0, 2.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1.05])) == 0.0


def test_run_cut_off_while_falling():
    # 8 validations at steps 10..80: "before" are steps <= 60 (best 1.0), then 0.5
    assert late_gain(_history([4.0, 3.0, 2.0, 1.5, 1.2, 1.0, 0.7, 0.5])) == pytest.approx(0.5)


def test_creep_at_the_end_is_small():
    gain = late_gain(_history([4.0, 2.0, 1.0, 1.0, 1.0, 1.0, 0.999, 0.998]))
    assert 0 < gain < 0.01


def test_undefined_without_early_validations():
    assert late_gain([]) is None
    assert late_gain(_history([1.0])) is None  # its only validation is in the last quarter
    assert late_gain(_history([0.0, 0.0, 0.0, 0.0])) is None
