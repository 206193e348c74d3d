"""General 3D geometry of point sets: enclosing ellipsoids and boxes, triangle volumes and areas.

Used by the morphological features (:mod:`radiomix.features.morphology`), but
free of any feature definition: every function takes points in mm and returns
lengths, areas or volumes in mm units.

Kernels (numba, private, under public wrappers):

- :func:`_boxes_about_normals` / :func:`oriented_minimum_bounding_box`: for a
  set of directions, the smallest box with an axis along each (minimum-area
  rectangle with a side along an edge, :func:`_minimum_area_rectangle`, of the
  projected 2D hull, which is the 3D hull's silhouette loop walked in order,
  :func:`_silhouette_ring`, cleaned by a linear Graham scan,
  :func:`_ring_hull`; or, should the loop not close, the silhouette vertices
  sorted, :func:`_silhouette_vertices`, :func:`_planar_hull`), and
  :func:`_refined_box`, SciPy's Nelder-Mead search over the direction,
  compiled; the 2D helpers are ``inline="always"`` (typed inside
  :func:`_box_about_normal` rather than compiled and LLVM-optimised again
  as kernels of their own), and :func:`_refined_box` evaluates boxes at one
  call site (about 1 s less compile CPU in all, same values);
- :func:`_triangle_volumes_and_areas` / :func:`mesh_volume_and_area`: the
  signed tetrahedron volume and the area of each triangle of a mesh, summed;
- :func:`_khachiyan_weights` / :func:`minimum_volume_enclosing_ellipsoid`:
  Khachiyan's algorithm (with Todd-Yildirim away steps) for the minimum
  volume enclosing ellipsoid, to a loose tolerance, then Newton's method on
  the support points' weights (:func:`_newton_weights`, NumPy) to the exact
  optimum.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from radiomix._numba import njit, njit_exact
from radiomix.errors import InputError

if TYPE_CHECKING:
    from scipy.spatial import ConvexHull

ELLIPSOID_AREA_TERMS = 20
"""Highest Legendre term of the IBSI series for the surface area of an ellipsoid."""

OMBB_DIRECTIONS = 2000
"""Directions sampled on the half sphere by the oriented minimum bounding box search."""

OMBB_REFINED = 4
"""Best sampled directions refined by the oriented minimum bounding box search."""

OMBB_TILT_TOLERANCE = 1.0e-10
"""Nelder-Mead's tilt tolerance: the refinement stops once the simplex spans less than this (radians,
about) and its box volumes differ by less than :data:`OMBB_VOLUME_TOLERANCE`."""

OMBB_VOLUME_TOLERANCE = 1.0e-12
"""Nelder-Mead's volume tolerance, a fraction of the smallest sampled box volume."""

OMBB_TILT_STEP = 0.03
"""Size of the initial Nelder-Mead simplex: tilts (about radians) along each in-plane axis."""

OMBB_MAX_EVALUATIONS = 400
"""Nelder-Mead's budget of box evaluations (and of iterations) per refined direction."""

OMBB_TIE_TOLERANCE = 1.0e-7
"""Boxes whose volumes differ by less than this fraction tie; the smaller surface area wins."""

MVEE_TOLERANCE = 1.0e-12
"""Default optimality tolerance of the minimum volume enclosing ellipsoid: ``M_i <= (1 + tolerance)(d + 1)``
for every point and ``|M_i - (d + 1)| <= tolerance (d + 1)`` for every point of positive weight (the exact
optimum up to rounding)."""

MVEE_SEED_TOLERANCE = 1.0e-3
"""Tolerance of the Khachiyan iterations that find the support points before the Newton polish
(a few hundred iterations)."""

MVEE_MAX_ITERATIONS = 100_000
"""Default iteration cap of Khachiyan's algorithm."""

MVEE_REFRESH_INTERVAL = 64
"""Khachiyan iterations between recomputations of ``X^-1`` and ``M`` from the weights (rank-one updates
in between); a compile-time constant of :func:`_khachiyan_weights`."""

MVEE_NEWTON_STEPS = 60
"""Newton steps allowed per polish of the weights (a few to a few tens are needed); past them, Khachiyan's
iterations go on to a tighter seed tolerance and the polish starts again."""


# ------------------------------------------------------------------ diameter


# ---------------------------------------------------------------- ellipsoids


def ellipsoid_surface_area(semi_axes, n_terms: int = ELLIPSOID_AREA_TERMS) -> float:
    """IBSI-1's Legendre-series surface area (mm^2) of an ellipsoid.

    ``A = 4 pi a b sum_{nu=0}^{n_terms} (alpha beta)^nu / (1 - 4 nu^2)
    P_nu((alpha^2 + beta^2) / (2 alpha beta))`` with ``a >= b >= c``,
    ``alpha = sqrt(1 - b^2/a^2)``, ``beta = sqrt(1 - c^2/a^2)``. This is the
    manual's definition of the enclosing-ellipsoid areas; it equals the exact
    area for a sphere and departs from it as the ellipsoid gets eccentric.
    The terms ``t_nu = (alpha beta)^nu P_nu(x)`` are built with Bonnet's
    recursion multiplied through by ``(alpha beta)^(nu + 1)``, which needs no
    division by ``alpha beta`` and so also holds for spheroids and spheres.

    Parameters
    ----------
    semi_axes : sequence of 3 float
        Semi-axis lengths in mm, any order, all positive.
    n_terms : int
        Highest order ``nu`` of the series (IBSI: 20).
    """
    a, b, c = sorted((float(s) for s in semi_axes), reverse=True)
    if c <= 0.0:
        raise InputError(f"ellipsoid semi-axes must be positive, got {tuple(semi_axes)}")
    alpha_sq = 1.0 - (b / a) ** 2
    beta_sq = 1.0 - (c / a) ** 2
    half_sum = 0.5 * (alpha_sq + beta_sq)  # x * alpha * beta
    product_sq = alpha_sq * beta_sq  # (alpha * beta)^2
    previous, current = 1.0, half_sum  # t_0, t_1
    total = previous + current / (1.0 - 4.0)
    for nu in range(1, n_terms):
        following = ((2 * nu + 1) * half_sum * current - nu * product_sq * previous) / (nu + 1)
        previous, current = current, following
        total += current / (1.0 - 4.0 * (nu + 1) ** 2)
    return 4.0 * math.pi * a * b * total


