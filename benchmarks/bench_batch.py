"""Ten small real cases in one batch: ``radiomix extract`` in a loop, ``radiomix extract-batch``, pictologics' batch.

The cases: the CT, PET and T1 MR of STS_003 and STS_047 and the PET of STS_049 of ``sts_dicom``
(DICOM series and RTSTRUCT converted once to NIfTI under ``--workdir``; STS_049's CT and MR ROIs, 341k
voxels, are left out as not small) and brain1, breast1 and the prostate phantom of pyradiomics' cases. Each
measurement is a fresh process (or, for the loop, ten), timed from the outside, so process
start, imports and loading numba's cached kernels count as a user sees them:

- (a) ``radiomix extract`` once per case, one after the other (a shell loop);
- (b) ``radiomix extract-batch`` with 1 and with 2 workers;
- (c) pictologics' ``RadiomicsPipeline.run_batch`` with 2 workers (``--pictologics-python``: the Python
  of a scratch environment holding pictologics; skipped when absent).

Settings as in ``benchmarks/engines.py``: ``pyradiomics`` (pyradiomics' defaults) and ``ibsi``
(2 mm trilinear resampling, 32 bins, every family in 3D). pictologics takes one bin-width start for
every case: -1050 (a multiple of 25 below every ROI, so its bins have pyradiomics' edges, numbered
from there). Not part of ``make bench`` (it takes several minutes). Prints a table and the load
average before each measurement (the machine may be shared: read the ratios).

Usage::

    python benchmarks/bench_batch.py --workdir DIR [--setting pyradiomics ibsi] [--pictologics-python PY] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.engines import IBSI_SPEC  # noqa: E402

STS_CASES = (("STS_003", "CT"), ("STS_003", "PET"), ("STS_003", "MR_T1"), ("STS_047", "CT"), ("STS_047", "PET"),
             ("STS_047", "MR_T1"), ("STS_049", "PET"))
"""(patient, series) of ``sts_dicom``; each series' RTSTRUCT holds the ROI ``GTV_Mass_<series>``."""
PYRADIOMICS_CASES = ("brain1", "breast1", "prostate_phantom")

PICTOLOGICS_BATCH = r"""
import json, sys
import pandas as pd
from pictologics import RadiomicsPipeline

cases_csv, output, setting, workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
table = pd.read_csv(cases_csv, dtype=str)
every_family = setting == "ibsi"
extract = {"step": "extract_features",
           "params": {"families": ["intensity", "morphology", "texture", "histogram", "ivh"],
                      "include_spatial_intensity": every_family, "include_local_intensity": every_family}}
if setting == "pyradiomics":
    steps = [{"step": "discretise", "params": {"method": "FBS", "bin_width": 25.0, "min_val": -1050.0}}, extract]
else:
    steps = [{"step": "resample", "params": {"new_spacing": [2.0, 2.0, 2.0], "interpolation": "linear"}},
             {"step": "discretise", "params": {"method": "FBN", "n_bins": 32}}, extract]
pipeline = RadiomicsPipeline(load_standard=False)
pipeline.add_config("bench", steps)
cases = [{"subject_id": row.case_id, "image": row.image, "mask": row.mask} for row in table.itertuples()]
results = pipeline.run_batch(cases, output, config_names=["bench"], workers=workers, show_progress=False)
print(json.dumps({"completed": int((results["status"] == "completed").sum()), "cases": len(results)}))
"""


def data_root() -> Path:
    """The shared test data (``RADIOMIX_TEST_DATA``, else ``../shared/data`` from the repository)."""
    return Path(os.environ.get("RADIOMIX_TEST_DATA", REPO_ROOT.parent / "shared" / "data"))


def prepare_cases(workdir: Path) -> Path:
    """Convert the ten cases once into ``workdir/cases`` and write ``workdir/cases.csv`` (relative paths)."""
    import SimpleITK as sitk

    from radiomix import io

    folder = workdir / "cases"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for patient, series in STS_CASES:
        case_id = f"{patient}_{series}"
        image_path, mask_path = folder / f"{case_id}_image.nii.gz", folder / f"{case_id}_mask.nii.gz"
        if not (image_path.exists() and mask_path.exists()):
            source = data_root() / "sts_dicom" / patient / series
            image = io.read_image(source / "image")
            mask = io.read_mask(source / "mask" / "RS.dcm", reference=image, roi=f"GTV_Mass_{series}")
            sitk.WriteImage(image, str(image_path))
            sitk.WriteImage(mask, str(mask_path))
        rows.append((case_id, image_path, mask_path))
    cases = data_root() / "pyradiomics" / "cases"
    rows += [(name, cases / f"{name}_image.nrrd", cases / f"{name}_label.nrrd") for name in PYRADIOMICS_CASES]
    lines = ["case_id,image,mask"] + [f"{case_id},{os.path.relpath(image, workdir)},{os.path.relpath(mask, workdir)}"
                                      for case_id, image, mask in rows]
    case_list = workdir / "cases.csv"
    case_list.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return case_list


