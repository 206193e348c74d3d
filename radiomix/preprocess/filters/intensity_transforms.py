"""Point-wise intensity transforms scaled by the image's largest magnitude (pyradiomics' image types).

With ``M = max|x|`` over the whole image (in float64):

===========  ==========================================
square       ``(x / sqrt(M))^2``
square_root  ``sign(x) sqrt(|x| M)``
logarithm    ``sign(x) log(|x| + 1)``, rescaled to ``M``
exponential  ``exp(x log(M) / M)``
===========  ==========================================

Each transform maps the values on a box of the image (``M`` still taken over
the whole image) and returns float64, with pyradiomics' operations (a flat
zero image gives NaN or infinity where pyradiomics does).
"""

from __future__ import annotations

import numpy as np

from radiomix.preprocess.filters.settings import (
    ExponentialFilterSettings,
    LogarithmFilterSettings,
    SquareFilterSettings,
    SquareRootFilterSettings,
)


def largest_magnitude(array: np.ndarray) -> float:
    """``max(|x|)`` over the whole image, in float64 (pyradiomics converts before ``abs``)."""
    return max(abs(float(array.min())), abs(float(array.max())))


def square(array: np.ndarray, box: tuple[slice, slice, slice]) -> np.ndarray:
    """``(x / sqrt(M))^2`` on ``box`` of the (z, y, x) ``array``."""
    coefficient = 1 / np.sqrt(np.float64(largest_magnitude(array)))
    return (coefficient * array[box].astype(np.float64)) ** 2


def square_root(array: np.ndarray, box: tuple[slice, slice, slice]) -> np.ndarray:
    """``sign(x) sqrt(|x| M)`` on ``box`` of the (z, y, x) ``array``."""
    coefficient = np.float64(largest_magnitude(array))
    values = array[box].astype(np.float64)
    positive, negative = values > 0, values < 0
    values[positive] = np.sqrt(values[positive] * coefficient)
    values[negative] = -np.sqrt(-values[negative] * coefficient)
    return values


def logarithm(array: np.ndarray, box: tuple[slice, slice, slice]) -> np.ndarray:
    """``sign(x) log(|x| + 1)`` times ``M / log(M + 1)``, on ``box`` of the (z, y, x) ``array``."""
    largest = np.float64(largest_magnitude(array))
    values = array[box].astype(np.float64)
    positive, negative = values > 0, values < 0
    values[positive] = np.log(values[positive] + 1)
    values[negative] = -np.log(-(values[negative] - 1))
    # the largest |log| over the whole image is that of the largest |x| (log is increasing)
    with np.errstate(divide="ignore", invalid="ignore"):
        return values * (largest / np.log(largest + 1))


def exponential(array: np.ndarray, box: tuple[slice, slice, slice]) -> np.ndarray:
    """``exp(x log(M) / M)`` on ``box`` of the (z, y, x) ``array``."""
    largest = np.float64(largest_magnitude(array))
    coefficient = np.log(largest) / largest
    return np.exp(coefficient * array[box].astype(np.float64))


TRANSFORMS = {SquareFilterSettings: square, SquareRootFilterSettings: square_root,
              LogarithmFilterSettings: logarithm, ExponentialFilterSettings: exponential}
"""Settings class of each transform's filter kind -> the transform."""


def response_maps(array: np.ndarray, spacing_zyx, group, box: tuple[slice, slice, slice],
                  roi: np.ndarray | None = None) -> list[np.ndarray]:
    """Each transform of ``group`` (settings of :data:`TRANSFORMS`) on ``box``, float64."""
    return [TRANSFORMS[type(settings)](array, box) for settings in group]
