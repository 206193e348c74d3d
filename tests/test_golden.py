"""Today's feature values against the golden tables frozen before the one-engine redesign (#21).

Every case of :mod:`golden_cases` is recomputed and compared feature by feature with
``tests/golden/<case>.csv``: the same features in the same order, the same status, and every
value equal within 1e-12 relative (NaN where the frozen value is NaN). A failure lists each
difference; an intended change is re-frozen with ``python tests/golden_cases.py CASE`` and
explained in the commit.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from golden_cases import frozen_path, golden_cases

RELATIVE = 1e-12
CASES = golden_cases()


def differences(frozen: pd.DataFrame, today: pd.DataFrame) -> list[str]:
    """One line per feature whose presence, status or value differs."""
    lines = []
    if list(frozen["feature"]) != list(today["feature"]):
        missing = sorted(set(frozen["feature"]) - set(today["feature"]))
        extra = sorted(set(today["feature"]) - set(frozen["feature"]))
        lines.append(f"features differ: missing {missing[:10]}, new {extra[:10]}"
                     + ("" if missing or extra else " (order changed)"))
    today = today.set_index("feature")
    for feature, value, status in frozen[["feature", "value", "status"]].itertuples(index=False):
        if feature not in today.index:
            continue
        now, now_status = float(today.at[feature, "value"]), _status(today.at[feature, "status"])
        status = _status(status)
        if status != now_status:
            lines.append(f"{feature}: status {status!r} -> {now_status!r}")
        if math.isnan(value) or math.isnan(now):
            if math.isnan(value) != math.isnan(now):
                lines.append(f"{feature}: {value!r} -> {now!r}")
        elif abs(now - value) > RELATIVE * max(abs(value), abs(now)):
            relative = abs(now / value - 1) if value else math.inf
            lines.append(f"{feature}: {value!r} -> {now!r} (relative {relative:.2e})")
    return lines


def _status(status) -> str:
    """A status cell as text ('' when empty, as a CSV round trip reads it back as NaN)."""
    return "" if pd.isna(status) else str(status)


def test_every_frozen_table_has_a_case():
    frozen = {path.stem for path in frozen_path("x").parent.glob("*.csv")}
    assert frozen, "no golden table found in tests/golden"
    random_cases = {name for name in frozen if name.startswith("random_")}
    assert random_cases <= set(CASES), f"golden tables without a case: {sorted(random_cases - set(CASES))}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_equal_the_golden_table(name):
    path = frozen_path(name)
    assert path.exists(), f"{path.name} is missing: freeze it with python tests/golden_cases.py {name}"
    frozen = pd.read_csv(path, keep_default_na=True)
    today = CASES[name]()[["feature", "value", "status"]]
    found = differences(frozen, today)
    assert not found, f"{name}: {len(found)} difference(s)\n" + "\n".join(found[:60])


def test_a_changed_value_is_reported():
    frozen = pd.DataFrame({"feature": ["a", "b"], "value": [1.0, float("nan")], "status": [None, "x"]})
    today = pd.DataFrame({"feature": ["a", "b"], "value": [1.0 + 1e-9, 2.0], "status": ["", "x"]})
    found = differences(frozen, today)
    assert len(found) == 2 and found[0].startswith("a:") and found[1].startswith("b:")
