"""Saving and loading fitted models without pickle.

A fitted model is written with :mod:`skops.io` (a zip of JSON and NumPy arrays,
no pickle) and each XGBoost booster also as XGBoost's own JSON model, readable
by any XGBoost binding. Loading checks every type named in the file against an
allow-list (radiomix's estimators, XGBoost's classifier and booster, and what
skops trusts by default: scikit-learn, NumPy, SciPy) and refuses anything else,
so that a file crafted to call arbitrary code is refused before any object is
built. Pickle files are refused outright: unpickling runs code chosen by whoever
wrote the file.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import skops.io as sio
from xgboost import Booster, XGBClassifier

from radiomix.errors import RadiomixError
from radiomix.harmonize import ComBat, PerModalityComBat
from radiomix.io.atomic import atomic_path
from radiomix.model.fusion import (
    KeepColumns,
    LateFusionClassifier,
    ModalityMissingIndicator,
)
from radiomix.model.search import TunedClassifier
from radiomix.model.selection import (
    MRMR,
    CorrelationClusters,
    NearZeroVariance,
    UnivariateFDR,
)

#: First bytes of a pickle stream (protocols 2 to 5 start with PROTO = 0x80 and the protocol number).
PICKLE_PREFIXES = tuple(bytes([0x80, protocol]) for protocol in range(2, 6))


class ModelFileError(RadiomixError, ValueError):
    """A model file is not a skops file, is damaged, or differs from its expected hash."""


class UntrustedModelError(ModelFileError):
    """A model file names types outside the allow-list; nothing was loaded."""


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def trusted_model_types() -> tuple[str, ...]:
    """Fully qualified names of the types radiomix puts in a model, beyond those skops trusts by default."""
    classes = (TunedClassifier, LateFusionClassifier, KeepColumns, ModalityMissingIndicator, NearZeroVariance,
               CorrelationClusters, UnivariateFDR, MRMR, ComBat, PerModalityComBat, XGBClassifier, Booster)
    return tuple(_qualified(cls) for cls in classes)


def sha256_bytes(data: bytes) -> str:
    """SHA-256 (hex) of bytes."""
    return hashlib.sha256(data).hexdigest()


def save_model(model, path: str | Path) -> str:
    """Write a fitted model with skops, atomically; returns the file's SHA-256 (hex).

    Parameters
    ----------
    model : estimator
        Fitted model (e.g. a :class:`TunedClassifier`).
    path : path
        Destination, conventionally ``*.skops``.
    """
    data = sio.dumps(model, compression=zipfile.ZIP_DEFLATED)
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return sha256_bytes(data)


def boosters(model) -> dict[str, Booster]:
    """The XGBoost boosters of a fitted model: ``{"": booster}``, or one per late-fusion group."""
    if isinstance(model, TunedClassifier):
        model = model.best_estimator_
    if isinstance(model, LateFusionClassifier):
        return {name: estimator[-1].get_booster() for name, estimator in model.estimators_.items()}
    return {"": model[-1].get_booster()}


def save_boosters(model, folder: str | Path, stem: str = "model_booster") -> dict[str, Path]:
    """Write each booster as XGBoost JSON, atomically: ``<stem>.json`` or ``<stem>_<group>.json``.

    Returns
    -------
    dict of str to Path
        Group (``""`` for a single booster) -> file written.
    """
    written = {}
    for name, booster in boosters(model).items():
        path = Path(folder) / (f"{stem}_{name}.json" if name else f"{stem}.json")
        with atomic_path(path) as temporary:
            temporary.write_bytes(bytes(booster.save_raw(raw_format="json")))
        written[name] = path
    return written


def load_model(path: str | Path, trusted: Sequence[str] = (), expected_sha256: str | None = None):
    """Load a model saved by :func:`save_model`, refusing pickles and untrusted types.

    Parameters
    ----------
    path : path
        A ``.skops`` file.
    trusted : sequence of str, optional
        Further fully qualified type names to allow. Add a type only if you trust
        whoever wrote the file: a type is a way to run code.
    expected_sha256 : str, optional
        The file's SHA-256 (e.g. from ``model_card.json``); a different hash is refused.

    Returns
    -------
    estimator

    Raises
    ------
    ModelFileError
        Unreadable, not a skops file (e.g. a pickle), damaged, or hash mismatch.
    UntrustedModelError
        The file names types outside the allow-list (listed in the message).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the model file ({exc.strerror})") from None
    if expected_sha256 is not None and sha256_bytes(data) != expected_sha256.lower():
        raise ModelFileError(f"{path}: SHA-256 is {sha256_bytes(data)}, expected {expected_sha256}; the file "
                             "was modified or damaged since it was saved. Refusing to load it.")
    if data.startswith(PICKLE_PREFIXES):
        raise ModelFileError(f"{path}: this is a Python pickle, not a skops model file. radiomix never "
                             "unpickles model files (unpickling runs code chosen by the file's author); "
                             "re-save the model with radiomix.model.persistence.save_model.")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ModelFileError(f"{path}: not a skops model file (not a zip archive); save models with "
                             "radiomix.model.persistence.save_model")
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except (zipfile.BadZipFile, zlib.error, EOFError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the model file is damaged or was tampered with "
                             f"({type(exc).__name__}: {exc}); refusing to load it") from None
    allowed = set(trusted_model_types()) | set(trusted)
    refused = sorted(t for t in untrusted if t not in allowed)
    if refused:
        raise UntrustedModelError(
            f"{path}: refusing to load: the file names type(s) outside radiomix's allow-list: "
            f"{', '.join(refused)}. The file may have been tampered with. If you trust its origin and "
            "these types, pass them in trusted=[...].")
    try:
        return sio.loads(data, trusted=list(untrusted))
    except (zipfile.BadZipFile, zlib.error, EOFError, json.JSONDecodeError, KeyError, TypeError, ValueError,
            AttributeError) as exc:
        raise ModelFileError(f"{path}: the model file is damaged or was tampered with "
                             f"({type(exc).__name__}: {exc}); refusing to load it") from None
