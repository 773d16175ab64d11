//! Synthetic clips with known truth, for testing and evaluating the thrown-object detector:
//! a facade in perspective with lit and dark windows, swaying curtains, sensor noise, changes of
//! light (slow drift and sudden clouds), rain, birds, drifting leaves and bags, and 0–2 objects
//! thrown from known windows, falling under gravity. Every clip is a function of its seed.

use crate::calib::{Calibration, Homography};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

const GRAVITY: f64 = 9.81;

/// What a clip holds, written next to it as `<name>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub seed: u64,
    pub width: usize,
    pub height: usize,
    pub fps: u32,
    pub duration_s: f64,
    pub calib: Calibration,
    pub throws: Vec<ThrownTruth>,
    /// What else moves in the clip (for reading the figures).
    pub conditions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThrownTruth {
    /// When the object leaves the window.
    pub t: f64,
    pub floor: u32,
    pub column: u32,
}

/// Knobs for a batch of clips.
#[derive(Debug, Clone)]
pub struct ClipOptions {
    pub width: usize,
    pub height: usize,
    pub fps: u32,
    pub duration_s: f64,
    /// Most throws a clip holds (0–2 drawn uniformly up to it).
    pub max_throws: u32,
}

impl Default for ClipOptions {
    fn default() -> Self {
        Self { width: 960, height: 540, fps: 25, duration_s: 12.0, max_throws: 2 }
    }
}

/// A clip being rendered frame by frame.
pub struct Clip {
    pub truth: Truth,
    base: Vec<u8>,
    frame_index: u32,
    rng: ChaCha8Rng,
    noise: Vec<i16>,
    light: Light,
    curtains: Vec<Curtain>,
    rain: Option<Rain>,
    movers: Vec<Mover>,
    facade_m: (f64, f64),
    to_image: Homography,
}

struct Light {
    drift_amplitude: f64,
    drift_period_s: f64,
    /// A cloud: (time, change of gain, seconds the change takes).
    step: Option<(f64, f64, f64)>,
}

struct Curtain {
    pixels: Vec<(usize, f64)>,
    amplitude: f64,
    period_s: f64,
    phase: f64,
}

struct Rain {
    streaks_per_frame: usize,
    length: usize,
    brightness: i32,
    slant: f64,
}

/// A moving thing: its position (metres on the facade plane, or pixels) at a time.
struct Mover {
    kind: MoverKind,
    radius_px: f64,
    level: u8,
}

enum MoverKind {
    Thrown { t0: f64, x0: f64, y0: f64, vx: f64, vy: f64 },
    Bird { t0: f64, x0: f64, y0: f64, vx: f64, vy: f64, wobble: f64, period_s: f64, duration_s: f64 },
    Drift { t0: f64, x0: f64, y0: f64, speed: f64, sway: f64, period_s: f64 },
}

impl Clip {
    pub fn new(seed: u64, options: &ClipOptions) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (w, h) = (options.width as f64, options.height as f64);
        // The facade: a rectangle seen from below and to one side.
        let floors = rng.gen_range(6..=28u32);
        let columns = rng.gen_range(3..=10u32);
        let facade_h = h * rng.gen_range(0.62..0.92);
        let facade_w = (w * rng.gen_range(0.25..0.6)).min(facade_h * 1.4);
        let left = rng.gen_range(0.05 * w..(w - facade_w - 0.05 * w).max(0.06 * w));
        let bottom = h - rng.gen_range(0.03 * h..0.08 * h);
        let top = bottom - facade_h;
        let narrowing = facade_w * rng.gen_range(0.0..0.12);
        let lean = facade_h * rng.gen_range(-0.06..0.06);
        let facade = [
            [left + narrowing, top + lean.max(0.0)],
            [left + facade_w - narrowing, top + (-lean).max(0.0)],
            [left + facade_w, bottom - lean.min(0.0) * 0.3],
            [left, bottom + lean.min(0.0) * 0.3],
        ];
        let facade = facade.map(|[x, y]| [x.clamp(0.0, w - 1.0).round(), y.clamp(0.0, h - 1.0).round()]);
        let calib = Calibration { facade, floors, columns, floor_height_m: 3.0 };
        let to_image = calib.to_image();
        let to_facade = calib.homography();
        let facade_m = (facade_w / (facade_h / (f64::from(floors) * 3.0)), f64::from(floors) * 3.0);
        let pixels_per_metre = facade_h / facade_m.1;

