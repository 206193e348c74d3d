"""pyradiomics' feature names, and the IBSI-1 feature each one computes where there is one.

Every pyradiomics feature is one :class:`PyradiomicsFeature` row of
:data:`FEATURES`, in pyradiomics' own output order (alphabetical within a
class). ``ibsi_code`` is empty where IBSI-1 defines no such feature;
``difference`` says how pyradiomics' number departs from the IBSI definition
(empty where it follows it). ``docs/pyradiomics.md`` prints this table.

``status`` follows pyradiomics: ``active`` features are computed when a class
is enabled with all its features; ``deprecated`` ones only when named in the
parameter file; ``no value`` ones are deprecated duplicates for which
pyradiomics computes nothing even when named (it logs a DeprecationWarning).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

Status = Literal["active", "deprecated", "no value"]

FEATURE_CLASSES = ("firstorder", "glcm", "gldm", "glrlm", "glszm", "ngtdm", "shape", "shape2D")
"""pyradiomics' feature classes, in the order its extractor enables them by default."""

SHAPE_CLASSES = ("shape", "shape2D")
"""Classes computed once, from the original mask only."""


@dataclass(frozen=True)
class PyradiomicsFeature:
    """One pyradiomics feature.

    Attributes
    ----------
    feature_class : str
        pyradiomics class, e.g. ``glcm``.
    name : str
        pyradiomics' feature name, e.g. ``JointEnergy`` (column
        ``original_glcm_JointEnergy``).
    title : str
        The IBSI-1 manual's name where the feature maps to IBSI, else a
        descriptive name.
    ibsi_code : str
        IBSI-1 code, or ``""``.
    unit : str
        Unit as in radiomix's registry (``I`` = intensity units).
    status : {"active", "deprecated", "no value"}
        See the module docstring.
    difference : str
        How pyradiomics departs from the IBSI definition, or ``""``.
    """

    feature_class: str
    name: str
    title: str
    ibsi_code: str
    unit: str
    status: Status = "active"
    difference: str = ""


_BINNING = ("pyradiomics' discretisation: bin edges at multiples of binWidth (IBSI: from the ROI minimum), "
            "and only the non-empty bins count")


def _rows(feature_class, unit_default, rows):
    out = []
    for row in rows:
        name, title, code = row[:3]
        extra = row[3] if len(row) > 3 else {}
        out.append(PyradiomicsFeature(feature_class, name, title, code, extra.get("unit", unit_default),
                                      extra.get("status", "active"), extra.get("difference", "")))
    return out


_SHIFT = "voxelArrayShift is added to every intensity first (IBSI: no shift; equal when voxelArrayShift is 0)"

