//! One camera's analytics as `linli serve` runs them: its configuration (where the video comes
//! from, the facade watched for thrown objects, the scene rules and where their detections come
//! from), and the pipeline that turns its frames into alerts carrying their evidence: a JPEG
//! snapshot with what was seen drawn on it, and a short H.264 MP4 clip around the moment.
//!
//! The pipeline is synchronous and owns nothing but memory: the server feeds it frames on a
//! thread of its own and does the storing and raising.

use std::collections::VecDeque;
use std::io::Cursor;

use serde::{Deserialize, Serialize};

use crate::detect::{self, Detector, DetectorConfig};
use crate::scene::{parse_detections, FrameDetections, SceneConfig, SceneEvent, SceneRules, TrackerConfig};
use crate::throw::{ThrowDetector, ThrowEvent};
use crate::video::Mp4Writer;
use crate::{Calibration, Frame};

/// What a camera is asked to watch, as configured through the API (`PUT /cameras/{code}/video`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// A Y4M or H.264 MP4 file the server can read, or an `rtsp://` stream.
    pub source: String,
    /// Files only: play at the video's own pace, as a camera would (default true). False reads
    /// as fast as the analysis goes (replaying recorded footage).
    #[serde(default = "yes")]
    pub realtime: bool,
    /// Files only: start again from the beginning at the end (default false: the camera ends).
    #[serde(default)]
    pub repeat: bool,
    /// The facade watched for objects thrown from height (CALIB.json's contents).
    #[serde(default)]
    pub throw: Option<Calibration>,
    /// Scene rules over detected objects.
    #[serde(default)]
    pub scene: Option<SceneConfig>,
    /// A JSON-lines file of per-frame detections (`{"t": s, "detections": [...]}`, times in the
    /// video's seconds), e.g. from an edge device or a detector run elsewhere: it drives `scene`.
    #[serde(default)]
    pub detections: Option<String>,
    /// Or an ONNX detector run on the frames to drive `scene`.
    #[serde(default)]
    pub detector: Option<DetectorConfig>,
    /// Seconds of video kept in an evidence clip before and after the moment (default 3 and 2).
    #[serde(default = "default_clip_before")]
    pub clip_before_s: f64,
    #[serde(default = "default_clip_after")]
    pub clip_after_s: f64,
}

fn yes() -> bool {
    true
}

fn default_clip_before() -> f64 {
    3.0
}

fn default_clip_after() -> f64 {
    2.0
}

/// The longest clip margin: the history a camera keeps in memory grows with it.
const MAX_CLIP_MARGIN_S: f64 = 10.0;

/// A configuration that cannot run, naming the field at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

fn config_error(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError { field: field.into(), message: message.into() }
}

impl CameraConfig {
    /// Reads and checks a configuration (everything but what needs the video's first frame).
    pub fn from_json(value: serde_json::Value) -> Result<Self, ConfigError> {
        let mut config: CameraConfig = serde_json::from_value(value).map_err(|e| config_error("video", e.to_string()))?;
        config.source = config.source.trim().to_string();
        config.detections = config.detections.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let source = self.source.trim();
        if source.is_empty() {
            return Err(config_error("source", "must name a video file or an rtsp:// stream"));
        }
        if source.contains("://") && !self.is_live() {
            return Err(config_error("source", "only rtsp:// streams and file paths are understood"));
        }
        if self.throw.is_none() && self.scene.is_none() {
            return Err(config_error("video", "give `throw` (a facade to watch), `scene` (rules), or both"));
        }
        if let Some(calib) = &self.throw {
            calib.validate().map_err(|e| config_error("throw", e.to_string()))?;
        }
        if let Some(detector) = &self.detector {
            detector.validate().map_err(|e| config_error("detector", e.to_string()))?;
        }
        let has_file = self.detections.as_deref().is_some_and(|d| !d.trim().is_empty());
        match (&self.scene, has_file, self.detector.is_some()) {
            (Some(scene), _, _) => {
                SceneRules::new(scene.clone(), TrackerConfig::default()).map_err(|e| config_error("scene", e))?;
                if has_file == self.detector.is_some() {
                    return Err(config_error("detections", "scene rules need one source of detections: a `detections` file or a `detector`"));
                }
            }
            (None, true, _) => return Err(config_error("detections", "detections drive scene rules; give `scene` too")),
            (None, _, true) => return Err(config_error("detector", "a detector drives scene rules; give `scene` too")),
            (None, false, false) => {}
        }
        for (field, value) in [("clip_before_s", self.clip_before_s), ("clip_after_s", self.clip_after_s)] {
            if !(value.is_finite() && (0.0..=MAX_CLIP_MARGIN_S).contains(&value)) {
                return Err(config_error(field, format!("must be 0 to {MAX_CLIP_MARGIN_S} seconds")));
            }
        }
        Ok(())
    }

