"""The tidy table built column by column (radiomix.features.table.feature_table) equals the table of its
rows built one by one: the same columns, dtypes and values, NaN with their status, empty tables alike."""

from __future__ import annotations

import numpy as np
import pandas as pd

from radiomix.features import registry
from radiomix.features.base import FeatureValue
from radiomix.features.table import COLUMNS, column_name, feature_table, tabulate


def _rows_one_by_one(results) -> pd.DataFrame:
    rows = []
    for image_type, family, values in results:
        for item in values:
            definition = registry.get(family, item.key)
            rows.append({"feature": column_name(image_type, family, item.key, item.aggregation), "family": family,
                         "name": definition.name, "ibsi_code": definition.ibsi_code,
                         "aggregation": item.aggregation, "image_type": image_type, "value": float(item.value),
                         "unit": definition.unit, "status": item.status})
    return pd.DataFrame(rows, columns=COLUMNS)


def _values(family: str, aggregation: str, seed: int) -> list[FeatureValue]:
    rng = np.random.default_rng(seed)
    keys = registry.keys(family)
    values = rng.normal(size=len(keys))
    values[::3] = np.nan
    return [FeatureValue(key, aggregation, float(value), "undefined: test" if np.isnan(value) else "")
            for key, value in zip(keys, values)]


def test_the_table_equals_its_rows_built_one_by_one():
    results = [("original", "statistics", _values("statistics", "", 1)),
               ("original", "glcm", _values("glcm", "3D, averaged", 2)),
               ("log_sigma_1_mm", "glcm", _values("glcm", "2D, merged", 3)),
               ("original", "ngtdm", [])]
    pd.testing.assert_frame_equal(feature_table(results), _rows_one_by_one(results))
    pd.testing.assert_frame_equal(feature_table(iter(results)), _rows_one_by_one(results))  # read once
    pd.testing.assert_frame_equal(tabulate("glcm", results[1][2]), _rows_one_by_one(results[1:2]))


def test_an_empty_table_has_the_columns():
    for results in ([], [("original", "glcm", [])]):
        pd.testing.assert_frame_equal(feature_table(results), _rows_one_by_one(results))
        assert list(feature_table(results).columns) == COLUMNS


def test_a_table_changed_by_its_user_leaves_the_next_one_as_built():
    """The naming kept for the next tables is copied into each one: editing a table changes no other."""
    results = [("original", "glcm", _values("glcm", "3D, averaged", 4))]
    first = feature_table(results)
    first.loc[0, "feature"] = "edited"
    first["unit"] = "edited"
    first.loc[1, "value"] = 1e9
    pd.testing.assert_frame_equal(feature_table(results), _rows_one_by_one(results))
