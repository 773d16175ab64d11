//! Per-camera scene rules over tracked objects, and the events they raise.

use super::tracker::{Track, Tracker, TrackerConfig};
use super::{foot, Detection};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A camera's rules and per-class filters, as configured through the API or a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneConfig {
    pub rules: Vec<Rule>,
    /// Per class: which detections count at all.
    #[serde(default)]
    pub filters: HashMap<String, ClassFilter>,
}

/// Bounds a detection of a class must meet (box area in pixels², aspect = width / height).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassFilter {
    pub min_score: Option<f64>,
    pub min_area: Option<f64>,
    pub max_area: Option<f64>,
    pub min_aspect: Option<f64>,
    pub max_aspect: Option<f64>,
}

// No `deny_unknown_fields` here: serde cannot have it beside `flatten`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    /// Classes the rule watches; empty: every class.
    #[serde(default)]
    pub classes: Vec<String>,
    /// The alarm type the server raises the rule's events as (`illegal_parking`,
    /// `fire_lane_blocked`, `intrusion`, `crowd`), which sets their category and severity; by kind
    /// when absent (dwell: illegal parking; line and intrusion: intrusion). Not read here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_type: Option<String>,
    #[serde(flatten)]
    pub kind: RuleKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleKind {
    /// An object standing still in the zone longer than `min_seconds` (违停, 消防通道占用); one
    /// event per parked object, however long it stays or however often its track is lost.
    Dwell {
        zone: Vec<[f64; 2]>,
        min_seconds: f64,
        /// How far (pixels) the object's foot may wander and still be standing still.
        #[serde(default = "default_still_px")]
        still_px: f64,
    },
    /// An object's foot crossing the segment `from`–`to`: `left_to_right` is from the side on
    /// the left of someone walking from `from` to `to` (as seen on the image) to the right side.
    Line {
        from: [f64; 2],
        to: [f64; 2],
        #[serde(default)]
        direction: Direction,
    },
    /// An object entering the zone (周界入侵): one event each time it comes in.
    Intrusion { zone: Vec<[f64; 2]> },
    /// More than `more_than` objects in the zone for at least `min_seconds` (人员聚集); again only
    /// after the count has fallen back.
    Crowd { zone: Vec<[f64; 2]>, more_than: usize, min_seconds: f64 },
}

fn default_still_px() -> f64 {
    15.0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    LeftToRight,
    RightToLeft,
    #[default]
    Both,
}

/// What a rule saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SceneEvent {
    pub t: f64,
    pub rule: String,
    /// `dwell`, `line`, `intrusion` or `crowd`.
    pub kind: &'static str,
    /// The tracks involved (the one object, or everyone in a crowd).
    pub tracks: Vec<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// The object's box (for the snapshot's highlight).
    #[serde(skip_serializing_if = "Option::is_none", rename = "box")]
    pub bbox: Option<[f64; 4]>,
    /// The rule's configured alarm type, passed along.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm_type: Option<String>,
}

/// Per rule, what it remembers between frames.
#[derive(Debug, Default)]
struct RuleState {
    /// Dwell: where each track began to stand still, and since when; whether it has raised.
    still: HashMap<u64, ([f64; 2], f64, bool)>,
    /// Dwell: spots of objects already reported, and when something last stood there.
    reported_spots: Vec<([f64; 2], f64)>,
    /// Line: the side of each track's foot, outside the dead band.
    side: HashMap<u64, f64>,
    /// Intrusion: whether each track is inside, and when it was last inside.
    inside: HashMap<u64, (bool, f64)>,
    /// Crowd: since when the count is over, and whether that has raised.
    crowded_since: Option<f64>,
    crowd_raised: bool,
}

/// A spot an object was reported at is forgotten after nothing stood there this long.
const FORGET_SPOT_S: f64 = 60.0;
/// A foot this close to a line is on neither side: boxes jitter by a few pixels, and someone
/// walking along the line must not cross it at every frame.
const LINE_DEAD_BAND_PX: f64 = 6.0;
/// An object must have been out of a zone this long before coming in again is a new intrusion,
/// for the same reason at the zone's edge.
const REENTRY_S: f64 = 1.0;

