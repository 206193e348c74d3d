"""The codebook: intensity units per modality, constant and duplicate columns flagged."""

import numpy as np
import pandas as pd

from radiomix.cohort.merge import codebook, intensity_unit, unit_for_modality
from radiomix.spec import load_spec


def _long(values: dict) -> pd.DataFrame:
    """A long table from {(modality, feature, unit): [value of p1, value of p2, value of p3]}."""
    rows = []
    for (modality, feature, unit), column in values.items():
        for patient, value in zip(("p1", "p2", "p3"), column):
            rows.append({"patient_id": patient, "modality": modality, "feature": feature,
                         "family": "statistics", "name": feature, "ibsi_code": "", "aggregation": "",
                         "image_type": "original", "unit": unit, "value": value})
    return pd.DataFrame(rows)


def test_units_follow_the_modality():
    long = _long({("CT", "mean", "I"): [1, 2, 3], ("CT", "variance", "I^2"): [4, 5, 6],
                  ("PET", "peak", "I"): [1, 2, 4], ("MR", "mean", "I"): [0.1, 0.2, 0.4],
                  ("CT", "volume_weighted", "I*mm^3"): [3, 1, 2], ("CT", "entropy", "bits"): [1, 3, 2],
                  ("US", "mean", "I"): [1, 5, 2]})
    units = codebook(long).set_index("column")["unit"]
    assert units["CT__mean"] == "HU" and units["CT__variance"] == "HU^2"
    assert units["CT__volume_weighted"] == "HU*mm^3" and units["CT__entropy"] == "bits"
    assert units["PET__peak"] == "SUV" and units["MR__mean"] == "z-score"
    assert units["US__mean"] == "I"
    assert codebook(long, {"MR": "percentile-scaled"}).set_index("column").loc["MR__mean", "unit"] == \
        "percentile-scaled"
    assert unit_for_modality("grey level", "HU") == "grey level" and unit_for_modality("1", "SUV") == "1"


def test_units_of_the_shipped_specs():
    assert intensity_unit(load_spec("feature_specs/ct.yaml")) == "HU"
    assert intensity_unit(load_spec("feature_specs/pet.yaml")) == "SUV"
    assert intensity_unit(load_spec("feature_specs/mr.yaml")) == "z-score"


def test_constant_and_duplicate_columns_are_flagged():
    long = _long({("CT", "a", "I"): [1.0, 2.0, 3.0], ("CT", "constant", "1"): [7.0, 7.0, 7.0],
                  ("MR", "copy_of_a", "I"): [1.0, 2.0, 3.0], ("MR", "b", "I"): [1.0, 2.0, np.nan],
                  ("PET", "copy_of_b", "I"): [1.0, 2.0, np.nan], ("PET", "c", "I"): [3.0, 2.0, 1.0]})
    book = codebook(long).set_index("column")
    assert book["constant"].to_dict() == {"CT__a": False, "CT__constant": True, "MR__copy_of_a": False,
                                          "MR__b": False, "PET__copy_of_b": False, "PET__c": False}
    assert book.loc["MR__copy_of_a", "duplicate_of"] == "CT__a"
    assert book.loc["PET__copy_of_b", "duplicate_of"] == "MR__b"
    assert (book.drop(index=["MR__copy_of_a", "PET__copy_of_b"])["duplicate_of"] == "").all()


def test_the_codebook_step_takes_each_modality_unit_from_its_spec(tmp_path):
    """An MR spec with percentile normalisation gives percentile-scaled units, not the default z-score."""
    from radiomix.cohort.outputs import codebook_table

    long = _long({("CT", "variance", "I^2"): [4, 5, 6], ("MR", "mean", "I"): [0.1, 0.2, 0.4],
                  ("MR", "variance", "I^2"): [1, 2, 3]})
    long_path = tmp_path / "features_long.csv"
    long.to_csv(long_path, index=False)
    mr_spec = tmp_path / "mr.yaml"
    mr_spec.write_text(open("feature_specs/mr.yaml").read().replace("normalisation: zscore",
                                                                     "normalisation: percentile"))
    assert intensity_unit(load_spec(mr_spec)) == "percentile-scaled"
    units = codebook_table(long_path, {"CT": "feature_specs/ct.yaml", "MR": mr_spec}).set_index("column")["unit"]
    assert units["CT__variance"] == "HU^2"
    assert units["MR__mean"] == "percentile-scaled" and units["MR__variance"] == "percentile-scaled^2"
    assert codebook_table(long_path).set_index("column").loc["MR__mean", "unit"] == "z-score"
