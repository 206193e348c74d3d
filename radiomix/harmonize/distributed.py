"""Distributed ComBat: sites share aggregate statistics, never patient rows.

A consortium whose hospitals may not pool feature tables fits the same ComBat
as :class:`radiomix.harmonize.ComBat` on the pooled table (Chen et al.,
NeuroImage 2022;248:118822), in two rounds:

1. **Site statistics** (:func:`site_statistics`, at each site): per batch, the
   patient count and the first and centred second moments of the covariates
   and features (means, covariate cross-products, covariate-feature
   cross-products, feature sums of squares), each over the patients where the
   feature is observed.
2. **Pooled regression** (:func:`combine_site_statistics`, coordinator): the
   within-batch cross-products of all sites give the covariate effects
   ``beta`` (a batch-intercept regression is a within-batch regression), the
   batch means give the batch intercepts and ``alpha``.
3. **Residual statistics** (:func:`residual_statistics`, at each site, given
   the pooled regression): per batch and feature, the count, mean and sum of
   squared deviations of ``y - alpha - c . beta``.
4. **Harmonizer** (:func:`combine_residual_statistics`, coordinator): the
   pooled variance, the standardised per-batch location and scale, and the
   empirical-Bayes adjustments, with the very code of the pooled ComBat.
5. **Apply** (:func:`apply_harmonizer`, at each site).

Why a second round: everything ComBat estimates is a function of the per-batch
moments of round 1, but the residual variance obtained from them by
subtraction loses digits in proportion to ``1 / (1 - R^2)`` of the covariate
fit (a feature nearly explained by the covariates keeps almost none); the
sites compute the residual moments from their rows instead, as the pooled
ComBat does.  The priors need nothing more: the parametric priors are moments
across features of the per-batch estimates, and the non-parametric posterior
weights feature ``f``'s data of batch ``k`` by its likelihood under every other
feature's ``(gamma_hat, delta_hat)``, which depends on the data only through
their count, mean and sum of squared deviations (``sum (z - g)^2 = SS + n (mean
- g)^2``).  No third round is needed.

Missing feature values are allowed, as in the pooled ComBat (each feature is
fitted on the patients where it is observed): the statistics of a batch group
the features observed on the same patients.

Privacy rules: every batch of a site file, and the site itself, holds at least
``min_patients`` patients; within a batch, every pattern of missing features,
and every cell of such a pattern with a level of a categorical covariate, is
held by none or at least ``min_patients`` patients.  Sums over different
patients for different features (or levels) can be subtracted from one
another, but never below these groups.  Rows whose features are all missing
are left out.

One decision differs from the pooled fit: a feature counts as having zero
residual variance when its pooled residual standard deviation is at most
``1e-10`` times its root mean square (the pooled ComBat uses its largest
absolute value, which is one patient's value).  Both thresholds only catch
features whose residuals are rounding noise.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import radiomix
from radiomix.errors import InputError
from radiomix.harmonize._combat_math import ZERO_SPREAD_RTOL, _batch_adjustments, apply_combat
from radiomix.harmonize.combat import ComBatWarning
from radiomix.io.atomic import write_text_atomic

#: Version of the JSON layout of every file of the protocol.
SCHEMA_VERSION = 1
#: Default smallest number of patients behind any aggregate (site, batch, categorical level).
DEFAULT_MIN_PATIENTS = 5
#: Column of patient identifiers in a site table (never a feature, never written to a file).
ID_COLUMN = "patient_id"

KIND_SITE_STATISTICS = "site_statistics"
KIND_REGRESSION = "pooled_regression"
KIND_RESIDUAL_STATISTICS = "residual_statistics"
KIND_HARMONIZER = "harmonizer"

#: Fields of a round-1 site file. Every number is an aggregate over at least ``min_patients`` patients of
#: one batch; array sizes depend on the numbers of features, covariate columns and missing-value patterns.
SITE_STATISTICS_FIELDS = {
    "schema_version": "layout version of this file",
    "kind": f"'{KIND_SITE_STATISTICS}'",
    "radiomix_version": "radiomix version that wrote the file",
    "settings": "batch column, covariates, categorical covariates, parametric, eb, mean_only",
    "min_patients": "smallest number of patients behind any aggregate of this file",
    "feature_names": "feature columns, in order",
    "covariate_columns": "[column, level] of each covariate column (level null for continuous ones)",
    "n_patients": "patients of the site (rows with at least one feature value)",
    "batches": "one entry per batch: the fields of SITE_BATCH_FIELDS",
}
SITE_BATCH_FIELDS = {
    "batch": "batch label",
    "n": "patients of the batch",
    "feature_count": "patients with a value of each feature",
    "groups": "features observed on the same patients, with their covariate moments: SITE_GROUP_FIELDS",
    "feature_mean": "mean of each feature (over its patients)",
    "covariate_feature_cross_products": "sum over patients of (c - mean)(y - mean)^T (per feature, its patients)",
    "feature_sum_squares": "sum over patients of (y - mean)^2 for each feature",
}
SITE_GROUP_FIELDS = {
    "features": "positions of the features observed on this group of patients",
    "n": "patients of the group",
    "covariate_mean": "mean of each covariate column (a level's share for categorical levels)",
    "covariate_cross_products": "sum over patients of (c - mean)(c - mean)^T",
}
#: Fields of a round-2 site file (aggregates over the ``n`` patients of each batch).
RESIDUAL_STATISTICS_FIELDS = {
    "schema_version": "layout version of this file",
    "kind": f"'{KIND_RESIDUAL_STATISTICS}'",
    "radiomix_version": "radiomix version that wrote the file",
    "regression_sha256": "fingerprint of the pooled regression the residuals are taken from",
    "settings": "as in the site statistics",
    "min_patients": "smallest number of patients behind any aggregate of this file",
    "feature_names": "feature columns, in order",
    "batches": "one entry per batch: the fields of RESIDUAL_BATCH_FIELDS",
}
RESIDUAL_BATCH_FIELDS = {
    "batch": "batch label",
    "n": "patients of the batch",
    "feature_count": "patients with a value of each feature",
    "residual_mean": "mean of y - alpha - c . beta for each feature",
    "residual_sum_squares": "sum of squared deviations of y - alpha - c . beta from their mean",
}


class DistributedComBatError(InputError):
    """A site table or a protocol file cannot be used (the message names the file and the problem)."""


class TooFewPatientsError(DistributedComBatError):
    """An aggregate would be computed over fewer patients than the minimum."""


class IncompatibleFilesError(DistributedComBatError):
    """Files of the protocol disagree (features, settings, versions, rounds)."""


@dataclass(frozen=True)
class DistributedSettings:
    """The ComBat settings every site must share.

    Attributes
    ----------
    batch_column : str
        Column of batch (scanner, site) labels.
    covariates : tuple of str
        Continuous covariates whose effect is preserved.
    categorical : tuple of str
        Categorical covariates (encoded as indicators of every level but the first, sorted).
    parametric, eb, mean_only : bool
        As :class:`radiomix.harmonize.ComBat`.
    """

    batch_column: str
    covariates: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    parametric: bool = True
    eb: bool = True
    mean_only: bool = False

    def __post_init__(self):
        object.__setattr__(self, "covariates", tuple(c for c in self.covariates if c not in self.categorical))
        object.__setattr__(self, "categorical", tuple(self.categorical))
        for name in ("parametric", "eb", "mean_only"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")
        special = [self.batch_column, *self.covariates, *self.categorical]
        if len(set(special)) != len(special) or ID_COLUMN in special:
            raise DistributedComBatError(f"the batch column and covariates must be distinct columns other than "
                             f"{ID_COLUMN!r}, got {special}")

    def to_dict(self) -> dict:
        """Plain JSON-ready form."""
        return {**asdict(self), "covariates": list(self.covariates), "categorical": list(self.categorical)}

    @classmethod
    def from_dict(cls, data: dict) -> DistributedSettings:
        """Inverse of :meth:`to_dict`."""
        return cls(batch_column=data["batch_column"], covariates=tuple(data["covariates"]),
                   categorical=tuple(data["categorical"]), parametric=data["parametric"], eb=data["eb"],
                   mean_only=data["mean_only"])


@dataclass(frozen=True)
class _SiteTable:
    """A site table split into roles; rows without any feature value dropped."""

    patient_ids: np.ndarray
    batches: np.ndarray
    continuous: np.ndarray
    categorical: dict
    features: np.ndarray
    feature_names: list
    feature_positions: np.ndarray
    kept_rows: np.ndarray


# ----------------------------------------------------------------------------- site tables
def _read_table(source, settings: DistributedSettings, what: str) -> tuple[pd.DataFrame, str | None]:
    """A site table as a DataFrame and its path (labels keep the types pandas reads, as for ComBat)."""
    if isinstance(source, pd.DataFrame):
        return source.copy(), None
    try:
        table = pd.read_csv(source, dtype={ID_COLUMN: str})
    except FileNotFoundError:
        raise DistributedComBatError(f"{what} not found", path=source) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DistributedComBatError(f"{what} is not a readable CSV ({exc})", path=source) from None
    return table, str(source)


def _patients(ids: np.ndarray, rows: np.ndarray) -> str:
    chosen = ids[rows]
    shown = ", ".join(map(str, chosen[:5]))
    return shown + (f" and {chosen.size - 5} more" if chosen.size > 5 else "")


def _split_table(source, settings: DistributedSettings, *, for_statistics: bool,
                 what: str = "site table") -> _SiteTable:
    """Roles of a site table's columns, checked.

    ``for_statistics``: keep the rows with some feature value (statistics
    rounds); otherwise every labelled row (apply). Missing values stay missing.
    """
    table, path = _read_table(source, settings, what)
    special = [settings.batch_column, *settings.covariates, *settings.categorical]
    absent = [c for c in special if c not in table.columns]
    if absent:
        raise DistributedComBatError(f"the {what} lacks column(s) {absent} named in the settings "
                                     f"(columns: {list(table.columns)[:10]})", path=path)
    ids = (table[ID_COLUMN].astype(str).to_numpy() if ID_COLUMN in table.columns
           else np.asarray([f"row {i + 2}" for i in range(len(table))]))
    positions = np.asarray([i for i, c in enumerate(table.columns) if c not in (*special, ID_COLUMN)], dtype=int)
    names = [str(table.columns[i]) for i in positions]
    if not names:
        raise DistributedComBatError(f"the {what} has no feature column", path=path)
    block = table.iloc[:, positions]
    textual = [c for c, dtype in block.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)]
    if textual:
        raise DistributedComBatError(f"feature column(s) {textual[:5]} are not numeric: name them as batch "
                                     "column or covariates, or drop them", path=path)
    features = block.to_numpy(dtype=np.float64)
    if np.isinf(features).any():
        rows = np.isinf(features).any(axis=1)
        raise DistributedComBatError(f"infinite feature values for patient(s) {_patients(ids, rows)}", path=path)
    batches = _labels(table[settings.batch_column])
    has_values = np.isfinite(features).any(axis=1)
    unlabelled = pd.isna(batches) & has_values
    if unlabelled.any():
        raise DistributedComBatError(f"patient(s) {_patients(ids, unlabelled)} have feature values but no "
                                     f"{settings.batch_column!r}", path=path)
    kept = has_values if for_statistics else ~pd.isna(batches) | has_values
    continuous = np.empty((int(kept.sum()), len(settings.covariates)))
    for j, column in enumerate(settings.covariates):
        try:
            values = pd.to_numeric(table[column][kept], errors="raise").to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise DistributedComBatError(f"covariate {column!r} is not numeric; list it as categorical if it "
                                         "is", path=path) from None
        if not np.isfinite(values).all():
            rows = np.flatnonzero(kept)[~np.isfinite(values)]
            raise DistributedComBatError(f"covariate {column!r} is missing for patient(s) "
                                         f"{_patients(ids, rows)}", path=path)
        continuous[:, j] = values
    categorical = {}
    for column in settings.categorical:
        values = _labels(table[column])[kept]
        missing = pd.isna(values)
        if missing.any():
            rows = np.flatnonzero(kept)[missing]
            raise DistributedComBatError(f"categorical covariate {column!r} is missing for patient(s) "
                                         f"{_patients(ids, rows)}", path=path)
        categorical[column] = values
    return _SiteTable(patient_ids=ids[kept], batches=batches[kept], continuous=continuous, categorical=categorical,
                      features=features[kept], feature_names=names, feature_positions=positions,
                      kept_rows=kept)


def _labels(column: pd.Series) -> np.ndarray:
    """Batch or level labels as plain Python values (JSON-ready), missing ones as None."""
    return np.asarray([None if pd.isna(v) else (v.item() if isinstance(v, np.generic) else v) for v in column],
                      dtype=object)


def _sorted_labels(values, what: str) -> list:
    """Distinct labels, sorted as :class:`~radiomix.harmonize.ComBat` sorts them."""
    try:
        return sorted(set(values))
    except TypeError:
        raise IncompatibleFilesError(f"the {what} mix types ({sorted({type(v).__name__ for v in values})}); "
                                     "give every site labels of one type, e.g. all text") from None


def _refuse_small(count: int, min_patients: int, what: str, path) -> None:
    if count < min_patients:
        raise TooFewPatientsError(
            f"{what} has {count} patient(s), fewer than the minimum of {min_patients}: statistics over so few "
            "patients come close to revealing individual values. Merge it with another batch or site (or "
            "lower min_patients only if your data-sharing agreement allows it)", path=path)


def _refuse_rare_patterns(site: _SiteTable, rows: np.ndarray, label, min_patients: int, path) -> None:
    """Within a batch, each pattern of missing features, and each of its cells with a categorical level,
    is held by at least ``min_patients`` patients.

    Statistics of different features are sums over the patients observed for
    each; combined, they reveal at most sums over the patients sharing a
    pattern (and a level), so these groups must not be small.
    """
    observed = np.isfinite(site.features[rows])
    patterns, pattern_of_row = np.unique(observed, axis=0, return_inverse=True)
    pattern_of_row = pattern_of_row.ravel()
    ids = site.patient_ids[rows]
    cells = {None: [(int(p),) for p in pattern_of_row]}
    cells.update({column: [(int(p), v) for p, v in zip(pattern_of_row, values[rows])]
                  for column, values in site.categorical.items()})
    for column, keys in cells.items():
        for key, count in Counter(keys).items():
            if count >= min_patients:
                continue
            missing = [n for n, seen in zip(site.feature_names, patterns[key[0]]) if not seen]
            if column is not None:
                among = f" among the patients missing {missing[:5]}" if missing else ""
                raise TooFewPatientsError(
                    f"batch {label!r}: level {key[1]!r} of categorical covariate {column!r}{among} is held by "
                    f"{count} patient(s), fewer than {min_patients}; their feature sums would reveal individual "
                    "values. Merge rare levels, or leave the covariate out", path=path)
            members = np.asarray([k == key for k in keys])
            raise TooFewPatientsError(
                f"batch {label!r}: patient(s) {_patients(ids, members)} "
                + (f"miss exactly feature(s) {missing[:5]}{' ...' if len(missing) > 5 else ''}" if missing
                   else "have every feature")
                + f", a pattern held by {count} patient(s), fewer than the "
                f"minimum of {min_patients}: statistics of features observed on different patients could be "
                "subtracted to reveal them. Drop those patients or features", path=path)


def _check_min_patients(min_patients) -> int:
    if isinstance(min_patients, bool) or not isinstance(min_patients, (int, np.integer)) or min_patients < 1:
        raise DistributedComBatError(f"min_patients must be a positive integer, got {min_patients!r}")
    return int(min_patients)


def _header(kind: str) -> dict:
    return {"schema_version": SCHEMA_VERSION, "kind": kind, "radiomix_version": radiomix.__version__}


def _centred_moments(x: np.ndarray, y: np.ndarray) -> tuple:
    """Means of ``x`` and ``y`` and their centred cross-products (two passes)."""
    x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - x_mean, y - y_mean
    return x_mean, xc.T @ xc, y_mean, xc.T @ yc, np.sum(yc**2, axis=0)


def _batch_moments(design: np.ndarray, features: np.ndarray) -> dict:
    """Round-1 moments of one batch: features grouped by the patients they are observed on."""
    observed = np.isfinite(features)
    groups_of_rows, group_of_feature = np.unique(observed.T, axis=0, return_inverse=True)
    group_of_feature = group_of_feature.ravel()
    n_features = features.shape[1]
    feature_mean, sum_squares = np.zeros(n_features), np.zeros(n_features)
    cross = np.zeros((design.shape[1], n_features))
    groups = []
    for g, rows in enumerate(groups_of_rows):
        columns = np.flatnonzero(group_of_feature == g)
        if not rows.any():
            continue
        covariate_mean, covariate_cross, feature_mean[columns], cross[:, columns], sum_squares[columns] = (
            _centred_moments(design[rows], features[np.ix_(rows, columns)]))
        groups.append({"features": columns.tolist(), "n": int(rows.sum()), "covariate_mean": covariate_mean.tolist(),
                       "covariate_cross_products": covariate_cross.tolist()})
    return {"feature_count": observed.sum(axis=0).tolist(), "groups": groups, "feature_mean": feature_mean.tolist(),
            "covariate_feature_cross_products": cross.tolist(), "feature_sum_squares": sum_squares.tolist()}


def site_statistics(source, settings: DistributedSettings, *, min_patients: int = DEFAULT_MIN_PATIENTS) -> dict:
    """Round 1 at a site: per-batch moments of covariates and features.

    Parameters
    ----------
    source : path or DataFrame
        The site's table: ``patient_id`` (optional, never written), the batch
        column, the covariates, and feature columns (every other column).
    settings : DistributedSettings
    min_patients : int, default=5
        Smallest number of patients of the site, of each batch, and, within a
        batch, of each pattern of missing features and each of its cells with
        a categorical level.

    Returns
    -------
    dict
        The site file's content (fields: :data:`SITE_STATISTICS_FIELDS`).

    Raises
    ------
    TooFewPatientsError, DistributedComBatError
    """
    min_patients = _check_min_patients(min_patients)
    site = _split_table(source, settings, for_statistics=True)
    path = None if isinstance(source, pd.DataFrame) else str(source)
    _refuse_small(len(site.batches), min_patients, "the site", path)
    levels = {column: _sorted_labels(values, f"levels of {column!r}") for column, values in site.categorical.items()}
    covariate_columns = [[column, None] for column in settings.covariates]
    covariate_columns += [[column, level] for column, column_levels in levels.items() for level in column_levels]
    design = np.hstack([site.continuous] + [
        (site.categorical[column][:, None] == np.asarray(column_levels, dtype=object)[None, :]).astype(float)
        for column, column_levels in levels.items()])
    batches = []
    for label in _sorted_labels(site.batches, "batch labels"):
        rows = site.batches == label
        _refuse_small(int(rows.sum()), min_patients, f"batch {label!r}", path)
        _refuse_rare_patterns(site, rows, label, min_patients, path)
        batches.append({"batch": label, "n": int(rows.sum()), **_batch_moments(design[rows], site.features[rows])})
    return {**_header(KIND_SITE_STATISTICS), "settings": settings.to_dict(), "min_patients": min_patients,
            "feature_names": site.feature_names, "covariate_columns": covariate_columns,
            "n_patients": int(len(site.batches)), "batches": batches}


# ------------------------------------------------------------------------------ file checks
def read_protocol_file(path) -> dict:
    """Read a JSON file of the protocol (site statistics, regression, residuals, harmonizer)."""
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DistributedComBatError("file not found", path=path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DistributedComBatError(f"not a readable JSON file ({exc})", path=path) from None
    if not isinstance(content, dict) or "kind" not in content or "schema_version" not in content:
        raise DistributedComBatError("not a radiomix distributed-ComBat file (no 'kind' and 'schema_version')",
                                     path=path)
    return content


def write_protocol_file(content: dict, path) -> None:
    """Write a protocol file atomically (plain JSON; missing numbers as null)."""
    write_text_atomic(json.dumps(_json_ready(content), indent=1) + "\n", path)


def _json_ready(value):
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _floats(values) -> np.ndarray:
    """A (nested) list of numbers, null for missing, as a float array."""
    return np.asarray(values, dtype=float)


def _load(item, kind: str | Sequence[str]) -> tuple[dict, str]:
    """A protocol file's content (from a path or a dict) and a name for messages, kind checked."""
    content, name = (item, "<in memory>") if isinstance(item, dict) else (read_protocol_file(item), str(item))
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    if content.get("kind") not in kinds:
        raise IncompatibleFilesError(f"is a {content.get('kind')!r} file, expected {' or '.join(map(repr, kinds))}",
                                     path=name)
    if content.get("schema_version") != SCHEMA_VERSION:
        raise IncompatibleFilesError(f"schema version {content.get('schema_version')!r}; this radiomix reads "
                                     f"version {SCHEMA_VERSION}", path=name)
    if content.get("radiomix_version") != radiomix.__version__:
        raise IncompatibleFilesError(f"written by radiomix {content.get('radiomix_version')!r}, but this is "
                                     f"radiomix {radiomix.__version__}: every site and the coordinator must run "
                                     "the same version", path=name)
    return content, name


