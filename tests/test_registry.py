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