    /// Whether the source is a live stream (paced by the camera, never ending on purpose).
    pub fn is_live(&self) -> bool {
        self.source.trim().to_ascii_lowercase().starts_with("rtsp://")
    }

    /// Loads the configured detector, if any (reads the model file).
    pub fn load_detector(&self) -> Result<Option<Box<dyn Detector>>, ConfigError> {
        self.detector.as_ref().map(|config| detect::load(config).map_err(|e| config_error("detector", e.to_string()))).transpose()
    }

    /// Reads the detections file, naming the file and the bad line on error.
    pub fn load_detections(&self) -> Result<Vec<FrameDetections>, ConfigError> {
        let Some(path) = self.detections.as_deref() else { return Ok(Vec::new()) };
        let text = std::fs::read_to_string(path).map_err(|e| config_error("detections", format!("cannot read {path}: {e}")))?;
        parse_detections(&text).map_err(|e| config_error("detections", format!("{path}: {e}")))
    }
}

/// What an alert is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    Throw(ThrowEvent),
    Scene(SceneEvent),
}

impl Finding {
    /// The moment the evidence is centred on: when a throw began, when a rule fired.
    pub fn t(&self) -> f64 {
        match self {
            Finding::Throw(event) => event.t_start,
            Finding::Scene(event) => event.t,
        }
    }
}

/// A finding with its evidence, ready to be raised.
#[derive(Debug, Clone)]
pub struct Alert {
    pub finding: Finding,
    /// JPEG, grey, with the track (and the origin window) or the object's box drawn on it.
    pub snapshot_jpeg: Vec<u8>,
    /// H.264 in MP4, at most a few seconds, possibly scaled down.
    pub clip_mp4: Vec<u8>,
}

/// A finding whose clip still waits for the frames after it.
struct Pending {
    finding: Finding,
    snapshot_jpeg: Vec<u8>,
    clip_from: f64,
    clip_to: f64,
}

/// Clip frames are scaled down to at most this wide, and at most this many are kept: a camera's
/// history stays under about 60 MB (480×270 frames, 25 fps, 18 s).
const CLIP_MAX_WIDTH: usize = 480;
const HISTORY_MAX_FRAMES: usize = 450;
const CLIP_BITRATE_BPS: u32 = 1_000_000;
/// How long a throw may take to be reported after it began (the fall, and the detector's hold).
const THROW_REPORT_LAG_S: f64 = 6.0;

/// One camera's analysis: frames in, alerts with evidence out.
pub struct CameraPipeline {
    config: CameraConfig,
    throw: Option<ThrowDetector>,
    scene: Option<SceneRules>,
    detections: Vec<FrameDetections>,
    next_detection: usize,
    detector: Option<Box<dyn Detector>>,
    frames_seen: u64,
    /// Recent frames, scaled for clips, oldest first.
    history: VecDeque<Frame>,
    /// The last frame at full size, for snapshots of what is released at the end.
    last_frame: Option<Frame>,
    /// The size of the first frame: every frame must have it.
    frame_size: Option<(usize, usize)>,
    pending: Vec<Pending>,
    fps: f64,
}

impl CameraPipeline {
    /// `detections` are the configured file's frames (see [`CameraConfig::load_detections`]) and
    /// `detector` the configured model (see [`CameraConfig::load_detector`]).
    pub fn new(config: CameraConfig, detections: Vec<FrameDetections>, detector: Option<Box<dyn Detector>>) -> Result<Self, ConfigError> {
        config.validate()?;
        let scene = config.scene.clone().map(|s| SceneRules::new(s, TrackerConfig::default()).map_err(|e| config_error("scene", e))).transpose()?;
        Ok(Self {
            config,
            throw: None,
            scene,
            detections,
            next_detection: 0,
            detector,
            frames_seen: 0,
            history: VecDeque::new(),
            last_frame: None,
            frame_size: None,
            pending: Vec::new(),
            fps: 25.0,
        })
    }

