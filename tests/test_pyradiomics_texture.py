"""radiomix's pyradiomics texture classes (glcm, glrlm, glszm, gldm, ngtdm) against pyradiomics.

Three layers:

- every class against the installed pyradiomics class (``radiomics.glcm.RadiomicsGLCM(image,
  mask, **settings)`` etc.) on brain1, breast1 and the prostate phantom under several settings,
  within relative 1e-6 (absolute 1e-7 near zero);
- every numba kernel (matrices, MCC, feature formulas, pyradiomics' offsets) against a plain NumPy
  reference written from pyradiomics' definitions, on random small volumes (hypothesis) and
  edge cases (one voxel, constant ROI, ROI on the array border, empty slices, anisotropic
  spacing);
- the classes against pyradiomics on random small images (hypothesis).
"""

from __future__ import annotations

import importlib
import itertools
import logging
import warnings

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from radiomix import _numba
from radiomix.errors import InputError
from radiomix.features import glcm, glrlm, mcc
from radiomix.features.glcm import FEATURE_KEYS as GLCM_KEYS
from radiomix.features.glcm import glcm_feature_values, glcm_matrices
from radiomix.features.neighbourhood import neighbourhood_matrices
from radiomix.features.ngtdm import FEATURE_KEYS as NGTDM_KEYS
from radiomix.features.ngtdm import ngtdm_feature_values
from radiomix.features.texture import (
    EMPHASIS_FEATURES,
    PYRADIOMICS_EPS,
    emphasis_features,
    offset_lengths_mm,
    present_levels,
    pyradiomics_offsets,
)
from radiomix.features.zones import label_zones, zone_matrix
from radiomix.pyradiomics.mapping import GLCM_SOURCES
from radiomix.pyradiomics.params import PyradiomicsSettings
from radiomix.pyradiomics.translation import (
    TEXTURE_FAMILIES,
    glcm_settings,
    gldm_settings,
    glrlm_settings,
    glszm_settings,
    ngtdm_settings,
    texture_dimensions,
)

from conftest import require_data

radiomics = pytest.importorskip("radiomics")
from radiomics import cMatrices, imageoperations  # noqa: E402

logging.getLogger("radiomics").setLevel(logging.ERROR)

CLASSES = ("glcm", "glrlm", "glszm", "gldm", "ngtdm")
PYRADIOMICS_CLASSES = {"glcm": "RadiomicsGLCM", "glrlm": "RadiomicsGLRLM", "glszm": "RadiomicsGLSZM",
                       "gldm": "RadiomicsGLDM", "ngtdm": "RadiomicsNGTDM"}
SETTINGS = (
    {},
    {"distances": [1, 2]},
    {"symmetricalGLCM": False},
    {"weightingNorm": "euclidean"},
    {"weightingNorm": "manhattan"},
    {"weightingNorm": "infinity"},
    {"weightingNorm": "no_weighting"},
    {"force2D": True},
    {"force2D": True, "force2Ddimension": 1},
    {"gldm_a": 1},
    {"binCount": 16},
)
RELATIVE = 1e-6
ABSOLUTE = 1e-7  # MCC near 0 is the square root of an eigenvalue known to ~1e-16
PROPERTY = settings(max_examples=30, deadline=None)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def spec_settings(setting: dict) -> PyradiomicsSettings:
    """A PyradiomicsSettings with the given pyradiomics settings (lists become tuples)."""
    return PyradiomicsSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in setting.items()})


def cropped_case(image: sitk.Image, mask: sitk.Image) -> tuple[sitk.Image, sitk.Image]:
    """Image and label-1 mask cropped to the ROI box, as pyradiomics' extractor hands them to a class."""
    mask = imageoperations.getMask(mask)
    indices = np.nonzero(sitk.GetArrayViewFromImage(mask) == 1)
    box = np.ravel([[int(i.min()), int(i.max())] for i in reversed(indices)])  # x, y, z lower/upper
    return imageoperations.cropToTumorMask(image, mask, box)