        // The still scene: sky, ground, wall, windows.
        let sky = rng.gen_range(150.0..225.0);
        let ground = rng.gen_range(60.0..110.0);
        let wall = rng.gen_range(100.0..175.0);
        let window_w = rng.gen_range(0.45..0.7);
        let window_h = rng.gen_range(0.4..0.65);
        let windows: Vec<f64> =
            (0..floors * columns).map(|_| if rng.gen_bool(0.3) { rng.gen_range(170.0..235.0) } else { rng.gen_range(25.0..80.0) }).collect();
        let mut base = vec![0u8; options.width * options.height];
        let mut curtain_pixels: Vec<Vec<(usize, f64)>> = vec![Vec::new(); windows.len()];
        let curtained: Vec<bool> = (0..windows.len()).map(|_| rng.gen_bool(0.08)).collect();
        for y in 0..options.height {
            for x in 0..options.width {
                let (fx, fy) = (x as f64 + 0.5, y as f64 + 0.5);
                let mut value = if fy > bottom { ground + 8.0 * ((fx * 0.05).sin()) } else { sky - 30.0 * fy / h };
                let (u, v) = to_facade.apply(fx, fy);
                if (0.0..1.0).contains(&u) && (0.0..1.0).contains(&v) {
                    let (cu, cv) = (u * f64::from(columns), v * f64::from(floors));
                    let (cell_u, cell_v) = (cu.fract(), cv.fract());
                    let cell = cv as usize * columns as usize + cu as usize;
                    let in_window = (cell_u - 0.5).abs() < window_w / 2.0 && (cell_v - 0.45).abs() < window_h / 2.0;
                    value = if in_window {
                        if curtained[cell] {
                            curtain_pixels[cell].push((y * options.width + x, cell_u));
                        }
                        windows[cell]
                    } else {
                        // A slab line at each floor, a little brick texture.
                        wall - if cell_v > 0.93 { 25.0 } else { 0.0 } + 4.0 * ((fx * 1.7).sin() * (fy * 2.3).cos())
                    };
                }
                base[y * options.width + x] = value.clamp(0.0, 255.0) as u8;
            }
        }
        let curtains = curtain_pixels
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(|pixels| Curtain {
                pixels,
                amplitude: rng.gen_range(15.0..45.0),
                period_s: rng.gen_range(1.0..4.0),
                phase: rng.gen_range(0.0..std::f64::consts::TAU),
            })
            .collect::<Vec<_>>();

        let mut conditions = Vec::new();
        let noise_sigma = rng.gen_range(1.0..6.0);
        conditions.push(format!("noise σ {noise_sigma:.1}"));
        let light = Light {
            drift_amplitude: rng.gen_range(0.0..0.12),
            drift_period_s: rng.gen_range(8.0..40.0),
            step: rng.gen_bool(0.3).then(|| (rng.gen_range(1.0..options.duration_s), rng.gen_range(-0.3..0.25), rng.gen_range(0.0..1.5))),
        };
        if light.step.is_some() {
            conditions.push("cloud".into());
        }
        if !curtains.is_empty() {
            conditions.push(format!("{} curtains", curtains.len()));
        }
        let rain = rng.gen_bool(0.3).then(|| Rain {
            streaks_per_frame: rng.gen_range(40..400),
            length: rng.gen_range(4..14),
            brightness: rng.gen_range(12..40),
            slant: rng.gen_range(-0.3..0.3),
        });
        if let Some(rain) = &rain {
            conditions.push(format!("rain {} streaks", rain.streaks_per_frame));
        }

