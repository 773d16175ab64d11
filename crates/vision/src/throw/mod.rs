//! Objects thrown from height (高空抛物), traced to the floor and window they came from.
//!
//! Per frame: the [`background`] model marks what differs from the learnt scene, [`blobs`] groups
//! it, and candidate tracks take the blobs nearest their predicted positions. A closed track is
//! mapped onto the facade (metres, through the calibration's homography) and kept only if it
//! moves as a falling body does: a downward acceleration near g on a parabola, falling at least
//! a metre. Its origin is the parabola traced back to where the fall began (its apex, when the
//! first sighting came late), read as floor and window column. Noise, light, rain, curtains,
//! birds and drifting leaves or bags make blobs too, but not tracks that fall like that.

mod background;
mod blobs;
mod fit;

use blobs::Blob;
use fit::Quadratic;

use crate::calib::{Calibration, CalibrationError, Homography};
use crate::Frame;
use background::Background;
use serde::Serialize;

const GRAVITY: f64 = 9.81;

/// One detected throw, as `linli vision throw` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThrowEvent {
    /// When the fall began (traced back), seconds from the start of the video.
    pub t_start: f64,
    /// The last sighting.
    pub t_end: f64,
    pub origin: Origin,
    /// 0–1: how well the track fits a free fall.
    pub confidence: f64,
    /// The sightings: `[t, x, y]`, seconds and frame pixels.
    pub track: Vec<[f64; 3]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub floor: u32,
    pub column: u32,
}

#[derive(Debug, Clone, Copy)]
struct Sighting {
    t: f64,
    x: f64,
    y: f64,
}

#[derive(Debug)]
struct Track {
    sightings: Vec<Sighting>,
    misses: u32,
}

/// A fall found, kept back a moment in case a later piece of the same track continues it.
#[derive(Debug)]
struct Fall {
    sightings: Vec<Sighting>,
    event: ThrowEvent,
    vertical: Quadratic,
    horizontal: Quadratic,
}

pub struct ThrowDetector {
    calib: Calibration,
    to_facade: Homography,
    background: Background,
    /// Pixels per metre on the facade, on average.
    pixels_per_metre: f64,
    /// Facade size in metres: width (columns × column width) and height (floors × storey).
    facade_m: (f64, f64),
    tracks: Vec<Track>,
    falls: Vec<Fall>,
    max_blob_area: u32,
    frame_size: (usize, usize),
    /// Seconds between frames (the smallest step seen), for how many frames a track spans.
    frame_interval: f64,
    last_t: Option<f64>,
    /// Falls already reported, kept a while so a late piece of one is not reported again.
    reported: Vec<Fall>,
}

/// Sightings a track may miss in a row before it closes.
const MAX_MISSES: u32 = 3;
/// A frame with more foreground runs than this is clutter (rain squall, shake): skipped.
const MAX_RUNS: usize = 20_000;
/// Falls judged less likely than this are not reported.
const MIN_CONFIDENCE: f64 = 0.3;
/// How long a found fall waits for a continuation before it is reported.
const HOLD_S: f64 = 1.0;

