"""radiomix's pyradiomics-compatible backend.

A pyradiomics parameter file (YAML/JSON with ``imageType``, ``featureClass``,
``setting``, ``voxelSetting``) is read by :func:`load_pyradiomics_spec` into a
frozen :class:`PyradiomicsSpec`; :func:`extract_pyradiomics` computes the
features with pyradiomics' names (``original_glcm_Contrast``) and numbers.
"""

from radiomix.pyradiomics.params import (
    ImageTypeSpec,
    PyradiomicsSettings,
    PyradiomicsSpec,
    is_pyradiomics_parameters,
    load_pyradiomics_spec,
)

__all__ = ["ImageTypeSpec", "PyradiomicsSettings", "PyradiomicsSpec", "extract_pyradiomics",
           "is_pyradiomics_parameters", "load_pyradiomics_spec"]


def __getattr__(name):
    """Import :func:`radiomix.pyradiomics.extract.extract_pyradiomics` on first use."""
    if name == "extract_pyradiomics":
        from radiomix.pyradiomics.extract import extract_pyradiomics

        return extract_pyradiomics
    raise AttributeError(f"module 'radiomix.pyradiomics' has no attribute {name!r}")