def binned(image: sitk.Image, mask: sitk.Image, setting: dict) -> tuple[np.ndarray, int]:
    """pyradiomics' bin indices inside the ROI (0 outside) and Ng, as engineer A passes them."""
    values = sitk.GetArrayFromImage(image)
    roi = sitk.GetArrayFromImage(mask) == 1
    levels, _ = imageoperations.binImage(values, roi, **setting)
    levels = np.where(roi, levels, 0).astype(np.int32)
    return levels, int(levels.max())


def pyradiomics_values(name: str, image: sitk.Image, mask: sitk.Image, setting: dict) -> dict:
    module = importlib.import_module(f"radiomics.{name}")
    feature_class = getattr(module, PYRADIOMICS_CLASSES[name])(image, mask, **setting)
    return {key: float(value) for key, value in feature_class.execute().items()}


def assert_same_values(ours: dict, theirs: dict, context: str) -> None:
    assert set(ours) == set(theirs), f"{context}: names differ: {set(ours) ^ set(theirs)}"
    for key, expected in theirs.items():
        got = ours[key]
        if np.isnan(expected):
            assert np.isnan(got), f"{context} {key}: pyradiomics NaN, radiomix {got}"
            continue
        assert abs(got - expected) <= max(RELATIVE * abs(expected), ABSOLUTE), \
            f"{context} {key}: radiomix {got!r}, pyradiomics {expected!r}"


FAMILY_SETTINGS = {"glcm": lambda settings: glcm_settings(settings, mcc=True), "glrlm": glrlm_settings,
                   "glszm": glszm_settings, "gldm": gldm_settings, "ngtdm": ngtdm_settings}
"""pyradiomics class -> its family's settings under pyradiomics' parameters (GLCM with MCC)."""


def features_of(name: str, levels, n_levels: int, spacing_zyx, setting: dict) -> dict:
    """The family computing pyradiomics' class ``name``, under pyradiomics' ``setting``, by pyradiomics name."""
    family, _, sources = TEXTURE_FAMILIES[name]
    settings = spec_settings(setting)
    results = family.level_features(levels, n_levels, spacing_zyx, FAMILY_SETTINGS[name](settings),
                                    texture_dimensions(settings))
    assert len({result.aggregation for result in results}) == 1
    by_key = {result.key: result.value for result in results}
    return {feature: by_key[key] for feature, key in sources.items()}


# ---------------------------------------------------------------------------------------------
# pyradiomics test cases
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["brain1", "breast1", "prostate_phantom"])
def case(request):
    folder = require_data("pyradiomics/cases")
    image = sitk.ReadImage(str(folder / f"{request.param}_image.nrrd"))
    mask = sitk.ReadImage(str(folder / f"{request.param}_label.nrrd"))
    return request.param, cropped_case(image, mask)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "default")
def test_classes_match_pyradiomics_on_test_cases(case, setting):
    name, (image, mask) = case
    levels, n_levels = binned(image, mask, setting)
    spacing = tuple(reversed(image.GetSpacing()))
    for feature_class in CLASSES:
        assert_same_values(features_of(feature_class, levels, n_levels, spacing, setting),
                           pyradiomics_values(feature_class, image, mask, setting), f"{name} {feature_class}")


def test_classes_do_not_modify_levels(case):
    _, (image, mask) = case
    levels, n_levels = binned(image, mask, {})
    before = levels.copy()
    for feature_class in CLASSES:
        features_of(feature_class, levels, n_levels, (1.0, 1.0, 1.0), {})
    assert np.array_equal(levels, before)


def test_parallel_kernels_equal_serial_ones(case, monkeypatch):
    _, (image, mask) = case
    levels, n_levels = binned(image, mask, {})
    spacing = tuple(reversed(image.GetSpacing()))
    serial = {name: features_of(name, levels, n_levels, spacing, {"distances": [1, 2]}) for name in CLASSES}
    monkeypatch.setattr(_numba, "PARALLEL_MIN_WORK", 0)
    for name in CLASSES:
        parallel = features_of(name, levels, n_levels, spacing, {"distances": [1, 2]})
        for key, value in serial[name].items():
            assert parallel[key] == pytest.approx(value, rel=1e-12, abs=1e-15, nan_ok=True), (name, key)


