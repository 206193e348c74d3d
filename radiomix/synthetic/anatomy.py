"""A synthetic thorax, defined in continuous physical coordinates (mm).

The anatomy is a set of analytic shapes (body with a subcutaneous fat layer,
lungs, spine, heart, liver and one lesion) plus smooth random fields (lesion
texture, MR bias field). Because every shape and field is a function of the
physical position, each modality is sampled directly on its own grid, through
its own rigid misalignment, with no resampling of another modality's voxels.

Coordinates are ``(x, y, z)`` in mm, the anatomy centred on the origin; the
arrays produced are ``(z, y, x)`` like SimpleITK's ``GetArrayFromImage``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TISSUES = ("air", "fat", "soft tissue", "lung", "bone", "heart", "liver", "lesion")
"""Tissue labels, in the order of their integer codes (0 = air)."""

AIR, FAT, SOFT, LUNG, BONE, HEART, LIVER, LESION = range(len(TISSUES))


@dataclass(frozen=True)
class Grid:
    """A voxel grid with identity direction.

    Attributes
    ----------
    size : tuple of int
        Voxels along x, y, z.
    spacing : tuple of float
        Voxel size along x, y, z (mm).
    origin : tuple of float
        Physical position of the centre of voxel (0, 0, 0) (mm).
    """

    size: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]

    @classmethod
    def centred(cls, size, spacing) -> Grid:
        """The grid of ``size`` voxels of ``spacing`` mm whose centre is the origin."""
        origin = tuple(-(n - 1) * s / 2.0 for n, s in zip(size, spacing))
        return cls(tuple(int(n) for n in size), tuple(float(s) for s in spacing), origin)

    def points(self) -> np.ndarray:
        """Physical positions (x, y, z) of all voxel centres (mm), shape ``(nz, ny, nx, 3)``."""
        axes = [o + s * np.arange(n) for o, s, n in zip(self.origin, self.spacing, self.size)]
        z, y, x = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
        return np.stack([x, y, z], axis=-1)

    def subvoxel_offsets(self, subdivisions: tuple[int, int, int]) -> np.ndarray:
        """Offsets (x, y, z) in mm from a voxel's centre to the centres of its sub-voxels.

        Parameters
        ----------
        subdivisions : tuple of int
            Sub-voxels per voxel along x, y, z.

        Returns
        -------
        ndarray, shape (prod(subdivisions), 3)
        """
        axes = [((np.arange(n) + 0.5) / n - 0.5) * s for n, s in zip(subdivisions, self.spacing)]
        x, y, z = np.meshgrid(*axes, indexing="ij")
        return np.stack([x.ravel(), y.ravel(), z.ravel()], axis=-1)


@dataclass(frozen=True)
class RandomField:
    """A smooth zero-mean, unit-variance random field: a sum of random plane waves.

    Attributes
    ----------
    wave_vectors : ndarray, shape (k, 3)
        Angular wave vectors (rad/mm).
    phases : ndarray, shape (k,)
        Phases (rad).
    """

    wave_vectors: np.ndarray
    phases: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, wavelength_mm: float, n_waves: int = 24,
             spread: float = 0.2) -> RandomField:
        """Draw a field whose waves have wavelengths ``wavelength_mm * (1 +- spread)``."""
        directions = rng.normal(size=(n_waves, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        wavelengths = wavelength_mm * rng.uniform(1.0 - spread, 1.0 + spread, size=n_waves)
        return cls(directions * (2.0 * np.pi / wavelengths)[:, None],
                   rng.uniform(0.0, 2.0 * np.pi, size=n_waves))

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Field values at ``points`` (shape ``(..., 3)``, mm)."""
        phase = points @ self.wave_vectors.T + self.phases
        return np.sqrt(2.0 / len(self.phases)) * np.cos(phase).sum(axis=-1)


@dataclass(frozen=True)
class Ellipsoid:
    """An axis-aligned ellipsoid: ``centre`` and ``semi_axes`` (x, y, z) in mm."""

    centre: tuple[float, float, float]
    semi_axes: tuple[float, float, float]

    def inside(self, points: np.ndarray) -> np.ndarray:
        """Boolean: whether each point lies inside."""
        scaled = (points - np.asarray(self.centre, dtype=points.dtype)) / np.asarray(
            self.semi_axes, dtype=points.dtype)
        return np.einsum("...i,...i->...", scaled, scaled) <= 1.0


@dataclass(frozen=True)
class Lesion:
    """A lobulated lesion with an internal texture.

    The surface is ``|p - centre| = radius * (1 + amplitude * tanh(lobulation(d) / 2))``
    where ``d`` is the unit direction from the centre.

    Attributes
    ----------
    centre : tuple of float
        Centre (x, y, z) in mm.
    radius_mm : float
        Mean radius (mm).
    lobulation : RandomField
        Field evaluated on the unit direction.
    lobulation_amplitude : float
        Largest relative radius variation (0 = sphere).
    """

    centre: tuple[float, float, float]
    radius_mm: float
    lobulation: RandomField
    lobulation_amplitude: float

    def inside(self, points: np.ndarray) -> np.ndarray:
        """Boolean: whether each point lies inside the lesion."""
        offset = points - np.asarray(self.centre, dtype=points.dtype)
        distance = np.sqrt(np.einsum("...i,...i->...", offset, offset))
        inside = distance <= self.radius_mm * (1.0 - self.lobulation_amplitude)
        candidates = (distance <= self.radius_mm * (1.0 + self.lobulation_amplitude)) & ~inside
        direction = offset[candidates] / np.maximum(distance[candidates], 1e-9)[:, None]
        bumps = self.lobulation_amplitude * np.tanh(self.lobulation(direction) / 2.0)
        inside[candidates] = distance[candidates] <= self.radius_mm * (1.0 + bumps)
        return inside


