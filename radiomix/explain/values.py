"""SHAP values of a fitted radiomix model, per feature, per patient and per modality.

The values are TreeSHAP (:class:`shap.TreeExplainer`, path-dependent) in the
model's margin (log-odds) space, so that for every patient and class::

    expected_value + sum_features shap_value = margin

exactly (to float32 rounding). The features are the model's own inputs:
harmonized, selected radiomic features, clinical columns and missing-modality
indicators.

For late fusion, the stacker is linear in the base models' margins, so each
base model's SHAP values scaled by the stacker's coefficients are the exact
SHAP decomposition of the fused margin; the indicator terms of a missing
modality (and, with per-modality models, the stacker's fill-in margin minus the
base model's expected value) are attributed to the pseudo-feature
``<MODALITY>__missing``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shap
from sklearn.pipeline import Pipeline

from radiomix.model.data import ColumnLayout
from radiomix.model.fusion import (
    LateFusionClassifier,
    group_of_feature,
    missing_indicator,
)
from radiomix.model.search import TunedClassifier


@dataclass(frozen=True)
class ShapExplanation:
    """SHAP decomposition of a model's margin for a set of patients.

    Attributes
    ----------
    values : ndarray of shape (n_patients, n_features, n_margins)
        SHAP values; ``n_margins`` is 1 for a binary outcome (log-odds of the
        positive class), else the number of classes.
    expected_value : ndarray of shape (n_margins,)
    margin : ndarray of shape (n_patients, n_margins)
        The model's margin output.
    data : DataFrame
        The model-input values (index: patient IDs; columns: features).
    groups : dict of str to str
        Feature -> modality or ``clinical``.
    margin_labels : tuple of str
        What each margin column is: the positive class (binary) or each class.
    """

    values: np.ndarray
    expected_value: np.ndarray
    margin: np.ndarray
    data: pd.DataFrame
    groups: dict
    margin_labels: tuple

    def margin_name(self, margin: int) -> str:
        """What margin column ``margin`` measures, for titles: log-odds (binary) or a class's softmax margin."""
        if len(self.margin_labels) == 1:
            return f"log-odds of {self.margin_labels[0]}"
        return f"softmax margin of class {self.margin_labels[margin]}"

    @property
    def features(self) -> list[str]:
        """Feature names in column order."""
        return list(self.data.columns)

    def mean_abs(self) -> np.ndarray:
        """Mean |SHAP| of each feature over patients (and classes)."""
        return np.abs(self.values).mean(axis=(0, 2))

    def per_feature(self) -> pd.DataFrame:
        """``feature, modality, mean_abs_shap, rank`` (rank 1 = largest), sorted by rank."""
        table = pd.DataFrame({"feature": self.features,
                              "modality": [self.groups[f] for f in self.features],
                              "mean_abs_shap": self.mean_abs()})
        table = table.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)
        table["rank"] = np.arange(1, len(table) + 1)
        return table

    def per_modality(self) -> pd.DataFrame:
        """``modality, n_features, sum_mean_abs_shap, share``: sum of mean |SHAP| of each group's features.

        Groups are the modalities (with their missing indicators) and ``clinical``;
        ``share`` is the group's fraction of the total.
        """
        per_feature = self.per_feature()
        order = list(dict.fromkeys(self.groups.values()))
        summary = (per_feature.groupby("modality", sort=False)
                   .agg(n_features=("feature", "size"), sum_mean_abs_shap=("mean_abs_shap", "sum"))
                   .reindex(order).reset_index())
        total = summary["sum_mean_abs_shap"].sum()
        summary["share"] = summary["sum_mean_abs_shap"] / total if total > 0 else 0.0
        return summary

    def per_patient(self) -> pd.DataFrame:
        """One row per patient and explained class: ``patient_id, explained_class, expected_value, margin``, SHAP.

        ``explained_class`` is the class whose margin the row decomposes (the
        positive class of a binary outcome, for every patient): it is not the
        patient's outcome.
        """
        blocks = []
        for k, label in enumerate(self.margin_labels):
            block = pd.DataFrame(self.values[:, :, k], columns=self.features)
            block.insert(0, "margin", self.margin[:, k])
            block.insert(0, "expected_value", self.expected_value[k])
            block.insert(0, "explained_class", label)
            block.insert(0, "patient_id", self.data.index.to_numpy())
            blocks.append(block)
        return pd.concat(blocks, ignore_index=True)

    def additivity_error(self) -> float:
        """Largest |expected_value + sum of SHAP values - margin| over patients and classes."""
        reconstructed = self.expected_value[None, :] + self.values.sum(axis=1)
        return float(np.max(np.abs(reconstructed - self.margin))) if self.margin.size else 0.0