@njit
def _khachiyan_weights(points, tolerance, max_iterations):
    """Khachiyan's algorithm with Todd-Yildirim away steps: MVEE weights ``u`` of the points.

    With ``q_i`` the points lifted by a trailing 1, ``X(u) = sum_i u_i q_i q_i^T``
    and ``M_i = q_i^T X(u)^-1 q_i``, each iteration moves weight towards the
    point of largest ``M`` (Khachiyan's step) or, when that gains less, away
    from the weighted point of smallest ``M`` (an away step, which may drop
    it), by the line-search optimum ``tau = (M_j - d - 1) / ((d + 1)(M_j - 1))``:
    ``u <- (1 - tau) u + tau e_j``. Stops when ``max_i M_i <= (1 + tolerance)(d + 1)``.
    ``X^-1`` and ``M`` follow each step by the rank-one (Sherman-Morrison)
    update, ``M_i <- (M_i - tau (q_i^T X^-1 q_j)^2 / (1 - tau + tau M_j)) / (1 - tau)``,
    and are recomputed from the weights every :data:`MVEE_REFRESH_INTERVAL`
    iterations and before the stopping test is accepted.
    Returns the weights and the number of iterations done.
    """
    n_points, n_dims = points.shape
    size = n_dims + 1
    lifted = np.empty((n_points, size))  # loops, not slice assignment or np.full: 6 s quicker to compile
    weights = np.empty(n_points)
    for i in range(n_points):
        for r in range(n_dims):
            lifted[i, r] = points[i, r]
        lifted[i, n_dims] = 1.0
        weights[i] = 1.0 / n_points
    target = n_dims + 1.0
    distances = np.empty(n_points)
    image = np.empty(size)
    inverse = np.empty((size, size))
    iteration = 0
    since_refresh = MVEE_REFRESH_INTERVAL
    while iteration < max_iterations:
        fresh = since_refresh >= MVEE_REFRESH_INTERVAL
        if fresh:
            scatter = np.zeros((size, size))
            for i in range(n_points):
                if weights[i] == 0.0:  # dropped by an away step: adds only zeros
                    continue
                for r in range(size):
                    for c in range(size):
                        scatter[r, c] += weights[i] * lifted[i, r] * lifted[i, c]
            inverse = np.linalg.inv(scatter)
            for i in range(n_points):
                value = 0.0
                for r in range(size):
                    for c in range(size):
                        value += lifted[i, r] * inverse[r, c] * lifted[i, c]
                distances[i] = value
            since_refresh = 0
        farthest = 0
        nearest = -1
        for i in range(n_points):
            if distances[i] > distances[farthest]:
                farthest = i
            if weights[i] > 0.0 and (nearest < 0 or distances[i] < distances[nearest]):
                nearest = i
        if distances[farthest] <= (1.0 + tolerance) * target:
            if fresh:
                break
            since_refresh = MVEE_REFRESH_INTERVAL  # confirm on recomputed distances
            continue
        if distances[farthest] - target >= target - distances[nearest]:
            chosen = farthest
            step = (distances[chosen] - target) / (target * (distances[chosen] - 1.0))
            dropped = False
        else:
            chosen = nearest
            limit = -weights[chosen] / (1.0 - weights[chosen])
            if distances[chosen] <= 1.0:  # M_j >= 1, equal at the weighted centre: the line search runs to the limit
                step = limit
            else:
                step = (distances[chosen] - target) / (target * (distances[chosen] - 1.0))
            dropped = step <= limit
            if dropped:
                step = limit
        for r in range(size):
            value = 0.0
            for c in range(size):
                value += inverse[r, c] * lifted[chosen, c]
            image[r] = value
        shrink = 1.0 / (1.0 - step)
        factor = step / (1.0 - step + step * distances[chosen])
        for i in range(n_points):
            projection = 0.0
            for r in range(size):
                projection += lifted[i, r] * image[r]
            distances[i] = (distances[i] - factor * projection * projection) * shrink
        for r in range(size):
            for c in range(size):
                inverse[r, c] = (inverse[r, c] - factor * image[r] * image[c]) * shrink
        for i in range(n_points):
            weights[i] *= 1.0 - step
        weights[chosen] += step
        if dropped:
            weights[chosen] = 0.0
        iteration += 1
        since_refresh += 1
    return weights, iteration