FEATURES: tuple[PyradiomicsFeature, ...] = tuple(
    _rows("firstorder", "I", [
        ("10Percentile", "10th intensity percentile", "QG58"),
        ("90Percentile", "90th intensity percentile", "8DWT"),
        ("Energy", "Intensity-based energy", "N8CA", {"unit": "I^2", "difference": _SHIFT}),
        ("Entropy", "Discretised intensity entropy", "TLU2",
         {"unit": "1", "difference": _BINNING + "; log2(p + 2.2e-16)"}),
        ("InterquartileRange", "Intensity interquartile range", "SALO"),
        ("Kurtosis", "(Excess) intensity kurtosis", "IPH6",
         {"unit": "1", "difference": "not excess: IBSI value + 3; 0 for a flat ROI (IBSI: undefined)"}),
        ("Maximum", "Maximum intensity", "84IY"),
        ("Mean", "Mean intensity", "Q4LE"),
        ("MeanAbsoluteDeviation", "Intensity-based mean absolute deviation", "4FUA"),
        ("Median", "Median intensity", "Y12H"),
        ("Minimum", "Minimum intensity", "1GSF"),
        ("Range", "Intensity range", "2OJQ"),
        ("RobustMeanAbsoluteDeviation", "Intensity-based robust mean absolute deviation", "1128"),
        ("RootMeanSquared", "Root mean square intensity", "5ZWQ", {"difference": _SHIFT}),
        ("Skewness", "Intensity skewness", "KE2A",
         {"unit": "1", "difference": "0 for a flat ROI (IBSI: undefined)"}),
        ("StandardDeviation", "Intensity standard deviation", "",
         {"status": "deprecated", "difference": "not in IBSI (square root of the variance, ECT3)"}),
        ("TotalEnergy", "Total energy", "",
         {"unit": "I^2*mm^3", "difference": "not in IBSI: Energy times the voxel volume (mm^3)"}),
        ("Uniformity", "Discretised intensity uniformity", "BJ5W", {"unit": "1", "difference": _BINNING}),
        ("Variance", "Intensity variance", "ECT3", {"unit": "I^2"}),
    ])
    + _rows("glcm", "1", [
        ("Autocorrelation", "Autocorrelation", "QWB0"),
        ("ClusterProminence", "Cluster prominence", "AE86"),
        ("ClusterShade", "Cluster shade", "7NFM"),
        ("ClusterTendency", "Cluster tendency", "DG8W"),
        ("Contrast", "Contrast", "ACUI"),
        ("Correlation", "Correlation", "NI2N",
         {"difference": "1 for a direction whose matrix holds one grey level (IBSI: undefined)"}),
        ("DifferenceAverage", "Difference average", "TF7R"),
        ("DifferenceEntropy", "Difference entropy", "NTRS"),
        ("DifferenceVariance", "Difference variance", "D3YU"),
        ("Dissimilarity", "Dissimilarity", "8S9J",
         {"status": "no value", "difference": "deprecated: equal to DifferenceAverage"}),
        ("Homogeneity1", "Inverse difference", "IB1Z",
         {"status": "no value", "difference": "deprecated: equal to Id"}),
        ("Homogeneity2", "Inverse difference moment", "WF0Z",
         {"status": "no value", "difference": "deprecated: equal to Idm"}),
        ("Id", "Inverse difference", "IB1Z"),
        ("Idm", "Inverse difference moment", "WF0Z"),
        ("Idmn", "Normalised inverse difference moment", "1QCO"),
        ("Idn", "Normalised inverse difference", "NDRX"),
        ("Imc1", "Information correlation 1", "R8DG"),
        ("Imc2", "Information correlation 2", "JN9H"),
        ("InverseVariance", "Inverse variance", "E8JP"),
        ("JointAverage", "Joint average", "60VM"),
        ("JointEnergy", "Angular second moment", "8ZQL"),
        ("JointEntropy", "Joint entropy", "TU9B"),
        ("MCC", "Maximal correlation coefficient", "",
         {"difference": "not in IBSI: square root of the second largest eigenvalue of Q; 1 for a flat matrix"}),
        ("MaximumProbability", "Joint maximum", "GYBY"),
        ("SumAverage", "Sum average", "ZGXS"),
        ("SumEntropy", "Sum entropy", "P6QZ"),
        ("SumSquares", "Joint variance", "UR99"),
        ("SumVariance", "Sum variance", "OEEB",
         {"status": "no value", "difference": "deprecated: pyradiomics computes ClusterTendency instead"}),
    ])
    + _rows("gldm", "1", [
        ("DependenceEntropy", "Dependence count entropy", "FCBV"),
        ("DependenceNonUniformity", "Dependence count non-uniformity", "Z87G"),
        ("DependenceNonUniformityNormalized", "Normalised dependence count non-uniformity", "OKJI"),
        ("DependencePercentage", "Dependence count percentage", "6XV8",
         {"status": "no value", "difference": "deprecated: always 1"}),
        ("DependenceVariance", "Dependence count variance", "DNX2"),
        ("GrayLevelNonUniformity", "Grey level non-uniformity", "FP8K"),
        ("GrayLevelNonUniformityNormalized", "Normalised grey level non-uniformity", "5SPA",
         {"status": "no value", "difference": "deprecated: equal to firstorder Uniformity"}),
        ("GrayLevelVariance", "Grey level variance", "1PFV"),
        ("HighGrayLevelEmphasis", "High grey level count emphasis", "OAE7"),
        ("LargeDependenceEmphasis", "High dependence emphasis", "IMOQ"),
        ("LargeDependenceHighGrayLevelEmphasis", "High dependence high grey level emphasis", "9QMG"),
        ("LargeDependenceLowGrayLevelEmphasis", "High dependence low grey level emphasis", "NBZI"),
        ("LowGrayLevelEmphasis", "Low grey level count emphasis", "TL9H"),
        ("SmallDependenceEmphasis", "Low dependence emphasis", "SODN"),
        ("SmallDependenceHighGrayLevelEmphasis", "Low dependence high grey level emphasis", "JA6D"),
        ("SmallDependenceLowGrayLevelEmphasis", "Low dependence low grey level emphasis", "EQ3F"),
    ])
    + _rows("glrlm", "1", [
        ("GrayLevelNonUniformity", "Grey level non-uniformity", "R5YN"),
        ("GrayLevelNonUniformityNormalized", "Normalised grey level non-uniformity", "OVBL"),
        ("GrayLevelVariance", "Grey level variance", "8CE5"),
        ("HighGrayLevelRunEmphasis", "High grey level run emphasis", "G3QZ"),
        ("LongRunEmphasis", "Long runs emphasis", "W4KF"),
        ("LongRunHighGrayLevelEmphasis", "Long run high grey level emphasis", "3KUM"),
        ("LongRunLowGrayLevelEmphasis", "Long run low grey level emphasis", "IVPO"),
        ("LowGrayLevelRunEmphasis", "Low grey level run emphasis", "V3SW"),
        ("RunEntropy", "Run entropy", "HJ9O"),
        ("RunLengthNonUniformity", "Run length non-uniformity", "W92Y"),
        ("RunLengthNonUniformityNormalized", "Normalised run length non-uniformity", "IC23"),
        ("RunPercentage", "Run percentage", "9ZK5"),
        ("RunVariance", "Run length variance", "SXLW"),
        ("ShortRunEmphasis", "Short runs emphasis", "22OV"),
        ("ShortRunHighGrayLevelEmphasis", "Short run high grey level emphasis", "GD3A"),
        ("ShortRunLowGrayLevelEmphasis", "Short run low grey level emphasis", "HTZT"),
    ])
    + _rows("glszm", "1", [
        ("GrayLevelNonUniformity", "Grey level non-uniformity", "JNSA"),
        ("GrayLevelNonUniformityNormalized", "Normalised grey level non-uniformity", "Y1RO"),
        ("GrayLevelVariance", "Grey level variance", "BYLV"),
        ("HighGrayLevelZoneEmphasis", "High grey level zone emphasis", "5GN9"),
        ("LargeAreaEmphasis", "Large zone emphasis", "48P8"),
        ("LargeAreaHighGrayLevelEmphasis", "Large zone high grey level emphasis", "J17V"),
        ("LargeAreaLowGrayLevelEmphasis", "Large zone low grey level emphasis", "YH51"),
        ("LowGrayLevelZoneEmphasis", "Low grey level zone emphasis", "XMSY"),
        ("SizeZoneNonUniformity", "Zone size non-uniformity", "4JP3"),
        ("SizeZoneNonUniformityNormalized", "Normalised zone size non-uniformity", "VB3A"),
        ("SmallAreaEmphasis", "Small zone emphasis", "5QRC"),
        ("SmallAreaHighGrayLevelEmphasis", "Small zone high grey level emphasis", "HW1V"),
        ("SmallAreaLowGrayLevelEmphasis", "Small zone low grey level emphasis", "5RAI"),
        ("ZoneEntropy", "Zone size entropy", "GU8N"),
        ("ZonePercentage", "Zone percentage", "P30P"),
        ("ZoneVariance", "Zone size variance", "3NSA"),
    ])
    + _rows("ngtdm", "1", [
        ("Busyness", "Busyness", "NQ30"),
        ("Coarseness", "Coarseness", "QCDE",
         {"difference": "1e6 when the matrix sum is 0 (flat ROI; IBSI: undefined)"}),
        ("Complexity", "Complexity", "HDEZ"),
        ("Contrast", "Contrast", "65HE"),
        ("Strength", "Strength", "1X9X"),
    ])
    + _rows("shape", "mm", [
        ("Compactness1", "Compactness 1", "SKGS", {"unit": "1", "status": "deprecated"}),
        ("Compactness2", "Compactness 2", "BQWJ", {"unit": "1", "status": "deprecated"}),
        ("Elongation", "Elongation", "Q3CK", {"unit": "1"}),
        ("Flatness", "Flatness", "N17B", {"unit": "1"}),
        ("LeastAxisLength", "Least axis length", "7J51"),
        ("MajorAxisLength", "Major axis length", "TDIC"),
        ("Maximum2DDiameterColumn", "Maximum 2D diameter (column: y-z plane)", "",
         {"difference": "not in IBSI"}),
        ("Maximum2DDiameterRow", "Maximum 2D diameter (row: x-z plane)", "",
         {"difference": "not in IBSI"}),
        ("Maximum2DDiameterSlice", "Maximum 2D diameter (slice: x-y plane)", "",
         {"difference": "not in IBSI"}),
        ("Maximum3DDiameter", "Maximum 3D diameter", "L0JK"),
        ("MeshVolume", "Volume (mesh)", "RNU0", {"unit": "mm^3"}),
        ("MinorAxisLength", "Minor axis length", "P9VJ"),
        ("SphericalDisproportion", "Spherical disproportion", "KRCK", {"unit": "1", "status": "deprecated"}),
        ("Sphericity", "Sphericity", "QCFX", {"unit": "1"}),
        ("SurfaceArea", "Surface area (mesh)", "C0JK", {"unit": "mm^2"}),
        ("SurfaceVolumeRatio", "Surface to volume ratio", "2PR5", {"unit": "mm^-1"}),
        ("VoxelVolume", "Volume (voxel counting)", "YEKZ", {"unit": "mm^3"}),
    ])
    + _rows("shape2D", "mm", [
        ("Elongation", "Elongation (2D)", "", {"unit": "1", "difference": "not in IBSI (2D)"}),
        ("MajorAxisLength", "Major axis length (2D)", "", {"difference": "not in IBSI (2D)"}),
        ("MaximumDiameter", "Maximum diameter (2D)", "", {"difference": "not in IBSI (2D)"}),
        ("MeshSurface", "Surface (mesh, 2D)", "", {"unit": "mm^2", "difference": "not in IBSI (2D)"}),
        ("MinorAxisLength", "Minor axis length (2D)", "", {"difference": "not in IBSI (2D)"}),
        ("Perimeter", "Perimeter (2D)", "", {"difference": "not in IBSI (2D)"}),
        ("PerimeterSurfaceRatio", "Perimeter to surface ratio (2D)", "",
         {"unit": "mm^-1", "difference": "not in IBSI (2D)"}),
        ("PixelSurface", "Surface (pixel counting, 2D)", "", {"unit": "mm^2", "difference": "not in IBSI (2D)"}),
        ("SphericalDisproportion", "Spherical disproportion (2D)", "",
         {"unit": "1", "status": "deprecated", "difference": "not in IBSI (2D)"}),
        ("Sphericity", "Sphericity (2D)", "", {"unit": "1", "difference": "not in IBSI (2D)"}),
    ])
)
"""Every pyradiomics feature, class by class."""