@dataclass(frozen=True)
class Anatomy:
    """One synthetic patient's thorax.

    Attributes
    ----------
    body_semi_axes : tuple of float
        Body cross-section semi-axes (x, y) at its widest (mm).
    shoulder_z_mm : float
        Height above which the body narrows (neck/shoulder transition, mm).
    fat_fraction : float
        Thickness of the subcutaneous fat layer relative to the body radius.
    lungs : tuple of Ellipsoid
        Left and right lung.
    spine_centre, spine_radius_mm : tuple of float, float
        Spinal column: a cylinder along z through ``spine_centre`` (x, y).
    heart, liver : Ellipsoid
    lesion : Lesion
    """

    body_semi_axes: tuple[float, float]
    shoulder_z_mm: float
    fat_fraction: float
    lungs: tuple[Ellipsoid, Ellipsoid]
    spine_centre: tuple[float, float]
    spine_radius_mm: float
    heart: Ellipsoid
    liver: Ellipsoid
    lesion: Lesion

    def body_radius(self, points: np.ndarray) -> np.ndarray:
        """Normalised elliptic radius of each point in the body cross-section (body: <= 1)."""
        x, y, z = points[..., 0], points[..., 1], points[..., 2]
        narrowing = 1.0 - 0.3 / (1.0 + np.exp(-(z - self.shoulder_z_mm) / 6.0))
        rx, ry = self.body_semi_axes
        return np.sqrt((x / rx) ** 2 + (y / ry) ** 2) / narrowing

    def labels(self, points: np.ndarray) -> np.ndarray:
        """Tissue code (see :data:`TISSUES`) at each point; later shapes paint over earlier ones."""
        radius = self.body_radius(points)
        labels = np.full(points.shape[:-1], AIR, dtype=np.uint8)
        labels[radius <= 1.0] = FAT
        labels[radius <= 1.0 - self.fat_fraction] = SOFT
        for lung in self.lungs:
            labels[lung.inside(points)] = LUNG
        labels[self.liver.inside(points) & (labels != AIR)] = LIVER
        labels[self.heart.inside(points)] = HEART
        sx, sy = self.spine_centre
        spine = (points[..., 0] - sx) ** 2 + (points[..., 1] - sy) ** 2 <= self.spine_radius_mm ** 2
        labels[spine & (labels != AIR)] = BONE
        labels[self.lesion.inside(points)] = LESION
        return labels


def draw_anatomy(rng: np.random.Generator, lesion_radius_mm: float) -> Anatomy:
    """Draw a random thorax whose lesion (mean radius ``lesion_radius_mm``) lies in a lung.

    Shapes vary by a few millimetres between patients; the lesion centre is
    drawn inside the chosen lung, away from the image borders.
    """
    body = (rng.uniform(50.0, 56.0), rng.uniform(38.0, 43.0))
    lung_semi_axes = (rng.uniform(14.0, 17.0), rng.uniform(21.0, 25.0), rng.uniform(30.0, 36.0))
    lung_y, lung_z = rng.uniform(-6.0, -2.0), rng.uniform(-4.0, 4.0)
    lungs = tuple(Ellipsoid((side * rng.uniform(22.0, 25.0), lung_y, lung_z), lung_semi_axes)
                  for side in (-1.0, 1.0))
    side = int(rng.integers(2))
    lung = lungs[side]
    lesion_centre = (
        lung.centre[0] + rng.uniform(-0.3, 0.3) * lung.semi_axes[0],
        lung.centre[1] + rng.uniform(-0.4, 0.4) * lung.semi_axes[1],
        lung.centre[2] + rng.uniform(-0.4, 0.4) * lung.semi_axes[2],
    )
    lesion = Lesion(lesion_centre, lesion_radius_mm, RandomField.draw(rng, 2.5, n_waves=6, spread=0.3),
                    rng.uniform(0.1, 0.25))
    return Anatomy(
        body_semi_axes=body,
        shoulder_z_mm=rng.uniform(28.0, 36.0),
        fat_fraction=rng.uniform(0.1, 0.16),
        lungs=lungs,
        spine_centre=(rng.uniform(-2.0, 2.0), rng.uniform(26.0, 30.0)),
        spine_radius_mm=rng.uniform(7.0, 9.0),
        heart=Ellipsoid((rng.uniform(-8.0, -2.0), rng.uniform(-10.0, -4.0), rng.uniform(-14.0, -6.0)),
                        (rng.uniform(16.0, 19.0), rng.uniform(14.0, 17.0), rng.uniform(17.0, 21.0))),
        liver=Ellipsoid((rng.uniform(-14.0, -6.0), rng.uniform(-4.0, 4.0), rng.uniform(-58.0, -50.0)),
                        (rng.uniform(34.0, 40.0), rng.uniform(26.0, 32.0), rng.uniform(24.0, 30.0))),
        lesion=lesion,
    )
