"""Harmonization of radiomic features across scanners and sites, fitted inside each fold.

:class:`ComBat` harmonizes feature columns by one batch column;
:class:`PerModalityComBat` runs one ComBat per imaging modality of a wide table
(columns ``<MODALITY>__<feature>``), each by that modality's scanner or site.
"""

from radiomix.harmonize.combat import ComBat, ComBatWarning, UnseenBatchWarning
from radiomix.harmonize.per_modality import PerModalityComBat

__all__ = ["ComBat", "ComBatWarning", "PerModalityComBat", "UnseenBatchWarning"]