_BY_KEY = {(f.feature_class, f.name): f for f in FEATURES}

FIRSTORDER_SOURCES: dict[str, tuple[str, str]] = {
    "10Percentile": ("statistics", "percentile_10"),
    "90Percentile": ("statistics", "percentile_90"),
    "Energy": ("statistics", "energy"),
    "Entropy": ("histogram", "entropy"),
    "InterquartileRange": ("statistics", "interquartile_range"),
    "Kurtosis": ("statistics", "kurtosis"),
    "Maximum": ("statistics", "maximum"),
    "Mean": ("statistics", "mean"),
    "MeanAbsoluteDeviation": ("statistics", "mean_absolute_deviation"),
    "Median": ("statistics", "median"),
    "Minimum": ("statistics", "minimum"),
    "Range": ("statistics", "range"),
    "RobustMeanAbsoluteDeviation": ("statistics", "robust_mean_absolute_deviation"),
    "RootMeanSquared": ("statistics", "root_mean_square"),
    "Skewness": ("statistics", "skewness"),
    "StandardDeviation": ("statistics", "standard_deviation"),
    "TotalEnergy": ("statistics", "total_energy"),
    "Uniformity": ("histogram", "uniformity"),
    "Variance": ("statistics", "variance"),
}
"""pyradiomics' firstorder name -> (radiomix family, feature key) computing it (with pyradiomics' conventions)."""

