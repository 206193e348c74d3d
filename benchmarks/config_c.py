"""The IBSI CT phantom under configuration C: radiomix's whole chain against pyradiomics'.

radiomix runs ``feature_specs/ibsi/config_C.yaml`` from the NIfTI files (trilinear
interpolation to 2 mm, re-segmentation to [-1000, 400] HU, fixed bin size 25 HU, every IBSI
family in 3D). pyradiomics runs its nearest equivalent parameter set, given below: the same
resampling, re-segmentation range and bin width, every feature class. Measurement modes as in
``benchmarks/texture.py``; one JSON record per call.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
from benchmarks.harness import main  # noqa: E402
from benchmarks.texture import CT_PHANTOM  # noqa: E402

SPEC = REPO_ROOT / "feature_specs" / "ibsi" / "config_C.yaml"
PYRADIOMICS_PARAMETERS = {
    "imageType": {"Original": {}},
    "featureClass": {name: [] for name in ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")},
    "setting": {
        "resampledPixelSpacing": [2.0, 2.0, 2.0],
        "interpolator": "sitkLinear",
        "resegmentRange": [-1000, 400],
        "binWidth": 25,
        "label": 1,
    },
}
"""pyradiomics' nearest equivalent of IBSI configuration C."""


def radiomix_runner():
    from radiomix.extract import extract_features

    image, mask = str(CT_PHANTOM / "image.nii.gz"), str(CT_PHANTOM / "mask.nii.gz")
    return lambda: len(extract_features(image, mask, SPEC))


def pyradiomics_runner():
    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    extractor = featureextractor.RadiomicsFeatureExtractor(PYRADIOMICS_PARAMETERS)
    image, mask = str(CT_PHANTOM / "image.nii.gz"), str(CT_PHANTOM / "mask.nii.gz")
    return lambda: sum(1 for key in extractor.execute(image, mask) if not key.startswith("diagnostics"))


if __name__ == "__main__":
    main("config_c_ct_phantom", {"radiomix": radiomix_runner, "pyradiomics": pyradiomics_runner}, __doc__, repeats=3)