# ---------------------------------------------------------------------------------------------
# offsets
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(1, 5, 5), (2, 6, 6), (5, 5, 5), (3, 1, 4), (2, 2, 2)])
@pytest.mark.parametrize("distances", [(1,), (2,), (1, 2), (1, 3)])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("force2d", [None, 0, 1, 2])
def test_angles_equal_pyradiomics_generate_angles(size, distances, bidirectional, force2d):
    try:
        expected = cMatrices.generate_angles(np.array(size), np.array(distances), bidirectional,
                                             force2d is not None, force2d or 0)
    except RuntimeError:
        with pytest.raises(InputError):
            pyradiomics_offsets(size, distances, bidirectional, force2d)
        return
    assert np.array_equal(pyradiomics_offsets(size, distances, bidirectional, force2d), expected)


def test_invalid_levels_are_rejected_with_a_message():
    with pytest.raises(InputError, match="0..2"):
        present_levels(np.array([[[1, 3]]]), 2)
    with pytest.raises(InputError, match="no voxel"):
        present_levels(np.zeros((2, 2, 2), dtype=np.int32), 1)
    with pytest.raises(InputError, match="3D"):
        present_levels(np.ones((2, 2), dtype=np.int32), 1)
    with pytest.raises(InputError, match="weighting norm"):
        offset_lengths_mm(np.ones((1, 3), dtype=np.int64), (1.0, 1.0, 1.0), "chebyshev")


# ---------------------------------------------------------------------------------------------
# NumPy references (written from pyradiomics' definitions, loops for clarity)
# ---------------------------------------------------------------------------------------------

def naive_ranks(levels):
    present = np.unique(levels[levels > 0])
    return present, {int(level): rank for rank, level in enumerate(present)}


def inside(shape, index):
    return all(0 <= i < n for i, n in zip(index, shape))


def naive_glcm_counts(levels, angles):
    present, rank = naive_ranks(levels)
    counts = np.zeros((present.size, present.size, len(angles)))
    for index in zip(*np.nonzero(levels)):
        for a, angle in enumerate(angles):
            other = tuple(np.add(index, angle))
            if inside(levels.shape, other) and levels[other] > 0:
                counts[rank[levels[index]], rank[levels[other]], a] += 1
    return counts


def naive_glrlm_counts(levels, angles):
    """Runs along every line of the array (pyradiomics' walk from each line's first voxel)."""
    present, rank = naive_ranks(levels)
    counts = np.zeros((present.size, max(levels.shape), len(angles)))
    for a, angle in enumerate(angles):
        has_pairs = False
        for start in itertools.product(*(range(n) for n in levels.shape)):
            if inside(levels.shape, tuple(np.subtract(start, angle))):
                continue  # not the first voxel of its line
            line, position = [], start
            while inside(levels.shape, position):
                line.append(levels[position])
                position = tuple(np.add(position, angle))
            has_pairs |= sum(value > 0 for value in line) > 1
            for value, group in itertools.groupby(line):
                if value > 0:
                    counts[rank[value], len(list(group)) - 1, a] += 1
        if not has_pairs:
            counts[:, :, a] = 0
    return counts


def naive_dependence(levels, angles, alpha):
    present, rank = naive_ranks(levels)
    counts = np.zeros((present.size, len(angles) + 1))
    for index in zip(*np.nonzero(levels)):
        dependent = 0
        for angle in angles:
            other = tuple(np.add(index, angle))
            if inside(levels.shape, other) and levels[other] > 0 \
                    and abs(int(levels[other]) - int(levels[index])) <= alpha:
                dependent += 1
        counts[rank[levels[index]], dependent] += 1
    return counts