def spec_file(workdir: Path, setting: str) -> Path:
    """The radiomix spec of a setting (the shipped pyradiomics defaults, or ``IBSI_SPEC`` written as YAML)."""
    if setting == "pyradiomics":
        return REPO_ROOT / "feature_specs" / "pyradiomics_default.yaml"
    path = workdir / "ibsi_spec.yaml"
    path.write_text(yaml.safe_dump(IBSI_SPEC), encoding="utf-8")
    return path


def timed(command: list[str], environment: dict) -> tuple[float, str]:
    """Wall time (s) and standard output of one command; raises when it fails."""
    start = time.perf_counter()
    finished = subprocess.run(command, check=True, env=environment, stdout=subprocess.PIPE, text=True)
    return time.perf_counter() - start, finished.stdout


def measure(workdir: Path, setting: str, pictologics_python: str | None) -> list[dict]:
    """Time (a), (b) and (c) for one setting; one record each with the 1-minute load average before it."""
    import pandas as pd

    environment = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    radiomix = [sys.executable, "-m", "radiomix.cli"]
    case_list = workdir / "cases.csv"
    spec = spec_file(workdir, setting)
    out = workdir / f"out_{setting}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    table = pd.read_csv(case_list, dtype=str)
    records = []

    def record(method: str, seconds: float, load: float, extracted: int) -> None:
        records.append({"setting": setting, "method": method, "seconds": seconds, "load": load,
                        "extracted": f"{extracted}/{len(table)}"})
        print(json.dumps(records[-1]), flush=True)

    load = os.getloadavg()[0]
    start = time.perf_counter()
    for row in table.itertuples():
        subprocess.run([*radiomix, "extract", str(workdir / row.image), str(workdir / row.mask), "--spec", str(spec),
                        "-o", str(out / f"{row.case_id}.csv")], check=True, env=environment,
                       stdout=subprocess.DEVNULL)
    record("(a) radiomix extract, loop of 10 processes", time.perf_counter() - start, load,
           sum((out / f"{case_id}.csv").exists() for case_id in table["case_id"]))
    for workers in (1, 2):
        load = os.getloadavg()[0]
        output = out / f"batch_{workers}.csv"
        seconds, _ = timed([*radiomix, "extract-batch", str(case_list), "--spec", str(spec), "-o", str(output),
                            "--workers", str(workers)], environment)
        record(f"(b) radiomix extract-batch --workers {workers}", seconds, load,
               pd.read_csv(output)["case_id"].nunique())
    if pictologics_python and Path(pictologics_python).exists():
        absolute = table.assign(image=[str(workdir / p) for p in table["image"]],
                                mask=[str(workdir / p) for p in table["mask"]])
        absolute.to_csv(out / "cases_absolute.csv", index=False)
        load = os.getloadavg()[0]
        seconds, printed = timed([pictologics_python, "-c", PICTOLOGICS_BATCH, str(out / "cases_absolute.csv"),
                                  str(out / "pictologics"), setting, "2"], {**os.environ})
        record("(c) pictologics run_batch, workers=2", seconds, load, json.loads(printed.splitlines()[-1])["completed"])
    else:
        print(f"pictologics skipped: no Python at {pictologics_python}", flush=True)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", required=True, type=Path,
                        help="folder (outside the repository) for the converted cases and outputs")
    parser.add_argument("--setting", nargs="+", choices=("pyradiomics", "ibsi"), default=["pyradiomics", "ibsi"])
    parser.add_argument("--pictologics-python", default=None, help="Python of an environment with pictologics")
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds of every measurement, interleaved; the table gives the median and the range")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    prepare_cases(args.workdir)
    rounds = [[record for setting in args.setting for record in measure(args.workdir, setting,
                                                                          args.pictologics_python)]
              for _ in range(args.repeats)]
    print(f"\n| setting | method | wall time (s), median of {args.repeats} [range] | cases extracted | "
          "load average before |\n|---|---|---|---|---|")
    for same in zip(*rounds):
        seconds = sorted(record["seconds"] for record in same)
        loads = [record["load"] for record in same]
        print(f"| {same[0]['setting']} | {same[0]['method']} | {statistics.median(seconds):.1f} "
              f"[{seconds[0]:.1f}-{seconds[-1]:.1f}] | {', '.join(sorted({r['extracted'] for r in same}))} | "
              f"{min(loads):.1f}-{max(loads):.1f} |")


if __name__ == "__main__":
    main()