impl ThrowDetector {
    pub fn new(calib: Calibration, width: usize, height: usize) -> Result<Self, CalibrationError> {
        calib.validate()?;
        calib.validate_for_frame(width, height)?;
        let p = calib.facade;
        let min_x = p.iter().map(|c| c[0]).fold(f64::INFINITY, f64::min);
        let max_x = p.iter().map(|c| c[0]).fold(f64::NEG_INFINITY, f64::max);
        let min_y = p.iter().map(|c| c[1]).fold(f64::INFINITY, f64::min);
        let facade_width = max_x - min_x;
        let side = |a: [f64; 2], b: [f64; 2]| (a[0] - b[0]).hypot(a[1] - b[1]);
        let height_px = (side(p[0], p[3]) + side(p[1], p[2])) / 2.0;
        let width_px = (side(p[0], p[1]) + side(p[3], p[2])) / 2.0;
        let facade_height_m = f64::from(calib.floors) * calib.floor_height_m;
        let pixels_per_metre = height_px / facade_height_m;
        // Objects fly out from the wall and drift sideways: watch beyond its sides, and below
        // it down to the frame's edge.
        let x0 = (min_x - 0.3 * facade_width).max(0.0) as usize;
        let x1 = ((max_x + 0.3 * facade_width).ceil() as usize).min(width);
        let y0 = (min_y - 0.05 * height_px).max(0.0) as usize;
        let roi = (x0, x1.max(x0 + 1), y0, height.max(y0 + 1));
        let object_px = 2.0 * pixels_per_metre;
        Ok(Self {
            to_facade: calib.homography(),
            background: Background::new(width, roi),
            pixels_per_metre,
            facade_m: (width_px / pixels_per_metre, facade_height_m),
            calib,
            tracks: Vec::new(),
            falls: Vec::new(),
            max_blob_area: (object_px * object_px).max(400.0) as u32,
            frame_size: (width, height),
            frame_interval: f64::INFINITY,
            last_t: None,
            reported: Vec::new(),
        })
    }

    /// Takes the next frame; returns the throws now known to be complete.
    pub fn push(&mut self, frame: &Frame) -> Vec<ThrowEvent> {
        let disturbed = self.background.apply(&frame.luma);
        let blobs = match disturbed {
            true => None,
            false => {
                let (x0, x1, y0, _) = self.background.roi();
                blobs::find_blobs(&self.background.strength, x1 - x0, (x0, y0), MAX_RUNS)
            }
        };
        if let Some(last) = self.last_t.filter(|&last| frame.t > last) {
            self.frame_interval = self.frame_interval.min(frame.t - last);
        }
        self.last_t = Some(frame.t);
        let blobs: Vec<Blob> = blobs.unwrap_or_default().into_iter().filter(|b| self.plausible(b)).collect();
        self.associate(frame.t, &blobs);
        self.release(frame.t)
    }

    /// Ends the video: closes every track and reports what is left.
    pub fn finish(&mut self) -> Vec<ThrowEvent> {
        for track in std::mem::take(&mut self.tracks) {
            self.close(track);
        }
        self.release(f64::INFINITY)
    }

    fn plausible(&self, blob: &Blob) -> bool {
        let max_side = (2.0 * self.pixels_per_metre).max(20.0) as u32;
        // A line one pixel thick and several long is a rain streak (or a wire swaying).
        let streak = blob.height >= 4 && f64::from(blob.area) <= 1.3 * f64::from(blob.height);
        blob.area >= 2 && blob.area <= self.max_blob_area && blob.width <= max_side && blob.height <= max_side && (blob.area >= 4 || blob.peak >= 20) && !streak
    }

