"""radiomix: multimodal radiomics with IBSI-standard features.

The public extraction entry is :func:`extract_features` (see DESIGN.md section 3).
"""

__version__ = "0.1.0"

__all__ = ["__version__", "extract_features"]


def __getattr__(name):
    """Import :func:`radiomix.extract.extract_features` on first use (keeps ``import radiomix`` light)."""
    if name == "extract_features":
        from radiomix.extract import extract_features

        return extract_features
    raise AttributeError(f"module 'radiomix' has no attribute {name!r}")