def _check_same(files: list[tuple[dict, str]], key: str, what: str) -> None:
    """Every file holds the same ``key``; the message names the first difference."""
    first, first_name = files[0]
    for content, name in files[1:]:
        if content[key] == first[key]:
            continue
        if isinstance(first[key], dict):
            differences = [f"{k}: {first[key].get(k)!r} in {first_name}, {content[key].get(k)!r} here"
                           for k in sorted(set(first[key]) | set(content[key]))
                           if first[key].get(k) != content[key].get(k)]
            detail = "; ".join(differences)
        elif isinstance(first[key], list):
            only_first = [v for v in first[key] if v not in content[key]]
            only_here = [v for v in content[key] if v not in first[key]]
            detail = (f"{len(only_first)} only in {first_name} (e.g. {only_first[:3]}), {len(only_here)} only here "
                      f"(e.g. {only_here[:3]})" if only_first or only_here else "same names in another order")
        else:
            detail = f"{first[key]!r} in {first_name}, {content[key]!r} here"
        raise IncompatibleFilesError(f"{what} differ from those of {first_name}: {detail}", path=name)


def _fingerprint(content: dict) -> str:
    body = {k: v for k, v in content.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(_json_ready(body), sort_keys=True).encode()).hexdigest()


# ------------------------------------------------------------------------------ round 1: combine
def _merge_moments(a: dict, b: dict) -> dict:
    """Per-feature moments of the union of two disjoint groups (Chan, Golub & LeVeque's pairwise update)."""
    n = a["n"] + b["n"]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n > 0, b["n"] / n, 0.0)
        weight = np.where(n > 0, a["n"] * b["n"] / n, 0.0)
    dx = b["covariate_mean"] - a["covariate_mean"]
    dy = b["feature_mean"] - a["feature_mean"]
    return {
        "n": n,
        "covariate_mean": a["covariate_mean"] + dx * share[:, None],
        "covariate_cross_products": a["covariate_cross_products"] + b["covariate_cross_products"]
        + weight[:, None, None] * dx[:, :, None] * dx[:, None, :],
        "feature_mean": a["feature_mean"] + dy * share,
        "covariate_feature_cross_products": a["covariate_feature_cross_products"]
        + b["covariate_feature_cross_products"] + weight[:, None] * dx * dy[:, None],
        "feature_sum_squares": a["feature_sum_squares"] + b["feature_sum_squares"] + weight * dy**2,
    }


