//! A facade seen in perspective: its four corners in the image, divided into floors and window
//! columns. A homography maps image points onto the facade's own square, where floors and
//! columns are equal slices.

use serde::{Deserialize, Serialize};

/// `CALIB.json`: the facade's corners (top-left, top-right, bottom-right, bottom-left, pixels),
/// its floors (1 = the bottom row) and window columns (1 = the leftmost).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    pub facade: [[f64; 2]; 4],
    pub floors: u32,
    pub columns: u32,
    /// Storey height in metres, which sets the scale for the gravity test (default 3).
    #[serde(default = "default_floor_height")]
    pub floor_height_m: f64,
}

fn default_floor_height() -> f64 {
    3.0
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CalibrationError {
    #[error("calibration is not valid JSON of the form {{\"facade\": [[x,y],[x,y],[x,y],[x,y]], \"floors\": N, \"columns\": M}}: {0}")]
    Json(String),
    #[error("calibration field {field}: {why}")]
    Field { field: &'static str, why: String },
}

fn field(field: &'static str, why: impl Into<String>) -> CalibrationError {
    CalibrationError::Field { field, why: why.into() }
}

const MAX_DIVISIONS: u32 = 1000;

impl Calibration {
    pub fn from_json(text: &str) -> Result<Self, CalibrationError> {
        let calib: Calibration = serde_json::from_str(text).map_err(|e| CalibrationError::Json(e.to_string()))?;
        calib.validate()?;
        Ok(calib)
    }

    /// Checks what holds whatever the frame: counts, and a convex, non-degenerate quadrilateral
    /// with its corners in the documented order.
    pub fn validate(&self) -> Result<(), CalibrationError> {
        if self.floors == 0 || self.floors > MAX_DIVISIONS {
            return Err(field("floors", format!("must be 1 to {MAX_DIVISIONS}, not {}", self.floors)));
        }
        if self.columns == 0 || self.columns > MAX_DIVISIONS {
            return Err(field("columns", format!("must be 1 to {MAX_DIVISIONS}, not {}", self.columns)));
        }
        if !(self.floor_height_m.is_finite() && (1.0..=10.0).contains(&self.floor_height_m)) {
            return Err(field("floor_height_m", "must be 1 to 10 metres"));
        }
        if self.facade.iter().flatten().any(|v| !v.is_finite()) {
            return Err(field("facade", "corners must be finite numbers"));
        }
        // Corners in image coordinates (y down) go clockwise: every turn has the same sign.
        let p = self.facade;
        let turns: Vec<f64> = (0..4)
            .map(|i| {
                let (a, b, c) = (p[i], p[(i + 1) % 4], p[(i + 2) % 4]);
                (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])
            })
            .collect();
        let area = 0.5 * (0..4).map(|i| p[i][0] * p[(i + 1) % 4][1] - p[(i + 1) % 4][0] * p[i][1]).sum::<f64>();
        let shortest = (0..4).map(|i| distance(p[i], p[(i + 1) % 4])).fold(f64::INFINITY, f64::min);
        if area.abs() < 100.0 || shortest < 4.0 {
            return Err(field("facade", format!("the quadrilateral is degenerate (area {:.0} px², shortest side {shortest:.1} px)", area.abs())));
        }
        if !turns.iter().all(|&t| t > 0.0) {
            let why = if turns.iter().all(|&t| t < 0.0) {
                "corners go counter-clockwise; give them as top-left, top-right, bottom-right, bottom-left"
            } else {
                "the quadrilateral is not convex (or its corners are not in the order top-left, top-right, bottom-right, bottom-left)"
            };
            return Err(field("facade", why));
        }
        // A corner angle near 180° makes a triangle: the mapping would blow up there.
        for i in 0..4 {
            let (a, b, c) = (p[(i + 3) % 4], p[i], p[(i + 1) % 4]);
            let sin = turns[(i + 3) % 4] / (distance(a, b) * distance(b, c));
            if sin < 0.02 {
                return Err(field("facade", format!("corner {} is almost straight; the quadrilateral is degenerate", i + 1)));
            }
        }
        Ok(())
    }

    /// Checks that the facade lies inside a frame of this size (a pixel of slack).
    pub fn validate_for_frame(&self, width: usize, height: usize) -> Result<(), CalibrationError> {
        for (i, [x, y]) in self.facade.iter().enumerate() {
            if *x < -1.0 || *y < -1.0 || *x > width as f64 + 1.0 || *y > height as f64 + 1.0 {
                return Err(field("facade", format!("corner {} ({x}, {y}) lies outside the {width}×{height} frame", i + 1)));
            }
        }
        Ok(())
    }

    /// Image → facade square: `u` 0 (left edge) to 1 (right), `v` 0 (top) to 1 (bottom).
    pub fn homography(&self) -> Homography {
        Homography::square_to_quad(self.facade).inverse()
    }

    /// Facade square → image.
    pub fn to_image(&self) -> Homography {
        Homography::square_to_quad(self.facade)
    }

    /// The floor (1 = bottom) and column (1 = left) of a point of the facade square, clamped.
    pub fn cell_at(&self, u: f64, v: f64) -> (u32, u32) {
        let floor = self.floors as i64 - (v * self.floors as f64).floor() as i64;
        let column = (u * self.columns as f64).floor() as i64 + 1;
        (floor.clamp(1, self.floors as i64) as u32, column.clamp(1, self.columns as i64) as u32)
    }
}

fn distance(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// A plane-to-plane projective map (3×3, last entry 1). Written out: a four-point homography is
/// a closed formula (Heckbert's square-to-quad) and a 3×3 inverse, not worth a linear-algebra crate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homography([[f64; 3]; 3]);

impl Homography {
    /// Maps the unit square's (0,0), (1,0), (1,1), (0,1) onto `quad`'s four corners in order.
    pub fn square_to_quad(quad: [[f64; 2]; 4]) -> Self {
        let [[x0, y0], [x1, y1], [x2, y2], [x3, y3]] = quad;
        let (sx, sy) = (x0 - x1 + x2 - x3, y0 - y1 + y2 - y3);
        if sx.abs() < 1e-12 && sy.abs() < 1e-12 {
            return Self([[x1 - x0, x3 - x0, x0], [y1 - y0, y3 - y0, y0], [0.0, 0.0, 1.0]]);
        }
        let (dx1, dx2, dy1, dy2) = (x1 - x2, x3 - x2, y1 - y2, y3 - y2);
        let den = dx1 * dy2 - dx2 * dy1;
        let g = (sx * dy2 - dx2 * sy) / den;
        let h = (dx1 * sy - sx * dy1) / den;
        Self([[x1 - x0 + g * x1, x3 - x0 + h * x3, x0], [y1 - y0 + g * y1, y3 - y0 + h * y3, y0], [g, h, 1.0]])
    }

    pub fn inverse(&self) -> Self {
        let m = self.0;
        let cof = |r0: usize, r1: usize, c0: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
        let adj = [
            [cof(1, 2, 1, 2), -cof(0, 2, 1, 2), cof(0, 1, 1, 2)],
            [-cof(1, 2, 0, 2), cof(0, 2, 0, 2), -cof(0, 1, 0, 2)],
            [cof(1, 2, 0, 1), -cof(0, 2, 0, 1), cof(0, 1, 0, 1)],
        ];
        let scale = adj[2][2];
        Self(adj.map(|row| row.map(|v| v / scale)))
    }

    pub fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        let m = self.0;
        let w = m[2][0] * x + m[2][1] * y + m[2][2];
        ((m[0][0] * x + m[0][1] * y + m[0][2]) / w, (m[1][0] * x + m[1][1] * y + m[1][2]) / w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calib(facade: [[f64; 2]; 4]) -> Calibration {
        Calibration { facade, floors: 10, columns: 4, floor_height_m: 3.0 }
    }

    #[test]
    fn homography_maps_corners_both_ways() {
        let c = calib([[300.0, 40.0], [640.0, 70.0], [620.0, 500.0], [310.0, 520.0]]);
        let (to_square, to_image) = (c.homography(), c.to_image());
        for (corner, square) in c.facade.iter().zip([(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]) {
            let (u, v) = to_square.apply(corner[0], corner[1]);
            assert!((u - square.0).abs() < 1e-9 && (v - square.1).abs() < 1e-9, "{corner:?} → ({u}, {v})");
            let (x, y) = to_image.apply(square.0, square.1);
            assert!((x - corner[0]).abs() < 1e-9 && (y - corner[1]).abs() < 1e-9);
        }
        // The facade's centre in the square is the crossing of the quadrilateral's diagonals.
        let (x, y) = to_image.apply(0.5, 0.5);
        let (u, v) = to_square.apply(x, y);
        assert!((u - 0.5).abs() < 1e-9 && (v - 0.5).abs() < 1e-9);
    }

    #[test]
    fn cells_count_floors_from_the_bottom_and_columns_from_the_left() {
        let c = calib([[0.0, 0.0], [400.0, 0.0], [400.0, 1000.0], [0.0, 1000.0]]);
        assert_eq!(c.cell_at(0.01, 0.99), (1, 1));
        assert_eq!(c.cell_at(0.99, 0.01), (10, 4));
        assert_eq!(c.cell_at(0.3, 0.55), (5, 2));
        assert_eq!(c.cell_at(-0.2, 1.3), (1, 1), "clamped");
    }

    #[test]
    fn bad_calibrations_name_what_is_wrong() {
        let good = r#"{"facade": [[300,40],[640,70],[620,500],[310,520]], "floors": 12, "columns": 5}"#;
        assert!(Calibration::from_json(good).is_ok());
        let cases = [
            (r#"{"facade": [[300,40],[640,70],[620,500],[310,520]], "floors": 0, "columns": 5}"#, "floors"),
            (r#"{"facade": [[300,40],[640,70],[620,500],[310,520]], "floors": 3, "columns": 0}"#, "columns"),
            (r#"{"facade": [[300,40],[300,40],[300,40],[300,40]], "floors": 3, "columns": 2}"#, "degenerate"),
            (r#"{"facade": [[0,0],[100,0],[200,0],[300,0]], "floors": 3, "columns": 2}"#, "degenerate"),
            (r#"{"facade": [[300,40],[620,500],[640,70],[310,520]], "floors": 3, "columns": 2}"#, "convex"),
            (r#"{"facade": [[310,520],[620,500],[640,70],[300,40]], "floors": 3, "columns": 2}"#, "counter-clockwise"),
            (r#"{"facade": [[300,40],[640,70],[620,500]], "floors": 3, "columns": 2}"#, "JSON"),
            (r#"{"facade": [[300,40],[640,70],[620,500],[310,520]], "floors": -1, "columns": 2}"#, "JSON"),
            (r#"not json"#, "JSON"),
        ];
        for (text, expected) in cases {
            let error = Calibration::from_json(text).expect_err(text).to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let c = Calibration::from_json(good).unwrap();
        assert!(c.validate_for_frame(960, 540).is_ok());
        assert!(c.validate_for_frame(600, 540).unwrap_err().to_string().contains("outside"));
    }
}
