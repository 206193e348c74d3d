"""radiomix's pyradiomics drop-in against pyradiomics itself, from the same files and parameters.

Both tools read the image and mask files and extract every feature of a pyradiomics
parameter file; radiomix with ``radiomix.pyradiomics.extract_pyradiomics``, pyradiomics with
``RadiomicsFeatureExtractor(parameters).execute``. Cases (``--case``): ``brain1`` (pyradiomics'
MRI test case) and ``ct_phantom`` (the IBSI CT phantom and its GTV);
``tiny`` (a synthetic 12^3 image, see ``CASES``), which measures each tool's fixed cost. Parameters (``--params``):

- ``default``: ``feature_specs/pyradiomics_default.yaml`` (pyradiomics' defaults: Original
  image, shape, firstorder and the five texture classes, bin width 25);
- ``filters``: the same plus LoG (sigma 1, 2, 3 mm) and Wavelet (coif1, the 8 decompositions).

Modes as in ``benchmarks/texture.py`` (``cold``, ``cold_cached``, ``warm``); one JSON line per
call, e.g. ``python benchmarks/pyradiomics_dropin.py --case brain1 --params filters --tool
radiomix --mode warm``. The benchmark is named ``pyradiomics_dropin_<case>_<params>``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
from benchmarks.harness import main  # noqa: E402
from benchmarks.texture import CT_PHANTOM, DATA  # noqa: E402

CASES = {
    "brain1": (DATA / "pyradiomics" / "cases" / "brain1_image.nrrd",
               DATA / "pyradiomics" / "cases" / "brain1_label.nrrd"),
    "ct_phantom": (CT_PHANTOM / "image.nii.gz", CT_PHANTOM / "mask.nii.gz"),
    "tiny": (Path(tempfile.gettempdir()) / "radiomix-bench-tiny" / "image.nrrd",
             Path(tempfile.gettempdir()) / "radiomix-bench-tiny" / "mask.nrrd"),
}
"""Case name -> (image file, mask file); the ROI is label 1 in both. ``tiny`` is written by
:func:`write_tiny_case` before the timing: a 12^3 random image with a 6^3 cubic ROI, whose
extraction time is almost all each tool's fixed start-up cost."""


def write_tiny_case() -> None:
    """Write the ``tiny`` case's image and mask (NRRD, 1 mm voxels), the same on every call."""
    import numpy as np
    import SimpleITK as sitk

    image_path, mask_path = CASES["tiny"]
    image_path.parent.mkdir(exist_ok=True)
    voxels = np.random.default_rng(0).integers(0, 200, size=(12, 12, 12)).astype(np.int16)
    roi = np.zeros((12, 12, 12), dtype=np.uint8)
    roi[3:9, 3:9, 3:9] = 1
    for array, path in ((voxels, image_path), (roi, mask_path)):
        sitk.WriteImage(sitk.GetImageFromArray(array), str(path), True)

DEFAULT_PARAMETERS = REPO_ROOT / "feature_specs" / "pyradiomics_default.yaml"
FILTER_IMAGE_TYPES = {"Original": {}, "LoG": {"sigma": [1.0, 2.0, 3.0]}, "Wavelet": {}}


def parameters(name: str) -> dict:
    """The pyradiomics parameter dict of a ``--params`` choice."""
    params = yaml.safe_load(DEFAULT_PARAMETERS.read_text())
    if name == "filters":
        params["imageType"] = FILTER_IMAGE_TYPES
    return params


def radiomix_runner(case: str, params: dict):
    """A runner extracting ``params`` from ``case``'s files with radiomix."""
    def make_run():
        from radiomix.pyradiomics.extract import extract_pyradiomics

        image, mask = (str(path) for path in CASES[case])
        return lambda: len(extract_pyradiomics(image, mask, params))

    return make_run


def pyradiomics_runner(case: str, params: dict):
    """A runner extracting ``params`` from ``case``'s files with pyradiomics (features only counted)."""
    def make_run():
        from radiomics import featureextractor

        logging.getLogger("radiomics").setLevel(logging.ERROR)
        image, mask = (str(path) for path in CASES[case])

        def run():
            result = featureextractor.RadiomicsFeatureExtractor(params).execute(image, mask)
            return sum(1 for key in result if not key.startswith("diagnostics_"))

        return run

    return make_run


if __name__ == "__main__":
    selection = argparse.ArgumentParser(add_help=False)
    selection.add_argument("--case", choices=sorted(CASES), default="brain1")
    selection.add_argument("--params", choices=("default", "filters"), default="filters")
    chosen, sys.argv[1:] = selection.parse_known_args()
    if chosen.case == "tiny":
        write_tiny_case()
    chosen_params = parameters(chosen.params)
    main(f"pyradiomics_dropin_{chosen.case}_{chosen.params}",
         {"radiomix": radiomix_runner(chosen.case, chosen_params),
          "pyradiomics": pyradiomics_runner(chosen.case, chosen_params)}, __doc__)