def _entry_moments(entry: dict, index: np.ndarray, n_extended: int, n_features: int) -> dict:
    """A site file's batch entry as per-feature moments over the pooled covariate columns.

    Shapes: ``n``, ``feature_mean``, ``feature_sum_squares`` (F,); ``covariate_mean``
    and ``covariate_feature_cross_products`` (F, q); ``covariate_cross_products`` (F, q, q).
    """
    moments = {"n": _floats(entry["feature_count"]), "feature_mean": _floats(entry["feature_mean"]),
               "feature_sum_squares": _floats(entry["feature_sum_squares"]),
               "covariate_mean": np.zeros((n_features, n_extended)),
               "covariate_cross_products": np.zeros((n_features, n_extended, n_extended)),
               "covariate_feature_cross_products": np.zeros((n_features, n_extended))}
    if index.size:
        moments["covariate_feature_cross_products"][:, index] = _floats(
            entry["covariate_feature_cross_products"]).reshape(index.size, n_features).T
        for group in entry["groups"]:
            columns = np.asarray(group["features"], dtype=int)
            moments["covariate_mean"][np.ix_(columns, index)] = _floats(group["covariate_mean"])
            moments["covariate_cross_products"][np.ix_(columns, index, index)] = _floats(
                group["covariate_cross_products"])
    return moments