    /// Takes the next frame; returns the alerts whose clips are now complete. A frame of another
    /// size than the first, or a facade outside the frame, is an error.
    pub fn push(&mut self, frame: &Frame, fps: f64) -> Result<Vec<Alert>, ConfigError> {
        if fps.is_finite() && fps > 0.0 {
            self.fps = fps;
        }
        if let Some(calib) = &self.config.throw {
            if self.throw.is_none() {
                self.throw = Some(ThrowDetector::new(calib.clone(), frame.width, frame.height).map_err(|e| config_error("throw", e.to_string()))?);
            }
        }
        match self.frame_size {
            Some(size) if size != (frame.width, frame.height) => {
                return Err(config_error("source", format!("the frame size changed from {}×{} to {}×{}", size.0, size.1, frame.width, frame.height)));
            }
            Some(_) => {}
            None => self.frame_size = Some((frame.width, frame.height)),
        }
        // Time going back (a stream restarting its clock): what is kept no longer lines up.
        if self.history.back().is_some_and(|last| frame.t < last.t) {
            self.history.clear();
        }
        let mut findings: Vec<Finding> = Vec::new();
        if let Some(detector) = &mut self.throw {
            findings.extend(detector.push(frame).into_iter().map(Finding::Throw));
        }
        if let Some(scene) = &mut self.scene {
            while let Some(detected) = self.detections.get(self.next_detection).filter(|d| d.t <= frame.t) {
                findings.extend(scene.process(detected.t, &detected.detections).into_iter().map(Finding::Scene));
                self.next_detection += 1;
            }
            let due = self.config.detector.as_ref().is_none_or(|d| d.runs_on(self.frames_seen));
            if let Some(detector) = self.detector.as_mut().filter(|_| due) {
                let detected = detector.detect(frame).map_err(|e| config_error("detector", e.to_string()))?;
                findings.extend(scene.process(frame.t, &detected).into_iter().map(Finding::Scene));
            }
        }
        self.frames_seen += 1;
        self.history.push_back(scale_for_clip(frame));
        let keep = self.config.clip_before_s + self.config.clip_after_s + THROW_REPORT_LAG_S;
        while self.history.front().is_some_and(|f| frame.t - f.t > keep) || self.history.len() > HISTORY_MAX_FRAMES {
            self.history.pop_front();
        }
        for finding in findings {
            self.hold(finding, frame);
        }
        self.last_frame = Some(frame.clone());
        Ok(self.release(frame.t))
    }

    /// Keeps a finding, with its snapshot on `frame`, until the frames its clip needs are in.
    fn hold(&mut self, finding: Finding, frame: &Frame) {
        let snapshot_jpeg = snapshot(frame, &finding, self.config.throw.as_ref());
        // A throw's clip starts shortly before the fall (the seconds before show nothing of it)
        // and runs on past its last sighting.
        let (clip_from, clip_to) = match &finding {
            Finding::Throw(event) => (event.t_start - self.config.clip_before_s.min(1.5), event.t_end + self.config.clip_after_s),
            Finding::Scene(event) => (event.t - self.config.clip_before_s, event.t + self.config.clip_after_s),
        };
        self.pending.push(Pending { finding, snapshot_jpeg, clip_from, clip_to });
    }

    /// The video ended: what is pending is released with the clip it has.
    pub fn finish(&mut self) -> Vec<Alert> {
        let events = self.throw.as_mut().map(ThrowDetector::finish).unwrap_or_default();
        if let Some(last) = self.last_frame.take() {
            for event in events {
                self.hold(Finding::Throw(event), &last);
            }
        }
        self.release(f64::INFINITY)
    }

    /// Where the video starts again (a file repeating): detections and tracks start over.
    pub fn restart(&mut self) -> Vec<Alert> {
        let alerts = self.finish();
        self.throw = None;
        self.history.clear();
        self.frame_size = None;
        self.next_detection = 0;
        self.frames_seen = 0;
        if let Some(scene) = &self.config.scene {
            self.scene = SceneRules::new(scene.clone(), TrackerConfig::default()).ok();
        }
        alerts
    }

    fn release(&mut self, now: f64) -> Vec<Alert> {
        let (ready, waiting): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending).into_iter().partition(|p| p.clip_to <= now);
        self.pending = waiting;
        ready
            .into_iter()
            .map(|p| {
                let frames: Vec<&Frame> = self.history.iter().filter(|f| f.t >= p.clip_from && f.t <= p.clip_to).collect();
                let clip_mp4 = encode_clip(&frames, self.fps).unwrap_or_else(|error| {
                    tracing::warn!(%error, "encoding an evidence clip failed; the alert goes without one");
                    Vec::new()
                });
                Alert { finding: p.finding, snapshot_jpeg: p.snapshot_jpeg, clip_mp4 }
            })
            .collect()
    }
}

/// The size clip frames are kept at: at most [`CLIP_MAX_WIDTH`] wide, even sides (4:2:0).
fn clip_size(width: usize, height: usize) -> (usize, usize) {
    let factor = width.div_ceil(CLIP_MAX_WIDTH).max(1);
    ((width / factor) & !1, (height / factor) & !1)
}