def _newton_weights(lifted: np.ndarray, weights: np.ndarray, tolerance: float, max_steps: int):
    """Exact MVEE weights from approximate ones: Newton's method on the points of positive weight.

    The weights ``u >= 0`` maximise the concave ``g(u) = log det X(u) - (d + 1) sum_i u_i``
    (``X(u) = sum_i u_i q_i q_i^T``, ``q_i`` the lifted points), whose maximiser
    is the MVEE's (``g`` is maximal over each ray at ``sum_i u_i = 1``). Its
    gradient is ``M_i - (d + 1)`` and its Hessian ``-(K o K)`` with
    ``K_ij = q_i^T X^-1 q_j``. On the active set (the points of positive
    weight) each step solves ``(K o K) delta = M - (d + 1)`` by least squares
    (a basic solution where the weights are not unique, as for symmetric
    point sets or past 10 active points; the system is consistent) and moves the weights by ``delta``,
    or, if that drives a weight below zero, up to the first weight reaching
    zero, which leaves the active set. Once ``|M_i - (d + 1)| <= tolerance
    (d + 1)`` on the active set, the farthest point, if ``M_j > (1 + tolerance)(d + 1)``,
    joins it by a Khachiyan step (which raises ``g`` and gives it a positive
    weight, so that it is not dropped straight away) and the steps go on;
    if none is that far, these are the optimality conditions of the MVEE and
    the weights are returned (normalised). Returns None after ``max_steps``
    steps without reaching them, or if the active points stop spanning the
    space (a singular ``X``).

    Parameters
    ----------
    lifted : ndarray of float, shape (n, d + 1)
        Points (centred, mm) with a trailing 1.
    weights : ndarray of float, shape (n,)
        Starting weights, e.g. Khachiyan's; their positive entries are the first active set.
    """
    target = float(lifted.shape[1])
    weights = weights / weights.sum()
    active = np.flatnonzero(weights > 0.0)
    for _ in range(max_steps + 1):
        chosen = lifted[active]
        try:
            inverse = np.linalg.inv((chosen * weights[active, None]).T @ chosen)
        except np.linalg.LinAlgError:  # the active points no longer span the space
            return None
        kernel = chosen @ inverse @ chosen.T
        gap = np.diagonal(kernel) - target
        if np.abs(gap).max() <= tolerance * target:
            distances = np.einsum("ij,jk,ik->i", lifted, inverse, lifted)
            farthest = int(np.argmax(distances))
            if distances[farthest] <= (1.0 + tolerance) * target:
                return weights / weights.sum()
            # Khachiyan's step towards the farthest point: it joins the active set with a positive weight
            step = (distances[farthest] - target) / (target * (distances[farthest] - 1.0))
            weights = weights / weights.sum() * (1.0 - step)
            weights[farthest] += step
            active = np.union1d(active, [farthest])
            continue
        # rank-revealing QR (LAPACK's gelsy): the Hessian is singular past (d + 1)(d + 2) / 2 active points
        import scipy.linalg  # here, not with the module: only the opt-in MVEE needs it

        delta = scipy.linalg.lstsq(kernel * kernel, gap, lapack_driver="gelsy", check_finite=False)[0]
        current = weights[active]
        reach = np.full(len(active), np.inf)  # step length at which each weight reaches zero
        falling = delta < 0.0
        reach[falling] = current[falling] / -delta[falling]
        step = min(1.0, float(reach.min()))
        moved = current + step * delta
        moved[reach <= step] = 0.0
        weights[active] = moved
        active = active[moved > 0.0]
    return None


def minimum_volume_enclosing_ellipsoid(points: np.ndarray, tolerance: float = MVEE_TOLERANCE,
                                       max_iterations: int = MVEE_MAX_ITERATIONS):
    """Minimum volume ellipsoid enclosing a 3D point set (Khachiyan's algorithm, then Newton's method).

    Khachiyan's algorithm with Todd and Yildirim's away steps
    (:func:`_khachiyan_weights`) runs to the loose :data:`MVEE_SEED_TOLERANCE`,
    which is enough to single out the few points that touch the ellipsoid;
    Newton's method on those points' weights (:func:`_newton_weights`,
    quadratic convergence) then meets the optimality conditions to
    ``tolerance``. Should the polish fail (none of 1,447 random mask hulls
    needed it), Khachiyan's algorithm runs again to a tolerance 100 times
    tighter and the polish is tried again (down to ``tolerance`` itself,
    Khachiyan alone). The ellipsoid always encloses
    every point: the weighted scatter is scaled to touch the farthest one.

    Parameters
    ----------
    points : ndarray of float, shape (n, 3)
        Positions in mm, not all in one plane (pass convex-hull vertices to
        keep ``n`` small: the MVEE depends on them only).
    tolerance : float
        Optimality tolerance: ``M_j <= (1 + tolerance)(d + 1)`` for every
        point and ``|M_j - (d + 1)| <= tolerance (d + 1)`` where the weight is
        positive (``d`` = 3); the default, 1e-12, gives the exact MVEE up to
        rounding.
    max_iterations : int
        Cap on Khachiyan's iterations per run (the ellipsoid is still an
        enclosing one, only less tight, if reached).

    Returns
    -------
    semi_axes : ndarray of float64, shape (3,)
        Semi-axis lengths in mm, decreasing.
    centre : ndarray of float64, shape (3,)
        Centre in the coordinates of ``points``.
    axes : ndarray of float64, shape (3, 3)
        Unit axis directions as rows, in the order of ``semi_axes``.
    """
    points = np.ascontiguousarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or len(points) < 4:
        raise InputError(f"need an (n >= 4, 3) array of points, got shape {points.shape}")
    if not tolerance > 0.0:
        raise InputError(f"tolerance must be positive, got {tolerance}")
    offset = points.mean(axis=0)
    centred = points - offset
    if np.linalg.matrix_rank(centred) < 3:
        raise InputError("the points lie in one plane: their enclosing ellipsoid is flat")
    lifted = np.column_stack([centred, np.ones(len(centred))])
    seed_tolerance = max(MVEE_SEED_TOLERANCE, float(tolerance))
    while True:
        weights, _ = _khachiyan_weights(centred, seed_tolerance, int(max_iterations))
        if seed_tolerance <= tolerance:
            break
        polished = _newton_weights(lifted, weights, float(tolerance), MVEE_NEWTON_STEPS)
        if polished is not None:
            weights = polished
            break
        seed_tolerance = max(seed_tolerance * 1.0e-2, float(tolerance))
    centre = weights @ centred
    scatter = (centred * weights[:, None]).T @ centred - np.outer(centre, centre)
    eigenvalues, eigenvectors = np.linalg.eigh(scatter)
    deviations = centred - centre
    reach = np.einsum("ij,jk,ik->i", deviations, np.linalg.inv(scatter), deviations).max()
    order = np.argsort(eigenvalues)[::-1]
    semi_axes = np.sqrt(eigenvalues[order] * reach)
    return semi_axes, centre + offset, eigenvectors[:, order].T


# ------------------------------------------------------------ triangle meshes