        let mut movers = Vec::new();
        let duration = options.duration_s;
        for _ in 0..rng.gen_range(0..=3) {
            conditions.push("bird".into());
            let speed = rng.gen_range(4.0..14.0) * pixels_per_metre;
            let angle: f64 = rng.gen_range(-0.6..0.6) + if rng.gen_bool(0.5) { 0.0 } else { std::f64::consts::PI };
            let duration_s = rng.gen_range(1.5..6.0);
            movers.push(Mover {
                kind: MoverKind::Bird {
                    t0: rng.gen_range(0.0..duration),
                    x0: rng.gen_range(0.0..w),
                    y0: rng.gen_range(0.0..0.8 * h),
                    vx: speed * angle.cos(),
                    vy: speed * angle.sin(),
                    wobble: rng.gen_range(0.0..1.0) * pixels_per_metre,
                    period_s: rng.gen_range(0.15..0.5),
                    duration_s,
                },
                radius_px: rng.gen_range(1.5..3.5),
                level: rng.gen_range(10..60),
            });
        }
        for _ in 0..rng.gen_range(0..=2) {
            conditions.push("drifting leaf or bag".into());
            movers.push(Mover {
                kind: MoverKind::Drift {
                    t0: rng.gen_range(0.0..duration),
                    x0: rng.gen_range(0.0..facade_m.0),
                    y0: rng.gen_range(0.0..facade_m.1 * 0.7),
                    speed: rng.gen_range(0.4..1.8),
                    sway: rng.gen_range(0.3..2.0),
                    period_s: rng.gen_range(1.0..3.0),
                },
                radius_px: rng.gen_range(1.5..4.0),
                level: if rng.gen_bool(0.5) { rng.gen_range(200..250) } else { rng.gen_range(20..60) },
            });
        }
        let mut throws = Vec::new();
        let count = rng.gen_range(0..=options.max_throws);
        for _ in 0..count {
            let floor = rng.gen_range(1..=floors);
            let column = rng.gen_range(1..=columns);
            let t0 = rng.gen_range(1.5..(duration - 3.5).max(1.6));
            let (u, v) = ((f64::from(column) - 0.5) / f64::from(columns), 1.0 - (f64::from(floor) - 0.55) / f64::from(floors));
            movers.push(Mover {
                kind: MoverKind::Thrown { t0, x0: u * facade_m.0, y0: v * facade_m.1, vx: rng.gen_range(-1.5..1.5), vy: rng.gen_range(-2.5..0.5) },
                radius_px: rng.gen_range(1.5f64..4.5).max(0.12 * pixels_per_metre),
                level: if rng.gen_bool(0.5) { rng.gen_range(215..255) } else { rng.gen_range(0..45) },
            });
            throws.push(ThrownTruth { t: (t0 * 1000.0).round() / 1000.0, floor, column });
        }
        throws.sort_by(|a, b| a.t.total_cmp(&b.t));
        let noise = (0..4096)
            .map(|_| {
                // Box–Muller, one of the pair.
                let (a, b): (f64, f64) = (rng.gen_range(1e-9..1.0), rng.gen_range(0.0..1.0));
                ((-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos() * noise_sigma * 16.0).round() as i16
            })
            .collect();
        Self {
            truth: Truth { seed, width: options.width, height: options.height, fps: options.fps, duration_s: duration, calib, throws, conditions },
            base,
            frame_index: 0,
            rng,
            noise,
            light,
            curtains,
            rain,
            movers,
            facade_m,
            to_image,
        }
    }

    pub fn frame_count(&self) -> u32 {
        (self.truth.duration_s * f64::from(self.truth.fps)).round() as u32
    }

