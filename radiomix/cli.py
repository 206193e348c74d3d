"""The ``radiomix`` command line: ``extract``, ``validate``, ``run``, ``evaluate``, ``demo``, ``warmup``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from radiomix.errors import RadiomixError


def _label(text: str):
    """``--label``: an integer, a comma-separated list, or ``all``."""
    if text == "all":
        return text
    values = [int(v) for v in text.split(",")]
    return values[0] if len(values) == 1 else values


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="radiomix", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    extract = commands.add_parser("extract", help="extract features of one image and mask to a CSV")
    extract.add_argument("image", help="image file or DICOM series folder")
    extract.add_argument("mask", help="mask file, DICOM RTSTRUCT or DICOM SEG")
    extract.add_argument("--spec", required=True, help="spec YAML (see feature_specs/)")
    extract.add_argument("--label", type=_label, default=1, help="label, list 1,2 or 'all' (default 1)")
    extract.add_argument("--roi", default=None, help="ROI name in an RTSTRUCT")
    extract.add_argument("-o", "--output", required=True, help="output CSV (tidy table)")

    evaluate = commands.add_parser("evaluate", help="nested cross-validated evaluation of a wide feature table "
                                                    "with clinical data: metrics, SHAP, model and HTML report")
    evaluate.add_argument("--features", required=True,
                          help="wide feature table CSV (patient_id, <MODALITY>__<feature>)")
    evaluate.add_argument("--clinical", required=True, help="clinical table CSV (patient_id, outcome, covariates)")
    evaluate.add_argument("--outcome", required=True, help="outcome column of the clinical table")
    evaluate.add_argument("--batch-column", default=None,
                          help="batch (site/scanner) column for ComBat, in either table")
    evaluate.add_argument("--settings", default=None, help="evaluation settings YAML (radiomix.model.settings)")
    evaluate.add_argument("--clinical-columns", default=None, type=lambda text: text.split(","),
                          help="comma-separated clinical predictors (default: every column but the outcome and batch)")
    evaluate.add_argument("--codebook", default=None, help="codebook CSV of the wide columns, shown in the report")
    evaluate.add_argument("--failures", default=None,
                          help="failures CSV (patient_id, modality, stage, error_type, message)")
    evaluate.add_argument("--out", required=True, help="output folder")

    run = commands.add_parser("run", help="run a cohort through the Luigi task graph (pipelines.cohort.RunCohort)")
    run.add_argument("--manifest", required=True, help="cohort manifest CSV")
    run.add_argument("--clinical", required=True, help="clinical table CSV")
    run.add_argument("--outcome", required=True, help="outcome column of the clinical table")
    run.add_argument("--workdir", required=True, help="folder of every output; results in WORKDIR/results/")
    run.add_argument("--workers", type=int, default=2, help="Luigi workers (default 2)")
    run.add_argument("--spec-dir", default=None,
                     help="folder of the modality specs <modality>.yaml (default: the shipped feature_specs/)")
    run.add_argument("--batch-column", default="", help="site column for ComBat (e.g. site; default: none)")
    run.add_argument("--scheduler-host", default=None,
                     help="central luigid host (default: a local scheduler in this process)")
    run.add_argument("--scheduler-port", type=int, default=8082, help="central luigid port (default 8082)")
    run.add_argument("--no-lock", action="store_true",
                     help="allow several worker processes of the same run on one machine (Luigi's pid lock)")

    validate = commands.add_parser("validate", help="check a manifest before a run and list every problem")
    validate.add_argument("manifest", help="cohort manifest CSV")

    demo = commands.add_parser("demo", help="synthetic CT/MR/PET cohort through the whole task graph")
    demo.add_argument("--out", default="demo_output", help="output folder (default demo_output)")
    demo.add_argument("--patients", type=int, default=40, help="number of synthetic patients (default 40)")
    demo.add_argument("--workers", type=int, default=2, help="Luigi workers (default 2)")

    warmup = commands.add_parser("warmup", help="compile the numba kernels once after installing (about a minute)")
    warmup.add_argument("--only", nargs="*", choices=("ibsi", "filters", "pyradiomics"),
                        help="kernel groups to compile (default all)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (errors print one line, status 2)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "extract":
            from radiomix.extract import extract_features
            from radiomix.io.atomic import write_csv_atomic

            table = extract_features(args.image, args.mask, args.spec, label=args.label, roi=args.roi)
            write_csv_atomic(table, Path(args.output))
            print(f"{len(table)} feature values written to {args.output}")
        elif args.command == "evaluate":
            from radiomix.model.evaluation import evaluate_cohort

            result = evaluate_cohort(args.features, args.clinical, args.outcome, Path(args.out),
                                     batch_column=args.batch_column, settings=args.settings,
                                     clinical_columns=args.clinical_columns, codebook_csv=args.codebook,
                                     failures_csv=args.failures)
            auroc = result.metrics.set_index(["model", "metric"]).loc[("multimodal", "auroc")]
            print(f"multimodal AUROC {auroc['value']:.3f} [{auroc['ci_low']:.3f}, {auroc['ci_high']:.3f}]; "
                  f"metrics, SHAP, model and report.html written to {args.out}")
        elif args.command == "run":
            from radiomix.cohort.launch import luigi_command, run_cohort

            extra = [] if args.scheduler_host is None else ["--scheduler-host", args.scheduler_host,
                                                            "--scheduler-port", str(args.scheduler_port)]
            extra += ["--no-lock"] if args.no_lock else []
            extra += ["--batch-column", args.batch_column] if args.batch_column else []
            options = {"spec_dir": Path(args.spec_dir)} if args.spec_dir else {}
            return run_cohort(luigi_command(Path(args.manifest), Path(args.clinical), args.outcome,
                                            Path(args.workdir), workers=args.workers,
                                            local_scheduler=args.scheduler_host is None, extra=extra, **options))
        elif args.command == "validate":
            from radiomix.cohort.manifest import validate_manifest

            problems = validate_manifest(args.manifest)
            for problem in problems:
                print(f"{args.manifest}: {problem}")
            print(f"{args.manifest}: {len(problems)} problem(s)" if problems else f"{args.manifest}: ready to run")
            return 1 if problems else 0
        elif args.command == "demo":
            from radiomix.demo import run_demo

            run_demo(Path(args.out), n_patients=args.patients, workers=args.workers)
        elif args.command == "warmup":
            from radiomix.warmup import KERNEL_GROUPS, warm_up

            warm_up(args.only or tuple(KERNEL_GROUPS))
    except RadiomixError as exc:
        print(f"radiomix {args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