def combine_site_statistics(files: Iterable, *, ref_batch=None, min_patients: int = DEFAULT_MIN_PATIENTS) -> dict:
    """Round 1 at the coordinator: the pooled regression from the sites' statistics.

    Parameters
    ----------
    files : iterable of path or dict
        Site statistics (:func:`site_statistics`), one per site. A batch label
        found in several files is one batch (its moments are merged).
    ref_batch : str, optional
        Reference batch: left unchanged, the others mapped onto it.
    min_patients : int, default=5
        The coordinator's own minimum per site and batch (files below it are refused).

    Returns
    -------
    dict
        The pooled regression, to send to every site for :func:`residual_statistics`.

    Raises
    ------
    IncompatibleFilesError, TooFewPatientsError
    """
    min_patients = _check_min_patients(min_patients)
    loaded = [_load(item, KIND_SITE_STATISTICS) for item in files]
    if not loaded:
        raise ValueError("no site statistics given")
    _check_same(loaded, "settings", "settings")
    _check_same(loaded, "feature_names", "feature names")
    settings = DistributedSettings.from_dict(loaded[0][0]["settings"])
    feature_names = loaded[0][0]["feature_names"]
    categories = {column: _sorted_labels([level for content, _ in loaded for c, level in content["covariate_columns"]
                                          if c == column], f"levels of {column!r}")
                  for column in settings.categorical}
    extended = [(column, None) for column in settings.covariates]
    extended += [(column, level) for column in settings.categorical for level in categories[column]]
    position = {key: i for i, key in enumerate(extended)}

    merged: dict = {}
    sizes_by_batch: dict = {}
    n_features = len(feature_names)
    for content, name in loaded:
        _refuse_small(content["n_patients"], min_patients, "the site", name)
        index = np.asarray([position[tuple(key)] for key in content["covariate_columns"]], dtype=int)
        for entry in content["batches"]:
            _refuse_small(entry["n"], min_patients, f"batch {entry['batch']!r}", name)
            moments = _entry_moments(entry, index, len(extended), n_features)
            label = entry["batch"]
            merged[label] = moments if label not in merged else _merge_moments(merged[label], moments)
            sizes_by_batch[label] = sizes_by_batch.get(label, 0) + entry["n"]

    batches = _sorted_labels(merged, "batch labels")
    ref_index = None
    if ref_batch is not None:
        matches = [b for b in batches if b == ref_batch or str(b) == str(ref_batch)]
        if not matches:
            raise IncompatibleFilesError(f"ref_batch {ref_batch!r} is not among the batches {batches}")
        ref_batch = matches[0]
        ref_index = batches.index(ref_batch)
    counts = np.asarray([merged[b]["n"] for b in batches]).reshape(len(batches), n_features)
    for k, label in enumerate(batches):
        needed = 2 if k == ref_index else 1
        short = counts[k] < needed
        if short.any():
            raise IncompatibleFilesError(
                f"batch {label!r} has fewer than {needed} observed value(s) of feature(s) "
                f"{[n for n, s_ in zip(feature_names, short) if s_][:5]}; ComBat cannot estimate its effect "
                "(drop these features or merge the batch)")
    # Drop the first level of each categorical covariate, as ComBat encodes it.
    dropped = {position[(column, categories[column][0])] for column in settings.categorical if categories[column]}
    keep = np.asarray([i for i in range(len(extended)) if i not in dropped], dtype=int)
    covariate_names = [str(column) if level is None else f"{column}[{level}]"
                       for column, level in (extended[i] for i in keep)]
    within = sum(merged[b]["covariate_cross_products"][:, keep][:, :, keep] for b in batches)
    within_xy = sum(merged[b]["covariate_feature_cross_products"][:, keep] for b in batches)
    beta = _within_batch_coefficients(within, within_xy, covariate_names, feature_names)
    batch_location = np.asarray([merged[b]["feature_mean"]
                                 - np.einsum("fq,fq->f", merged[b]["covariate_mean"][:, keep], beta)
                                 for b in batches])
    if ref_index is None:
        grand_mean = np.sum(counts * batch_location, axis=0) / counts.sum(axis=0)
    else:
        grand_mean = batch_location[ref_index]
    sum_squares = sum(merged[b]["feature_sum_squares"] + merged[b]["n"] * merged[b]["feature_mean"] ** 2
                      for b in batches)
    sizes = [int(sizes_by_batch[b]) for b in batches]
    regression = {**_header(KIND_REGRESSION), "settings": settings.to_dict(), "min_patients": min_patients,
                  "feature_names": feature_names, "batches": batches, "batch_sizes": sizes,
                  "n_observed": counts.astype(int).tolist(), "ref_batch": ref_batch, "categories": categories,
                  "covariate_names": covariate_names, "grand_mean": grand_mean.tolist(),
                  "covariate_coef": beta.T.tolist(), "batch_location": batch_location.tolist(),
                  "feature_root_mean_square": np.sqrt(sum_squares / counts.sum(axis=0)).tolist()}
    regression["sha256"] = _fingerprint(regression)
    return regression