/// Rules running over one camera's detections.
pub struct SceneRules {
    config: SceneConfig,
    tracker: Tracker,
    states: Vec<RuleState>,
}

impl SceneRules {
    pub fn new(config: SceneConfig, tracker: TrackerConfig) -> Result<Self, String> {
        for rule in &config.rules {
            let zone = match &rule.kind {
                RuleKind::Dwell { zone, min_seconds, still_px } => {
                    if !non_negative(*min_seconds) || !non_negative(*still_px) {
                        return Err(format!("rule {}: min_seconds and still_px must be numbers of at least 0", rule.name));
                    }
                    Some(zone)
                }
                RuleKind::Crowd { zone, min_seconds, .. } => {
                    if !non_negative(*min_seconds) {
                        return Err(format!("rule {}: min_seconds must be a number of at least 0", rule.name));
                    }
                    Some(zone)
                }
                RuleKind::Intrusion { zone } => Some(zone),
                RuleKind::Line { from, to, .. } => {
                    if from == to || from.iter().chain(to).any(|v| !v.is_finite()) {
                        return Err(format!("rule {}: the line needs two different points", rule.name));
                    }
                    None
                }
            };
            if let Some(zone) = zone {
                if zone.len() < 3 || zone.iter().flatten().any(|v| !v.is_finite()) {
                    return Err(format!("rule {}: a zone needs at least three points", rule.name));
                }
            }
        }
        let states = config.rules.iter().map(|_| RuleState::default()).collect();
        Ok(Self { config, tracker: Tracker::new(tracker), states })
    }

    /// Takes a frame's detections; returns the events it raises.
    pub fn process(&mut self, t: f64, detections: &[Detection]) -> Vec<SceneEvent> {
        let kept: Vec<Detection> = detections.iter().filter(|d| self.passes_filter(d)).cloned().collect();
        self.tracker.update(t, &kept);
        // Rules see every live track, a moment's missed detection included: a crowd does not
        // thin out because one face was missed in one frame.
        let tracks = self.tracker.live();
        let mut events = Vec::new();
        for (rule, state) in self.config.rules.iter().zip(&mut self.states) {
            let watched: Vec<&Track> = tracks.iter().filter(|tr| rule.classes.is_empty() || rule.classes.contains(&tr.class)).collect();
            judge(rule, state, t, &watched, &mut events);
        }
        events
    }

    fn passes_filter(&self, d: &Detection) -> bool {
        let Some(f) = self.config.filters.get(&d.class) else { return true };
        let (w, h) = (d.bbox[2] - d.bbox[0], d.bbox[3] - d.bbox[1]);
        let aspect = if h > 0.0 { w / h } else { f64::INFINITY };
        f.min_score.is_none_or(|m| d.score >= m)
            && f.min_area.is_none_or(|m| d.area() >= m)
            && f.max_area.is_none_or(|m| d.area() <= m)
            && f.min_aspect.is_none_or(|m| aspect >= m)
            && f.max_aspect.is_none_or(|m| aspect <= m)
    }
}

fn event(t: f64, rule: &Rule, kind: &'static str, track: &Track) -> SceneEvent {
    SceneEvent {
        t,
        rule: rule.name.clone(),
        kind,
        tracks: vec![track.id],
        class: Some(track.class.clone()),
        bbox: Some(track.bbox),
        alarm_type: rule.alarm_type.clone(),
    }
}

