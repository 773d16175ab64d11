//! The scene engine: per-frame detections (boxes with class and score, from a detector or from an
//! edge device) are filtered per class, tracked across frames, and judged by per-camera rules:
//! zones with a dwell time (违停 illegal parking, 消防通道占用 fire-lane occupation), virtual lines
//! crossed in a direction and polygons entered (周界入侵 perimeter intrusion), and crowds
//! (人员聚集). Zone membership is by the box's bottom-centre point, where an object stands.

mod rules;
pub mod synth;
mod tracker;

pub use rules::{Rule, RuleKind, SceneConfig, SceneEvent, SceneRules};
pub use tracker::{iou, Track, Tracker, TrackerConfig};

use serde::{Deserialize, Serialize};

/// One object found in a frame: its class, the detector's score and its box in pixels
/// (`[x1, y1, x2, y2]`, top-left and bottom-right).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub class: String,
    pub score: f64,
    #[serde(rename = "box")]
    pub bbox: [f64; 4],
}

/// A frame's detections, as one line of a detections file: `{"t": 12.4, "detections": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameDetections {
    /// Seconds from the start of the stream.
    pub t: f64,
    #[serde(default)]
    pub detections: Vec<Detection>,
}

impl Detection {
    /// Where the object stands: the middle of the box's bottom edge.
    pub fn foot(&self) -> [f64; 2] {
        foot(&self.bbox)
    }

    pub fn area(&self) -> f64 {
        (self.bbox[2] - self.bbox[0]).max(0.0) * (self.bbox[3] - self.bbox[1]).max(0.0)
    }
}

pub(crate) fn foot(bbox: &[f64; 4]) -> [f64; 2] {
    [(bbox[0] + bbox[2]) / 2.0, bbox[3]]
}

/// Reads detections files: one [`FrameDetections`] a line, blank lines skipped. A bad line is an
/// error naming its number; frames must not go back in time.
pub fn parse_detections(text: &str) -> Result<Vec<FrameDetections>, String> {
    let mut frames: Vec<FrameDetections> = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let frame: FrameDetections = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        if !frame.t.is_finite() {
            return Err(format!("line {}: t must be a number of seconds", n + 1));
        }
        if let Some(previous) = frames.last().filter(|p| p.t > frame.t) {
            return Err(format!("line {}: t {} comes before the previous frame's {}", n + 1, frame.t, previous.t));
        }
        for d in &frame.detections {
            let [x1, y1, x2, y2] = d.bbox;
            if d.bbox.iter().any(|v| !v.is_finite()) || x2 < x1 || y2 < y1 {
                return Err(format!("line {}: box {:?} is not [x1, y1, x2, y2] with x1 ≤ x2 and y1 ≤ y2", n + 1, d.bbox));
            }
            if !(0.0..=1.0).contains(&d.score) {
                return Err(format!("line {}: score {} is not between 0 and 1", n + 1, d.score));
            }
        }
        frames.push(frame);
    }
    Ok(frames)
}