SHAPE_SOURCES: dict[str, str] = {
    "Compactness1": "compactness_1",
    "Compactness2": "compactness_2",
    "Elongation": "elongation",
    "Flatness": "flatness",
    "LeastAxisLength": "least_axis_length",
    "MajorAxisLength": "major_axis_length",
    "Maximum2DDiameterColumn": "maximum_2d_diameter_column",
    "Maximum2DDiameterRow": "maximum_2d_diameter_row",
    "Maximum2DDiameterSlice": "maximum_2d_diameter_slice",
    "Maximum3DDiameter": "maximum_3d_diameter",
    "MeshVolume": "volume_mesh",
    "MinorAxisLength": "minor_axis_length",
    "SphericalDisproportion": "spherical_disproportion",
    "Sphericity": "sphericity",
    "SurfaceArea": "surface_area_mesh",
    "SurfaceVolumeRatio": "surface_to_volume_ratio",
    "VoxelVolume": "volume_voxel_counting",
}
"""pyradiomics' shape name -> the morphology feature key computing it (with pyradiomics' conventions)."""

GLCM_SOURCES: dict[str, str] = {
    "Autocorrelation": "autocorrelation", "ClusterProminence": "cluster_prominence",
    "ClusterShade": "cluster_shade", "ClusterTendency": "cluster_tendency", "Contrast": "contrast",
    "Correlation": "correlation", "DifferenceAverage": "difference_average",
    "DifferenceEntropy": "difference_entropy", "DifferenceVariance": "difference_variance",
    "Id": "inverse_difference", "Idm": "inverse_difference_moment",
    "Idmn": "normalised_inverse_difference_moment", "Idn": "normalised_inverse_difference",
    "Imc1": "information_correlation_1", "Imc2": "information_correlation_2",
    "InverseVariance": "inverse_variance", "JointAverage": "joint_average",
    "JointEnergy": "angular_second_moment", "JointEntropy": "joint_entropy",
    "MCC": "maximal_correlation_coefficient", "MaximumProbability": "joint_maximum",
    "SumAverage": "sum_average", "SumEntropy": "sum_entropy", "SumSquares": "joint_variance",
}
"""pyradiomics' glcm name -> the GLCM feature key computing it (with pyradiomics' conventions)."""