    fn associate(&mut self, t: f64, blobs: &[Blob]) {
        let mut taken = vec![false; blobs.len()];
        let mut extended = vec![false; self.tracks.len()];
        // Established tracks choose first, then young ones: in clutter a one-sighting track
        // would otherwise take an established track's blob.
        for young in [false, true] {
            let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
            for (ti, track) in self.tracks.iter().enumerate() {
                if (track.sightings.len() < 3) != young {
                    continue;
                }
                let (px, py, gate) = self.predict(track, t);
                for (bi, blob) in blobs.iter().enumerate() {
                    if taken[bi] {
                        continue;
                    }
                    let d = (blob.x - px).hypot(blob.y - py);
                    if d <= gate {
                        pairs.push((d, ti, bi));
                    }
                }
            }
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (_, ti, bi) in pairs {
                if extended[ti] || taken[bi] {
                    continue;
                }
                extended[ti] = true;
                taken[bi] = true;
                let track = &mut self.tracks[ti];
                track.sightings.push(Sighting { t, x: blobs[bi].x, y: blobs[bi].y });
                track.misses = 0;
                // A fall lasts seconds; a stationary flicker should not grow without end.
                if track.sightings.len() > 400 {
                    track.sightings.drain(..200);
                }
            }
        }
        let mut closed = Vec::new();
        // A track that came to rest (an object on the ground) ends its flight there: the flight
        // is judged now, and the resting object goes on as a track of its own.
        let ppm = self.pixels_per_metre;
        for track in &mut self.tracks {
            if let Some(rest) = came_to_rest(track, ppm) {
                let flight: Vec<Sighting> = track.sightings.drain(..rest).collect();
                closed.push(Track { sightings: flight, misses: 0 });
            }
        }
        let mut kept = Vec::with_capacity(self.tracks.len());
        for (ti, mut track) in std::mem::take(&mut self.tracks).into_iter().enumerate() {
            if !extended[ti] {
                track.misses += 1;
            }
            let limit = if track.sightings.len() == 1 { 1 } else { MAX_MISSES };
            if track.misses > limit {
                closed.push(track);
            } else {
                kept.push(track);
            }
        }
        self.tracks = kept;
        for (bi, blob) in blobs.iter().enumerate() {
            if !taken[bi] {
                self.tracks.push(Track { sightings: vec![Sighting { t, x: blob.x, y: blob.y }], misses: 0 });
            }
        }
        for track in closed {
            self.close(track);
        }
    }

    /// Where a track should be at `t`, and how far from there a sighting may be.
    fn predict(&self, track: &Track, t: f64) -> (f64, f64, f64) {
        let s = &track.sightings;
        let last = s[s.len() - 1];
        let dt = t - last.t;
        let ppm = self.pixels_per_metre;
        if s.len() == 1 {
            // Anything an object can reach at 40 m/s.
            return (last.x, last.y, 40.0 * ppm * dt + 3.0);
        }
        let previous = s[s.len() - 2];
        let step = (last.t - previous.t).max(1e-3);
        let (vx, vy) = ((last.x - previous.x) / step, (last.y - previous.y) / step);
        let ay = if s.len() >= 3 {
            let before = s[s.len() - 3];
            let step0 = (previous.t - before.t).max(1e-3);
            let vy0 = (previous.y - before.y) / step0;
            // Measured, pulled towards gravity: three noisy sightings say little.
            0.5 * (vy - vy0) / (0.5 * (step + step0)) + 0.5 * GRAVITY * ppm
        } else {
            GRAVITY * ppm
        };
        let (px, py) = (last.x + vx * dt, last.y + vy * dt + 0.5 * ay * dt * dt);
        let speed = vx.hypot(vy);
        (px, py, 4.0 + 0.35 * speed * dt + 0.25 * GRAVITY * ppm * dt * dt + 0.5 * ppm * dt)
    }

    fn to_metres(&self, s: &Sighting) -> (f64, f64) {
        let (u, v) = self.to_facade.apply(s.x, s.y);
        (u * self.facade_m.0, v * self.facade_m.1)
    }

    fn close(&mut self, track: Track) {
        let sightings = track.sightings;
        if sightings.len() < 3 {
            return;
        }
        // A piece of a fall already found (a track broken by a miss, or a blob split in two)
        // continues it, or repeats it: it is never a throw of its own.
        let same = |fall: &Fall| follows(fall, &sightings, |s| self.to_metres(s));
        if self.reported.iter().any(same) {
            return;
        }
        if let Some(i) = self.falls.iter().position(same) {
            let mut joined = self.falls[i].sightings.clone();
            joined.extend_from_slice(&sightings);
            joined.sort_by(|a, b| a.t.total_cmp(&b.t));
            // One sighting a frame: where both pieces saw the object, the first piece's stays.
            joined.dedup_by(|later, earlier| (later.t - earlier.t).abs() < 1e-6);
            if let Some(refit) = self.judge(&joined) {
                self.falls[i] = refit;
            }
            return;
        }
        if let Some(fall) = self.judge(&sightings) {
            self.falls.push(fall);
        }
    }