def _within_batch_coefficients(within: np.ndarray, within_xy: np.ndarray, names: list,
                                feature_names: list) -> np.ndarray:
    """Covariate effects of the batch-intercept regression, per feature: solve ``W_f beta_f = w_f`` (scaled).

    Parameters
    ----------
    within : ndarray of shape (n_features, q, q)
    within_xy : ndarray of shape (n_features, q)

    Returns
    -------
    ndarray of shape (n_features, q)
    """
    n_features, q = within_xy.shape
    if q == 0:
        return np.zeros((n_features, 0))
    scale = np.sqrt(np.einsum("fii->fi", within))
    flat = scale == 0
    scaled = within / np.where(flat, 1.0, scale)[:, :, None] / np.where(flat, 1.0, scale)[:, None, :]
    singular = flat.any(axis=1) | (np.linalg.matrix_rank(scaled) < q)
    if singular.any():
        columns = sorted({names[j] for j in np.flatnonzero(flat.any(axis=0))}) or names
        raise IncompatibleFilesError(
            f"the ComBat design (batches and covariates) is not of full rank on the patients where feature(s) "
            f"{[n for n, s_ in zip(feature_names, singular) if s_][:5]} are observed: covariate column(s) "
            f"{columns[:5]} do not vary within batches or are collinear; leave them out")
    return np.linalg.solve(scaled, (within_xy / scale)[:, :, None])[:, :, 0] / scale


