"""Image processing before feature extraction.

Modality intensities (CT HU, MR normalisation and N4, PET SUV), IBSI interpolation,
re-segmentation and discretisation, and IBSI-2 filters (:mod:`radiomix.preprocess.filters`).
"""

from radiomix.preprocess.intensity import body_mask, ct_hu, n4_bias_correction, normalise_mr
from radiomix.preprocess.suv import suv_image, suv_parameters

__all__ = ["body_mask", "ct_hu", "n4_bias_correction", "normalise_mr", "suv_image", "suv_parameters"]
