"""The ``radiomix`` command line: ``extract``, ``validate``, ``run``, ``evaluate``, ``demo``, ``warmup``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from radiomix.errors import RadiomixError

EXIT_CODES = """exit codes: 0 all done; 1 some cases failed (listed, and in failures.csv); 2 bad input or settings
(found before any extraction); 3 a bug (a task failed or could not be scheduled)."""


def _label(text: str):
    """``--label``: an integer, a comma-separated list, or ``all``."""
    if text == "all":
        return text
    values = [int(v) for v in text.split(",")]
    return values[0] if len(values) == 1 else values


def _parser() -> argparse.ArgumentParser:
    from radiomix import __version__

    parser = argparse.ArgumentParser(prog="radiomix", description=__doc__, epilog=EXIT_CODES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"radiomix {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    extract = commands.add_parser("extract", help="extract features of one image and mask to a CSV")
    extract.add_argument("image", help="image file or DICOM series folder")
    extract.add_argument("mask", help="mask file, DICOM RTSTRUCT or DICOM SEG")
    extract.add_argument("--spec", required=True, help="spec YAML (see feature_specs/)")
    extract.add_argument("--label", type=_label, default=1, help="label, list 1,2 or 'all' (default 1)")
    extract.add_argument("--roi", default=None, help="ROI name in an RTSTRUCT")
    extract.add_argument("-o", "--output", required=True, help="output CSV (tidy table)")

    batch = commands.add_parser("extract-batch", help="extract the cases of a case list CSV with one spec, in one "
                                                      "process (or --workers): tidy, wide and failures tables",
                                epilog="exit codes: 0 every case extracted; 1 some cases failed (listed, and in "
                                       "the failures CSV); 2 bad case list or spec (found before any extraction); "
                                       "3 a bug in radiomix on some case (traceback on the console)")
    batch.add_argument("cases", help="case list CSV: case_id, image, mask [, label, roi] (paths relative to its "
                                     "folder)")
    batch.add_argument("--spec", required=True, help="spec YAML (see feature_specs/) or pyradiomics parameter file")
    batch.add_argument("-o", "--output", required=True, help="output CSV (tidy table, case_id first)")
    batch.add_argument("--wide", default=None, help="also write the wide table (one row per case) to this CSV")
    batch.add_argument("--failures", default=None,
                       help="failures CSV (default <output>_failures.csv beside the output; written on every run)")
    batch.add_argument("--workers", type=int, default=1, help="worker processes (default 1: this process)")

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
    evaluate.add_argument("--model", default=None,
                          help="external validation: the folder of a saved evaluation (model.skops, "
                               "model_card.json), applied to these patients without refitting")
    evaluate.add_argument("--assign-batch", default=None,
                          help="with --model: give every patient this batch of the model's ComBat (features "
                               "already harmonized onto it; see docs/multisite.md)")

    run = commands.add_parser("run", help="run a cohort through the Luigi task graph (pipelines.cohort.RunCohort)",
                              epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--manifest", required=True, help="cohort manifest CSV")
    run.add_argument("--workdir", required=True, help="folder of every output; results in WORKDIR/results/")
    run.add_argument("--clinical", default=None, help="clinical table CSV (not needed with --extract-only)")
    run.add_argument("--outcome", default=None, help="outcome column of the clinical table")
    run.add_argument("--extract-only", action="store_true",
                     help="extraction and cohort tables only (features_long/wide, codebook, provenance, failures), "
                          "no clinical table; a later full run reuses them (Luigi task ExtractCohort)")
    run.add_argument("--workers", type=int, default=2, help="Luigi workers (default 2)")
    run.add_argument("--spec-dir", default=None,
                     help="folder of the modality specs <modality>.yaml (default: the shipped feature_specs/)")
    run.add_argument("--reference-modality", default="CT",
                     help="modality every other one is registered to (default CT)")
    run.add_argument("--registration", default=None, help="registration settings YAML (default: defaults)")
    run.add_argument("--evaluation", default=None, help="evaluation settings YAML (radiomix.model.settings)")
    run.add_argument("--batch-column", default="", help="site column for ComBat (e.g. site; default: none)")
    run.add_argument("--harmonizer", default=None,
                     help="distributed-ComBat harmonizer JSON fitted elsewhere, applied before the evaluation")
    run.add_argument("--scheduler-host", default=None,
                     help="central luigid host (default: a local scheduler in this process)")
    run.add_argument("--scheduler-port", type=int, default=8082, help="central luigid port (default 8082)")
    run.add_argument("--no-lock", action="store_true",
                     help="allow several worker processes of the same run on one machine (Luigi's pid lock)")
    run.add_argument("-v", "--verbose", action="store_true",
                     help="show Luigi's whole log and tracebacks (default: warnings, errors and progress)")
    run.add_argument("--log-file", default=None,
                     help="Luigi's whole log (default WORKDIR/logs/run-<UTC time>-<pid>.log)")

    _harmonize_parser(commands)

    validate = commands.add_parser("validate", help="check a manifest (and a clinical table) before a run and "
                                                    "list every problem")
    validate.add_argument("manifest", help="cohort manifest CSV")
    validate.add_argument("--deep", action="store_true",
                          help="also read every voxel of every image and mask, as the run's validate stage does")
    validate.add_argument("--clinical", default=None, help="clinical table CSV to check as well")
    validate.add_argument("--outcome", default=None, help="outcome column the clinical table must hold")
    validate.add_argument("--batch-column", default=None, help="ComBat batch column the clinical table must hold "
                                                              "(site may come from the manifest)")

    index = commands.add_parser("index", help="index a DICOM export (series, RTSTRUCT/SEG, ROI) into a manifest")
    index.add_argument("dicom_root", help="folder of the export, one top-level folder per patient")
    index.add_argument("-o", "--output", required=True, help="manifest CSV to write")
    index.add_argument("--roi", default=None, help="ROI (or SEG segment) name pattern, e.g. 'GTV*'")
    index.add_argument("--pseudonyms", default=None,
                       help="CSV with columns folder, patient_id (default: the folder names are the patient IDs)")

    demo = commands.add_parser("demo", help="synthetic CT/MR/PET cohort through the whole task graph")
    demo.add_argument("--out", default="demo_output", help="output folder (default demo_output)")
    demo.add_argument("--patients", type=int, default=40, help="number of synthetic patients (default 40)")
    demo.add_argument("--workers", type=int, default=2, help="Luigi workers (default 2)")

    warmup = commands.add_parser("warmup", help="compile the numba kernels once after installing (about a minute)")
    warmup.add_argument("--only", nargs="*", choices=("ibsi", "filters", "pyradiomics"),
                        help="kernel groups to compile (default all)")
    warmup.add_argument("--jobs", type=int, default=None,
                        help="processes compiling at once (default: the idle cores, or RADIOMIX_COMPILE_JOBS)")
    return parser


def _harmonize_parser(commands) -> None:
    """``radiomix harmonize stats | combine | residuals | apply``: distributed ComBat (docs/multisite.md)."""
    harmonize = commands.add_parser("harmonize", help="distributed ComBat: sites share aggregate statistics, "
                                                      "never patient rows (docs/multisite.md)")
    steps = harmonize.add_subparsers(dest="step", required=True)
    stats = steps.add_parser("stats", help="round 1 at a site: per-batch moments of covariates and features")
    stats.add_argument("--features", required=True,
                       help="site table CSV: patient_id, the batch column, covariates, feature columns")
    stats.add_argument("--batch-column", required=True, help="batch (scanner, site) column")
    stats.add_argument("--covariates", default="", help="comma-separated covariates to preserve (e.g. age,sex)")
    stats.add_argument("--categorical", default="", help="comma-separated categorical covariates (e.g. sex)")
    prior = stats.add_mutually_exclusive_group()
    prior.add_argument("--parametric", dest="parametric", action="store_true", default=True,
                       help="parametric empirical-Bayes priors (default)")
    prior.add_argument("--non-parametric", dest="parametric", action="store_false",
                       help="non-parametric empirical-Bayes prior")
    stats.add_argument("--no-eb", action="store_true", help="no empirical-Bayes shrinkage")
    stats.add_argument("--mean-only", action="store_true", help="adjust the location only")
    combine = steps.add_parser("combine", help="coordinator: site statistics -> pooled regression (round 1); "
                                               "residual statistics + --regression -> harmonizer (round 2)")
    combine.add_argument("files", nargs="+", help="site files of one round")
    combine.add_argument("--ref-batch", default=None, help="round 1: reference batch, left unchanged")
    combine.add_argument("--regression", default=None, help="round 2: the pooled regression of round 1")
    residuals = steps.add_parser("residuals", help="round 2 at a site: per-batch residual moments of the "
                                                   "pooled regression")
    residuals.add_argument("--regression", required=True, help="pooled regression JSON from the coordinator")
    residuals.add_argument("--features", required=True, help="the same site table as in round 1")
    apply = steps.add_parser("apply", help="at a site: harmonize a table with the combined harmonizer")
    apply.add_argument("--harmonizer", required=True, help="harmonizer JSON from the coordinator")
    apply.add_argument("--features", required=True, help="site table CSV")
    for step in (stats, combine, residuals):
        step.add_argument("--min-patients", type=int, default=5,
                          help="smallest number of patients behind any aggregate (default 5)")
    for step in (stats, combine, residuals, apply):
        step.add_argument("-o", "--output", required=True, help="output file")


def _run_harmonize(args) -> None:
    """Dispatch ``radiomix harmonize`` to :mod:`radiomix.harmonize.distributed`."""
    from radiomix.harmonize import distributed
    from radiomix.io.atomic import write_csv_atomic

    def names(text):
        return tuple(name for name in text.split(",") if name)

    if args.step == "apply":
        write_csv_atomic(distributed.apply_harmonizer(args.features, args.harmonizer), Path(args.output))
        print(f"harmonized table written to {args.output}")
        return
    if args.step == "stats":
        settings = distributed.DistributedSettings(
            args.batch_column, covariates=names(args.covariates), categorical=names(args.categorical),
            parametric=args.parametric, eb=not args.no_eb, mean_only=args.mean_only)
        content = distributed.site_statistics(args.features, settings, min_patients=args.min_patients)
    elif args.step == "residuals":
        content = distributed.residual_statistics(args.features, args.regression, min_patients=args.min_patients)
    else:
        content = distributed.combine_files(args.files, ref_batch=args.ref_batch, regression=args.regression,
                                            min_patients=args.min_patients)
    distributed.write_protocol_file(content, Path(args.output))
    batches = content.get("batches", [])
    summary = ", ".join(f"{b['batch']} ({b['n']})" if isinstance(b, dict) else str(b) for b in batches)
    print(f"{content['kind']} written to {args.output}: {len(content['feature_names'])} features; batches {summary}")


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
        elif args.command == "extract-batch":
            from radiomix.batch import run_batch

            return run_batch(args.cases, args.spec, args.output, workers=args.workers, wide=args.wide,
                             failures=args.failures)
        elif args.command == "evaluate" and args.assign_batch is not None and args.model is None:
            raise RadiomixError("--assign-batch is for external validation: give --model too")
        elif args.command == "evaluate" and args.model is not None:
            from radiomix.model.external import validate_externally

            unused = [flag for flag, value in (("--settings", args.settings), ("--clinical-columns",
                      args.clinical_columns), ("--codebook", args.codebook), ("--failures", args.failures)) if value]
            if unused:
                raise RadiomixError(f"{', '.join(unused)}: not used with --model (the saved model keeps its own)")

            external = validate_externally(args.model, args.features, args.clinical, args.outcome,
                                           Path(args.out), batch_column=args.batch_column,
                                           assign_batch=args.assign_batch)
            auroc = external.metrics.set_index("metric").loc["auroc"]
            print(f"external AUROC {auroc['value']:.3f} [{auroc['ci_low']:.3f}, {auroc['ci_high']:.3f}] on "
                  f"{len(external.cohort.table)} patients; metrics.csv and report.html written to {args.out}")
        elif args.command == "harmonize":
            _run_harmonize(args)
        elif args.command == "evaluate":
            from radiomix.model.evaluation import evaluate_cohort

            result = evaluate_cohort(args.features, args.clinical, args.outcome, Path(args.out),
                                     batch_column=args.batch_column, settings=args.settings,
                                     clinical_columns=args.clinical_columns, codebook_csv=args.codebook,
                                     failures_csv=args.failures)
            auroc = result.metrics.set_index(["model", "metric"]).loc[("multimodal", "auroc")]
            chance = " (not distinguishable from chance)" if result.chance_level("multimodal") else ""
            print(f"multimodal AUROC {auroc['value']:.3f} [{auroc['ci_low']:.3f}, {auroc['ci_high']:.3f}]{chance}; "
                  f"{len(result.warnings)} warning(s) in warnings.csv; "
                  f"metrics, SHAP, model and report.html written to {args.out}")
        elif args.command == "run":
            from radiomix.cohort.launch import RunOptions, run

            def path(text: str | None) -> Path | None:
                return None if text is None else Path(text)

            return run(RunOptions(
                manifest=Path(args.manifest), workdir=Path(args.workdir), clinical=path(args.clinical),
                outcome=args.outcome, extract_only=args.extract_only, workers=args.workers,
                spec_dir=path(args.spec_dir), batch_column=args.batch_column, evaluation=path(args.evaluation),
                registration=path(args.registration), reference_modality=args.reference_modality,
                scheduler_host=args.scheduler_host, scheduler_port=args.scheduler_port, no_lock=args.no_lock,
                harmonizer=path(args.harmonizer), verbose=args.verbose, log_file=path(args.log_file),
                command_line=shlex.join(["radiomix", *(sys.argv[1:] if argv is None else argv)])))
        elif args.command == "validate":
            from radiomix.cohort.clinical import validate_inputs

            problems = validate_inputs(args.manifest, args.clinical, args.outcome, args.batch_column, deep=args.deep)
            for problem in problems:
                print(problem)
            print(f"{args.manifest}: {len(problems)} problem(s)" if problems else f"{args.manifest}: ready to run")
            return 2 if problems else 0
        elif args.command == "index":
            from radiomix.io.dicom_index import index_to_manifest

            result = index_to_manifest(args.dicom_root, args.output, roi_pattern=args.roi, pseudonyms=args.pseudonyms)
            for problem in result.unpaired:
                print(f"{args.dicom_root}: {problem}", file=sys.stderr)
            if result.manifest.empty:
                print(f"{args.dicom_root}: no usable series with a ROI; nothing written", file=sys.stderr)
                return 2
            print(f"{len(result.manifest)} row(s), {result.manifest['patient_id'].nunique()} patient(s) written to "
                  f"{args.output}; {len(result.unpaired)} series or mask(s) not used")
        elif args.command == "demo":
            from radiomix.demo import run_demo

            run_demo(Path(args.out), n_patients=args.patients, workers=args.workers)
        elif args.command == "warmup":
            from radiomix.warmup import KERNEL_GROUPS, warm_up

            warm_up(args.only or tuple(KERNEL_GROUPS), jobs=args.jobs)
    except RadiomixError as exc:
        print(f"radiomix {args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
