"""Image processing before feature extraction.

Modality intensities (CT HU, MR normalisation and N4, PET SUV), IBSI interpolation,
re-segmentation and discretisation, and IBSI-2 filters (:mod:`radiomix.preprocess.filters`).

The entries below are imported from their modules on first use, so that importing one
sub-module (the filter settings, which :mod:`radiomix.spec` reads) loads neither pandas
nor the SUV and MR modules (about 40 MiB resident).
"""

import importlib

_MODULE_OF = {
    "body_mask": "radiomix.preprocess.intensity",
    "ct_hu": "radiomix.preprocess.intensity",
    "n4_bias_correction": "radiomix.preprocess.intensity",
    "normalise_mr": "radiomix.preprocess.intensity",
    "suv_image": "radiomix.preprocess.suv",
    "suv_parameters": "radiomix.preprocess.suv",
}

__all__ = sorted(_MODULE_OF)


def __getattr__(name):
    """Import the public entry ``name`` from its module on first use."""
    if name in _MODULE_OF:
        return getattr(importlib.import_module(_MODULE_OF[name]), name)
    raise AttributeError(f"module 'radiomix.preprocess' has no attribute {name!r}")