# ----------------------------------------------------------------------------- round 2: sites
def _regression_arrays(regression: dict) -> tuple[np.ndarray, np.ndarray]:
    grand_mean = _floats(regression["grand_mean"])
    coef = np.asarray(regression["covariate_coef"], dtype=float).reshape(len(regression["covariate_names"]),
                                                                          grand_mean.size)
    return grand_mean, coef


def _encode_covariates(site: _SiteTable, settings: DistributedSettings, categories: dict, path) -> np.ndarray:
    """The covariate design with the pooled levels (first level dropped)."""
    blocks = [site.continuous]
    for column in settings.categorical:
        levels = np.asarray(categories[column], dtype=object)
        unknown = sorted(set(site.categorical[column]) - set(levels), key=str)
        if unknown:
            raise IncompatibleFilesError(f"categorical covariate {column!r} has level(s) {unknown} not seen in "
                                         f"round 1 (known: {list(levels)})", path=path)
        blocks.append((site.categorical[column][:, None] == levels[None, 1:]).astype(float))
    return np.hstack(blocks)


def _check_feature_names(site: _SiteTable, expected: list, path) -> np.ndarray:
    """Positions of the expected features among the table's features (same set required)."""
    if sorted(site.feature_names) != sorted(expected):
        missing = [n for n in expected if n not in site.feature_names]
        extra = [n for n in site.feature_names if n not in expected]
        raise IncompatibleFilesError(f"the table's feature columns differ from the harmonizer's: missing "
                                     f"{missing[:5]}{' ...' if len(missing) > 5 else ''}, not harmonized "
                                     f"{extra[:5]}{' ...' if len(extra) > 5 else ''}", path=path)
    return np.asarray([site.feature_names.index(n) for n in expected], dtype=int)


def residual_statistics(source, regression, *, min_patients: int = DEFAULT_MIN_PATIENTS) -> dict:
    """Round 2 at a site: per-batch count, mean and spread of the residuals of the pooled regression.

    Parameters
    ----------
    source : path or DataFrame
        The same site table as in round 1.
    regression : path or dict
        The coordinator's pooled regression (:func:`combine_site_statistics`).
    min_patients : int, default=5

    Returns
    -------
    dict
        The round-2 file's content (fields: :data:`RESIDUAL_STATISTICS_FIELDS`).
    """
    min_patients = _check_min_patients(min_patients)
    regression, _ = _load(regression, KIND_REGRESSION)
    settings = DistributedSettings.from_dict(regression["settings"])
    path = None if isinstance(source, pd.DataFrame) else str(source)
    site = _split_table(source, settings, for_statistics=True)
    _refuse_small(len(site.batches), min_patients, "the site", path)
    order = _check_feature_names(site, regression["feature_names"], path)
    unknown = sorted(set(site.batches) - set(regression["batches"]), key=str)
    if unknown:
        raise IncompatibleFilesError(f"batch(es) {unknown} were not in round 1 (batches: {regression['batches']})",
                                     path=path)
    grand_mean, coef = _regression_arrays(regression)
    covariates = _encode_covariates(site, settings, regression["categories"], path)
    residuals = site.features[:, order] - grand_mean - covariates @ coef
    batches = []
    for label in _sorted_labels(site.batches, "batch labels"):
        rows = site.batches == label
        _refuse_small(int(rows.sum()), min_patients, f"batch {label!r}", path)
        _refuse_rare_patterns(site, rows, label, min_patients, path)
        observed = np.isfinite(residuals[rows])
        count = observed.sum(axis=0)
        values = np.where(observed, residuals[rows], 0.0)
        mean = np.divide(values.sum(axis=0), count, out=np.zeros(count.size), where=count > 0)
        squares = np.sum(np.where(observed, residuals[rows] - mean, 0.0) ** 2, axis=0)
        batches.append({"batch": label, "n": int(rows.sum()), "feature_count": count.tolist(),
                        "residual_mean": mean.tolist(), "residual_sum_squares": squares.tolist()})
    return {**_header(KIND_RESIDUAL_STATISTICS), "regression_sha256": regression["sha256"],
            "settings": settings.to_dict(), "min_patients": min_patients,
            "feature_names": regression["feature_names"], "batches": batches}