def naive_ngtdm(levels, angles):
    present, rank = naive_ranks(levels)
    counts, differences = np.zeros(present.size), np.zeros(present.size)
    for index in zip(*np.nonzero(levels)):
        neighbours = [levels[other] for other in (tuple(np.add(index, angle)) for angle in angles)
                      if inside(levels.shape, other) and levels[other] > 0]
        counts[rank[levels[index]]] += 1
        if neighbours:
            differences[rank[levels[index]]] += abs(levels[index] - np.mean(neighbours))
    return counts, differences


def naive_zones(levels, in_plane_axis):
    """(level, size) of every zone: connected components of each level (26- or in-plane 8-connectivity)."""
    structure = np.ones((3, 3, 3), dtype=bool)
    if in_plane_axis is not None:
        structure = np.zeros((3, 3, 3), dtype=bool)
        structure[tuple(1 if axis == in_plane_axis else slice(None) for axis in range(3))] = True
    zones = []
    for level in np.unique(levels[levels > 0]):
        labels, n = ndimage.label(levels == level, structure=structure)
        zones += [(int(level), int(np.sum(labels == k))) for k in range(1, n + 1)]
    return sorted(zones)


def naive_glcm_features(counts, grey_levels, n_levels):
    """pyradiomics' GLCM formulas for one matrix (a dict), NumPy only."""
    eps = np.spacing(1)
    p = counts / counts.sum()
    i, j = np.meshgrid(grey_levels, grey_levels, indexing="ij")
    px, py = p.sum(1), p.sum(0)
    ux, uy = np.sum(i * p), np.sum(j * p)
    sums = np.array([p[i + j == k].sum() for k in range(2, 2 * n_levels + 1)])
    diffs = np.array([p[np.abs(i - j) == k].sum() for k in range(n_levels)])
    k_sum, k_diff = np.arange(2, 2 * n_levels + 1), np.arange(n_levels)
    hxy = -np.sum(p * np.log2(p + eps))
    hx, hy = -np.sum(px * np.log2(px + eps)), -np.sum(py * np.log2(py + eps))
    product = np.outer(px, py)
    hxy1 = -np.sum(p * np.log2(product + eps))
    hxy2 = -np.sum(product * np.log2(product + eps))
    sigma = np.sqrt(np.sum(p * (i - ux) ** 2)) * np.sqrt(np.sum(p * (j - uy) ** 2))
    difference_average = np.sum(k_diff * diffs)
    # HXY2 - HXY is a mutual information: below 0 only by rounding (pyradiomics' NaN there, 0 here)
    imc2 = 0.0 if hxy2 <= hxy else np.sqrt(1 - np.exp(-2 * (hxy2 - hxy)))
    return {
        "Autocorrelation": np.sum(i * j * p),
        "ClusterProminence": np.sum(p * (i + j - ux - uy) ** 4),
        "ClusterShade": np.sum(p * (i + j - ux - uy) ** 3),
        "ClusterTendency": np.sum(p * (i + j - ux - uy) ** 2),
        "Contrast": np.sum(p * (i - j) ** 2),
        "Correlation": 1.0 if sigma == 0 else np.sum(p * (i - ux) * (j - uy)) / (sigma + eps),
        "DifferenceAverage": difference_average,
        "DifferenceEntropy": -np.sum(diffs * np.log2(diffs + eps)),
        "DifferenceVariance": np.sum(diffs * (k_diff - difference_average) ** 2),
        "Id": np.sum(diffs / (1 + k_diff)),
        "Idm": np.sum(diffs / (1 + k_diff ** 2)),
        "Idmn": np.sum(diffs / (1 + k_diff ** 2 / n_levels ** 2)),
        "Idn": np.sum(diffs / (1 + k_diff / n_levels)),
        "Imc1": 0.0 if max(hx, hy) == 0 else (hxy - hxy1) / max(hx, hy),
        "Imc2": imc2,
        "InverseVariance": np.sum(diffs[1:] / k_diff[1:] ** 2),
        "JointAverage": ux,
        "JointEnergy": np.sum(p ** 2),
        "JointEntropy": hxy,
        "MaximumProbability": p.max(),
        "SumAverage": np.sum(k_sum * sums),
        "SumEntropy": -np.sum(sums * np.log2(sums + eps)),
        "SumSquares": np.sum(p * (i - ux) ** 2),
    }


