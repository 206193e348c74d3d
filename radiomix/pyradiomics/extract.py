"""``extract_pyradiomics``: a pyradiomics parameter file + image + mask -> tidy feature table.

The parameter file runs through the one chain, :func:`radiomix.extract_features`: translated into
ordinary specs (:mod:`radiomix.pyradiomics.translation`), the case read and processed once, each
spec's filters and families, the rows renamed to pyradiomics' column names
(``original_glcm_Contrast``, ``log-sigma-1-0-mm-3D_firstorder_Mean``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from radiomix.errors import SpecError
from radiomix.extract import extract_features
from radiomix.pyradiomics.params import PyradiomicsSpec, is_pyradiomics_parameters, load_pyradiomics_spec
from radiomix.spec_cache import load_spec_cached

SpecLike = str | Path | dict | PyradiomicsSpec
ImageLike = str | Path | sitk.Image


def extract_pyradiomics(image: ImageLike, mask: ImageLike, spec: SpecLike,
                        label: int | None = None) -> pd.DataFrame:
    """Features of a pyradiomics parameter file, with pyradiomics' names and numbers.

    Parameters
    ----------
    image, mask : path or SimpleITK.Image
        The image and its label map (or segmentation, see ``label_channel``):
        files are read with SimpleITK keeping their pixel types (as
        pyradiomics); a folder is read as a DICOM series.
    spec : path, dict or PyradiomicsSpec
        A pyradiomics parameter file (YAML or JSON), its dict, or the spec.
    label : int, optional
        ROI label; overrides the parameter file's ``label`` (as pyradiomics'
        ``execute(label=...)``).

    Returns
    -------
    pandas.DataFrame
        One row per feature, columns of :data:`radiomix.features.table.COLUMNS`;
        ``feature`` is pyradiomics' column name, ``family`` its class,
        ``name``/``ibsi_code`` from :mod:`radiomix.pyradiomics.mapping`,
        ``image_type`` the pyradiomics image type prefix.

    Raises
    ------
    radiomix.errors.SpecError
        Invalid parameter file, or ``label`` not a positive integer.
    radiomix.errors.InputError
        Unreadable image or mask, absent label, geometry mismatch, ROI too
        small (pyradiomics' checks).
    """
    spec = load_spec_cached(spec) if is_pyradiomics_parameters(spec) else load_pyradiomics_spec(spec)
    if label is None:
        label = spec.settings.label
    elif isinstance(label, bool) or not isinstance(label, (int, np.integer)) or label <= 0:
        raise SpecError(f"label must be a positive integer, got {label!r}")
    return extract_features(image, mask, spec, label=int(label))