# --------------------------------------------------------------------------- round 2: combine
def combine_residual_statistics(files: Iterable, regression) -> dict:
    """Round 2 at the coordinator: the fitted harmonizer.

    Parameters
    ----------
    files : iterable of path or dict
        Residual statistics (:func:`residual_statistics`) of every site of round 1.
    regression : path or dict
        The pooled regression they were computed with.

    Returns
    -------
    dict
        The harmonizer (:func:`apply_harmonizer`): the estimates of
        :class:`radiomix.harmonize.ComBat` under the same names.

    Raises
    ------
    IncompatibleFilesError
        A file of another regression, or batch counts that differ from round 1.
    """
    regression, regression_name = _load(regression, KIND_REGRESSION)
    if _fingerprint(regression) != regression.get("sha256"):
        raise IncompatibleFilesError("the pooled regression was modified after it was written (fingerprint "
                                     "mismatch)", path=regression_name)
    loaded = [_load(item, KIND_RESIDUAL_STATISTICS) for item in files]
    if not loaded:
        raise ValueError("no residual statistics given")
    for content, name in loaded:
        if content["regression_sha256"] != regression["sha256"]:
            raise IncompatibleFilesError(f"computed from another pooled regression ({content['regression_sha256'][:12]}"
                                         f"..., expected {regression['sha256'][:12]}...)", path=name)
    settings = DistributedSettings.from_dict(regression["settings"])
    batches = regression["batches"]
    merged: dict = {}
    for content, _ in loaded:
        for entry in content["batches"]:
            moments = (_floats(entry["feature_count"]), _floats(entry["residual_mean"]),
                       _floats(entry["residual_sum_squares"]))
            if entry["batch"] in merged:
                n_a, mean_a, ss_a = merged[entry["batch"]]
                n_b, mean_b, ss_b = moments
                n = n_a + n_b
                with np.errstate(invalid="ignore", divide="ignore"):
                    share = np.where(n > 0, n_b / n, 0.0)
                    weight = np.where(n > 0, n_a * n_b / n, 0.0)
                moments = (n, mean_a + (mean_b - mean_a) * share, ss_a + ss_b + weight * (mean_b - mean_a) ** 2)
            merged[entry["batch"]] = moments
    counts = np.asarray(regression["n_observed"], dtype=int)
    for label, expected in zip(batches, counts):
        found = merged[label][0] if label in merged else np.zeros(expected.size)
        if not np.array_equal(found, expected):
            raise IncompatibleFilesError(f"batch {label!r} has {int(found.max())} patient(s) with feature values in "
                                         f"the residual statistics but {int(expected.max())} in round 1 (or other "
                                         "missing values): every site must send round 2, from the same table")
    means = np.asarray([merged[b][1] for b in batches])
    sums = np.asarray([merged[b][2] for b in batches])
    grand_mean, coef = _regression_arrays(regression)
    offsets = np.asarray(regression["batch_location"], dtype=float) - grand_mean
    squares = sums + counts * (means - offsets) ** 2
    ref = None if regression["ref_batch"] is None else batches.index(regression["ref_batch"])
    if ref is None:
        pooled_std = np.sqrt(squares.sum(axis=0) / counts.sum(axis=0))
    else:
        pooled_std = np.sqrt(squares[ref] / counts[ref])
    zero_variance = pooled_std <= ZERO_SPREAD_RTOL * _floats(regression["feature_root_mean_square"])
    pooled_std = np.where(zero_variance, 1.0, pooled_std)
    eb = settings.eb and np.count_nonzero(~zero_variance) >= 2
    if settings.eb and not eb:
        warnings.warn("empirical Bayes needs at least 2 features with non-zero residual variance to estimate its "
                      "priors; the plain per-batch estimates are used (as with eb=False)", ComBatWarning,
                      stacklevel=2)
    gamma_hat = means / pooled_std
    standardized_squares = sums / pooled_std**2
    delta_hat, gamma_star, delta_star = (np.empty_like(gamma_hat) for _ in range(3))
    for k in range(len(batches)):
        delta_hat[k], gamma_star[k], delta_star[k] = _batch_adjustments(
            gamma_hat[k], standardized_squares[k], counts[k], zero_variance, parametric=settings.parametric,
            eb=eb and k != ref, mean_only=settings.mean_only)
    if settings.mean_only:
        delta_hat = np.ones_like(delta_hat)
    if ref is not None:
        gamma_star[ref], delta_star[ref] = 0.0, 1.0
    names = regression["feature_names"]
    harmonizer = {**_header(KIND_HARMONIZER), "regression_sha256": regression["sha256"],
                  "settings": settings.to_dict(), "feature_names": names, "batches": batches,
                  "batch_sizes": regression["batch_sizes"], "ref_batch": regression["ref_batch"],
                  "categories": regression["categories"], "covariate_names": regression["covariate_names"],
                  "grand_mean": grand_mean, "covariate_coef": coef, "pooled_std": pooled_std,
                  "zero_variance_features": [n for n, z in zip(names, zero_variance) if z],
                  "empirical_bayes": bool(eb), "gamma_hat": gamma_hat, "delta_hat": delta_hat,
                  "gamma_star": gamma_star, "delta_star": delta_star}
    return _json_ready(harmonizer)


