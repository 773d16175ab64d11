//! The per-pixel background model: a running mean and a running mean absolute deviation, so each
//! pixel's threshold follows its own noise (swaying curtains and rain raise theirs), and a
//! per-frame gain and offset of light, so a change over the whole scene (clouds, dusk, a
//! camera's exposure) moves the expected values instead of lighting up every pixel.

/// Fixed point: values are stored ×256.
const ONE: i32 = 256;
/// A pixel is foreground beyond this many mean absolute deviations (one is about 0.8 σ)…
const K_DEVIATION: i32 = 5;
/// …and never within this many levels.
const MIN_THRESHOLD: i32 = 12;

pub struct Background {
    width: usize,
    /// The rectangle watched: x0..x1, y0..y1.
    roi: (usize, usize, usize, usize),
    mean: Vec<i32>,
    deviation: Vec<i32>,
    /// Foreground strength per pixel of the rectangle (|difference|, 0 = background), row-major.
    pub strength: Vec<u8>,
    /// Whether a first frame has been learnt.
    started: bool,
    /// Frames left of fast learning after a disturbance.
    relearn: u32,
    /// This frame's light against the background's: expected = mean × gain / 256 + offset.
    gain: i32,
    offset: i32,
}

const TONE_BINS: usize = 16;

impl Background {
    pub fn new(width: usize, roi: (usize, usize, usize, usize)) -> Self {
        let pixels = (roi.1 - roi.0) * (roi.3 - roi.2);
        Self {
            width,
            roi,
            mean: vec![0; pixels],
            deviation: vec![3 * ONE; pixels],
            strength: vec![0; pixels],
            started: false,
            relearn: 0,
            gain: ONE,
            offset: 0,
        }
    }

    pub fn roi(&self) -> (usize, usize, usize, usize) {
        self.roi
    }

    /// Subtracts `luma` (a whole frame) from the model, fills `strength`, and learns the frame.
    /// Returns whether the frame is too disturbed (light, shake, warming up) for its blobs to be
    /// trusted.
    pub fn apply(&mut self, luma: &[u8]) -> bool {
        let (x0, x1, y0, y1) = self.roi;
        let roi_width = x1 - x0;
        if !self.started {
            for (row, y) in (y0..y1).enumerate() {
                let source = &luma[y * self.width + x0..y * self.width + x1];
                for (mean, &value) in self.mean[row * roi_width..(row + 1) * roi_width].iter_mut().zip(source) {
                    *mean = i32::from(value) * ONE;
                }
            }
            self.started = true;
            self.relearn = 25;
            self.strength.fill(0);
            return true;
        }
        self.fit_tone(luma);
        // While (re)learning, the noise level is learnt fast too: starting from a guess, it
        // would otherwise take seconds to reach a noisy camera's own and flood the first frames.
        let (fast, slow, deviation_rate) = if self.relearn > 0 { (2, 4, 3) } else { (5, 9, 6) };
        let min_threshold = MIN_THRESHOLD * ONE;
        let (gain, offset) = (self.gain, self.offset);
        let mut foreground = 0usize;
        for (row, y) in (y0..y1).enumerate() {
            let source = &luma[y * self.width + x0..y * self.width + x1];
            let span = row * roi_width..(row + 1) * roi_width;
            let (means, deviations, strengths) = (&mut self.mean[span.clone()], &mut self.deviation[span.clone()], &mut self.strength[span]);
            for (((mean, deviation), strength), &value) in means.iter_mut().zip(deviations.iter_mut()).zip(strengths.iter_mut()).zip(source) {
                let value = i32::from(value) * ONE;
                let expected = ((*mean * gain) >> 8) + offset;
                let difference = (value - expected).abs();
                let threshold = (K_DEVIATION * *deviation).max(min_threshold);
                let is_foreground = difference > threshold;
                // Background pixels learn fast; foreground ones slowly, so whatever stays (a
                // parked object, an opened window) joins the background in tens of seconds.
                let rate = if is_foreground { slow } else { fast };
                // The difference, not the raw value, is learnt: the mean stays in the
                // background's own light, and the frame's light is the gain's to follow.
                *mean += (value - expected) >> rate;
                if !is_foreground {
                    *deviation += (difference.min(64 * ONE) - *deviation) >> deviation_rate;
                    *deviation = (*deviation).max(ONE);
                }
                *strength = if is_foreground { (difference >> 8).clamp(1, 255) as u8 } else { 0 };
                foreground += usize::from(is_foreground);
            }
        }
        let share = foreground as f64 / self.strength.len().max(1) as f64;
        let disturbed = share > 0.12 || self.relearn > 0;
        if share > 0.12 {
            self.relearn = 10;
        } else {
            self.relearn = self.relearn.saturating_sub(1);
        }
        disturbed
    }

    /// The light: from a sparse sample of pixels, the median difference from the background in
    /// each of 16 brightness bins, and the line through those medians (weighted by their counts)
    /// as gain and offset. A line, not a table, keeps the per-pixel loop free of look-ups.
    fn fit_tone(&mut self, luma: &[u8]) {
        let (x0, x1, y0, y1) = self.roi;
        let roi_width = x1 - x0;
        let mut histograms = vec![[0u32; 512]; TONE_BINS];
        let mut counts = [0u32; TONE_BINS];
        let step_y = ((y1 - y0) / 48).max(1);
        for y in (y0..y1).step_by(step_y) {
            let row = (y - y0) * roi_width;
            for x in (x0..x1).step_by(7) {
                let mean = (self.mean[row + x - x0] >> 8).clamp(0, 255);
                let bin = (mean as usize * TONE_BINS) >> 8;
                let difference = i32::from(luma[y * self.width + x]) - mean;
                histograms[bin][(difference + 256) as usize] += 1;
                counts[bin] += 1;
            }
        }
        let (mut sw, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (bin, histogram) in histograms.iter().enumerate() {
            if counts[bin] < 30 {
                continue;
            }
            let half = counts[bin] / 2;
            let mut seen = 0;
            let median = histogram.iter().position(|&c| {
                seen += c;
                seen > half
            });
            let (x, y, w) = ((bin as f64 + 0.5) * 256.0 / TONE_BINS as f64, median.unwrap_or(256) as f64 - 256.0, f64::from(counts[bin]));
            (sw, sx, sy, sxx, sxy) = (sw + w, sx + w * x, sy + w * y, sxx + w * x * x, sxy + w * x * y);
        }
        if sw == 0.0 {
            (self.gain, self.offset) = (ONE, 0);
            return;
        }
        let spread = sxx * sw - sx * sx;
        let slope = if spread > 1e-6 * sw * sw { ((sxy * sw - sx * sy) / spread).clamp(-0.8, 3.0) } else { 0.0 };
        let intercept = (sy - slope * sx) / sw;
        self.gain = ((1.0 + slope) * f64::from(ONE)).round() as i32;
        self.offset = (intercept * f64::from(ONE)).round() as i32;
    }
}
