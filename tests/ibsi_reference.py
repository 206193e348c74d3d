"""IBSI-1 reference values and the matching rule used by the reference tests.

A computed value reproduces a reference row when ``|value - reference| <=
tolerance``, or, for rows without a tolerance, when both round to the same
three significant digits.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass

from radiomix.features.registry import FAMILY_TITLES

from conftest import require_data

TITLE_TO_FAMILY = {title: family for family, title in FAMILY_TITLES.items()}
FRACTION_VARIANTS = ("V10", "V90", "I10", "I90")


@dataclass(frozen=True)
class ReferenceRow:
    family: str
    feature: str
    ibsi_code: str
    aggregation: str
    data_set: str
    value: float
    tolerance: float | None

    @property
    def variant(self) -> str:
        """V10/V90/I10/I90 for the IVH rows that share an IBSI code, else ''."""
        return next((v for v in FRACTION_VARIANTS if self.feature.endswith(v)), "")


def reference_rows(data_set: str, families=None) -> list[ReferenceRow]:
    """Rows of ``reference_values.csv`` for one data set (and families, short names).

    Rows without a value (IBSI reached no consensus, e.g. config C compactness 1)
    cannot be checked and are left out.
    """
    path = require_data("ibsi/reference_values.csv")
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        for raw in csv.DictReader(handle):
            family = TITLE_TO_FAMILY[raw["family"]]
            if raw["data_set"] != data_set or (families and family not in families) or not raw["value"]:
                continue
            tolerance = float(raw["tolerance"]) if raw["tolerance"] else None
            rows.append(ReferenceRow(family, raw["feature"], raw["ibsi_code"], raw["aggregation"],
                                     raw["data_set"], float(raw["value"]), tolerance))
    return rows


def round_sig(value: float, digits: int = 3) -> float:
    """``value`` rounded to ``digits`` significant digits."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def reproduces(value: float, row: ReferenceRow) -> bool:
    """The IBSI matching rule (see module docstring)."""
    if value is None or not math.isfinite(value):
        return False
    if row.tolerance is not None:
        return abs(value - row.value) <= row.tolerance + 1e-12 * abs(row.value)
    return round_sig(value) == round_sig(row.value)


def misses(table, rows: list[ReferenceRow]) -> list[str]:
    """Reference rows the tidy ``table`` does not reproduce, one readable line each.

    ``table`` holds columns ``family, name, ibsi_code, aggregation, value``; rows
    are matched by (ibsi_code, aggregation), IVH fraction rows also by the
    V10/V90/I10/I90 in ``name``.
    """
    lines = []
    for row in rows:
        hit = table[(table["ibsi_code"] == row.ibsi_code) & (table["aggregation"] == row.aggregation)]
        if row.variant:
            hit = hit[hit["name"].str.contains(row.variant)]
        if len(hit) != 1:
            lines.append(f"{row.ibsi_code} {row.feature} [{row.aggregation}]: "
                         f"{len(hit)} matching values computed, expected one")
            continue
        value = float(hit["value"].iloc[0])
        if not reproduces(value, row):
            tol = row.tolerance if row.tolerance is not None else "3 significant digits"
            lines.append(f"{row.ibsi_code} {row.feature} [{row.aggregation}]: "
                         f"got {value:.6g}, reference {row.value:g} (tolerance {tol})")
    return lines
