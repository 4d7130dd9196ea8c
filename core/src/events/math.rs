//! Tiny 3-vector helpers (no linear-algebra crate needed for a handful of dot products).

/// A 3-vector in the sensor frame.
pub(crate) type V3 = [f64; 3];

pub(crate) fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub(crate) fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub(crate) fn scale(a: V3, k: f64) -> V3 {
    [a[0] * k, a[1] * k, a[2] * k]
}

pub(crate) fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn cross(a: V3, b: V3) -> V3 {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

pub(crate) fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}

/// `a / |a|`, or `None` for a (near) zero vector.
pub(crate) fn unit(a: V3) -> Option<V3> {
    let n = norm(a);
    (n > 1e-9).then(|| scale(a, 1.0 / n))
}

/// The part of `a` perpendicular to the unit vector `u`.
pub(crate) fn reject(a: V3, u: V3) -> V3 {
    sub(a, scale(u, dot(a, u)))
}

/// Rotate `v` by `angle` radians about the unit axis `u` (Rodrigues).
pub(crate) fn rotate(v: V3, u: V3, angle: f64) -> V3 {
    let (s, c) = angle.sin_cos();
    add(add(scale(v, c), scale(cross(u, v), s)), scale(u, dot(u, v) * (1.0 - c)))
}

/// Blend factor of a first-order low-pass with time constant `tau` over a step `dt`.
pub(crate) fn alpha(dt: f64, tau: f64) -> f64 {
    if tau <= 0.0 { 1.0 } else { 1.0 - (-dt / tau).exp() }
}

/// `prev + k (x - prev)`, component-wise.
pub(crate) fn lerp(prev: V3, x: V3, k: f64) -> V3 {
    add(prev, scale(sub(x, prev), k))
}
