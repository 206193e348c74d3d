"""radiomix against pictologics, flash-radiomics, nyxus and pyradiomics, in one run, on the same files.

The other engines are installed by this script into a scratch virtual environment under
``--engines-dir`` (outside the repository; never project dependencies), with a Python >= 3.12
(pictologics needs it; ``--engines-python``). An engine that cannot be installed, imported or
run with a setting is reported as missing in the table and skipped.

Cases: the IBSI CT phantom, pyradiomics' brain1, a real PET and MR of ``sts_dicom`` (DICOM
series + RTSTRUCT, converted once to NIfTI under ``--engines-dir`` so every engine reads the same
files), and a large synthetic CT-like volume (512 x 512 x 300 voxels, a 0.57 l lesion;
``benchmarks/synthetic_volume.py``, generated once under ``--engines-dir``). Settings and
modes: see ``benchmarks/engines.py``; ``first`` (first call in a fresh process with an empty
numba cache, imports included) runs on ``--first-use-cases`` for ``--first-use-engines``. Each
measurement is a fresh process; the table gives seconds and peak resident memory (MiB).
Writes ``compare.csv`` and ``compare.md`` to ``--out`` and, with ``--readme``, the table into
README.md between the ``engines-benchmark`` markers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
sys.path.insert(0, str(REPO_ROOT))
DATA = Path(os.environ.get("RADIOMIX_TEST_DATA", REPO_ROOT.parent / "shared" / "data"))
ENGINE_PACKAGES = {
    "pyradiomics": (("pyradiomics-bhklab",), "radiomics"),
    "pictologics": (("pictologics",), "pictologics"),
    # flash-radiomics leaves its Python dependencies to the user (its README lists them)
    "flash-radiomics": (("flash-radiomics", "h5py", "pykwalify", "PyWavelets", "scipy", "scikit-image", "scikit-learn",
                         "trimesh"), "flash_radiomics"),
    "nyxus": (("nyxus",), "nyxus"),
}
"""Engine -> (PyPI packages, import name), installed into the scratch environment."""
ENGINES = ("radiomix", *ENGINE_PACKAGES)
SETTINGS = ("pyradiomics", "ibsi")
README_START = "<!-- engines-benchmark:start -->"
README_END = "<!-- engines-benchmark:end -->"


def cases(work: Path) -> dict[str, tuple[Path, Path]]:
    """Case name -> (image, mask) files; DICOM cases are converted to NIfTI once, under ``work``."""
    found = {"ct_phantom": (DATA / "ibsi" / "ct_phantom" / "nifti" / "image.nii.gz",
                            DATA / "ibsi" / "ct_phantom" / "nifti" / "mask.nii.gz"),
             "brain1": (DATA / "pyradiomics" / "cases" / "brain1_image.nrrd",
                        DATA / "pyradiomics" / "cases" / "brain1_label.nrrd")}
    for name, modality, roi in (("sts_003_pet", "PET", "GTV_Mass_PET"), ("sts_003_mr", "MR_T1", "GTV_Mass_MR_T1")):
        source = DATA / "sts_dicom" / "STS_003" / modality
        image, mask = work / "cases" / f"{name}_image.nii.gz", work / "cases" / f"{name}_mask.nii.gz"
        if source.is_dir() and not mask.exists():
            import SimpleITK as sitk

            from radiomix import io

            picture = io.read_image(source / "image")
            binary = io.read_mask(source / "mask" / "RS.dcm", reference=picture, roi=roi)
            image.parent.mkdir(parents=True, exist_ok=True)
            sitk.WriteImage(picture, str(image), True)
            sitk.WriteImage(sitk.Cast(binary, sitk.sitkUInt8), str(mask), True)
        found[name] = (image, mask)
    from benchmarks.synthetic_volume import large_volume

    found["large_synthetic"] = large_volume(work / "cases")
    return {name: paths for name, paths in found.items() if paths[0].exists() and paths[1].exists()}


def find_python() -> str | None:
    """A working Python >= 3.12 for the scratch environment: on PATH, under pyenv, or this one."""
    candidates = [shutil.which(name) for name in ("python3.13", "python3.12")]
    candidates += sorted(str(p) for p in (Path.home() / ".pyenv" / "versions").glob("3.1[2-9]*/bin/python"))
    candidates.append(sys.executable)
    for candidate in filter(None, candidates):
        check = subprocess.run([candidate, "-c", "import sys; sys.exit(sys.version_info < (3, 12))"],
                               capture_output=True)
        if check.returncode == 0:
            return candidate
    return None


def engine_environment(folder: Path, python: str | None, log) -> tuple[str | None, dict[str, str]]:
    """Create (once) the scratch venv and install each engine; returns its Python and engine -> problem."""
    problems = {}
    if python is None:
        return None, {engine: "no Python >= 3.12 found (--engines-python)" for engine in ENGINE_PACKAGES}
    venv_python = folder / "venv" / "bin" / "python"
    if not venv_python.exists():
        folder.mkdir(parents=True, exist_ok=True)
        created = subprocess.run([python, "-m", "venv", str(folder / "venv")], capture_output=True, text=True)
        if created.returncode != 0:
            return None, {engine: f"no scratch venv with {python}: {created.stderr.strip()[-120:]}"
                          for engine in ENGINE_PACKAGES}
    for engine, (packages, module) in ENGINE_PACKAGES.items():
        if subprocess.run([str(venv_python), "-c", f"import {module}"], capture_output=True).returncode == 0:
            continue
        log(f"installing {' '.join(packages)} into {folder / 'venv'} ...")
        done = subprocess.run([str(venv_python), "-m", "pip", "install", "--quiet", *packages, "SimpleITK"],
                              capture_output=True, text=True)
        if done.returncode != 0 or subprocess.run([str(venv_python), "-c", f"import {module}"],
                                                  capture_output=True).returncode != 0:
            problems[engine] = f"not installable: {(done.stderr.strip().splitlines() or ['import failed'])[-1]}"
    return str(venv_python), problems


def measure(python: str, engine: str, image: Path, mask: Path, setting: str, mode: str, repeats: int,
            timeout: float) -> dict:
    """One measurement in a fresh process (an empty numba cache for ``first``); a failure is a record too."""
    with tempfile.TemporaryDirectory(prefix="bench-numba-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache) if mode == "first" else dict(os.environ)
        # run in the scratch folder: some engines write files into the working directory
        try:
            done = subprocess.run([python, str(HERE / "engines.py"), "--engine", engine, "--image", str(image),
                                   "--mask", str(mask), "--setting", setting, "--mode", mode,
                                   "--repeats", str(repeats)], capture_output=True, text=True, env=env, cwd=cache,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"engine": engine, "setting": setting, "mode": mode, "seconds": None,
                    "problem": f"stopped after {timeout:.0f} s"}
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["failed"])[-1][:160]
        return {"engine": engine, "setting": setting, "mode": mode, "seconds": None, "problem": reason}
    return json.loads(done.stdout.strip().splitlines()[-1])


def table_markdown(records: pd.DataFrame) -> str:
    """Seconds (and peak MiB) per case, setting and mode, one column per engine; missing engines say why."""
    def cell(group):
        row = group.iloc[0]
        if pd.isna(row.get("seconds")):
            return "n/a"
        return f"{row['seconds']:.3g} s / {row['peak_rss_mib']:.0f} MiB"
    wide = records.groupby(["case", "setting", "mode", "engine"]).apply(cell, include_groups=False).unstack("engine")
    wide = wide.reindex(columns=[e for e in ENGINES if e in wide.columns]).fillna("n/a")
    return wide.reset_index().to_markdown(index=False)


def write_readme(readme: Path, markdown: str, notes: list[str]) -> None:
    """Put the table between the markers of README.md (a new subsection of Benchmarks when absent)."""
    from radiomix.io.atomic import write_text_atomic

    text = readme.read_text()
    block = "\n".join([README_START, *notes, "", markdown, README_END])
    if README_START in text:
        head, rest = text.split(README_START, 1)
        text = head + block + rest.split(README_END, 1)[1]
    else:
        section = "### Against other engines (`benchmarks/compare.py`)\n\n" + block + "\n"
        start = text.index("## Benchmarks")
        following = text.find("\n## ", start + 1)
        text = text + "\n" + section if following < 0 else text[:following + 1] + section + "\n" + text[following + 1:]
    write_text_atomic(text, readme)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--engines-dir", type=Path,
                        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "radiomix-bench")
    parser.add_argument("--engines-python", default=None, help="Python >= 3.12 for the scratch environment")
    parser.add_argument("--engines", nargs="*", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--cases", nargs="*", default=None, help="cases to run (default all found)")
    parser.add_argument("--first-use-cases", nargs="*", default=["ct_phantom"])
    parser.add_argument("--first-use-engines", nargs="*", choices=ENGINES, default=list(ENGINES),
                        help="engines measured on first use (pictologics compiles for about 9 minutes)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds allowed to one measurement")
    parser.add_argument("--readme", type=Path, default=None, help="README.md to write the table into")
    args = parser.parse_args()
    if REPO_ROOT in args.engines_dir.resolve().parents:
        parser.error("--engines-dir must lie outside the repository")
    from radiomix.io.atomic import write_csv_atomic, write_text_atomic

    found = cases(args.engines_dir)
    chosen = {name: found[name] for name in (args.cases or found) if name in found}
    other_python, problems = engine_environment(args.engines_dir, args.engines_python or find_python(), print)
    records = []
    for case, (image, mask) in chosen.items():
        for setting in SETTINGS:
            for mode in (("warm", "first") if case in args.first_use_cases else ("warm",)):
                for engine in args.engines:
                    if mode == "first" and engine not in args.first_use_engines:
                        continue
                    if engine in problems:
                        record = {"engine": engine, "setting": setting, "mode": mode, "seconds": None,
                                  "problem": problems[engine]}
                    else:
                        python = sys.executable if engine == "radiomix" else other_python
                        record = measure(python, engine, image, mask, setting, mode, args.repeats, args.timeout)
                    record["case"] = case
                    records.append(record)
                    shown = "n/a (" + record.get("problem", "") + ")" if record.get("seconds") is None \
                        else f"{record['seconds']:.3f} s {record['peak_rss_mib']:.0f} MiB"
                    print(f"{case:12s} {setting:12s} {mode:6s} {engine:16s} {shown}", flush=True)
    table = pd.DataFrame(records)
    write_csv_atomic(table, args.out / "compare.csv")
    markdown = table_markdown(table)
    missing = sorted({f"{r['engine']}: {r['problem']}" for r in records if r.get("problem")})
    notes = [f"Measured {datetime.date.today()} by `benchmarks/compare.py` (`make bench`), each cell a fresh process: "
             "warm = median of repeated calls after the first, first = imports and first call with an empty numba "
             "cache; seconds / peak resident memory. n/a: engine missing or setting not expressible:",
             *(f"- {line}" for line in missing)]
    write_text_atomic("\n".join(notes) + "\n\n" + markdown + "\n", args.out / "compare.md")
    print()
    print(markdown)
    if args.readme:
        write_readme(args.readme, markdown, notes)


if __name__ == "__main__":
    main()
