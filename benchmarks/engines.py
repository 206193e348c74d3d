"""One radiomics engine, one case, one setting, timed in this process; prints one JSON record.

Run by ``benchmarks/compare.py`` in a fresh process per measurement, with the Python of the
engine's environment (radiomix: the project's; the others: a scratch venv outside the
repository). Settings:

- ``pyradiomics``: pyradiomics' defaults (original image, no resampling, bin width 25, every
  feature class), as each engine can express them;
- ``ibsi``: IBSI-1 style: 2 mm isotropic trilinear resampling (mask threshold 0.5), every
  family in 3D; the CT phantom uses configuration C (range [-1000, 400] HU, bin width 25 HU),
  the other cases 32 fixed bins.

Modes: ``warm`` (median of ``--repeats`` calls after a first one, fewer past 20 s) and ``first`` (the first call in
this fresh process, imports included; ``compare.py`` gives numba an empty cache). The work
timed is: read image and mask from disk, extract, return the values.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
START = time.perf_counter()
WARM_BUDGET_SECONDS = 20.0
"""Warm repeats stop early once they have taken this long (slow engines: fewer, still >= 1)."""


IBSI_FAMILIES = ("morphology", "local_intensity", "statistics", "histogram", "ivh", "glcm", "glrlm", "glszm", "gldzm",
                 "ngtdm", "ngldm")
"""radiomix's IBSI feature families, all computed by the ``ibsi`` setting."""
IBSI_SPEC = {"mask": {"min_roi_voxels": 1},
             "interpolation": {"spacing_mm": [2.0, 2.0, 2.0], "image_method": "linear", "mask_method": "linear",
                               "mask_threshold": 0.5},
             "discretisation": {"method": "fixed_bin_number", "n_bins": 32},
             # every family (a "features" block lists the families computed)
             "features": {**{family: {} for family in IBSI_FAMILIES},
                          "ivh": {"method": "fixed_bin_number", "n_bins": 1000}},
             "texture": {"dimensions": ["3D"]}}
"""radiomix's spec of the ``ibsi`` setting for every case but the CT phantom (configuration C there)."""


def _ibsi_is_ct(image: str) -> bool:
    return "ct_phantom" in image


def radiomix_runner(image: str, mask: str, setting: str):
    sys.path.insert(0, str(REPO_ROOT))
    from radiomix.extract import extract_features

    if setting == "pyradiomics":
        spec = REPO_ROOT / "feature_specs" / "pyradiomics_default.yaml"
    elif _ibsi_is_ct(image):
        spec = REPO_ROOT / "feature_specs" / "ibsi" / "config_C.yaml"
    else:
        spec = IBSI_SPEC
    return lambda: int(extract_features(image, mask, spec)["value"].notna().sum())


def pyradiomics_parameters(image: str, setting: str) -> dict:
    """pyradiomics' parameters for a setting (its defaults, or its nearest IBSI-like equivalent)."""
    classes = {name: [] for name in ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")}
    parameters = {"imageType": {"Original": {}}, "featureClass": classes, "setting": {"label": 1}}
    if setting == "ibsi":
        parameters["setting"].update({"resampledPixelSpacing": [2.0, 2.0, 2.0], "interpolator": "sitkLinear"})
        if _ibsi_is_ct(image):
            parameters["setting"].update({"resegmentRange": [-1000, 400], "binWidth": 25})
        else:
            parameters["setting"]["binCount"] = 32
    return parameters


def pyradiomics_runner(image: str, mask: str, setting: str):
    import logging

    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    extractor = featureextractor.RadiomicsFeatureExtractor(pyradiomics_parameters(image, setting))
    return lambda: sum(1 for key in extractor.execute(image, mask) if not key.startswith("diagnostics"))


def pictologics_runner(image: str, mask: str, setting: str):
    from pictologics import RadiomicsPipeline

    every_family = setting == "ibsi"  # pyradiomics has no local or spatial intensity features
    extract = {"step": "extract_features",
               "params": {"families": ["intensity", "morphology", "texture", "histogram", "ivh"],
                          "include_spatial_intensity": every_family, "include_local_intensity": every_family}}
    if setting == "pyradiomics":
        # pictologics needs a fixed first bin edge: a multiple of 25 below the ROI (pyradiomics' edges)
        start = -1000.0 if _ibsi_is_ct(image) else 0.0
        steps = [{"step": "discretise", "params": {"method": "FBS", "bin_width": 25.0, "min_val": start}}, extract]
    elif _ibsi_is_ct(image):
        steps = [{"step": "resample", "params": {"new_spacing": [2.0, 2.0, 2.0], "interpolation": "linear",
                                                 "round_intensities": True}},
                 {"step": "resegment", "params": {"range_min": -1000.0, "range_max": 400.0}},
                 {"step": "discretise", "params": {"method": "FBS", "bin_width": 25.0, "min_val": -1000.0}}, extract]
    else:
        steps = [{"step": "resample", "params": {"new_spacing": [2.0, 2.0, 2.0], "interpolation": "linear"}},
                 {"step": "discretise", "params": {"method": "FBN", "n_bins": 32}}, extract]
    pipeline = RadiomicsPipeline(load_standard=False)
    pipeline.add_config("bench", steps)

    def run():
        results = pipeline.run(image, mask, config_names=["bench"])
        return int(sum(values.notna().sum() for values in results.values()))
    return run


def flash_radiomics_runner(image: str, mask: str, setting: str):
    import flash_radiomics

    parameters = pyradiomics_parameters(image, setting)
    extractor = flash_radiomics.RadiomicsFeatureExtractor(parameters)
    return lambda: sum(1 for key in extractor.execute(image, mask) if not str(key).startswith("diagnostics"))


def nyxus_runner(image: str, mask: str, setting: str):
    from nyxus import Nyxus3D

    if setting != "pyradiomics":
        raise NotImplementedError("nyxus has no resampling step: IBSI settings are not expressible")
    engine = Nyxus3D(["*3D_ALL*"], n_feature_calc_threads=2)
    return lambda: int(engine.featurize_files([image], [mask], single_roi=False).shape[1])


RUNNERS = {"radiomix": radiomix_runner, "pyradiomics": pyradiomics_runner, "pictologics": pictologics_runner,
           "flash-radiomics": flash_radiomics_runner, "nyxus": nyxus_runner}


def peak_memory_mib() -> float:
    """This process's peak resident memory (MiB): ``VmHWM`` of ``/proc/self/status``.

    Not ``ru_maxrss``: on Linux that keeps the high-water mark of the forked parent across
    ``exec``, so every worker would report at least the benchmark driver's memory.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=sorted(RUNNERS), required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--mask", required=True)
    parser.add_argument("--setting", choices=("pyradiomics", "ibsi"), required=True)
    parser.add_argument("--mode", choices=("warm", "first"), required=True)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    run = RUNNERS[args.engine](args.image, args.mask, args.setting)
    start = time.perf_counter()
    n_values = run()
    seconds = time.perf_counter() - START if args.mode == "first" else None
    if args.mode == "warm":
        times = []
        while len(times) < args.repeats and (not times or sum(times) < WARM_BUDGET_SECONDS):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
    print(json.dumps({"engine": args.engine, "setting": args.setting, "mode": args.mode, "seconds": seconds,
                      "values": n_values, "peak_rss_mib": peak_memory_mib()}))


if __name__ == "__main__":
    main()
