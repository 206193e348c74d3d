"""Image processing before feature extraction.

Modality intensities (CT HU, MR normalisation and N4, PET SUV), IBSI interpolation,
re-segmentation and discretisation, and IBSI-2 filters (:mod:`radiomix.preprocess.filters`).

The entries below are imported from their modules on first use, so that importing one
sub-module (the filter settings, which :mod:`radiomix.spec` reads) loads neither pandas
nor the SUV and MR modules (about 40 MiB resident).
"""

from radiomix.lazy_entries import entry_importer

_MODULE_OF = {
    "body_mask": "radiomix.preprocess.intensity",
    "ct_hu": "radiomix.preprocess.intensity",
    "n4_bias_correction": "radiomix.preprocess.intensity",
    "normalise_mr": "radiomix.preprocess.intensity",
    "suv_image": "radiomix.preprocess.suv",
    "suv_parameters": "radiomix.preprocess.suv",
}

__all__ = sorted(_MODULE_OF)

__getattr__ = entry_importer("radiomix.preprocess", _MODULE_OF)