def naive_mcc(counts):
    """pyradiomics' MCC of one matrix: sqrt of the second largest eigenvalue of its (non-symmetric) Q."""
    eps = np.spacing(1)
    p = counts / counts.sum()
    px, py = p.sum(1), p.sum(0)
    q = np.zeros_like(p)
    for k in range(p.shape[0]):
        q += np.outer(p[:, k], p[:, k]) / (px[:, None] * py[k] + eps)
    eigenvalues = np.sort(np.linalg.eigvals(q))
    return np.sqrt(eigenvalues[-2]).real


def naive_emphasis(counts, rows, columns, eps):
    """Run / zone / dependence formulas for one matrix, in EMPHASIS_FEATURES order (pyradiomics: eps > 0)."""
    total = counts.sum()
    pg, pc = counts.sum(1), counts.sum(0)
    i, j = np.meshgrid(rows, columns, indexing="ij")
    p = counts / total
    grey_mean, column_mean = np.sum(pg / total * rows), np.sum(pc / total * columns)
    return np.array([
        np.sum(pc / columns ** 2) / total, np.sum(pc * columns ** 2) / total,
        np.sum(pg / rows ** 2) / total, np.sum(pg * rows ** 2) / total,
        np.sum(counts / (i ** 2 * j ** 2)) / total, np.sum(counts * i ** 2 / j ** 2) / total,
        np.sum(counts * j ** 2 / i ** 2) / total, np.sum(counts * i ** 2 * j ** 2) / total,
        np.sum(pg ** 2) / total, np.sum(pg ** 2) / total ** 2,
        np.sum(pc ** 2) / total, np.sum(pc ** 2) / total ** 2,
        total / np.sum(pc * columns),
        np.sum(pg / total * (rows - grey_mean) ** 2), np.sum(pc / total * (columns - column_mean) ** 2),
        -np.sum(p[p > 0] * np.log2(p[p > 0] + eps)), np.sum(p ** 2),
    ])


def naive_ngtdm_features(counts, differences, grey_levels):
    p = counts / counts.sum()
    n_voxels, n = counts.sum(), counts.size
    i, j = np.meshgrid(grey_levels, grey_levels, indexing="ij")
    pi, pj = np.meshgrid(p, p, indexing="ij")
    si, sj = np.meshgrid(differences, differences, indexing="ij")
    weighted = np.sum(p * differences)
    busy = np.sum(np.abs(i * pi - j * pj))
    return np.array([
        weighted / busy if busy != 0 else 0.0,
        1 / weighted if weighted != 0 else 1e6,
        np.sum(np.abs(i - j) * (pi * si + pj * sj) / (pi + pj)) / n_voxels,
        np.sum(pi * pj * (i - j) ** 2) * differences.sum() / n_voxels / (n * (n - 1)) if n > 1 else 0.0,
        np.sum((pi + pj) * (i - j) ** 2) / differences.sum() if differences.sum() != 0 else 0.0,
    ])


# ---------------------------------------------------------------------------------------------
# kernels against the references (hypothesis + edge cases)
# ---------------------------------------------------------------------------------------------

@st.composite
def level_volumes(draw):
    """Small (z, y, x) level arrays with at least one ROI voxel: levels 1..n inside, 0 outside."""
    shape = draw(st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(1, 5)))
    n_levels = draw(st.integers(1, 5))
    volume = draw(arrays(np.int32, shape, elements=st.integers(0, n_levels)))
    volume.flat[draw(st.integers(0, volume.size - 1))] = draw(st.integers(1, n_levels))
    return volume


EDGE_CASES = [
    np.full((2, 3, 3), 2, dtype=np.int32),                                # constant ROI touching every border
    np.array([[[1, 2], [2, 1]], [[0, 0], [0, 0]], [[2, 2], [1, 0]]], dtype=np.int32),  # empty middle slice
    np.array([[[1, 0, 0, 2]]], dtype=np.int32),                          # two voxels on a line, with a gap
    np.array([[[1, 0], [0, 0]], [[0, 0], [0, 2]]], dtype=np.int32),      # only diagonal neighbours
]


