"""The modelling table: a wide feature table fused with the clinical table by ``patient_id``.

Columns of the wide table are ``<MODALITY>__<feature>`` (see
:mod:`radiomix.cohort.merge`); clinical columns are encoded as numbers once, at
load (numbers and booleans as they are, text as 0/1 indicator columns named
``<column>=<level>``). Only the column schema is taken from the whole cohort at
load; everything learned from values (harmonization, selection, the model) is
fitted inside each cross-validation fold by the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from radiomix.errors import InputError

#: Separator between modality and feature name in wide column names.
MODALITY_SEPARATOR = "__"
#: Name of the group holding the clinical columns (and of the clinical-only model).
CLINICAL = "clinical"
#: Name of the model using every modality and the clinical columns.
MULTIMODAL = "multimodal"
#: Suffix of the 0/1 column marking a patient without a modality: ``<MODALITY>__missing``.
MISSING_SUFFIX = "missing"
#: Characters XGBoost refuses in feature names.
FORBIDDEN_NAME_CHARACTERS = ("[", "]", "<")


@dataclass(frozen=True)
class ColumnLayout:
    """Which columns of the modelling table belong to which source.

    Attributes
    ----------
    modalities : mapping of str to tuple of str
        Modality -> its feature columns ``<MODALITY>__<feature>``, in table order.
    clinical : tuple of str
        Encoded clinical columns.
    batch_column : str or None
        Column of batch (site, scanner) labels (text) used by ComBat; never a
        predictor. Empty only for patients without any radiomic value.
    """

    modalities: Mapping[str, tuple[str, ...]]
    clinical: tuple[str, ...]
    batch_column: str | None = None

    @property
    def radiomic(self) -> tuple[str, ...]:
        """Every modality's feature columns."""
        return tuple(column for columns in self.modalities.values() for column in columns)

    @property
    def groups(self) -> tuple[str, ...]:
        """Modalities, then ``clinical`` when there are clinical columns."""
        return (*self.modalities, *((CLINICAL,) if self.clinical else ()))

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Columns a model of this layout reads (the batch column only with radiomic features)."""
        batch = (self.batch_column,) if self.batch_column and self.modalities else ()
        return (*self.radiomic, *self.clinical, *batch)

    def subset(self, groups: Sequence[str]) -> ColumnLayout:
        """The layout restricted to some groups (modalities and/or ``clinical``)."""
        unknown = [g for g in groups if g not in self.groups]
        if unknown:
            raise KeyError(f"unknown group(s) {unknown}; the layout has {list(self.groups)}")
        return ColumnLayout(
            modalities={m: c for m, c in self.modalities.items() if m in groups},
            clinical=self.clinical if CLINICAL in groups else (),
            batch_column=self.batch_column,
        )


@dataclass(frozen=True)
class Cohort:
    """The fused modelling table and its outcome.

    Attributes
    ----------
    table : DataFrame
        One row per patient (index ``patient_id``, as text): radiomic columns,
        encoded clinical columns and the batch column.
    outcome : ndarray of int
        Class index of each row, ``0 .. n_classes - 1``.
    classes : tuple of str
        Outcome values (as text) in class-index order; for a binary outcome the
        second is the positive class.
    outcome_name : str
        The outcome column of the clinical table.
    layout : ColumnLayout
        Column groups of ``table``.
    excluded : DataFrame
        Patients left out (``patient_id, reason``): no outcome, or not in the
        clinical table.
    clinical_source_columns : tuple of str
        The clinical table's columns used as predictors, before encoding.
    """

    table: pd.DataFrame
    outcome: np.ndarray
    classes: tuple[str, ...]
    outcome_name: str
    layout: ColumnLayout
    excluded: pd.DataFrame
    clinical_source_columns: tuple[str, ...]

    @property
    def patient_ids(self) -> np.ndarray:
        """Patient identifiers in row order."""
        return self.table.index.to_numpy()

    @property
    def n_classes(self) -> int:
        """Number of outcome classes."""
        return len(self.classes)


def read_table(path: str | Path, what: str) -> pd.DataFrame:
    """Read a CSV with ``patient_id`` kept as text, checked by :func:`check_patient_ids`."""
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype={"patient_id": str}, keep_default_na=True)
    except FileNotFoundError:
        raise InputError(f"{what} not found", path=path) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{what} is not a readable CSV ({exc})", path=path) from None
    return check_patient_ids(table, what, path)


def check_patient_ids(table: pd.DataFrame, what: str, path: str | Path | None = None) -> pd.DataFrame:
    """``table`` with ``patient_id`` as text; refuses a missing column, empty or repeated IDs.

    Raises
    ------
    InputError
        Naming the table (and file) and saying what to fix.
    """
    if "patient_id" not in table.columns:
        raise InputError(f"{what} has no patient_id column (columns: {', '.join(map(str, table.columns[:10]))})",
                         path=path)
    if table["patient_id"].isna().any():
        raise InputError(f"{what} has rows without a patient_id", path=path)
    table = table.assign(patient_id=table["patient_id"].astype(str))
    duplicated = table["patient_id"][table["patient_id"].duplicated()].unique()
    if len(duplicated):
        raise InputError(f"{what} has several rows for patient(s) {', '.join(duplicated[:5])}; "
                         "give one row per patient", path=path)
    return table


def load_cohort(
    features: str | Path | pd.DataFrame,
    clinical: str | Path | pd.DataFrame,
    outcome: str,
    batch_column: str | None = None,
    clinical_columns: Sequence[str] | None = None,
    positive_class: str | None = None,
) -> Cohort:
    """Fuse a wide feature table with a clinical table by ``patient_id``.

    Parameters
    ----------
    features : path or DataFrame
        Wide table: ``patient_id`` then ``<MODALITY>__<feature>`` columns (numbers;
        empty where a patient lacks a modality). The batch column may be here.
    clinical : path or DataFrame
        ``patient_id``, the outcome column and covariates (the batch column may
        be here instead).
    outcome : str
        Outcome column of the clinical table (two or more classes).
    batch_column : str, optional
        Column of batch (site) labels for ComBat, in either table.
    clinical_columns : sequence of str, optional
        Clinical predictors; default every clinical column but ``patient_id``,
        the outcome and the batch column. Leave out other outcomes (e.g. a
        survival time) here: they would leak.
    positive_class : str, optional
        Binary outcome: the positive value (as text); default the larger one.

    Returns
    -------
    Cohort
        Patients with an outcome and a clinical row, in the clinical table's
        order; patients of the clinical table without imaging have missing
        radiomic values (all modalities missing).

    Raises
    ------
    InputError
        Missing columns, a wide column not named ``<MODALITY>__<feature>``,
        non-numeric features, reserved modality names, a missing batch label, or
        fewer than two outcome classes.
    """
    features_path = features if not isinstance(features, pd.DataFrame) else None
    clinical_path = clinical if not isinstance(clinical, pd.DataFrame) else None
    wide = (read_table(features, "feature table") if features_path is not None
            else check_patient_ids(features, "feature table"))
    clin = (read_table(clinical, "clinical table") if clinical_path is not None
            else check_patient_ids(clinical, "clinical table"))

    if outcome not in clin.columns:
        raise InputError(f"outcome column {outcome!r} is not in the clinical table "
                         f"(columns: {', '.join(map(str, clin.columns))})", path=clinical_path)
    batch_values = None
    if batch_column is not None:
        source = wide if batch_column in wide.columns else clin
        if batch_column not in source.columns:
            raise InputError(f"batch column {batch_column!r} is in neither the feature table nor the "
                             "clinical table", path=clinical_path)
        batch_values = source.set_index("patient_id")[batch_column]
        wide = wide.drop(columns=[batch_column], errors="ignore")

    modalities = _modality_columns(wide, features_path)
    chosen_clinical = _clinical_columns(clin, outcome, batch_column, clinical_columns, clinical_path)

    excluded = []
    no_outcome = clin["patient_id"][clin[outcome].isna()]
    excluded += [(pid, f"no value in outcome column {outcome!r}") for pid in no_outcome]
    clin = clin[clin[outcome].notna()]
    not_in_clinical = sorted(set(wide["patient_id"]) - set(clin["patient_id"]))
    excluded += [(pid, "not in the clinical table") for pid in not_in_clinical]

    table = clin[["patient_id"]].merge(wide, on="patient_id", how="left")
    table = table.set_index("patient_id")
    encoded = encode_clinical(clin.set_index("patient_id")[list(chosen_clinical)])
    for column in encoded.columns:
        if column.split(MODALITY_SEPARATOR, 1)[0] in modalities:
            raise InputError(f"clinical column {column!r} looks like a feature of modality "
                             f"{column.split(MODALITY_SEPARATOR, 1)[0]!r}; rename it", path=clinical_path)
    # one block per dtype: every fold's row selection then copies a few arrays, not a thousand columns (and
    # adding the batch column below is not an insert into a frame of 1,000 blocks)
    table = table.join(encoded).copy()
    if batch_values is not None:
        labels = batch_values.reindex(table.index)
        unlabelled = labels.isna() & table[[c for cs in modalities.values() for c in cs]].notna().any(axis=1)
        if unlabelled.any():
            missing = ", ".join(labels.index[unlabelled][:5])
            raise InputError(f"batch column {batch_column!r} has no value for patient(s) {missing}, who have "
                             "radiomic features", path=clinical_path)
        table = table.assign(**{batch_column: pd.Series([None if pd.isna(v) else str(v) for v in labels],
                                                         index=table.index, dtype=object)})
    _check_names([*table.columns], features_path)

    classes, codes = _encode_outcome(clin[outcome], positive_class, clinical_path, outcome)
    layout = ColumnLayout(modalities=modalities, clinical=tuple(encoded.columns), batch_column=batch_column)
    excluded_table = pd.DataFrame(excluded, columns=["patient_id", "reason"])
    return Cohort(table=table, outcome=codes, classes=classes, outcome_name=outcome, layout=layout,
                  excluded=excluded_table, clinical_source_columns=tuple(chosen_clinical))


def _modality_columns(wide: pd.DataFrame, path) -> dict[str, tuple[str, ...]]:
    """Group ``<MODALITY>__<feature>`` columns by modality; refuse anything else."""
    modalities: dict[str, list[str]] = {}
    for column in wide.columns:
        if column == "patient_id":
            continue
        modality, separator, feature = str(column).partition(MODALITY_SEPARATOR)
        if not separator or not modality or not feature:
            raise InputError(f"column {column!r} is not named <MODALITY>{MODALITY_SEPARATOR}<feature>; "
                             "rename it, or move covariates to the clinical table", path=path)
        if modality in (CLINICAL, MULTIMODAL):
            raise InputError(f"modality name {modality!r} is reserved for a model name; rename the "
                             "modality", path=path)
        if feature == MISSING_SUFFIX:
            raise InputError(f"column {column!r} clashes with radiomix's missing-modality indicator; "
                             "rename it", path=path)
        if not pd.api.types.is_numeric_dtype(wide[column]):
            raise InputError(f"feature column {column!r} holds non-numeric values (e.g. "
                             f"{wide[column].dropna().iloc[0]!r}); features must be numbers", path=path)
        modalities.setdefault(modality, []).append(column)
    if not modalities:
        raise InputError("the feature table has no <MODALITY>__<feature> column", path=path)
    return {m: tuple(c) for m, c in modalities.items()}


def _clinical_columns(clin, outcome, batch_column, requested, path) -> tuple[str, ...]:
    """The clinical predictors: requested ones (checked) or all but id, outcome and batch."""
    reserved = {"patient_id", outcome, batch_column}
    if requested is None:
        return tuple(c for c in clin.columns if c not in reserved)
    unknown = [c for c in requested if c not in clin.columns]
    if unknown:
        raise InputError(f"clinical column(s) {unknown} not in the clinical table "
                         f"(columns: {', '.join(map(str, clin.columns))})", path=path)
    clashing = [c for c in requested if c in reserved]
    if clashing:
        raise InputError(f"{clashing} cannot be a clinical predictor (patient_id, outcome or batch column)",
                         path=path)
    return tuple(requested)


def encode_clinical(clinical: pd.DataFrame) -> pd.DataFrame:
    """Clinical columns as numbers: numbers as they are, booleans 0/1, text as level indicators.

    A text column with two levels becomes one column ``<column>=<second level>``
    (levels sorted); with more levels, one column per level. A missing text value
    is missing (NaN) in every indicator of its column.

    Parameters
    ----------
    clinical : DataFrame
        Clinical predictors, one row per patient.

    Returns
    -------
    DataFrame
        Same index, float columns.
    """
    encoded = {}
    for column in clinical.columns:
        values = clinical[column]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            encoded[str(column)] = values.astype(float)
        else:
            text = values.astype("string")
            levels = sorted(text.dropna().unique())
            kept = levels[1:] if len(levels) == 2 else levels
            for level in kept:
                indicator = (text == level).astype(float)
                indicator[text.isna()] = np.nan
                encoded[f"{column}={level}"] = indicator
    return pd.DataFrame(encoded, index=clinical.index)


def _encode_outcome(values: pd.Series, positive_class, path, outcome) -> tuple[tuple[str, ...], np.ndarray]:
    """Class labels (text, sorted; the positive class second) and class indices."""
    text = _as_label_text(values)
    classes = sorted(text.unique(), key=_natural_key)
    if len(classes) < 2:
        raise InputError(f"outcome {outcome!r} has a single value {classes}; a model needs two or more "
                         "classes", path=path)
    if positive_class is not None:
        if len(classes) != 2:
            raise InputError(f"positive_class is for a binary outcome; {outcome!r} has {len(classes)} "
                             "classes", path=path)
        if str(positive_class) not in classes:
            raise InputError(f"positive_class {positive_class!r} is not a value of {outcome!r} "
                             f"({classes})", path=path)
        classes = [c for c in classes if c != str(positive_class)] + [str(positive_class)]
    index = {label: i for i, label in enumerate(classes)}
    return tuple(classes), np.asarray([index[v] for v in text], dtype=np.int64)


def _as_label_text(values: pd.Series) -> pd.Series:
    """Outcome values as text; whole floats (1.0 from a column with gaps) as integers."""
    if pd.api.types.is_float_dtype(values) and np.all(np.mod(values.to_numpy(float), 1) == 0):
        return values.astype(np.int64).astype(str)
    return values.astype(str)


def _natural_key(label: str):
    """Sort numbers numerically and text alphabetically."""
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def _check_names(columns: list, path) -> None:
    """Refuse column names XGBoost cannot take."""
    for column in columns:
        bad = [c for c in FORBIDDEN_NAME_CHARACTERS if c in str(column)]
        if bad:
            raise InputError(f"column {column!r} contains {' '.join(bad)}, which XGBoost refuses in "
                             "feature names; rename it", path=path)
