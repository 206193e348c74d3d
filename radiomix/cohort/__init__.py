"""Cohort-level logic (manifests, per-case processing, merging, provenance) used by the Luigi pipelines."""