/// Scales a frame down by a whole factor, averaging each block (box filter).
fn scale_for_clip(frame: &Frame) -> Frame {
    let factor = frame.width.div_ceil(CLIP_MAX_WIDTH).max(1);
    let (w, h) = clip_size(frame.width, frame.height);
    let mut luma = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let mut sum = 0u32;
            for dy in 0..factor {
                let row = &frame.luma[(y * factor + dy) * frame.width..];
                sum += row[x * factor..x * factor + factor].iter().map(|&v| u32::from(v)).sum::<u32>();
            }
            luma.push((sum / (factor * factor) as u32) as u8);
        }
    }
    Frame::new(w, h, frame.t, luma)
}

fn encode_clip(frames: &[&Frame], fps: f64) -> std::io::Result<Vec<u8>> {
    let Some(first) = frames.first() else { return Ok(Vec::new()) };
    let fps = fps.round().clamp(1.0, 120.0) as u32;
    let mut writer = Mp4Writer::to_writer(Cursor::new(Vec::new()), first.width, first.height, fps, CLIP_BITRATE_BPS)?;
    for frame in frames {
        writer.write(&frame.luma)?;
    }
    Ok(writer.finish()?.into_inner())
}

/// The frame with the finding drawn: a throw's track and the window it came from, or the box of
/// the object a rule fired on.
fn snapshot(frame: &Frame, finding: &Finding, calib: Option<&Calibration>) -> Vec<u8> {
    let mut canvas = Canvas { width: frame.width, height: frame.height, luma: frame.luma.clone() };
    match finding {
        Finding::Throw(event) => {
            for pair in event.track.windows(2) {
                canvas.line([pair[0][1], pair[0][2]], [pair[1][1], pair[1][2]]);
            }
            if let Some(calib) = calib {
                canvas.window(calib, event.origin.floor, event.origin.column);
            }
        }
        Finding::Scene(event) => {
            if let Some([x1, y1, x2, y2]) = event.bbox {
                canvas.polygon(&[[x1, y1], [x2, y1], [x2, y2], [x1, y2]]);
            }
        }
    }
    canvas.jpeg()
}

/// A grey picture drawn on in white with a dark edge, to show on light and dark alike.
struct Canvas {
    width: usize,
    height: usize,
    luma: Vec<u8>,
}

impl Canvas {
    fn dot(&mut self, x: f64, y: f64) {
        let (cx, cy) = (x.round() as i64, y.round() as i64);
        for (dx, dy, value) in [(0, 0, 255u8), (1, 0, 255), (0, 1, 0), (1, 1, 0)] {
            let (px, py) = (cx + dx, cy + dy);
            if px >= 0 && py >= 0 && (px as usize) < self.width && (py as usize) < self.height {
                self.luma[py as usize * self.width + px as usize] = value;
            }
        }
    }

    fn line(&mut self, a: [f64; 2], b: [f64; 2]) {
        let steps = (b[0] - a[0]).abs().max((b[1] - a[1]).abs()).ceil().clamp(1.0, 10_000.0) as usize;
        for i in 0..=steps {
            let k = i as f64 / steps as f64;
            self.dot(a[0] + (b[0] - a[0]) * k, a[1] + (b[1] - a[1]) * k);
        }
    }

    fn polygon(&mut self, points: &[[f64; 2]]) {
        for (i, &p) in points.iter().enumerate() {
            self.line(p, points[(i + 1) % points.len()]);
        }
    }

    /// Outlines one window cell of the facade (floor 1 at the bottom, column 1 at the left).
    fn window(&mut self, calib: &Calibration, floor: u32, column: u32) {
        let to_image = calib.to_image();
        let (floors, columns) = (f64::from(calib.floors), f64::from(calib.columns));
        let (u0, u1) = (f64::from(column - 1) / columns, f64::from(column) / columns);
        let (v0, v1) = ((floors - f64::from(floor)) / floors, (floors - f64::from(floor) + 1.0) / floors);
        let corners: Vec<[f64; 2]> = [(u0, v0), (u1, v0), (u1, v1), (u0, v1)]
            .iter()
            .map(|&(u, v)| {
                let (x, y) = to_image.apply(u, v);
                [x, y]
            })
            .collect();
        self.polygon(&corners);
    }

    fn jpeg(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let encoded = jpeg_encoder::Encoder::new(&mut out, 85).encode(&self.luma, self.width as u16, self.height as u16, jpeg_encoder::ColorType::Luma);
        if let Err(error) = encoded {
            tracing::warn!(%error, "encoding a snapshot failed; the alert goes without one");
            out.clear();
        }
        out
    }
}