@njit
def _triangle_volumes_and_areas(vertices, faces, centre, volumes, areas):
    """Signed tetrahedron volumes (mm^3) and areas (mm^2) of the triangles of a mesh (compiled).

    For triangle ``f`` with corners ``(a, b, c) = vertices[faces[f]] - centre``:
    ``volumes[f] = a . (b x c) / 6``, ``areas[f] = |(b - a) x (c - a)| / 2``.
    ``vertices`` (n, 3) float64 and ``faces`` (m, 3) int64, C-contiguous;
    ``volumes`` and ``areas`` (m,) are written.
    """
    for f in range(faces.shape[0]):
        i, j, k = faces[f, 0], faces[f, 1], faces[f, 2]
        a0 = vertices[i, 0] - centre[0]
        a1 = vertices[i, 1] - centre[1]
        a2 = vertices[i, 2] - centre[2]
        b0 = vertices[j, 0] - centre[0]
        b1 = vertices[j, 1] - centre[1]
        b2 = vertices[j, 2] - centre[2]
        c0 = vertices[k, 0] - centre[0]
        c1 = vertices[k, 1] - centre[1]
        c2 = vertices[k, 2] - centre[2]
        volumes[f] = (a0 * (b1 * c2 - b2 * c1) + a1 * (b2 * c0 - b0 * c2) + a2 * (b0 * c1 - b1 * c0)) / 6.0
        u0, u1, u2 = b0 - a0, b1 - a1, b2 - a2
        w0, w1, w2 = c0 - a0, c1 - a1, c2 - a2
        n0 = u1 * w2 - u2 * w1
        n1 = u2 * w0 - u0 * w2
        n2 = u0 * w1 - u1 * w0
        areas[f] = np.sqrt(n0 * n0 + n1 * n1 + n2 * n2) / 2.0


def mesh_volume_and_area(vertices: np.ndarray, faces: np.ndarray) -> tuple[float, float]:
    """Signed volume (mm^3) and area (mm^2) of a triangle mesh, from one pass over its triangles.

    The volume is the sum of the signed tetrahedra spanned by the vertices'
    centroid and each triangle, ``a . (b x c) / 6`` (centred ``a, b, c``),
    the area the sum of ``|(b - a) x (c - a)| / 2``
    (:func:`_triangle_volumes_and_areas`; NumPy's pairwise sums).
    """
    vertices = np.ascontiguousarray(vertices, dtype=np.float64)
    faces = np.ascontiguousarray(faces, dtype=np.int64)
    volumes, areas = np.empty(len(faces)), np.empty(len(faces))
    _triangle_volumes_and_areas(vertices, faces, vertices.mean(axis=0), volumes, areas)
    return float(volumes.sum()), float(areas.sum())


# ------------------------------------------------------------ bounding boxes


@njit(inline="always")
def _precedes(u, v, a, b):
    """Whether point ``a`` comes before point ``b`` by ``u``, ties by ``v``, then by index."""
    if u[a] != u[b]:
        return u[a] < u[b]
    if v[a] != v[b]:
        return v[a] < v[b]
    return a < b


@njit(inline="always")
def _lexicographic_order(u, v):
    """Indices sorting the points by ``u``, ties by ``v``, then by index (bottom-up merge sort).

    The order is total (no two points tie on the index), so any correct sort gives this one
    permutation; plain loops keep the kernel quick to compile.
    """
    n_points = u.shape[0]
    order = np.arange(n_points)
    spare = np.empty(n_points, dtype=order.dtype)
    width = 1
    while width < n_points:
        for start in range(0, n_points, 2 * width):
            middle = min(start + width, n_points)
            stop = min(start + 2 * width, n_points)
            left, right, out = start, middle, start
            while left < middle and right < stop:
                if _precedes(u, v, order[right], order[left]):
                    spare[out] = order[right]
                    right += 1
                else:
                    spare[out] = order[left]
                    left += 1
                out += 1
            while left < middle:
                spare[out] = order[left]
                left += 1
                out += 1
            while right < stop:
                spare[out] = order[right]
                right += 1
                out += 1
        order, spare = spare, order
        width *= 2
    return order


@njit(inline="always")
def _push_turning_left(u, v, hull, size, floor, p):
    """Push point ``p`` onto the hull stack ``hull[:size]``; returns the new size.

    First pops, while the stack holds at least ``floor`` points, the last
    point when ``(last two, p)`` does not turn left (counter-clockwise).
    """
    while size >= floor:
        a = hull[size - 2]
        b = hull[size - 1]
        if (u[b] - u[a]) * (v[p] - v[a]) - (v[b] - v[a]) * (u[p] - u[a]) > 0.0:
            break
        size -= 1
    hull[size] = p
    return size + 1


@njit(inline="always")
def _planar_hull(u, v):
    """Indices of the 2D convex hull of points (u, v), counter-clockwise (monotone chain)."""
    n_points = u.shape[0]
    order = _lexicographic_order(u, v)
    hull = np.empty(2 * n_points + 1, dtype=np.int64)
    size = 0
    for k in range(n_points):  # lower chain
        size = _push_turning_left(u, v, hull, size, 2, order[k])
    lower_size = size + 1
    for k in range(n_points - 2, -1, -1):  # upper chain
        size = _push_turning_left(u, v, hull, size, lower_size, order[k])
    return hull[:max(size - 1, 1)]


SILHOUETTE_MARGIN = 1.0e-9
"""Faces whose unit normal is within this dot product of orthogonal to the view count as facing either way."""


