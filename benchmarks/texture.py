"""Texture extraction on the IBSI CT phantom ROI: radiomix against pyradiomics' texture classes.

Both tools get the same discretised input: the CT phantom (HU rounded to integers) inside its
GTV, discretised with a fixed bin size of 25 HU, cropped to the ROI's bounding box. pyradiomics
receives the grey levels as its image with ``binWidth=1`` (its bin edges then fall on the
integers, so its levels equal ours). Measured per tool, each in a fresh process:

- ``cold``: first call with an empty numba cache (JIT compilation included);
- ``cold_cached``: first call in a new process whose numba cache is already filled;
- ``warm``: median of repeated calls once compiled.

Two feature sets, chosen with ``--set`` (pyradiomics runs the same classes in both):

- ``same`` (default, benchmark ``texture_ct_phantom``): like-for-like. pyradiomics' GLCM, GLRLM,
  GLSZM, GLDM and NGTDM, each in 3D (GLCM and GLRLM: one matrix per direction, features averaged,
  IBSI "3D, averaged") and with ``force2D`` (in-plane neighbours, matrices summed over the slices,
  IBSI 2.5D); radiomix computes the matching families (GLCM, GLRLM, GLSZM, NGLDM for pyradiomics'
  GLDM, NGTDM) with dimensions 3D and 2.5D. Only this set compares the same work.
- ``all`` (benchmark ``texture_ct_phantom_all_ibsi``): radiomix computes all six IBSI texture
  families (GLDZM too) with dimensions 2D, 2.5D and 3D, every aggregation of each, against the same
  pyradiomics run; radiomix does more work than pyradiomics here, so this is not like-for-like.

Run one measurement with ``python benchmarks/texture.py --tool radiomix --mode warm [--set all]``; it
prints one JSON line. ``benchmarks/run.py`` runs them all and writes the table.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
from benchmarks.harness import main  # noqa: E402

DATA = Path(os.environ.get("RADIOMIX_TEST_DATA", REPO_ROOT.parent / "shared" / "data"))
CT_PHANTOM = DATA / "ibsi" / "ct_phantom" / "nifti"
BIN_WIDTH_HU = 25.0
PYRADIOMICS_CLASSES = ("glcm", "glrlm", "glszm", "gldm", "ngtdm")
FEATURE_SETS = {
    "same": ("texture_ct_phantom", ("glcm", "glrlm", "glszm", "ngldm", "ngtdm"), ("3D", "2.5D")),
    "all": ("texture_ct_phantom_all_ibsi", ("glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm"),
            ("2D", "2.5D", "3D")),
}
"""``--set`` -> (benchmark name, radiomix families, radiomix dimensions)."""


def load_levels():
    """Grey levels (int32, 0 outside the ROI), ROI mask and spacing (z, y, x) of the cropped CT phantom."""
    import SimpleITK as sitk

    from radiomix.preprocess.discretisation import discretise
    from radiomix.spec import DiscretisationSettings

    image = sitk.ReadImage(str(CT_PHANTOM / "image.nii.gz"), sitk.sitkFloat64)
    mask = sitk.ReadImage(str(CT_PHANTOM / "mask.nii.gz"), sitk.sitkFloat64)
    intensity = np.rint(sitk.GetArrayFromImage(image))
    roi = np.rint(sitk.GetArrayFromImage(mask)) == 1
    box = tuple(slice(int(np.flatnonzero(roi.any(axis=tuple(a for a in range(3) if a != axis)))[0]),
                      int(np.flatnonzero(roi.any(axis=tuple(a for a in range(3) if a != axis)))[-1]) + 1)
                for axis in range(3))
    intensity, roi = intensity[box], roi[box]
    binned = discretise(intensity, roi, DiscretisationSettings("fixed_bin_size", bin_width=BIN_WIDTH_HU))
    spacing = tuple(float(s) for s in reversed(image.GetSpacing()))
    return binned.levels, binned.n_levels, roi, spacing


def radiomix_runner(feature_set: str = "same"):
    """A callable extracting the texture families and dimensions of ``FEATURE_SETS[feature_set]`` with radiomix."""
    import importlib

    from radiomix.features.base import RoiImage
    from radiomix.spec import FeatureSettings

    levels, n_levels, roi, spacing = load_levels()
    roi_image = RoiImage(intensity=levels.astype(np.float64), morphological_mask=roi, intensity_mask=roi,
                         spacing=spacing, discretised=levels, n_levels=n_levels, bin_width=BIN_WIDTH_HU,
                         lower_bound=0.0, resegmentation_range=(-np.inf, np.inf))
    settings = FeatureSettings()
    _, families, dimensions = FEATURE_SETS[feature_set]
    modules = [(importlib.import_module(f"radiomix.features.{name}"), getattr(settings, name))
               for name in families]

    def run():
        return sum(len(module.compute(roi_image, family_settings, dimensions))
                   for module, family_settings in modules)

    return run


def pyradiomics_runner():
    """A callable extracting pyradiomics' texture classes, 3D and force2D along z (IBSI 2.5D)."""
    import importlib
    import logging

    import SimpleITK as sitk

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    levels, _, roi, spacing = load_levels()
    image = sitk.GetImageFromArray(levels.astype(np.float64))
    mask = sitk.GetImageFromArray(roi.astype(np.uint8))
    for item in (image, mask):
        item.SetSpacing(tuple(reversed(spacing)))
    classes = []
    for name in PYRADIOMICS_CLASSES:
        module = importlib.import_module(f"radiomics.{name}")
        classes.append(getattr(module, f"Radiomics{name.upper()}"))

    def run():
        count = 0
        for feature_class in classes:
            for two_d in (False, True):
                extractor = feature_class(image, mask, binWidth=1, force2D=two_d, force2Ddimension=0)
                extractor.enableAllFeatures()
                count += len(extractor.execute())
        return count

    return run


if __name__ == "__main__":
    set_parser = argparse.ArgumentParser(add_help=False)
    set_parser.add_argument("--set", choices=sorted(FEATURE_SETS), default="same")
    chosen, sys.argv[1:] = set_parser.parse_known_args()
    main(FEATURE_SETS[chosen.set][0],
         {"radiomix": lambda: radiomix_runner(chosen.set), "pyradiomics": pyradiomics_runner}, __doc__)
