"""SHAP explanations of fitted radiomix models: per feature, per patient, per modality."""

from radiomix.explain.values import ShapExplanation, explain_model

__all__ = ["ShapExplanation", "explain_model"]