fn judge(rule: &Rule, state: &mut RuleState, t: f64, tracks: &[&Track], events: &mut Vec<SceneEvent>) {
    match &rule.kind {
        RuleKind::Dwell { zone, min_seconds, still_px } => {
            state.reported_spots.retain(|(_, seen)| t - seen < FORGET_SPOT_S);
            for track in tracks {
                let at = foot(&track.bbox);
                if !inside(zone, at) {
                    state.still.remove(&track.id);
                    continue;
                }
                let entry = state.still.entry(track.id).or_insert((at, t, false));
                if distance(entry.0, at) > *still_px {
                    *entry = (at, t, false);
                }
                // A parked object already reported (its track lost and found again) is not new.
                if let Some(spot) = state.reported_spots.iter_mut().find(|(spot, _)| distance(*spot, entry.0) <= 2.0 * still_px) {
                    spot.1 = t;
                    entry.2 = true;
                    continue;
                }
                if !entry.2 && t - entry.1 >= *min_seconds {
                    entry.2 = true;
                    state.reported_spots.push((entry.0, t));
                    events.push(event(t, rule, "dwell", track));
                }
            }
        }
        RuleKind::Line { from, to, direction } => {
            let length = distance(*from, *to);
            for track in tracks {
                let at = foot(&track.bbox);
                let side = cross(*from, *to, at);
                if side.abs() / length <= LINE_DEAD_BAND_PX {
                    continue;
                }
                let along = projection(*from, *to, at);
                if let Some(previous) = state.side.insert(track.id, side) {
                    // Right of the line is a positive cross product in image coordinates (y down).
                    let crossed = (previous > 0.0) != (side > 0.0) && (0.0..=1.0).contains(&along);
                    let wanted = match direction {
                        Direction::Both => true,
                        Direction::LeftToRight => previous < 0.0,
                        Direction::RightToLeft => previous > 0.0,
                    };
                    if crossed && wanted {
                        events.push(event(t, rule, "line", track));
                    }
                }
            }
        }
        RuleKind::Intrusion { zone } => {
            for track in tracks {
                let now_inside = inside(zone, foot(&track.bbox));
                let (was_inside, last_inside) = state.inside.get(&track.id).copied().unwrap_or((false, f64::NEG_INFINITY));
                if now_inside && !was_inside && t - last_inside >= REENTRY_S {
                    events.push(event(t, rule, "intrusion", track));
                }
                state.inside.insert(track.id, (now_inside, if now_inside { t } else { last_inside }));
            }
        }
        RuleKind::Crowd { zone, more_than, min_seconds } => {
            let present: Vec<&&Track> = tracks.iter().filter(|tr| inside(zone, foot(&tr.bbox))).collect();
            if present.len() > *more_than {
                let since = *state.crowded_since.get_or_insert(t);
                if !state.crowd_raised && t - since >= *min_seconds {
                    state.crowd_raised = true;
                    events.push(SceneEvent {
                        t,
                        rule: rule.name.clone(),
                        kind: "crowd",
                        tracks: present.iter().map(|tr| tr.id).collect(),
                        class: None,
                        bbox: None,
                        alarm_type: rule.alarm_type.clone(),
                    });
                }
            } else {
                state.crowded_since = None;
                state.crowd_raised = false;
            }
        }
    }
    // Tracks that ended are forgotten.
    if state.side.len() + state.inside.len() + state.still.len() > 4 * tracks.len() + 64 {
        let live: std::collections::HashSet<u64> = tracks.iter().map(|tr| tr.id).collect();
        state.side.retain(|id, _| live.contains(id));
        state.inside.retain(|id, _| live.contains(id));
        state.still.retain(|id, _| live.contains(id));
    }
}

/// (b − a) × (p − a): positive when `p` lies to the right of a→b as seen on the image (y down).
fn cross(a: [f64; 2], b: [f64; 2], p: [f64; 2]) -> f64 {
    (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
}

/// Where `p` falls along a→b: 0 at `a`, 1 at `b`.
fn projection(a: [f64; 2], b: [f64; 2], p: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)
}

fn non_negative(v: f64) -> bool {
    v.is_finite() && v >= 0.0
}

fn distance(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// Whether `p` lies inside `polygon` (even–odd rule). Written out: ten lines run per object and
/// rule each frame, where the `geo` crate would bring its dependency tree for this one test.
fn inside(polygon: &[[f64; 2]], p: [f64; 2]) -> bool {
    let mut result = false;
    let mut j = polygon.len() - 1;
    for i in 0..polygon.len() {
        let (a, b) = (polygon[i], polygon[j]);
        if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0] {
            result = !result;
        }
        j = i;
    }
    result
}
