"""Separable wavelets (IBSI-2): undecimated (a trous) decomposition with PyWavelets filters."""

from __future__ import annotations

import numpy as np

from radiomix.preprocess.filters.pooling import pooled_separable_response
from radiomix.preprocess.filters.settings import WaveletFilterSettings


def centred(taps) -> np.ndarray:
    """A filter in odd-length form: an even-length filter gets a trailing zero (centre on tap ``n/2``)."""
    taps = np.asarray(taps, dtype=np.float64)
    return np.append(taps, 0.0) if taps.size % 2 == 0 else taps


def upsampled(kernel: np.ndarray, factor: int) -> np.ndarray:
    """``kernel`` with ``factor - 1`` zeros between taps (a trous); the centre tap stays the centre."""
    out = np.zeros((kernel.size - 1) * factor + 1)
    out[::factor] = kernel
    return out


def decomposition_filters(wavelet: str) -> tuple[np.ndarray, np.ndarray]:
    """Low-pass and high-pass decomposition filters of a PyWavelets wavelet, in odd-length form."""
    import pywt

    bank = pywt.Wavelet(wavelet)
    return centred(bank.dec_lo), centred(bank.dec_hi)


def filter_stages(settings: WaveletFilterSettings) -> list[list[np.ndarray]]:
    """Per level, the 1D filters along ``x, y[, z]``: all low-pass below ``level``, the sub-band at ``level``."""
    low, high = decomposition_filters(settings.wavelet)
    stages = []
    for level in range(1, settings.level + 1):
        factor = 2 ** (level - 1)
        letters = settings.subband.upper() if level == settings.level else "L" * len(settings.subband)
        stages.append([upsampled(low if letter == "L" else high, factor) for letter in letters])
    return stages


def response_map(image: np.ndarray, spacing: tuple[float, float, float],
                 settings: WaveletFilterSettings) -> np.ndarray:
    """Wavelet sub-band response of ``image`` (``(z, y, x)``); ``spacing`` is not used (filters in voxels)."""
    return pooled_separable_response(image, filter_stages(settings), settings.boundary_condition,
                                     settings.rotation_invariance, settings.pooling)
