//! A multi-object tracker of the ByteTrack kind: boxes are matched to tracks by overlap (IoU)
//! with each track's box moved by its velocity; confident detections first, then weak ones for
//! the tracks left over (an object half hidden still keeps its track); confident detections left
//! unmatched start tracks, and tracks unseen for a while end. Greedy matching by overlap stands
//! in for the Hungarian algorithm: with a few dozen objects a frame it picks the same pairs.

use super::Detection;

#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// Detections at least this sure are matched first and may start tracks.
    pub high_score: f64,
    /// Weaker detections (down to this) only continue tracks.
    pub low_score: f64,
    /// Least overlap for a match.
    pub min_iou: f64,
    /// A track unseen this long ends.
    pub max_lost_s: f64,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self { high_score: 0.5, low_score: 0.1, min_iou: 0.3, max_lost_s: 2.0 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub id: u64,
    pub class: String,
    pub bbox: [f64; 4],
    /// Box corners' velocity, pixels a second.
    pub velocity: [f64; 4],
    pub first_seen: f64,
    pub last_seen: f64,
}

impl Track {
    fn predicted(&self, t: f64) -> [f64; 4] {
        let dt = t - self.last_seen;
        std::array::from_fn(|i| self.bbox[i] + self.velocity[i] * dt)
    }
}

#[derive(Debug, Default)]
pub struct Tracker {
    config: TrackerConfig,
    tracks: Vec<Track>,
    next_id: u64,
}

impl Tracker {
    pub fn new(config: TrackerConfig) -> Self {
        Self { config, tracks: Vec::new(), next_id: 1 }
    }

    /// Takes a frame's detections at time `t`; returns the tracks seen in this frame.
    pub fn update(&mut self, t: f64, detections: &[Detection]) -> Vec<&Track> {
        let max_lost = self.config.max_lost_s;
        self.tracks.retain(|track| t - track.last_seen <= max_lost);
        let (high, low): (Vec<&Detection>, Vec<&Detection>) =
            detections.iter().filter(|d| d.score >= self.config.low_score).partition(|d| d.score >= self.config.high_score);
        let mut matched = vec![false; self.tracks.len()];
        let unmatched_high = self.match_into(t, &high, &mut matched, self.config.min_iou);
        // Weak detections need a clearer overlap: they are likelier to be something else.
        self.match_into(t, &low, &mut matched, self.config.min_iou.max(0.5));
        for d in unmatched_high {
            self.tracks.push(Track { id: self.next_id, class: d.class.clone(), bbox: d.bbox, velocity: [0.0; 4], first_seen: t, last_seen: t });
            self.next_id += 1;
        }
        self.tracks.iter().filter(|track| track.last_seen == t).collect()
    }

    /// Every track still alive: seen now, or lost for less than `max_lost_s` (at its last box).
    pub fn live(&self) -> &[Track] {
        &self.tracks
    }

    /// Matches `detections` to the tracks not yet `matched`, best overlap first, updating the
    /// tracks; returns the detections left over.
    fn match_into<'d>(&mut self, t: f64, detections: &[&'d Detection], matched: &mut [bool], min_iou: f64) -> Vec<&'d Detection> {
        let mut pairs = Vec::new();
        for (ti, track) in self.tracks.iter().enumerate() {
            if matched[ti] {
                continue;
            }
            let predicted = track.predicted(t);
            for (di, d) in detections.iter().enumerate() {
                if d.class == track.class {
                    let overlap = iou(&predicted, &d.bbox);
                    if overlap >= min_iou {
                        pairs.push((overlap, ti, di));
                    }
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut used = vec![false; detections.len()];
        for (_, ti, di) in pairs {
            if matched[ti] || used[di] {
                continue;
            }
            (matched[ti], used[di]) = (true, true);
            let track = &mut self.tracks[ti];
            let dt = t - track.last_seen;
            if dt > 0.0 {
                for i in 0..4 {
                    // Smoothed: one frame's jitter should not throw the prediction off.
                    track.velocity[i] = 0.6 * track.velocity[i] + 0.4 * (detections[di].bbox[i] - track.bbox[i]) / dt;
                }
            }
            track.bbox = detections[di].bbox;
            track.last_seen = t;
        }
        detections.iter().zip(used).filter(|(_, used)| !used).map(|(d, _)| *d).collect()
    }
}

/// Intersection over union of two boxes.
pub fn iou(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    if union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(class: &str, score: f64, x: f64) -> Detection {
        Detection { class: class.into(), score, bbox: [x, 100.0, x + 40.0, 140.0] }
    }

    #[test]
    fn objects_keep_their_ids_through_motion_weak_frames_and_short_gaps() {
        let mut tracker = Tracker::new(TrackerConfig::default());
        let ids = |tracks: Vec<&Track>| tracks.iter().map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(ids(tracker.update(0.0, &[det("car", 0.9, 0.0), det("person", 0.9, 300.0)])), [1, 2]);
        assert_eq!(ids(tracker.update(0.1, &[det("car", 0.9, 10.0), det("person", 0.9, 302.0)])), [1, 2]);
        // A weak sighting continues the car but starts nothing.
        assert_eq!(ids(tracker.update(0.2, &[det("car", 0.3, 20.0), det("car", 0.3, 600.0)])), [1]);
        // Unseen for a moment, then found where its speed put it.
        assert_eq!(ids(tracker.update(0.6, &[det("car", 0.9, 60.0)])), [1]);
        // Another class in the same place is another object.
        assert_eq!(ids(tracker.update(0.7, &[det("truck", 0.9, 70.0)])), [3]);
        // Gone for longer than max_lost_s: the person's track has ended; a new one starts.
        assert_eq!(ids(tracker.update(3.0, &[det("person", 0.9, 302.0)])), [4]);
    }

    #[test]
    fn overlap() {
        assert_eq!(iou(&[0.0, 0.0, 10.0, 10.0], &[0.0, 0.0, 10.0, 10.0]), 1.0);
        assert_eq!(iou(&[0.0, 0.0, 10.0, 10.0], &[20.0, 0.0, 30.0, 10.0]), 0.0);
        assert!((iou(&[0.0, 0.0, 10.0, 10.0], &[5.0, 0.0, 15.0, 10.0]) - 1.0 / 3.0).abs() < 1e-12);
    }
}