GLRLM_SOURCES: dict[str, str] = {
    "GrayLevelNonUniformity": "grey_level_non_uniformity",
    "GrayLevelNonUniformityNormalized": "normalised_grey_level_non_uniformity",
    "GrayLevelVariance": "grey_level_variance", "HighGrayLevelRunEmphasis": "high_grey_level_run_emphasis",
    "LongRunEmphasis": "long_runs_emphasis", "LongRunHighGrayLevelEmphasis": "long_run_high_grey_level_emphasis",
    "LongRunLowGrayLevelEmphasis": "long_run_low_grey_level_emphasis",
    "LowGrayLevelRunEmphasis": "low_grey_level_run_emphasis", "RunEntropy": "run_entropy",
    "RunLengthNonUniformity": "run_length_non_uniformity",
    "RunLengthNonUniformityNormalized": "normalised_run_length_non_uniformity",
    "RunPercentage": "run_percentage", "RunVariance": "run_length_variance",
    "ShortRunEmphasis": "short_runs_emphasis",
    "ShortRunHighGrayLevelEmphasis": "short_run_high_grey_level_emphasis",
    "ShortRunLowGrayLevelEmphasis": "short_run_low_grey_level_emphasis",
}
"""pyradiomics' glrlm name -> the GLRLM feature key computing it (with pyradiomics' conventions)."""

