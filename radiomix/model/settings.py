"""Typed, frozen settings of the model evaluation (fusion, selection, XGBoost, cross-validation).

Every setting has one canonical name and one default, declared once below; the
defaults suit a real cohort of a few hundred patients. Settings come from a
mapping or a YAML file (:func:`load_evaluation_settings`): unknown or misspelled
keys are :class:`~radiomix.errors.SpecError` with a "did you mean" suggestion.

Example (YAML)::

    fusion: late
    missing_modality: per_modality
    selection: mrmr
    mrmr_n_features: 15
    n_repeats: 5
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from radiomix.errors import SpecError
from radiomix.safe_yaml import load_yaml
from radiomix.typed_settings import build_settings as build_settings

Fusion = Literal["early", "late"]
MissingModality = Literal["indicator", "per_modality"]
Selection = Literal["fdr", "mrmr"]
Harmonization = Literal["per_modality", "pooled"]
UnseenBatch = Literal["error", "passthrough"]


@dataclass(frozen=True)
class EvaluationSettings:
    """Settings of :func:`radiomix.model.evaluation.evaluate_cohort`.

    Attributes
    ----------
    fusion : {"early", "late"}
        ``early``: one model on the clinical columns and every modality's
        features side by side. ``late``: one model per modality and one on the
        clinical columns, their margins (log-odds) stacked by a logistic
        regression fitted on inner out-of-fold margins.
    missing_modality : {"indicator", "per_modality"}
        Patients without a modality. ``indicator``: its features stay missing
        (XGBoost's learned default branch) and a 0/1 column
        ``<MODALITY>__missing`` is added for each modality missing in some
        training patients. ``per_modality`` (late fusion only): each modality's
        model is fitted on the patients who have the modality; for the others
        the stacker receives that model's mean training margin plus the missing
        indicator.
    harmonization : {"per_modality", "pooled"}
        With a batch column: one ComBat per modality (each with its own
        empirical-Bayes priors), or one ComBat over all radiomic features.
    combat_covariates : tuple of str
        Clinical columns (as encoded, e.g. ``age``, ``sex=M``) whose effect
        ComBat preserves. Empty: none.
    combat_parametric, combat_eb, combat_mean_only : bool
        Passed to :class:`radiomix.harmonize.ComBat`.
    combat_unseen_batch : {"error", "passthrough"}
        A test fold holding a batch absent from its training fold: stop with an
        error naming it, or leave those rows unharmonized (with a warning).
        Default ``passthrough``, so that a small site never stops the evaluation.
    combat_min_batch_size : int
        Small-site policy: a site with fewer patients than this (with values of
        the modality) in a training fold is left out of that fold's ComBat and
        its patients are left unharmonized, with a warning naming the site; the
        other sites are harmonized as usual. Together with the ``passthrough``
        default above, a site too small for ComBat never stops the evaluation
        inside a fold. 1: every site present in a training fold is harmonized,
        even from one patient (location only).
    near_zero_frequency_ratio : float
        A feature whose most common value is more than this many times as
        frequent as the second most common ...
    near_zero_unique_percent : float
        ... and whose distinct values are at most this percentage of the
        samples is removed (caret's ``nearZeroVar``: 95/5 and 10 %).
    correlation_threshold : float
        Features are clustered (complete linkage on ``1 - |Spearman rho|``) so
        that within a cluster every pair has ``|rho|`` at least this; one
        feature per cluster is kept.
    selection : {"fdr", "mrmr"}
        Last selection step: Kruskal-Wallis tests with Benjamini-Hochberg false
        discovery rate, or minimum-redundancy maximum-relevance.
    fdr_alpha : float
        False discovery rate of the ``fdr`` step.
    fdr_min_features : int
        When fewer features pass the FDR, this many with the smallest p-values
        are kept (a model needs inputs).
    fdr_max_features : int or None
        At most this many features (smallest p-values) pass; ``None``: no cap.
    mrmr_n_features : int
        Features chosen by ``mrmr``.
    n_estimators, learning_rate, subsample, colsample_bytree : int or float
        Fixed XGBoost parameters (trees, shrinkage, row and column subsampling).
    max_depth_grid, min_child_weight_grid, reg_lambda_grid : tuple
        XGBoost parameters searched in the inner loop (every combination).
        ``min_child_weight`` is a sum of Hessians ``p (1 - p) <= 0.25`` per
        row, so a value ``w`` needs at least ``4 w`` (sub-sampled) training rows
        in each leaf: with ``w = 5`` and ``subsample = 0.8`` no tree can split
        below about 50 training rows and the candidate predicts a constant
        (inner AUROC 0.5). Inner training folds hold about ``0.53 n`` of ``n``
        patients (5 x 3 folds), so below about 95 patients the default grid's
        ``5`` is a no-skill candidate, chosen only when every learning
        candidate scores below chance in the inner loop.
    n_outer_splits, n_repeats : int
        Repeated stratified K-fold of the outer loop.
    n_inner_splits : int
        Stratified K-fold of the inner loop (hyper-parameters, decision
        threshold, and the late-fusion stacker's training margins).
    late_fusion_c : float
        Inverse L2 penalty of the late-fusion stacker (logistic regression).
    positive_class : str or None
        Binary outcome: the class counted as positive (compared with the
        outcome column's values as text); ``None``: the larger of the two
        (sorted) values.
    n_bootstrap : int
        Bootstrap resamples of patients for every 95 % confidence interval.
    n_shap_waterfalls : int
        Patients shown with a SHAP waterfall plot in the report.
    random_state : int
        Seed of every split, resample and model.
    n_jobs : int
        Processes fitting the outer folds (of every model at once) and the
        leave-one-site-out models, joblib's convention: -1 one per core, 1 none
        (all in this process). XGBoost itself uses one thread, so results do
        not depend on this.
    data_description : str
        One sentence about the data shown on the report's first screen (e.g.
        ``"Synthetic data generated by radiomix.synthetic"``); empty: none.
    """

    fusion: Fusion = "early"
    missing_modality: MissingModality = "indicator"
    harmonization: Harmonization = "per_modality"
    combat_covariates: tuple[str, ...] = ()
    combat_parametric: bool = True
    combat_eb: bool = True
    combat_mean_only: bool = False
    combat_unseen_batch: UnseenBatch = "passthrough"
    combat_min_batch_size: int = 3
    near_zero_frequency_ratio: float = 95.0 / 5.0
    near_zero_unique_percent: float = 10.0
    correlation_threshold: float = 0.9
    selection: Selection = "fdr"
    fdr_alpha: float = 0.05
    fdr_min_features: int = 5
    fdr_max_features: int | None = None
    mrmr_n_features: int = 20
    n_estimators: int = 200
    learning_rate: float = 0.05
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    max_depth_grid: tuple[int, ...] = (2, 4)
    min_child_weight_grid: tuple[float, ...] = (1.0, 5.0)
    reg_lambda_grid: tuple[float, ...] = (1.0,)
    n_outer_splits: int = 5
    n_repeats: int = 3
    n_inner_splits: int = 3
    late_fusion_c: float = 1.0
    positive_class: str | None = None
    n_bootstrap: int = 1000
    n_shap_waterfalls: int = 3
    random_state: int = 0
    n_jobs: int = -1
    data_description: str = ""

    def __post_init__(self):
        _validate(self)

    def to_dict(self) -> dict:
        """Plain-data form (tuples as lists), loadable by :func:`load_evaluation_settings`."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def content_hash(self) -> str:
        """SHA-256 (hex, first 16 characters) of the canonical JSON of the settings."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def xgboost_grid(self) -> dict[str, tuple]:
        """The inner-loop search space, keyed by XGBoost parameter name."""
        return {"max_depth": self.max_depth_grid, "min_child_weight": self.min_child_weight_grid,
                "reg_lambda": self.reg_lambda_grid}


def _validate(settings: EvaluationSettings) -> None:
    """Cross-field and range checks that a type annotation cannot express."""
    if settings.missing_modality == "per_modality" and settings.fusion != "late":
        raise SpecError("missing_modality 'per_modality' fits one model per modality: set fusion to "
                        "'late', or use missing_modality 'indicator' with early fusion")
    positive = {"near_zero_frequency_ratio": settings.near_zero_frequency_ratio,
                "learning_rate": settings.learning_rate, "late_fusion_c": settings.late_fusion_c}
    for name, value in positive.items():
        if not value > 0:
            raise SpecError(f"{name} must be positive, got {value}")
    fractions = {"correlation_threshold": settings.correlation_threshold, "fdr_alpha": settings.fdr_alpha,
                 "subsample": settings.subsample, "colsample_bytree": settings.colsample_bytree}
    for name, value in fractions.items():
        if not 0 < value <= 1:
            raise SpecError(f"{name} must lie in (0, 1], got {value}")
    if not 0 <= settings.near_zero_unique_percent <= 100:
        raise SpecError(f"near_zero_unique_percent is a percentage in [0, 100], "
                        f"got {settings.near_zero_unique_percent}")
    counts = {"fdr_min_features": settings.fdr_min_features, "mrmr_n_features": settings.mrmr_n_features,
              "n_estimators": settings.n_estimators, "n_repeats": settings.n_repeats,
              "combat_min_batch_size": settings.combat_min_batch_size}
    for name, value in counts.items():
        if value < 1:
            raise SpecError(f"{name} must be at least 1, got {value}")
    if settings.n_jobs == 0:
        raise SpecError("n_jobs must be -1 (one process per core), 1 (no parallel processes) or more, got 0")
    if settings.fdr_max_features is not None and settings.fdr_max_features < settings.fdr_min_features:
        raise SpecError(f"fdr_max_features ({settings.fdr_max_features}) is below fdr_min_features "
                        f"({settings.fdr_min_features})")
    for name in ("n_outer_splits", "n_inner_splits"):
        if getattr(settings, name) < 2:
            raise SpecError(f"{name} must be at least 2 (K-fold cross-validation)")
    if settings.n_bootstrap < 10:
        raise SpecError(f"n_bootstrap must be at least 10 for a percentile interval, got {settings.n_bootstrap}")
    if settings.n_shap_waterfalls < 0:
        raise SpecError("n_shap_waterfalls must be 0 or more")
    for name, grid in settings.xgboost_grid().items():
        if not grid:
            raise SpecError(f"{name}_grid is empty: give at least one value")
    if min(settings.max_depth_grid) < 1:
        raise SpecError("max_depth_grid values must be at least 1")


def load_evaluation_settings(
    settings: None | str | Path | Mapping | EvaluationSettings,
) -> EvaluationSettings:
    """Evaluation settings from ``None`` (defaults), a YAML path, a mapping, or unchanged.

    Raises
    ------
    SpecError
        Unknown key (with a suggestion), wrong type, invalid value or combination,
        or an unreadable file (named in the message).
    """
    if settings is None:
        return EvaluationSettings()
    if isinstance(settings, EvaluationSettings):
        return settings
    where = "evaluation settings"
    if isinstance(settings, (str, Path)):
        where = str(settings)
        try:
            data = load_yaml(Path(settings).read_text())
        except OSError as exc:
            raise SpecError(f"{where}: cannot read settings file ({exc.strerror})") from exc
        except yaml.YAMLError as exc:
            raise SpecError(f"{where}: not valid YAML ({exc})") from exc
        settings = {} if data is None else data
    if not isinstance(settings, Mapping):
        raise SpecError(f"{where}: expected a mapping of settings, got {type(settings).__name__}")
    try:
        return build_settings(EvaluationSettings, settings, where)
    except SpecError as exc:
        if str(exc).startswith(where):
            raise
        raise SpecError(f"{where}: {exc}") from None