    /// Renders the next frame's luma; `None` after the last.
    pub fn next_frame(&mut self) -> Option<Vec<u8>> {
        if self.frame_index >= self.frame_count() {
            return None;
        }
        let t = f64::from(self.frame_index) / f64::from(self.truth.fps);
        self.frame_index += 1;
        let (width, height) = (self.truth.width, self.truth.height);
        let mut gain = 1.0 + self.light.drift_amplitude * (std::f64::consts::TAU * t / self.light.drift_period_s).sin();
        if let Some((at, change, over)) = self.light.step {
            gain += change * ((t - at) / over.max(0.04)).clamp(0.0, 1.0);
        }
        let gain_q = (gain * 256.0) as i32;
        let mut frame: Vec<i32> = self.base.iter().map(|&v| (i32::from(v) * gain_q) >> 8).collect();
        for curtain in &self.curtains {
            let swing = (std::f64::consts::TAU * t / curtain.period_s + curtain.phase).sin();
            for &(i, across) in &curtain.pixels {
                frame[i] += (curtain.amplitude * (swing * 6.0 + across * 9.0).sin() * 0.5) as i32;
            }
        }
        for mover in &self.movers {
            if let Some((x, y)) = self.position(mover, t) {
                let radius = match mover.kind {
                    MoverKind::Bird { period_s, .. } => mover.radius_px * (1.0 + 0.4 * (std::f64::consts::TAU * t / period_s).sin()),
                    _ => mover.radius_px,
                };
                draw_disc(&mut frame, width, height, x, y, radius, i32::from(mover.level), gain);
            }
        }
        if let Some(rain) = &self.rain {
            for _ in 0..rain.streaks_per_frame {
                let (x, y) = (self.rng.gen_range(0.0..width as f64), self.rng.gen_range(0.0..height as f64));
                for k in 0..rain.length {
                    let (px, py) = ((x + rain.slant * k as f64) as usize, y as usize + k);
                    if px < width && py < height {
                        frame[py * width + px] += rain.brightness;
                    }
                }
            }
        }
        let mut state = self.rng.gen::<u64>() | 1;
        Some(
            frame
                .iter()
                .map(|&v| {
                    // xorshift: cheap indices into a table of Gaussian noise.
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let noise = i32::from(self.noise[(state & 4095) as usize]);
                    ((v * 16 + noise) >> 4).clamp(0, 255) as u8
                })
                .collect(),
        )
    }

    /// Where a mover shows at `t`, in frame pixels, if it shows.
    fn position(&self, mover: &Mover, t: f64) -> Option<(f64, f64)> {
        let on_facade = |x: f64, y: f64| self.to_image.apply(x / self.facade_m.0, y / self.facade_m.1);
        match mover.kind {
            MoverKind::Thrown { t0, x0, y0, vx, vy } => {
                if t < t0 {
                    return None;
                }
                let dt = t - t0;
                let ground = self.facade_m.1;
                // Falls until it meets the ground, then lies there.
                let landing = (-vy + (vy * vy + 2.0 * GRAVITY * (ground - y0)).sqrt()) / GRAVITY;
                let dt = dt.min(landing);
                Some(on_facade(x0 + vx * dt, y0 + vy * dt + 0.5 * GRAVITY * dt * dt))
            }
            MoverKind::Bird { t0, x0, y0, vx, vy, wobble, period_s, duration_s } => {
                let dt = t - t0;
                if !(0.0..duration_s).contains(&dt) {
                    return None;
                }
                Some((x0 + vx * dt, y0 + vy * dt + wobble * (std::f64::consts::TAU * dt / period_s).sin()))
            }
            MoverKind::Drift { t0, x0, y0, speed, sway, period_s } => {
                let dt = t - t0;
                let y = y0 + speed * dt;
                if dt < 0.0 || y > self.facade_m.1 {
                    return None;
                }
                Some(on_facade(x0 + sway * (std::f64::consts::TAU * dt / period_s).sin(), y))
            }
        }
    }
}

/// An anti-aliased disc of `level` (under the scene's light `gain`).
#[allow(clippy::too_many_arguments)]
fn draw_disc(frame: &mut [i32], width: usize, height: usize, cx: f64, cy: f64, radius: f64, level: i32, gain: f64) {
    let level = (f64::from(level) * gain) as i32;
    let reach = radius + 1.0;
    let (x0, x1) = ((cx - reach).floor().max(0.0) as usize, ((cx + reach).ceil() as usize).min(width));
    let (y0, y1) = ((cy - reach).floor().max(0.0) as usize, ((cy + reach).ceil() as usize).min(height));
    for y in y0..y1 {
        for x in x0..x1 {
            let d = (x as f64 + 0.5 - cx).hypot(y as f64 + 0.5 - cy);
            let cover = (radius + 0.5 - d).clamp(0.0, 1.0);
            if cover > 0.0 {
                let i = y * width + x;
                frame[i] = (f64::from(frame[i]) * (1.0 - cover) + f64::from(level) * cover) as i32;
            }
        }
    }
}