def combine_files(files: Sequence, *, ref_batch=None, regression=None,
                  min_patients: int = DEFAULT_MIN_PATIENTS) -> dict:
    """Combine site files of either round (``radiomix harmonize combine``).

    Round-1 site statistics give the pooled regression (``ref_batch`` chosen
    here); round-2 residual statistics, with the ``regression`` they were
    computed from, give the harmonizer.
    """
    if not files:
        raise DistributedComBatError("no site file given")
    first, _ = _load(files[0], (KIND_SITE_STATISTICS, KIND_RESIDUAL_STATISTICS))
    if first["kind"] == KIND_SITE_STATISTICS:
        if regression is not None:
            raise DistributedComBatError("round-1 site statistics are combined without a regression; the "
                                         "regression is what this step writes")
        return combine_site_statistics(files, ref_batch=ref_batch, min_patients=min_patients)
    if regression is None:
        raise DistributedComBatError("residual statistics (round 2) are combined with the pooled regression they "
                                     "were computed from: add --regression")
    if ref_batch is not None:
        raise DistributedComBatError("the reference batch is chosen in round 1 (it is in the regression); "
                                     "drop --ref-batch here")
    return combine_residual_statistics(files, regression)


# ---------------------------------------------------------------------------------- apply
def apply_harmonizer(source, harmonizer) -> pd.DataFrame:
    """Harmonize a site's table with a harmonizer fitted elsewhere.

    Parameters
    ----------
    source : path or DataFrame
        A table with the batch column, the covariates and the harmonizer's
        feature columns (missing values stay missing).
    harmonizer : path or dict
        From :func:`combine_residual_statistics`.

    Returns
    -------
    DataFrame
        The same columns and rows, feature columns harmonized (rows of the
        reference batch unchanged).

    Raises
    ------
    IncompatibleFilesError
        Features, batches or categorical levels the harmonizer does not know.
    """
    harmonizer, _ = _load(harmonizer, KIND_HARMONIZER)
    settings = DistributedSettings.from_dict(harmonizer["settings"])
    table, path = _read_table(source, settings, "table to harmonize")
    site = _split_table(table, settings, for_statistics=False)
    order = _check_feature_names(site, harmonizer["feature_names"], path)
    batches = list(harmonizer["batches"])
    labelled = ~pd.isna(site.batches)
    unknown = sorted(set(site.batches[labelled]) - set(batches), key=str)
    if unknown:
        raise IncompatibleFilesError(f"batch(es) {unknown} are not known to the harmonizer (batches: {batches}): "
                                     "a site must take part in the fit to be harmonized", path=path)
    codes = np.asarray([batches.index(b) for b in site.batches[labelled]], dtype=int)
    covariates = _encode_covariates(site, settings, harmonizer["categories"], path)[labelled]
    ref = None if harmonizer["ref_batch"] is None else batches.index(harmonizer["ref_batch"])
    harmonized = apply_combat(
        site.features[labelled][:, order], codes, covariates, grand_mean=_floats(harmonizer["grand_mean"]),
        covariate_coef=np.asarray(harmonizer["covariate_coef"], dtype=float).reshape(covariates.shape[1],
                                                                                     order.size),
        pooled_std=_floats(harmonizer["pooled_std"]), gamma_star=_floats(harmonizer["gamma_star"]),
        delta_star=_floats(harmonizer["delta_star"]), ref_index=ref)
    result = table.copy()
    rows = np.flatnonzero(site.kept_rows)[labelled]
    columns = site.feature_positions[order]
    values = np.array(result.iloc[:, columns].to_numpy(dtype=float), copy=True)
    values[rows] = harmonized
    for j, column in enumerate(columns):
        result[result.columns[column]] = values[:, j]
    return result


def harmonize_wide_table(wide, clinical, harmonizer, batch_labels: pd.Series | None = None) -> pd.DataFrame:
    """A cohort's wide feature table harmonized with a harmonizer fitted elsewhere.

    The batch column and covariates named by the harmonizer are taken from the
    clinical table (the batch labels from ``batch_labels`` when the clinical
    table has no batch column, e.g. each patient's site in the manifest).
    Patients absent from the clinical table are left unchanged (a model cannot
    use them).

    Parameters
    ----------
    wide : path or DataFrame
        ``patient_id`` and the harmonizer's feature columns.
    clinical : path or DataFrame
        ``patient_id`` and the covariates (and the batch column).
    harmonizer : path or dict
        From :func:`combine_residual_statistics`.
    batch_labels : Series, optional
        Batch label by patient ID.

    Returns
    -------
    DataFrame
        ``wide`` with its feature columns harmonized.
    """
    content, _ = _load(harmonizer, KIND_HARMONIZER)
    settings = DistributedSettings.from_dict(content["settings"])
    features = wide if isinstance(wide, pd.DataFrame) else pd.read_csv(wide, dtype={ID_COLUMN: str})
    info = clinical if isinstance(clinical, pd.DataFrame) else pd.read_csv(clinical, dtype={ID_COLUMN: str})
    named = [settings.batch_column, *settings.covariates, *settings.categorical]
    info = info[[ID_COLUMN, *(c for c in named if c in info.columns)]].copy()
    if settings.batch_column not in info.columns and batch_labels is not None:
        as_fitted = {str(label): label for label in content["batches"]}   # manifest sites are text
        info[settings.batch_column] = [None if pd.isna(v) else as_fitted.get(str(v), v)
                                       for v in info[ID_COLUMN].map(batch_labels)]
    known = features[ID_COLUMN].isin(info[ID_COLUMN]).to_numpy()
    table = features[known].merge(info, on=ID_COLUMN, how="left")
    harmonized = features.copy()
    values = apply_harmonizer(table, content)
    for column in content["feature_names"]:
        column_values = np.array(harmonized[column].to_numpy(dtype=float), copy=True)
        column_values[known] = values[column].to_numpy(dtype=float)
        harmonized[column] = column_values
    return harmonized
