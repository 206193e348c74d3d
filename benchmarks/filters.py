"""IBSI-2 filter bank on the IBSI CT phantom: radiomix against pyradiomics' image filters.

The bank, on the whole CT phantom (204 x 201 x 60 voxels of 0.977 x 0.977 x 3 mm, HU):

- LoG, sigma 1, 3 and 5 mm (3D);
- the 8 level-1 sub-bands of the undecimated Coiflet-1 wavelet (LLL ... HHH);
- Laws L5E5E5, rotation invariant (max over the 24 right-angle rotations), energy map delta 7;
- Gabor, sigma 5 mm, lambda 2 mm, gamma 1.5, theta every 22.5 deg, modulus, average pooling over
  orientations and the three orthogonal planes.

pyradiomics has the first two (``getLoGImage``: SimpleITK's recursive-Gaussian LoG;
``getWaveletImage``: PyWavelets' ``swtn``), not Laws or Gabor. So that the
ratio computed by ``benchmarks/run.py`` compares like with like, ``seconds`` is
the time of the LoG and wavelet filters, which both tools compute; the record
adds ``seconds_log``, ``seconds_wavelet``, ``seconds_laws``, ``seconds_gabor``
and ``seconds_full_bank`` (null where the tool lacks the filter). Modes:

- ``cold``: first call with an empty numba cache (JIT compilation included);
- ``cold_cached``: first call in a new process whose numba cache is already filled;
- ``warm``: median of repeated calls once compiled.

Run one measurement with ``python benchmarks/filters.py --tool radiomix --mode warm``; it prints one
JSON line. ``benchmarks/run.py`` runs them all and writes the table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
DATA = Path(os.environ.get("RADIOMIX_TEST_DATA", REPO_ROOT.parent / "shared" / "data"))
CT_PHANTOM = DATA / "ibsi" / "ct_phantom" / "nifti"
LOG_SIGMAS_MM = (1.0, 3.0, 5.0)
WAVELET = "coif1"
SUBBANDS = ("LLL", "LLH", "LHL", "LHH", "HLL", "HLH", "HHL", "HHH")
PARTS = ("log", "wavelet", "laws", "gabor")
SHARED_PARTS = ("log", "wavelet")


def load_images():
    """The CT phantom image (float64, HU) and its GTV mask as SimpleITK images."""
    import SimpleITK as sitk

    image = sitk.ReadImage(str(CT_PHANTOM / "image.nii.gz"), sitk.sitkFloat64)
    mask = sitk.ReadImage(str(CT_PHANTOM / "mask.nii.gz"), sitk.sitkUInt8)
    return image, mask


def radiomix_bank():
    """Per part, the list of filter specs radiomix computes."""
    return {
        "log": [{"log": {"sigma_mm": sigma, "truncate": 4.0, "dimensions": "3D", "boundary_condition": "mirror"}}
                for sigma in LOG_SIGMAS_MM],
        "wavelet": [{"wavelet": {"wavelet": WAVELET, "subband": subband, "level": 1, "dimensions": "3D",
                                 "boundary_condition": "mirror"}} for subband in SUBBANDS],
        "laws": [{"laws": {"kernel": "L5E5E5", "dimensions": "3D", "rotation_invariance": True, "pooling": "max",
                           "energy_delta": 7, "boundary_condition": "mirror"}}],
        "gabor": [{"gabor": {"sigma_mm": 5.0, "lambda_mm": 2.0, "gamma": 1.5, "theta_deg": 0.0,
                             "theta_step_deg": 22.5, "pooling": "mean", "response": "modulus",
                             "planes": "orthogonal", "boundary_condition": "mirror"}}],
    }


def radiomix_runner():
    """A callable computing the bank with radiomix; returns ``{part: (seconds, maps)}``."""
    from radiomix.preprocess.filters import filter_image, parse_filter

    image, _ = load_images()
    bank = {part: [parse_filter(spec) for spec in specs] for part, specs in radiomix_bank().items()}

    def run():
        timings = {}
        for part, settings_list in bank.items():
            start = time.perf_counter()
            maps = [filter_image(image, settings) for settings in settings_list]
            timings[part] = (time.perf_counter() - start, len(maps))
        return timings

    return run


def pyradiomics_runner():
    """A callable computing pyradiomics' LoG and wavelet images; returns ``{part: (seconds, maps)}``."""
    import logging

    from radiomics import imageoperations

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    image, mask = load_images()

    def run():
        start = time.perf_counter()
        log_maps = list(imageoperations.getLoGImage(image, mask, sigma=list(LOG_SIGMAS_MM)))
        log_seconds = time.perf_counter() - start
        start = time.perf_counter()
        wavelet_maps = list(imageoperations.getWaveletImage(image, mask, wavelet=WAVELET, level=1, start_level=0))
        return {"log": (log_seconds, len(log_maps)),
                "wavelet": (time.perf_counter() - start, len(wavelet_maps))}

    return run


def measure(tool: str, mode: str, repeats: int) -> dict:
    """Time one tool in one mode in this process; returns a JSON-able record."""
    run = (radiomix_runner if tool == "radiomix" else pyradiomics_runner)()
    runs = [run()]
    if mode == "warm":
        runs = [run() for _ in range(repeats)]
    seconds = {part: statistics.median(r[part][0] for r in runs) for part in runs[0]}
    record = {"benchmark": "filters_ct_phantom", "tool": tool, "mode": mode,
              "seconds": sum(seconds[part] for part in SHARED_PARTS),
              "values": sum(count for _, count in runs[0].values()),
              "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    for part in PARTS:
        record[f"seconds_{part}"] = seconds.get(part)
    record["seconds_full_bank"] = sum(seconds.values()) if set(seconds) == set(PARTS) else None
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tool", choices=("radiomix", "pyradiomics"), required=True)
    parser.add_argument("--mode", choices=("cold", "cold_cached", "warm"), required=True)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.tool, args.mode, args.repeats)))


if __name__ == "__main__":
    main()