def _hull_structure(hull: ConvexHull) -> tuple:
    """The convex hull as the box kernels read it: vertices, face normals, edges and each vertex's edges.

    Returns ``(vertices, face_normals, edge_vertices, edge_faces,
    vertex_edge_starts, vertex_edges)``: the hull vertices (in
    ``hull.vertices`` order), the unit outward normal of each triangle, for
    each edge its two vertices (rows of ``vertices``) and its two triangles,
    and the edges of vertex ``i`` as ``vertex_edges[vertex_edge_starts[i]:vertex_edge_starts[i + 1]]``.
    """
    position = np.full(len(hull.points), -1, dtype=np.int64)
    position[hull.vertices] = np.arange(len(hull.vertices))
    triangles = position[hull.simplices]
    face_normals = hull.equations[:, :3] / np.linalg.norm(hull.equations[:, :3], axis=1, keepdims=True)
    faces, corners = np.nonzero(np.arange(len(triangles))[:, None] < hull.neighbors)
    edge_vertices = np.column_stack([triangles[faces, (corners + 1) % 3], triangles[faces, (corners + 2) % 3]])
    edge_faces = np.column_stack([faces, hull.neighbors[faces, corners]])
    ends = edge_vertices.ravel()
    by_vertex = np.argsort(ends, kind="stable")
    vertex_edge_starts = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=len(hull.vertices)))])
    return (np.ascontiguousarray(hull.points[hull.vertices], dtype=np.float64),
            np.ascontiguousarray(face_normals), np.ascontiguousarray(edge_vertices, dtype=np.int64),
            np.ascontiguousarray(edge_faces, dtype=np.int64), vertex_edge_starts.astype(np.int64),
            (by_vertex // 2).astype(np.int64))


@njit(inline="always")
def _silhouette_ring(convex, normal):
    """The hull vertices along the silhouette seen along ``normal``, in order around it; empty if it is not one loop.

    The faces turned towards ``normal`` (``n_f . normal >= 0``) form a disc on
    a convex polyhedron, whose boundary, the loop of edges between a face
    turned towards ``normal`` and one turned away, projects onto the
    boundary of the hull's projection (collinear runs included): walked from
    edge to edge, it lists the vertices that may bound the projection
    already in order around it, in either direction. Each vertex of the
    loop has exactly two such edges; if one has another number, or no such
    edge exists, or a face is edge-on (within :data:`SILHOUETTE_MARGIN`: its
    projection is a segment, and the loop may run along its near side only,
    missing a vertex of the far side that bounds the projection), the ring is
    empty and the caller sorts the silhouette instead.
    """
    face_normals = convex[1]
    edge_vertices = convex[2]
    edge_faces = convex[3]
    starts = convex[4]
    vertex_edges = convex[5]
    n_vertices = convex[0].shape[0]
    towards = np.empty(face_normals.shape[0], dtype=np.bool_)
    for f in range(face_normals.shape[0]):
        facing = face_normals[f, 0] * normal[0] + face_normals[f, 1] * normal[1] + face_normals[f, 2] * normal[2]
        towards[f] = facing >= 0.0
        if abs(facing) <= SILHOUETTE_MARGIN:
            return np.empty(0, dtype=np.int64)
    ring = np.empty(n_vertices, dtype=np.int64)
    first_edge = -1
    for e in range(edge_faces.shape[0]):
        if towards[edge_faces[e, 0]] != towards[edge_faces[e, 1]]:
            first_edge = e
            break
    if first_edge < 0:
        return ring[:0]
    start = edge_vertices[first_edge, 0]
    ring[0] = start
    size = 1
    vertex = edge_vertices[first_edge, 1]
    edge = first_edge
    while vertex != start:
        if size == n_vertices:
            return ring[:0]
        ring[size] = vertex
        size += 1
        following = -1
        count = 0
        for k in range(starts[vertex], starts[vertex + 1]):
            other = vertex_edges[k]
            if towards[edge_faces[other, 0]] != towards[edge_faces[other, 1]]:
                count += 1
                if other != edge:
                    following = other
        if count != 2:
            return ring[:0]
        edge = following
        vertex = edge_vertices[edge, 0] if edge_vertices[edge, 1] == vertex else edge_vertices[edge, 1]
    return ring[:size]


@njit(inline="always")
def _ring_hull(u, v):
    """Indices of the 2D convex hull of a closed ring of points (u, v) that runs around it, counter-clockwise.

    The ring (in either direction) is a convex polygon up to collinear runs
    and rounding; starting from its lexicographically smallest point, a
    Graham scan in counter-clockwise order drops the points that do not
    turn left, with :func:`_planar_hull`'s test, so that the hull starts
    at the same point and runs the same way as that function's. Empty if the
    ring encloses no area.
    """
    n_points = u.shape[0]
    doubled_area = 0.0
    lowest = 0
    for k in range(n_points):
        following = (k + 1) % n_points
        doubled_area += u[k] * v[following] - u[following] * v[k]
        if _precedes(u, v, k, lowest):
            lowest = k
    hull = np.empty(n_points + 1, dtype=np.int64)
    if not doubled_area != 0.0:
        return hull[:0]
    step = 1 if doubled_area > 0.0 else n_points - 1
    size = 0
    for j in range(n_points + 1):
        size = _push_turning_left(u, v, hull, size, 2, (lowest + j * step) % n_points)
    return hull[:size - 1]


@njit(inline="always")
def _silhouette_vertices(convex, normal, margin):
    """Indices (increasing) of the hull vertices that may bound the hull's projection along ``normal``.

    A vertex projects onto the boundary of the projected hull only if it lies
    on an edge between a face turned towards ``normal`` and one turned away
    (the silhouette); faces within ``margin`` of edge-on count as both, so
    that no vertex on the boundary up to rounding is left out. The other
    vertices project strictly inside.
    """
    face_normals = convex[1]
    edge_vertices = convex[2]
    edge_faces = convex[3]
    n_vertices = convex[0].shape[0]
    facing = np.empty(face_normals.shape[0])
    for f in range(face_normals.shape[0]):
        facing[f] = face_normals[f, 0] * normal[0] + face_normals[f, 1] * normal[1] + face_normals[f, 2] * normal[2]
    on_silhouette = np.zeros(n_vertices, dtype=np.bool_)
    for e in range(edge_faces.shape[0]):
        a = facing[edge_faces[e, 0]]
        b = facing[edge_faces[e, 1]]
        if min(a, b) <= margin and max(a, b) >= -margin:
            on_silhouette[edge_vertices[e, 0]] = True
            on_silhouette[edge_vertices[e, 1]] = True
    return np.nonzero(on_silhouette)[0]


@njit(inline="always")
def _minimum_area_rectangle(u, v, hull):
    """The smallest-area rectangle enclosing a convex polygon, with a side along one of its edges.

    ``hull`` lists the polygon's vertices (indices into ``u``, ``v``) in
    order. For each edge, the extents of every vertex along the edge and
    across it (a plain double loop: with the few tens of vertices of a
    projected hull it vectorises, and runs faster than rotating calipers'
    pointer walks). Returns ``(width, depth, du, dv)``: the extents along the
    first edge of smallest area (unit direction ``(du, dv)``) and across it;
    ``(0, 0, 1, 0)`` when every edge has zero length.
    """
    m = hull.shape[0]
    best_area = np.inf
    best_width = 0.0
    best_depth = 0.0
    best_du = 1.0
    best_dv = 0.0
    for e in range(m):
        a = hull[e]
        b = hull[(e + 1) % m]
        du = u[b] - u[a]
        dv = v[b] - v[a]
        length = np.sqrt(du * du + dv * dv)
        if length == 0.0:
            continue
        du /= length
        dv /= length
        along_low = np.inf
        along_high = -np.inf
        across_low = np.inf
        across_high = -np.inf
        for t in range(m):
            p = hull[t]
            along = u[p] * du + v[p] * dv
            across = -u[p] * dv + v[p] * du
            along_low = min(along_low, along)
            along_high = max(along_high, along)
            across_low = min(across_low, across)
            across_high = max(across_high, across)
        area = (along_high - along_low) * (across_high - across_low)
        if area < best_area:
            best_area = area
            best_width = along_high - along_low
            best_depth = across_high - across_low
            best_du = du
            best_dv = dv
    return best_width, best_depth, best_du, best_dv


@njit(inline="always")
def _projected(points, chosen, first, second):
    """Coordinates ``(u, v)`` of ``points[chosen]`` along the in-plane axes ``first`` and ``second``."""
    u = np.empty(chosen.shape[0])
    v = np.empty(chosen.shape[0])
    for k in range(chosen.shape[0]):
        i = chosen[k]
        u[k] = points[i, 0] * first[0] + points[i, 1] * first[1] + points[i, 2] * first[2]
        v[k] = points[i, 0] * second[0] + points[i, 1] * second[1] + points[i, 2] * second[2]
    return u, v


@njit
def _box_about_normal(convex, normal, sides, axes):
    """The minimum-volume box enclosing the convex hull ``convex`` with an axis along the unit ``normal``.

    ``convex`` is :func:`_hull_structure`'s tuple. The box's height is the
    extent of the hull vertices along the normal; its base is the
    minimum-area rectangle of their projection on the orthogonal plane,
    which has a side along an edge of the projection's 2D convex hull
    (:func:`_minimum_area_rectangle`); that hull is the
    silhouette loop (:func:`_silhouette_ring`, :func:`_ring_hull`), or, if
    the loop does not close, the hull of the sorted silhouette vertices
    (:func:`_silhouette_vertices`, :func:`_planar_hull`). Writes the side lengths into ``sides``
    (3,) and the unit axis directions, as rows in the same order, into
    ``axes`` (3, 3).
    """
    points = convex[0]
    n_points = points.shape[0]
    helper = np.zeros(3)
    if abs(normal[0]) < 0.6:
        helper[0] = 1.0
    else:
        helper[1] = 1.0
    first = helper - (helper[0] * normal[0] + helper[1] * normal[1] + helper[2] * normal[2]) * normal
    first /= np.sqrt(first[0] ** 2 + first[1] ** 2 + first[2] ** 2)
    second = np.empty(3)
    second[0] = normal[1] * first[2] - normal[2] * first[1]
    second[1] = normal[2] * first[0] - normal[0] * first[2]
    second[2] = normal[0] * first[1] - normal[1] * first[0]
    height_low = np.inf
    height_high = -np.inf
    for i in range(n_points):
        h = points[i, 0] * normal[0] + points[i, 1] * normal[1] + points[i, 2] * normal[2]
        height_low = min(height_low, h)
        height_high = max(height_high, h)
    ring = _silhouette_ring(convex, normal)
    u, v = _projected(points, ring, first, second)
    hull = _ring_hull(u, v) if ring.shape[0] >= 3 else ring[:0]
    if hull.shape[0] < 3:  # not one loop, or no area: sort the silhouette's vertices
        silhouette = _silhouette_vertices(convex, normal, SILHOUETTE_MARGIN)
        if silhouette.shape[0] < 3:
            silhouette = np.arange(n_points)
        u, v = _projected(points, silhouette, first, second)
        hull = _planar_hull(u, v)
    best_width, best_depth, best_du, best_dv = _minimum_area_rectangle(u, v, hull)
    sides[0] = height_high - height_low
    sides[1] = best_width
    sides[2] = best_depth
    for c in range(3):
        axes[0, c] = normal[c]
        axes[1, c] = best_du * first[c] + best_dv * second[c]
        axes[2, c] = -best_dv * first[c] + best_du * second[c]


@njit
def _boxes_about_normals(convex, normals):
    """:func:`_box_about_normal` for each row of ``normals``.

    One thread: a parallel loop takes seconds more to compile on first use than it saves
    on a few thousand normals.

    Returns
    -------
    sides : (n_normals, 3) side lengths along ``axes[k, 0..2]``.
    axes : (n_normals, 3, 3) unit axis directions as rows.
    """
    n_normals = normals.shape[0]
    sides = np.empty((n_normals, 3))
    axes = np.empty((n_normals, 3, 3))
    for k in range(n_normals):
        _box_about_normal(convex, normals[k], sides[k], axes[k])
    return sides, axes


def box_surface_area(sides) -> float:
    """Surface area (mm^2) of a box with side lengths ``sides``."""
    l1, l2, l3 = (float(s) for s in sides)
    return 2.0 * (l1 * l2 + l1 * l3 + l2 * l3)


def _hemisphere_directions(count: int) -> np.ndarray:
    """``count`` unit vectors spread evenly over the half sphere ``z >= 0`` (Fibonacci lattice)."""
    index = np.arange(count) + 0.5
    height = index / count
    azimuth = math.pi * (3.0 - math.sqrt(5.0)) * index
    radius = np.sqrt(1.0 - height ** 2)
    return np.column_stack([radius * np.cos(azimuth), radius * np.sin(azimuth), height])


def _tilting_basis(normal: np.ndarray) -> np.ndarray:
    """Two unit vectors (rows) orthogonal to ``normal`` and to each other."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(normal[0]) < 0.6 else np.array([0.0, 1.0, 0.0])
    first = np.cross(normal, helper)
    first /= np.linalg.norm(first)
    return np.array([first, np.cross(normal, first)])


_NM_INITIAL, _NM_REFLECT, _NM_EXPAND, _NM_CONTRACT, _NM_SHRINK, _NM_FINAL = range(6)
"""Phases of :func:`_refined_box`: the tilt about to be evaluated is a vertex of the initial simplex, the
reflected, expanded or contracted point, a vertex of a shrunk simplex, or the best vertex at the end."""


@njit_exact(inline="always")
def _tilted_box_volume(convex, normal, basis, tilt, sides, axes):
    """Volume of :func:`_box_about_normal` about ``normal + tilt @ basis`` (renormalised); fills ``sides``, ``axes``."""
    moved = np.empty(3)
    for c in range(3):
        moved[c] = normal[c] + (tilt[0] * basis[0, c] + tilt[1] * basis[1, c])
    length = np.sqrt(moved[0] * moved[0] + moved[1] * moved[1] + moved[2] * moved[2])
    for c in range(3):
        moved[c] /= length
    _box_about_normal(convex, moved, sides, axes)
    return sides[0] * sides[1] * sides[2]


@njit_exact
def _sorted_simplex(simplex, volumes):
    """Reorder the 3 vertices of a 2D simplex by increasing volume, ties kept in order (stable)."""
    for k in range(1, 3):
        k_volume = volumes[k]
        k_first = simplex[k, 0]
        k_second = simplex[k, 1]
        j = k - 1
        while j >= 0 and volumes[j] > k_volume:
            volumes[j + 1] = volumes[j]
            simplex[j + 1, 0] = simplex[j, 0]
            simplex[j + 1, 1] = simplex[j, 1]
            j -= 1
        volumes[j + 1] = k_volume
        simplex[j + 1, 0] = k_first
        simplex[j + 1, 1] = k_second


@njit_exact
def _refined_box(convex, normal, basis, step, tilt_tolerance, volume_tolerance, max_evaluations, sides, axes):
    """Nelder-Mead search over the tilt of ``normal`` for the smallest :func:`_box_about_normal`.

    The algorithm of :func:`scipy.optimize.minimize` (``method="Nelder-Mead"``,
    standard coefficients: reflection 1, expansion 2, contraction 1/2,
    shrink 1/2) step by step, with the initial simplex ``(0, 0), (step, 0),
    (0, step)``, its stopping rule (simplex within ``tilt_tolerance`` and
    volumes within ``volume_tolerance``) and its budget of ``max_evaluations``
    evaluations and iterations. Fills ``sides`` and ``axes`` with the box at
    the best tilt found. Written as a loop over evaluations with one call of
    :func:`_tilted_box_volume` (inlined), which then decides the next tilt:
    seven call sites each took their own copy of the box code (seconds of compile time).
    """
    simplex = np.zeros((3, 2))
    simplex[1, 0] = step
    simplex[2, 1] = step
    volumes = np.empty(3)
    trial = np.empty(2)
    expanded = np.empty(2)
    point = np.zeros(2)  # the tilt evaluated next: one call site keeps the inlined box code single
    trial_volume = 0.0
    centre_first = 0.0
    centre_second = 0.0
    limit = 0.0
    shrink_unless_strictly_better = False
    phase = _NM_INITIAL
    vertex = 0
    evaluations = 0
    iterations = 1
    while True:
        volume = _tilted_box_volume(convex, normal, basis, point, sides, axes)
        if phase == _NM_FINAL:
            break
        evaluations += 1
        iteration_done = False
        finished = False
        if phase == _NM_INITIAL:
            volumes[vertex] = volume
            vertex += 1
            if vertex < 3:
                point[0] = simplex[vertex, 0]
                point[1] = simplex[vertex, 1]
                continue
            _sorted_simplex(simplex, volumes)
        elif phase == _NM_REFLECT:
            trial_volume = volume
            if trial_volume < volumes[0]:  # reflected point the best: try expanding
                if evaluations >= max_evaluations:
                    finished = True
                else:
                    expanded[0] = 3.0 * centre_first - 2.0 * simplex[2, 0]
                    expanded[1] = 3.0 * centre_second - 2.0 * simplex[2, 1]
                    phase = _NM_EXPAND
                    point[0] = expanded[0]
                    point[1] = expanded[1]
                    continue
            elif trial_volume < volumes[1]:  # better than the second worst: accept
                simplex[2, 0] = trial[0]
                simplex[2, 1] = trial[1]
                volumes[2] = trial_volume
                iteration_done = True
            elif evaluations >= max_evaluations:
                finished = True
            else:
                if trial_volume < volumes[2]:  # outside contraction
                    expanded[0] = 1.5 * centre_first - 0.5 * simplex[2, 0]
                    expanded[1] = 1.5 * centre_second - 0.5 * simplex[2, 1]
                    limit = trial_volume
                    shrink_unless_strictly_better = False
                else:  # inside contraction
                    expanded[0] = 0.5 * centre_first + 0.5 * simplex[2, 0]
                    expanded[1] = 0.5 * centre_second + 0.5 * simplex[2, 1]
                    limit = volumes[2]
                    shrink_unless_strictly_better = True
                phase = _NM_CONTRACT
                point[0] = expanded[0]
                point[1] = expanded[1]
                continue
        elif phase == _NM_EXPAND:
            if volume < trial_volume:
                trial[0] = expanded[0]
                trial[1] = expanded[1]
                trial_volume = volume
            simplex[2, 0] = trial[0]
            simplex[2, 1] = trial[1]
            volumes[2] = trial_volume
            iteration_done = True
        elif phase == _NM_CONTRACT and (volume < limit or (volume == limit and not shrink_unless_strictly_better)):
            simplex[2, 0] = expanded[0]
            simplex[2, 1] = expanded[1]
            volumes[2] = volume
            iteration_done = True
        else:  # shrink towards the best vertex: after a failed contraction, or a vertex of the shrink evaluated
            if phase == _NM_SHRINK:
                volumes[vertex] = volume
                vertex += 1
            else:
                vertex = 1
            if vertex == 3:
                iteration_done = True
            else:
                simplex[vertex, 0] = simplex[0, 0] + 0.5 * (simplex[vertex, 0] - simplex[0, 0])
                simplex[vertex, 1] = simplex[0, 1] + 0.5 * (simplex[vertex, 1] - simplex[0, 1])
                if evaluations >= max_evaluations:
                    _sorted_simplex(simplex, volumes)
                    finished = True
                else:
                    phase = _NM_SHRINK
                    point[0] = simplex[vertex, 0]
                    point[1] = simplex[vertex, 1]
                    continue
        if iteration_done:
            iterations += 1
            _sorted_simplex(simplex, volumes)
        if not finished and evaluations < max_evaluations and iterations < max_evaluations:
            spread = max(abs(simplex[1, 0] - simplex[0, 0]), abs(simplex[1, 1] - simplex[0, 1]),
                         abs(simplex[2, 0] - simplex[0, 0]), abs(simplex[2, 1] - simplex[0, 1]))
            finished = spread <= tilt_tolerance and max(abs(volumes[0] - volumes[1]),
                                                        abs(volumes[0] - volumes[2])) <= volume_tolerance
        else:
            finished = True
        if finished:
            phase = _NM_FINAL
            point[0] = simplex[0, 0]
            point[1] = simplex[0, 1]
            continue
        centre_first = (simplex[0, 0] + simplex[1, 0]) / 2
        centre_second = (simplex[0, 1] + simplex[1, 1]) / 2
        trial[0] = 2.0 * centre_first - simplex[2, 0]
        trial[1] = 2.0 * centre_second - simplex[2, 1]
        phase = _NM_REFLECT
        point[0] = trial[0]
        point[1] = trial[1]


def oriented_minimum_bounding_box(points: np.ndarray, n_directions: int = OMBB_DIRECTIONS,
                                  n_refined: int = OMBB_REFINED):
    """Minimum-volume box of any orientation enclosing a 3D point set.

    For a given direction ``n`` of one of its axes, the smallest enclosing box
    is exact: its height is the extent of the points along ``n`` and its base
    the minimum-area rectangle of their projection (an edge of its 2D hull,
    :func:`_boxes_about_normals`). The box volume is thus a function of ``n``
    on the half sphere, minimised here over the convex-hull face normals
    (boxes with a face flush with the hull), the coordinate axes (so the
    result is never larger than the axis-aligned box) and ``n_directions``
    evenly spread directions; the ``n_refined`` best directions of distinct
    volume are then refined by a Nelder-Mead search over the direction
    (:func:`_refined_box`; the optimum need not have a face flush with the
    hull, O'Rourke 1985). Of the
    boxes within :data:`OMBB_TIE_TOLERANCE` of the smallest volume, the one of
    smallest surface area is returned, so that near-ties do not make the area
    flip.

    Parameters
    ----------
    points : ndarray of float, shape (n, 3)
        Positions in mm, not all in one plane.
    n_directions : int
        Directions sampled evenly on the half sphere.
    n_refined : int
        Number of best directions refined by the local search.

    Returns
    -------
    sides : ndarray of float64, shape (3,)
        Side lengths in mm, decreasing.
    axes : ndarray of float64, shape (3, 3)
        Unit side directions as rows, in the order of ``sides``.
    """
    points = np.ascontiguousarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or len(points) < 4:
        raise InputError(f"need an (n >= 4, 3) array of points, got shape {points.shape}")
    points = points - points.mean(axis=0)
    from scipy.spatial import ConvexHull  # here, not with the module: only the opt-in OMBB needs it

    convex = _hull_structure(ConvexHull(points))
    normals = np.vstack([np.unique(np.round(convex[1], 12), axis=0), np.eye(3),
                         _hemisphere_directions(n_directions)])
    sides, axes = _boxes_about_normals(convex, np.ascontiguousarray(normals))
    volumes = np.prod(sides, axis=1)

    smallest = float(volumes.min())
    _, first_of_each = np.unique(np.round(volumes / smallest, 9), return_index=True)
    refined = first_of_each[:n_refined]
    refined_sides, refined_axes = np.empty((len(refined), 3)), np.empty((len(refined), 3, 3))
    for k, index in enumerate(refined):
        _refined_box(convex, normals[index], _tilting_basis(normals[index]), OMBB_TILT_STEP, OMBB_TILT_TOLERANCE,
                     OMBB_VOLUME_TOLERANCE * smallest, OMBB_MAX_EVALUATIONS, refined_sides[k], refined_axes[k])
    found_sides = np.concatenate([sides, refined_sides])  # the sampled boxes, then the refined ones
    found_axes = np.concatenate([axes, refined_axes])
    found_volumes = np.prod(found_sides, axis=1)
    near_smallest = np.flatnonzero(found_volumes <= found_volumes.min() * (1.0 + OMBB_TIE_TOLERANCE))
    best = near_smallest[np.argmin([box_surface_area(found_sides[k]) for k in near_smallest])]
    order = np.argsort(found_sides[best])[::-1]
    return found_sides[best][order], found_axes[best][order]