GLDM_SOURCES: dict[str, str] = {
    "DependenceEntropy": "dependence_count_entropy", "DependenceNonUniformity": "dependence_count_non_uniformity",
    "DependenceNonUniformityNormalized": "normalised_dependence_count_non_uniformity",
    "DependenceVariance": "dependence_count_variance", "GrayLevelNonUniformity": "grey_level_non_uniformity",
    "GrayLevelVariance": "grey_level_variance", "HighGrayLevelEmphasis": "high_grey_level_count_emphasis",
    "LargeDependenceEmphasis": "high_dependence_emphasis",
    "LargeDependenceHighGrayLevelEmphasis": "high_dependence_high_grey_level_emphasis",
    "LargeDependenceLowGrayLevelEmphasis": "high_dependence_low_grey_level_emphasis",
    "LowGrayLevelEmphasis": "low_grey_level_count_emphasis", "SmallDependenceEmphasis": "low_dependence_emphasis",
    "SmallDependenceHighGrayLevelEmphasis": "low_dependence_high_grey_level_emphasis",
    "SmallDependenceLowGrayLevelEmphasis": "low_dependence_low_grey_level_emphasis",
}
"""pyradiomics' gldm name -> the NGLDM feature key computing it (with pyradiomics' conventions)."""

GLSZM_SOURCES: dict[str, str] = {
    "GrayLevelNonUniformity": "grey_level_non_uniformity",
    "GrayLevelNonUniformityNormalized": "normalised_grey_level_non_uniformity",
    "GrayLevelVariance": "grey_level_variance", "HighGrayLevelZoneEmphasis": "high_grey_level_zone_emphasis",
    "LargeAreaEmphasis": "large_zone_emphasis", "LargeAreaHighGrayLevelEmphasis": "large_zone_high_grey_level_emphasis",
    "LargeAreaLowGrayLevelEmphasis": "large_zone_low_grey_level_emphasis",
    "LowGrayLevelZoneEmphasis": "low_grey_level_zone_emphasis", "SizeZoneNonUniformity": "zone_size_non_uniformity",
    "SizeZoneNonUniformityNormalized": "normalised_zone_size_non_uniformity",
    "SmallAreaEmphasis": "small_zone_emphasis", "SmallAreaHighGrayLevelEmphasis": "small_zone_high_grey_level_emphasis",
    "SmallAreaLowGrayLevelEmphasis": "small_zone_low_grey_level_emphasis", "ZoneEntropy": "zone_size_entropy",
    "ZonePercentage": "zone_percentage", "ZoneVariance": "zone_size_variance",
}
"""pyradiomics' glszm name -> the GLSZM feature key computing it (with pyradiomics' conventions)."""

NGTDM_SOURCES: dict[str, str] = {
    "Busyness": "busyness", "Coarseness": "coarseness", "Complexity": "complexity", "Contrast": "contrast",
    "Strength": "strength",
}
"""pyradiomics' ngtdm name -> the NGTDM feature key computing it (with pyradiomics' conventions)."""

SHAPE2D_SOURCES: dict[str, str] = {
    "Elongation": "elongation_2d",
    "MajorAxisLength": "major_axis_length_2d",
    "MaximumDiameter": "maximum_diameter_2d",
    "MeshSurface": "mesh_surface_2d",
    "MinorAxisLength": "minor_axis_length_2d",
    "Perimeter": "perimeter_2d",
    "PerimeterSurfaceRatio": "perimeter_surface_ratio_2d",
    "PixelSurface": "pixel_surface_2d",
    "SphericalDisproportion": "spherical_disproportion_2d",
    "Sphericity": "sphericity_2d",
}
"""pyradiomics' shape2D name -> the morphology feature key computing it (a single-slice ROI)."""


def feature(feature_class: str, name: str) -> PyradiomicsFeature:
    """The row of ``feature_class.name``; a KeyError names the class' features."""
    try:
        return _BY_KEY[(feature_class, name)]
    except KeyError:
        raise KeyError(f"no pyradiomics feature {name!r} in class {feature_class!r}; "
                       f"known: {feature_names(feature_class, include_deprecated=True)}") from None


@functools.cache
def feature_names(feature_class: str, include_deprecated: bool) -> tuple[str, ...]:
    """pyradiomics' feature names of a class, in its output order.

    pyradiomics orders a class' features by the name of the method computing
    each, ``get<Name>FeatureValue`` (so ``MeanAbsoluteDeviation`` precedes ``Mean``).

    ``include_deprecated=False`` gives the features pyradiomics computes when
    the class is enabled with all its features.
    """
    names = [f.name for f in FEATURES if f.feature_class == feature_class
             and (include_deprecated or f.status == "active")]
    return tuple(sorted(names, key=lambda name: f"get{name}FeatureValue"))
