"""Fusion with clinical data, selection inside folds, XGBoost, nested cross-validation, persistence.

The entry point is :func:`radiomix.model.evaluation.evaluate_cohort` (``radiomix evaluate``);
its pieces are usable on their own:

- :func:`~radiomix.model.data.load_cohort` fuses a wide feature table with a clinical table;
- :func:`~radiomix.model.fusion.build_model` makes the (early- or late-fusion) pipeline;
- :func:`~radiomix.model.nested.nested_cross_validate` evaluates it;
- :func:`~radiomix.model.persistence.save_model` / :func:`~radiomix.model.persistence.load_model`
  store it without pickle.

Names are imported on first use, so that ``import radiomix.model.selection`` stays light.
"""

from radiomix.lazy_entries import entry_importer

_SOURCES = {
    "load_cohort": "data",
    "EvaluationResult": "evaluation", "evaluate_cohort": "evaluation",
    "LateFusionClassifier": "fusion", "build_model": "fusion", "build_pipeline": "fusion",
    "nested_cross_validate": "nested",
    "ModelFileError": "persistence", "UntrustedModelError": "persistence", "load_model": "persistence",
    "save_model": "persistence",
    "EvaluationSettings": "settings", "load_evaluation_settings": "settings",
}

__all__ = [
    "EvaluationResult", "EvaluationSettings", "LateFusionClassifier", "ModelFileError", "UntrustedModelError",
    "build_model", "build_pipeline", "evaluate_cohort", "load_cohort", "load_evaluation_settings", "load_model",
    "nested_cross_validate", "save_model",
]

__getattr__ = entry_importer("radiomix.model",
                             {name: f"radiomix.model.{module}" for name, module in _SOURCES.items()})