def check_matrix_kernels(levels):
    shape = levels.shape
    n_levels = int(levels.max())
    for distances, force2d in [((1,), None), ((1, 2), None), ((1,), 0), ((2,), 2)]:
        try:
            mono = pyradiomics_offsets(shape, distances, False, force2d)
        except InputError:
            continue
        both = pyradiomics_offsets(shape, distances, True, force2d)
        present = present_levels(levels, n_levels)
        np.testing.assert_array_equal(
            glcm_matrices(present.ranked, present.n_present, mono, symmetric=False).transpose(1, 2, 0),
            naive_glcm_counts(levels, mono))
        counted = neighbourhood_matrices(levels, n_levels, both, 0, alpha=1, count_isolated=True)
        np.testing.assert_array_equal(counted.volume_dependence[0][present.rows], naive_dependence(levels, both, 1))
        expected_counts, expected_differences = naive_ngtdm(levels, both)
        np.testing.assert_array_equal(counted.volume_counts[0][present.rows], expected_counts)
        np.testing.assert_allclose(counted.volume_sums[0][present.rows], expected_differences, rtol=1e-12,
                                   atol=1e-12)
    for force2d in (None, 0, 1):
        try:
            unit = pyradiomics_offsets(shape, (1,), False, force2d)
        except InputError:
            continue
        counts = glrlm.offset_matrices(present_levels(levels, n_levels), unit).transpose(1, 2, 0)
        expected = naive_glrlm_counts(levels, unit)  # up to the box's longest side: runs no longer than the ROI's
        np.testing.assert_array_equal(counts, expected[:, :counts.shape[1]])
        assert not expected[:, counts.shape[1]:].any()
        zones = label_zones(levels if force2d is None else np.moveaxis(levels, force2d, 0), linkage_distance=1,
                            in_plane=force2d is not None)
        counts, sizes = zone_matrix(zones.level, zones.size, n_levels)
        zones = sorted((level + 1, int(size)) for level, column in zip(*np.nonzero(counts))
                       for size in [sizes[column]] for _ in range(int(counts[level, column])))
        assert zones == naive_zones(levels, force2d)


@pytest.mark.parametrize("levels", EDGE_CASES, ids=["constant", "empty-slice", "gap", "diagonal"])
def test_matrix_kernels_equal_references_on_edge_cases(levels):
    check_matrix_kernels(levels)


@pytest.mark.parametrize("distances, force2d", [((1,), None), ((1, 2), None), ((1,), 0), ((2,), 2)])
def test_one_voxel_roi_has_no_neighbour_offset_and_says_so(distances, force2d):
    """A 1x1x1 ROI box fits no offset, as in pyradiomics; the error says which distance to change."""
    with pytest.raises(InputError, match=r"no neighbour offset .* ROI box of size \(1, 1, 1\)"):
        pyradiomics_offsets((1, 1, 1), distances, False, force2d)


@PROPERTY
@given(level_volumes())
def test_matrix_kernels_equal_references(levels):
    check_matrix_kernels(levels)


@st.composite
def count_matrices(draw):
    """Non-empty count matrices (n, n, n_angles) of small integers, with their grey levels."""
    n = draw(st.integers(1, 5))
    n_angles = draw(st.integers(1, 3))
    counts = draw(arrays(np.float64, (n, n, n_angles), elements=st.integers(0, 6).map(float)))
    for a in range(n_angles):
        counts[draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1)), a] += 1
    grey_levels = np.sort(draw(st.lists(st.integers(1, 9), min_size=n, max_size=n, unique=True))).astype(float)
    return counts, grey_levels


