"""Stage records: what one processing stage of one case produced, or why it failed.

Every per-case stage (validate, register, preprocess, extract) ends with one
JSON record. A successful record lists the artifact files the stage wrote (each
written atomically before the record); a failed record carries the stage, the
error type and the message, and later stages pass it on unchanged, so a case
fails once, at the stage where it went wrong, and the cohort carries on.

Artifacts inside the workdir are stored relative to it (and resolved against
it when read), so a workdir can be moved, shared by machines that mount it at
different places, and resumed from any folder; external inputs stay absolute.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from radiomix.errors import RadiomixError


@dataclass(frozen=True)
class StageRecord:
    """Outcome of one stage of one case.

    Attributes
    ----------
    patient_id, modality : str
        The case (the manifest's patient ID; never a DICOM patient tag).
    stage : str
        ``validate``, ``register``, ``preprocess`` or ``extract``; for a failure
        passed on from an earlier stage, that earlier stage.
    ok : bool
        False when the case failed at ``stage``.
    artifacts : dict
        Name -> path of the files the stage wrote (successful records).
    details : dict
        JSON-able facts about the stage (voxel counts, registration metrics...).
    error_type, message : str
        The error's class name and message (failed records).
    """

    patient_id: str
    modality: str
    stage: str
    ok: bool
    artifacts: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    error_type: str = ""
    message: str = ""

    @classmethod
    def failure(cls, patient_id: str, modality: str, stage: str, error: RadiomixError) -> StageRecord:
        """The record of a case that failed at ``stage`` with ``error``."""
        return cls(patient_id, modality, stage, False, error_type=type(error).__name__, message=str(error))

    def to_json(self, workdir: str | Path | None = None) -> str:
        """The record as JSON; artifacts under ``workdir`` as POSIX paths relative to it."""
        data = asdict(self)
        if workdir is not None:
            data["artifacts"] = {name: _relative(path, Path(workdir)) for name, path in self.artifacts.items()}
        return json.dumps(data, indent=1, sort_keys=True)

    @classmethod
    def read(cls, path: str | Path, workdir: str | Path | None = None) -> StageRecord:
        """Read a record; relative artifacts are resolved against ``workdir`` (absolute paths)."""
        record = cls(**json.loads(Path(path).read_text(encoding="utf-8")))
        if workdir is None:
            return record
        root = Path(os.path.abspath(workdir))
        artifacts = {name: str(root / value) if not Path(value).is_absolute() else value
                     for name, value in record.artifacts.items()}
        return replace(record, artifacts=artifacts)

    def failure_row(self) -> dict:
        """The row of ``failures.csv`` for a failed record."""
        return {"patient_id": self.patient_id, "modality": self.modality, "stage": self.stage,
                "error_type": self.error_type, "message": self.message}


def _relative(path: str, workdir: Path) -> str:
    """``path`` relative to ``workdir`` when inside it, else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(os.path.abspath(workdir)).as_posix()
    except ValueError:
        return str(absolute)