    /// The physical test: does this track fall like a body under gravity, from the facade?
    fn judge(&self, sightings: &[Sighting]) -> Option<Fall> {
        let n = sightings.len();
        let (first, last) = (sightings[0], sightings[n - 1]);
        if n < 6 || last.t - first.t < 0.2 {
            return None;
        }
        let (across, down): (Vec<_>, Vec<_>) = sightings
            .iter()
            .map(|s| {
                let (x, y) = self.to_metres(s);
                ((s.t, x), (s.t, y))
            })
            .unzip();
        let vertical = Quadratic::fit(&down)?;
        let horizontal = Quadratic::fit(&across)?;
        let drop = vertical.at(last.t) - vertical.at(first.t);
        let a = vertical.acceleration();
        let sideways = (horizontal.at(last.t) - horizontal.at(first.t)).abs();
        let falling_fast = vertical.velocity(last.t) > 2.0;
        // Seen in most frames it spans: chance links of clutter skip many.
        let spanned = ((last.t - first.t) / self.frame_interval.min(1.0)).round() + 1.0;
        let seen_enough = n as f64 >= 0.5 * spanned;
        // The fall began at most 0.8 s before it was first seen: an object already falling
        // fast at its first sighting came from far above, or is not an object at all.
        let began_lately = vertical.velocity(first.t) <= 0.8 * a + 1.0;
        let accepted = drop >= 1.0
            && (0.5 * GRAVITY..=1.8 * GRAVITY).contains(&a)
            && falling_fast
            && seen_enough
            && began_lately
            && vertical.rms <= 0.2 + 0.01 * drop
            && horizontal.rms <= 0.25 + 0.01 * drop
            && horizontal.acceleration().abs() <= 0.6 * GRAVITY
            && sideways <= drop + 1.0;
        tracing::debug!(t_first = first.t, t_last = last.t, sightings = n, drop, acceleration = a, rms = vertical.rms, accepted, "track judged");
        if !accepted {
            return None;
        }
        // Where the fall began: its apex if that comes before the first sighting (seen late),
        // else the first sighting (thrown upwards, the rise was seen).
        let apex = vertical.t0 - vertical.c[1] / (2.0 * vertical.c[2]);
        let t_origin = if apex < first.t { apex.max(first.t - 0.8) } else { first.t };
        let y_origin = vertical.at(t_origin);
        let x_origin = horizontal.at(first.t) + horizontal.velocity(first.t) * (t_origin - first.t);
        let (u, v) = (x_origin / self.facade_m.0, y_origin / self.facade_m.1);
        if !(-0.15..=1.15).contains(&u) || !(-0.1..=1.0).contains(&v) {
            return None;
        }
        let (floor, column) = self.calib.cell_at(u, v);
        let gravity_score = (-((a / GRAVITY - 1.0) / 0.5).powi(2)).exp();
        let fit_score = (-(vertical.rms / (0.1 + 0.03 * drop)).powi(2)).exp();
        let length_score = (n as f64 / 15.0).min(1.0);
        let confidence = (0.2 + 0.8 * gravity_score.sqrt() * fit_score.sqrt() * length_score).clamp(0.05, 0.99);
        if confidence < MIN_CONFIDENCE {
            return None;
        }
        let round = |v: f64, places: i32| (v * 10f64.powi(places)).round() / 10f64.powi(places);
        let event = ThrowEvent {
            t_start: round(t_origin.max(0.0), 3),
            t_end: round(last.t, 3),
            origin: Origin { floor, column },
            confidence: round(confidence, 3),
            track: sightings.iter().map(|s| [round(s.t, 3), round(s.x, 1), round(s.y, 1)]).collect(),
        };
        Some(Fall { sightings: sightings.to_vec(), event, vertical, horizontal })
    }

