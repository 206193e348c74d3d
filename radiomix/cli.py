"""The ``radiomix`` command line: ``extract`` one case, ``demo`` on a synthetic cohort."""

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

    demo = commands.add_parser("demo", help="generate a synthetic cohort and extract its features")
    demo.add_argument("--out", default="demo_output", help="output folder (default demo_output)")
    demo.add_argument("--patients", type=int, default=12, help="number of synthetic patients")
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
        elif args.command == "demo":
            from radiomix.demo import run_demo

            run_demo(Path(args.out), n_patients=args.patients)
    except RadiomixError as exc:
        print(f"radiomix {args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
