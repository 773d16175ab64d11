//! Scoring detections against a clip's truth: recall, false alarms per camera-hour, and how often
//! the origin's floor (exactly, within one) and column are right.

use crate::synth::Truth;
use crate::ThrowEvent;
use serde::Serialize;

/// A detection matches a throw when it starts within this many seconds of it.
pub const MATCH_WINDOW_S: f64 = 1.0;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Score {
    pub clips: u32,
    pub seconds: f64,
    pub throws: u32,
    pub detected: u32,
    pub false_alarms: u32,
    pub floor_exact: u32,
    pub floor_within_one: u32,
    pub column_exact: u32,
}

impl Score {
    /// Matches `events` to `truth`'s throws (closest in time first, floor as the tie-break) and
    /// adds the outcome.
    pub fn add(&mut self, truth: &Truth, events: &[ThrowEvent]) {
        let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
        for (ti, throw) in truth.throws.iter().enumerate() {
            for (ei, event) in events.iter().enumerate() {
                let dt = (event.t_start - throw.t).abs();
                if dt <= MATCH_WINDOW_S {
                    let floors_apart = (i64::from(event.origin.floor) - i64::from(throw.floor)).abs() as f64;
                    pairs.push((dt + 0.2 * floors_apart, ti, ei));
                }
            }
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (mut throw_taken, mut event_taken) = (vec![false; truth.throws.len()], vec![false; events.len()]);
        for (_, ti, ei) in pairs {
            if throw_taken[ti] || event_taken[ei] {
                continue;
            }
            (throw_taken[ti], event_taken[ei]) = (true, true);
            let (throw, origin) = (&truth.throws[ti], events[ei].origin);
            self.detected += 1;
            self.floor_exact += u32::from(origin.floor == throw.floor);
            self.floor_within_one += u32::from(origin.floor.abs_diff(throw.floor) <= 1);
            self.column_exact += u32::from(origin.column == throw.column);
        }
        self.clips += 1;
        self.seconds += truth.duration_s;
        self.throws += truth.throws.len() as u32;
        self.false_alarms += event_taken.iter().filter(|taken| !**taken).count() as u32;
    }

    pub fn recall(&self) -> f64 {
        ratio(self.detected, self.throws)
    }

    pub fn false_alarms_per_hour(&self) -> f64 {
        if self.seconds == 0.0 {
            0.0
        } else {
            f64::from(self.false_alarms) * 3600.0 / self.seconds
        }
    }

    pub fn floor_accuracy(&self) -> f64 {
        ratio(self.floor_exact, self.detected)
    }

    pub fn floor_within_one_accuracy(&self) -> f64 {
        ratio(self.floor_within_one, self.detected)
    }

    pub fn column_accuracy(&self) -> f64 {
        ratio(self.column_exact, self.detected)
    }

    /// The figures as one JSON object.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "clips": self.clips,
            "camera_hours": self.seconds / 3600.0,
            "throws": self.throws,
            "detected": self.detected,
            "recall": self.recall(),
            "false_alarms": self.false_alarms,
            "false_alarms_per_camera_hour": self.false_alarms_per_hour(),
            "floor_exact": self.floor_accuracy(),
            "floor_within_one": self.floor_within_one_accuracy(),
            "column_exact": self.column_accuracy(),
        })
    }
}

fn ratio(part: u32, whole: u32) -> f64 {
    if whole == 0 {
        1.0
    } else {
        f64::from(part) / f64::from(whole)
    }
}

/// Scene rules scored against expected events, per rule: an event counts when it comes within
/// [`SCENE_WINDOW_S`] of an expected one of its rule not yet matched.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuleScore {
    pub expected: u32,
    pub raised: u32,
    pub matched: u32,
}

pub const SCENE_WINDOW_S: f64 = 3.0;

impl RuleScore {
    pub fn precision(&self) -> f64 {
        ratio(self.matched, self.raised)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.matched, self.expected)
    }
}

/// Adds one scene's outcome to the per-rule scores.
pub fn score_scene(
    scores: &mut std::collections::BTreeMap<String, RuleScore>,
    expected: &[crate::scene::synth::ExpectedEvent],
    raised: &[crate::scene::SceneEvent],
) {
    let mut used = vec![false; raised.len()];
    for want in expected {
        let score = scores.entry(want.rule.to_string()).or_default();
        score.expected += 1;
        let hit = raised
            .iter()
            .enumerate()
            .filter(|(i, e)| !used[*i] && e.rule == want.rule && (e.t - want.t).abs() <= SCENE_WINDOW_S)
            .min_by(|a, b| (a.1.t - want.t).abs().total_cmp(&(b.1.t - want.t).abs()));
        if let Some((i, _)) = hit {
            used[i] = true;
            score.matched += 1;
        }
    }
    for event in raised {
        scores.entry(event.rule.clone()).or_default().raised += 1;
    }
}