    /// Reports the falls that nothing can continue any more.
    fn release(&mut self, now: f64) -> Vec<ThrowEvent> {
        // A fall waits while an open track may still be its continuation.
        let falls = std::mem::take(&mut self.falls);
        let continued = |f: &Fall| self.tracks.iter().any(|t| t.sightings.len() >= 3 && follows(f, &t.sightings, |s| self.to_metres(s)));
        let (done, waiting): (Vec<Fall>, Vec<Fall>) = falls.into_iter().partition(|f| now - f.event.t_end > HOLD_S && !continued(f));
        self.falls = waiting;
        let mut events: Vec<ThrowEvent> = done.iter().map(|f| f.event.clone()).collect();
        self.reported.extend(done);
        self.reported.retain(|f| now - f.event.t_end < 10.0);
        events.sort_by(|a, b| a.t_start.total_cmp(&b.t_start));
        events
    }
}

/// Whether `sightings` lie on `fall`'s curve: most of them within a metre (and a little more
/// the further past its end they are) of where the fall's parabola puts the object then.
fn follows(fall: &Fall, sightings: &[Sighting], to_metres: impl Fn(&Sighting) -> (f64, f64)) -> bool {
    let start = fall.sightings[0].t;
    let end = fall.sightings[fall.sightings.len() - 1].t;
    if sightings[0].t < start - 0.5 || sightings[0].t > end + 0.8 {
        return false;
    }
    // The first sightings decide: a long track's later part runs past where a short piece's
    // curve can be trusted.
    let head = &sightings[..sightings.len().min(8)];
    let near = head
        .iter()
        .filter(|s| {
            let (x, y) = to_metres(s);
            let beyond = (s.t - end).max(0.0);
            (fall.horizontal.at(s.t) - x).hypot(fall.vertical.at(s.t) - y) < 1.0 + 3.0 * beyond
        })
        .count();
    near * 2 > head.len()
}

/// Where a moving track's last sightings stand still: the index of the first of them.
fn came_to_rest(track: &Track, pixels_per_metre: f64) -> Option<usize> {
    let s = &track.sightings;
    let n = s.len();
    if n < 8 {
        return None;
    }
    let still = |a: &Sighting, b: &Sighting| (a.x - b.x).hypot(a.y - b.y) < 1.5;
    let resting = still(&s[n - 1], &s[n - 2]) && still(&s[n - 2], &s[n - 3]) && still(&s[n - 1], &s[n - 3]);
    let travelled = (s[n - 3].x - s[0].x).hypot(s[n - 3].y - s[0].y);
    // The first still sighting may come frames after the landing: it leaves the flight too.
    (resting && travelled > pixels_per_metre).then_some(n - 3)
}

/// Runs the detector over a whole video, handing each throw to `on_event` as soon as it is
/// complete. Frames decoded before an error still count: their throws are reported first.
pub fn detect_throws(video: &mut dyn crate::VideoSource, calib: &Calibration, mut on_event: impl FnMut(&ThrowEvent)) -> Result<u64, DetectError> {
    let mut detector: Option<ThrowDetector> = None;
    let mut frames = 0u64;
    let outcome = loop {
        let frame = match video.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => break Ok(frames),
            Err(error) => break Err(DetectError::Video(error)),
        };
        if detector.is_none() {
            detector = Some(ThrowDetector::new(calib.clone(), frame.width, frame.height)?);
        }
        let detector = detector.as_mut().expect("made above");
        if (frame.width, frame.height) != detector.frame_size {
            break Err(crate::VideoError::Corrupt(format!("frame {} changes size to {}×{}", frames + 1, frame.width, frame.height)).into());
        }
        detector.push(&frame).iter().for_each(&mut on_event);
        frames += 1;
    };
    match detector.as_mut() {
        Some(detector) => detector.finish().iter().for_each(&mut on_event),
        None if outcome.is_ok() => return Err(crate::VideoError::Truncated("the video holds no frame".into()).into()),
        None => {}
    }
    outcome
}

#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error(transparent)]
    Video(#[from] crate::VideoError),
    #[error(transparent)]
    Calibration(#[from] CalibrationError),
}
