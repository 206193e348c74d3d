"""Synthetic multimodal cohorts (CT, MR, PET) with known misalignments and outcome.

Public entries: :func:`make_cohort` and :func:`load_true_transforms`.
"""

from radiomix.synthetic.cohort import load_true_transforms, make_cohort

__all__ = ["load_true_transforms", "make_cohort"]