@PROPERTY
@given(count_matrices(), st.booleans())
@example((np.array([[[3.0], [2.0]], [[6.0], [4.0]]]), np.array([1.0, 2.0])), False)  # independent: Imc2 = 0
def test_glcm_feature_kernel_equals_reference(matrices, symmetric):
    counts, grey_levels = matrices
    if symmetric:
        counts = counts + counts.transpose(1, 0, 2)
    n_levels = int(grey_levels.max())
    rows = grey_levels.astype(int) - 1
    by_level = np.zeros((counts.shape[2], n_levels, n_levels))
    by_level[:, rows[:, None], rows[None, :]] = counts.transpose(2, 0, 1)
    values = glcm_feature_values(by_level, n_levels, PYRADIOMICS_EPS, pyradiomics_correlations=True)
    for a in range(counts.shape[2]):
        expected = naive_glcm_features(counts[:, :, a], grey_levels, n_levels)
        for name, key in GLCM_SOURCES.items():
            if name == "MCC":
                continue
            value = values[a, GLCM_KEYS.index(key)]
            if name == "Imc2":  # sqrt(1 - exp(-2 (HXY2 - HXY))): compared squared (the root magnifies rounding at 0)
                assert value ** 2 == pytest.approx(expected[name] ** 2, rel=1e-9, abs=1e-12, nan_ok=True), name
            else:
                assert value == pytest.approx(expected[name], rel=1e-9, abs=1e-12, nan_ok=True), name
    if counts.shape[0] >= 2:
        second = mcc.mcc_second_eigenvalues(counts, mcc.EPS)
        expected = np.array([naive_mcc(counts[:, :, a]) for a in range(counts.shape[2])])
        # a second eigenvalue of 0 (rank-1 matrix) comes out as +-rounding noise: its root is ~1e-8 or NaN
        expected[np.isnan(expected)] = 0.0
        np.testing.assert_allclose(np.sqrt(np.maximum(second, 0)), expected, rtol=1e-7, atol=1e-7)


@PROPERTY
@given(st.integers(2, 12), st.integers(0, 2 ** 16))
def test_second_largest_eigenvalue_equals_lapack(n, seed):
    rng = np.random.default_rng(seed)
    matrices = rng.normal(size=(3, n, n))
    matrices = matrices + matrices.transpose(0, 2, 1)
    matrices[1, :, 0] = matrices[1, 0, :] = 0.0  # a zero row and column
    expected = np.linalg.eigvalsh(matrices)[:, -2]
    scale = np.abs(np.linalg.eigvalsh(matrices)).max(axis=1)
    ours = [mcc.second_largest_eigenvalue(matrix.copy()) for matrix in matrices]
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-13 * scale.max())


@PROPERTY
@given(count_matrices(), st.sampled_from([0.0, float(np.spacing(1))]))
def test_emphasis_kernel_equals_reference(matrices, eps):
    counts, grey_levels = matrices
    columns = np.arange(1, counts.shape[1] + 1, dtype=float) * 2  # column values need not be 1..n
    values = emphasis_features(counts.transpose(2, 0, 1), grey_levels, columns, eps)
    for a in range(counts.shape[2]):
        np.testing.assert_allclose(values[a], naive_emphasis(counts[:, :, a], grey_levels, columns, eps),
                                   rtol=1e-10, atol=1e-12)


def test_emphasis_features_of_an_empty_matrix_are_nan_and_of_one_level_exact():
    values = emphasis_features(np.array([[[0.0, 0.0]], [[3.0, 0.0]]]), np.array([2.0]), np.array([1.0, 2.0]))
    assert np.isnan(values[0]).all()
    one_level = dict(zip(EMPHASIS_FEATURES, values[1]))
    assert one_level["grey_level_variance"] == 0.0 and one_level["variance"] == 0.0
    assert one_level["entropy"] == 0.0 and one_level["energy"] == 1.0 and one_level["percentage"] == 1.0


@PROPERTY
@given(st.lists(st.tuples(st.integers(1, 30), st.floats(0, 20)), min_size=1, max_size=6),
       st.lists(st.integers(1, 40), min_size=6, max_size=6, unique=True))
