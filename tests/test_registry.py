"""The feature registry is complete whichever module a program imports first."""

from __future__ import annotations

import subprocess
import sys

from radiomix.features.registry import FAMILY_TITLES


def test_registry_is_complete_when_only_the_cohort_merge_is_imported():
    # A fresh interpreter, so no other test has imported the family modules already.
    program = (
        "from radiomix.cohort import merge\n"
        "from radiomix.features import registry\n"
        "print(sorted({d.family for d in registry.definitions()}))\n"
        "print(registry.get('glcm', 'joint_maximum').ibsi_code)\n"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout
    families, code = out.strip().splitlines()
    assert families == str(sorted(FAMILY_TITLES))
    assert code == "GYBY"


def test_the_catalogue_names_known_families_with_complete_rows():
    from radiomix.features import registry

    definitions = registry.definitions()
    assert [family for family in dict.fromkeys(d.family for d in definitions)] == list(FAMILY_TITLES)
    for definition in definitions:
        assert definition.key.isidentifier() and definition.name and definition.unit and definition.description
        assert len(definition.ibsi_code) in (0, 4), definition
    assert len({(d.family, d.key) for d in definitions}) == len(definitions)


def test_each_family_computes_its_catalogue_keys_in_catalogue_order():
    from radiomix.features import glcm, morphology, registry, statistics

    assert glcm.FEATURE_KEYS + (glcm.MCC_KEY,) == registry.keys("glcm")
    assert len(glcm.FEATURE_KEYS) == 25 and registry.get("glcm", glcm.MCC_KEY).ibsi_code == ""
    assert set(morphology.FEATURE_KEYS) | set(morphology.NON_IBSI_KEYS) == set(registry.keys("morphology"))
    assert statistics.NON_IBSI_KEYS == ("total_energy", "standard_deviation")