def explain_model(model, X: pd.DataFrame, layout: ColumnLayout, classes) -> ShapExplanation:
    """SHAP values of a fitted model for the patients (rows) of ``X``.

    Parameters
    ----------
    model : TunedClassifier, Pipeline or LateFusionClassifier
        Fitted; a :class:`TunedClassifier` is explained through its ``best_estimator_``.
    X : DataFrame
        Modelling table (index: patient IDs).
    layout : ColumnLayout
        Column groups, to attribute features to modalities.
    classes : sequence of str
        Outcome classes (the last is the positive class of a binary outcome).

    Returns
    -------
    ShapExplanation
    """
    if isinstance(model, TunedClassifier):
        model = model.best_estimator_
    labels = (str(classes[1]),) if len(classes) == 2 else tuple(str(c) for c in classes)
    if isinstance(model, LateFusionClassifier):
        return _explain_late_fusion(model, X, layout, labels)
    return _explain_pipeline(model, X, layout, labels)


def _tree_shap(pipeline: Pipeline, X: pd.DataFrame):
    """TreeSHAP of a pipeline's XGBoost step on its transformed input.

    Returns
    -------
    data : DataFrame
    values : ndarray (n, p, n_margins)
    expected : ndarray (n_margins,)
    margin : ndarray (n, n_margins)
    """
    data = pipeline[:-1].transform(X)
    booster = pipeline[-1]
    explainer = shap.TreeExplainer(booster)
    values = np.asarray(explainer.shap_values(data), dtype=float)
    if values.ndim == 2:
        values = values[:, :, None]
    expected = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
    margin = np.asarray(booster.predict(data, output_margin=True), dtype=float).reshape(len(X), -1)
    return data, values, expected, margin


def _explain_pipeline(pipeline: Pipeline, X, layout, labels) -> ShapExplanation:
    data, values, expected, margin = _tree_shap(pipeline, X)
    data.index = X.index
    groups = {f: group_of_feature(f, layout) for f in data.columns}
    return ShapExplanation(values=values, expected_value=expected, margin=margin, data=data,
                           groups=groups, margin_labels=labels)


def _explain_late_fusion(model: LateFusionClassifier, X, layout, labels) -> ShapExplanation:
    _, present = model.base_margins(X)
    coef = np.atleast_2d(model.stacker_.coef_)
    intercept = np.atleast_1d(model.stacker_.intercept_).astype(float)
    column = {key: c for c, key in enumerate(model.stack_columns_)}
    n_out = coef.shape[0]
    expected = intercept.copy()
    blocks, value_blocks = [], []
    indicator_data, indicator_values = {}, {}
    for name, pipeline in model.estimators_.items():
        data, values, base_expected, _ = _tree_shap(pipeline, X)
        data.index = X.index
        weights = np.stack([coef[:, column[(name, j)]] for j in range(values.shape[2])], axis=1)
        scaled = np.einsum("npj,kj->npk", values, weights)
        expected += weights @ base_expected
        absent = ~present[name]
        is_modality = name in (model.modality_columns or {})
        if model.missing_modality == "per_modality":
            scaled[absent] = 0.0
        if is_modality and ((name, -1) in column or absent.any()):
            term = np.zeros((len(X), n_out))
            if (name, -1) in column:
                term += np.outer(absent.astype(float), coef[:, column[(name, -1)]])
            if model.missing_modality == "per_modality":
                term[absent] += weights @ (model.fill_margins_[name] - base_expected)
            indicator_data[missing_indicator(name)] = absent.astype(float)
            indicator_values[missing_indicator(name)] = term
        blocks.append(data)
        value_blocks.append(scaled)
    data = pd.concat([*blocks, pd.DataFrame(indicator_data, index=X.index)], axis=1)
    values = np.concatenate([*value_blocks, *(v[:, None, :] for v in indicator_values.values())], axis=1)
    margin = np.asarray(model.decision_function(X), dtype=float).reshape(len(X), -1)
    groups = {f: group_of_feature(f, layout) for f in data.columns}
    return ShapExplanation(values=values, expected_value=expected, margin=margin, data=data,
                           groups=groups, margin_labels=labels)