def test_ngtdm_feature_kernel_equals_reference(columns, levels):
    counts = np.array([float(n) for n, _ in columns])
    differences = np.array([s for _, s in columns])
    grey_levels = np.sort(np.array(levels[: len(columns)], dtype=float))
    values = ngtdm_feature_values(counts[None], differences[None], grey_levels, capped_coarseness=False,
                                  undefined_busyness=0.0)[0]
    expected = dict(zip(("busyness", "coarseness", "complexity", "contrast", "strength"),
                        naive_ngtdm_features(counts, differences, grey_levels)))
    np.testing.assert_allclose(values, [expected[key] for key in NGTDM_KEYS], rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# classes against pyradiomics on random images
# ---------------------------------------------------------------------------------------------

@st.composite
def random_cases(draw):
    """A small random image (integer intensities) and ROI with at least one voxel, anisotropic spacing."""
    shape = draw(st.tuples(st.integers(1, 4), st.integers(2, 6), st.integers(2, 6)))
    values = draw(arrays(np.int16, shape, elements=st.integers(0, 60)))
    roi = draw(arrays(np.bool_, shape, elements=st.booleans()))
    roi.flat[draw(st.integers(0, roi.size - 1))] = True
    spacing = draw(st.tuples(*[st.sampled_from([0.5, 1.0, 2.5])] * 3))
    image = sitk.GetImageFromArray(values)
    image.SetSpacing(spacing)
    mask = sitk.GetImageFromArray(roi.astype(np.uint8))
    mask.CopyInformation(image)
    return image, mask


@PROPERTY
@given(random_cases(), st.sampled_from(SETTINGS[:9]), st.sampled_from([5, 10, 25]))
def test_classes_match_pyradiomics_on_random_images(case, setting, bin_width):
    image, mask = cropped_case(*case)
    setting = dict(setting, binWidth=bin_width) if "binCount" not in setting else setting
    levels, n_levels = binned(image, mask, setting)
    spacing = tuple(reversed(image.GetSpacing()))
    for feature_class in CLASSES:
        try:
            angles_fit = True
            pyradiomics_offsets(levels.shape, setting.get("distances", [1]), False,
                                       setting.get("force2Ddimension", 0) if setting.get("force2D") else None)
        except InputError:
            angles_fit = False
        if not angles_fit:
            continue  # pyradiomics raises as well (no offset fits in the ROI box)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # pyradiomics' nanmean of no offset
            theirs = pyradiomics_values(feature_class, image, mask, setting)
        ours = features_of(feature_class, levels, n_levels, spacing, setting)
        if feature_class == "glcm" and rank_one_offset(levels, n_levels, spacing, setting):
            del ours["MCC"], theirs["MCC"]  # 0 or NaN there, by the sign of rounding noise (glcm module doc)
        assert_same_values(ours, theirs, feature_class)


def rank_one_offset(levels, n_levels, spacing, setting) -> bool:
    """True when some GLCM offset matrix has a second MCC eigenvalue of 0 (within rounding)."""
    present = present_levels(levels, n_levels)
    (stack,) = glcm.pyradiomics_group(present, spacing, glcm_settings(spec_settings(setting), mcc=True)).values()
    counts = stack.transpose(1, 2, 0).astype(np.float64)
    if counts.shape[0] < 2 or counts.shape[2] == 0 or not counts.sum(axis=(0, 1)).all():
        return False
    return bool(np.any(np.abs(mcc.mcc_second_eigenvalues(counts, mcc.EPS)) < 1e-10))


def test_glcm_of_a_single_grey_level_gives_pyradiomics_flat_values():
    levels = np.ones((2, 3, 3), dtype=np.int32)
    values = features_of("glcm", levels, 1, (1.0, 1.0, 1.0), {})
    assert values["Correlation"] == 1.0 and values["MCC"] == 1.0 and values["Imc1"] == 0.0
    assert values["JointEnergy"] == 1.0
    assert values["JointEntropy"] == pytest.approx(-np.log2(1 + np.spacing(1)), rel=1e-12)  # log2(p + eps), p = 1
