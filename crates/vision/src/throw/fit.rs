//! Least-squares polynomials over a track, in the facade's metres.

/// `p(t) = c0 + c1 (t − t0) + c2 (t − t0)²`, fitted by least squares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quadratic {
    pub t0: f64,
    pub c: [f64; 3],
    /// Root mean square of the residuals.
    pub rms: f64,
}

impl Quadratic {
    pub fn fit(samples: &[(f64, f64)]) -> Option<Self> {
        if samples.len() < 3 {
            return None;
        }
        let t0 = samples.iter().map(|s| s.0).sum::<f64>() / samples.len() as f64;
        // Normal equations of [1, τ, τ²] with τ centred, which keeps them well conditioned.
        let mut m = [[0.0f64; 3]; 3];
        let mut r = [0.0f64; 3];
        for &(t, y) in samples {
            let tau = t - t0;
            let basis = [1.0, tau, tau * tau];
            for i in 0..3 {
                for j in 0..3 {
                    m[i][j] += basis[i] * basis[j];
                }
                r[i] += basis[i] * y;
            }
        }
        let c = solve3(m, r)?;
        let mut fit = Self { t0, c, rms: 0.0 };
        fit.rms = (samples.iter().map(|&(t, y)| (fit.at(t) - y).powi(2)).sum::<f64>() / samples.len() as f64).sqrt();
        Some(fit)
    }

    pub fn at(&self, t: f64) -> f64 {
        let tau = t - self.t0;
        self.c[0] + self.c[1] * tau + self.c[2] * tau * tau
    }

    pub fn velocity(&self, t: f64) -> f64 {
        self.c[1] + 2.0 * self.c[2] * (t - self.t0)
    }

    pub fn acceleration(&self) -> f64 {
        2.0 * self.c[2]
    }
}

/// Cramer's rule on a 3×3 system; `None` when it is singular.
fn solve3(m: [[f64; 3]; 3], r: [f64; 3]) -> Option<[f64; 3]> {
    let det = |a: [[f64; 3]; 3]| {
        a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
    };
    let d = det(m);
    if d.abs() < 1e-12 {
        return None;
    }
    let mut out = [0.0; 3];
    for (k, value) in out.iter_mut().enumerate() {
        let mut a = m;
        for i in 0..3 {
            a[i][k] = r[i];
        }
        *value = det(a) / d;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fall_is_fitted_exactly() {
        let samples: Vec<(f64, f64)> = (0..20).map(|i| i as f64 * 0.04).map(|t| (10.0 + t, 5.0 - 1.0 * t + 4.905 * t * t)).collect();
        let fit = Quadratic::fit(&samples).unwrap();
        assert!((fit.acceleration() - 9.81).abs() < 1e-6);
        assert!((fit.velocity(10.0) + 1.0).abs() < 1e-6);
        assert!((fit.at(10.0) - 5.0).abs() < 1e-6);
        assert!(fit.rms < 1e-9);
        assert!(Quadratic::fit(&samples[..2]).is_none());
    }
}
