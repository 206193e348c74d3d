"""Errors raised while registering a patient's modalities.

Each names the patient and the modality concerned (when the caller gave them),
so that a cohort failure record says which case failed and why.
"""

from __future__ import annotations

from radiomix.errors import InputError, RadiomixError


def case_prefix(patient_id: str | None, modality: str | None) -> str:
    """``"patient P, modality M: "`` for the parts that are known, else ``""``."""
    parts = []
    if patient_id:
        parts.append(f"patient {patient_id}")
    if modality:
        parts.append(f"modality {modality}")
    return ", ".join(parts) + ": " if parts else ""


class RegistrationError(RadiomixError):
    """A registration could not give a usable transform.

    Parameters
    ----------
    message : str
        What went wrong and how to fix it.
    patient_id, modality : str, optional
        The case concerned (``modality`` is the moving image's); prefixed to the message.
    """

    def __init__(self, message: str, patient_id: str | None = None, modality: str | None = None):
        self.patient_id = patient_id
        self.modality = modality
        self.detail = message
        super().__init__(case_prefix(patient_id, modality) + message)


class NoOverlapError(RegistrationError):
    """The fixed and moving fields of view do not overlap enough to register them."""


class NotConvergedError(RegistrationError):
    """The optimiser stopped at its iteration limit instead of meeting its convergence criterion."""


class MisalignedError(RegistrationError):
    """The measured quality of an alignment says the modality is not aligned with the reference."""


class MissingModalityError(InputError):
    """A modality needed for a patient is not in the manifest.

    Parameters
    ----------
    message : str
        What is missing and how to fix it.
    patient_id, modality : str
        The patient and the missing modality; prefixed to the message.
    path : str, optional
        The manifest file.
    """

    def __init__(self, message: str, patient_id: str, modality: str, path: str | None = None):
        self.patient_id = patient_id
        self.modality = modality
        super().__init__(case_prefix(patient_id, modality) + message, path=path)
