//! Object detectors: any YOLO-format ONNX model the user supplies (YOLOv5's `[1, N, 5+C]` with an
//! objectness column, YOLOv8's `[1, 4+C, N]` or its transpose), run by tract (pure Rust, the
//! default) or, built with the `ort` feature, by a system ONNX Runtime library loaded at run time.
//! Frames are letterboxed to the model's input size; boxes come back in frame pixels after
//! per-class non-maximum suppression, as [`Detection`]s the scene engine takes.

mod grid;

pub use grid::{write_grid_model, GRID_CLASS};

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::scene::Detection;
use crate::Frame;

/// How a detector is configured (the `detector` of a camera, or `linli vision detect`'s flags).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorConfig {
    /// The `.onnx` file.
    pub model: String,
    /// The model's input, `[width, height]` in pixels (e.g. `[640, 640]`).
    pub input_size: [u32; 2],
    /// The model's class names, in its output order.
    pub classes: Vec<String>,
    #[serde(default = "default_score")]
    pub score_threshold: f64,
    /// Boxes of one class overlapping more than this are one object.
    #[serde(default = "default_iou")]
    pub iou_threshold: f64,
    #[serde(default)]
    pub backend: Backend,
    /// Run the model on every Nth frame only (default 1: every frame); the tracker bridges the gaps.
    #[serde(default = "one")]
    pub every_nth_frame: u32,
}

fn default_score() -> f64 {
    0.25
}

fn default_iou() -> f64 {
    0.45
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// tract: pure Rust, always built.
    #[default]
    Tract,
    /// ONNX Runtime, from the library named by `ORT_DYLIB_PATH` (needs the `ort` feature).
    Ort,
}

#[derive(Debug, thiserror::Error)]
pub enum DetectorError {
    #[error("detector field {field}: {message}")]
    Config { field: &'static str, message: String },
    #[error("cannot load the model {path}: {message}")]
    Load { path: String, message: String },
    #[error("running the model failed: {0}")]
    Run(String),
}

fn config_error(field: &'static str, message: impl Into<String>) -> DetectorError {
    DetectorError::Config { field, message: message.into() }
}

/// Largest model input side accepted.
const MAX_INPUT: u32 = 4096;
/// Most detections kept from one frame (after suppression).
const MAX_DETECTIONS: usize = 300;
/// Letterbox padding, YOLO's grey.
const PAD: f32 = 114.0 / 255.0;

impl DetectorConfig {
    pub fn validate(&self) -> Result<(), DetectorError> {
        if self.model.trim().is_empty() {
            return Err(config_error("model", "must name an .onnx file"));
        }
        if self.input_size.iter().any(|&side| side == 0 || side > MAX_INPUT || side % 32 != 0) {
            return Err(config_error("input_size", format!("sides must be multiples of 32 up to {MAX_INPUT}, not {:?}", self.input_size)));
        }
        if self.classes.is_empty() || self.classes.iter().any(|c| c.trim().is_empty()) {
            return Err(config_error("classes", "must name the model's classes, in order"));
        }
        for (field, value) in [("score_threshold", self.score_threshold), ("iou_threshold", self.iou_threshold)] {
            if !(value.is_finite() && (0.0..=1.0).contains(&value)) {
                return Err(config_error(field, "must be 0 to 1"));
            }
        }
        if self.every_nth_frame == 0 {
            return Err(config_error("every_nth_frame", "must be at least 1"));
        }
        if self.backend == Backend::Ort && !cfg!(feature = "ort") {
            return Err(config_error("backend", "this build has no ONNX Runtime backend (build with the `ort` feature)"));
        }
        Ok(())
    }
}

impl DetectorConfig {
    /// Whether the model runs on the frame numbered `index` (from 0), given `every_nth_frame`.
    pub fn runs_on(&self, index: u64) -> bool {
        index.is_multiple_of(u64::from(self.every_nth_frame.max(1)))
    }
}

/// Finds objects in frames.
pub trait Detector: Send {
    fn detect(&mut self, frame: &Frame) -> Result<Vec<Detection>, DetectorError>;
}

/// Loads the configured model on the configured backend.
pub fn load(config: &DetectorConfig) -> Result<Box<dyn Detector>, DetectorError> {
    config.validate()?;
    let path = Path::new(config.model.trim());
    if !path.is_file() {
        return Err(DetectorError::Load { path: path.display().to_string(), message: "no such file".into() });
    }
    match config.backend {
        Backend::Tract => Ok(Box::new(tract_backend::TractDetector::load(config, path)?)),
        #[cfg(feature = "ort")]
        Backend::Ort => Ok(Box::new(ort_backend::OrtDetector::load(config, path)?)),
        #[cfg(not(feature = "ort"))]
        Backend::Ort => Err(config_error("backend", "this build has no ONNX Runtime backend (build with the `ort` feature)")),
    }
}

/// Where a frame sits inside the model's input: scaled by `scale`, offset by `pad`.
#[derive(Debug, Clone, Copy)]
struct Letterbox {
    scale: f64,
    pad: (f64, f64),
}

/// The frame as the model's input, `[1, 3, h, w]` floats 0–1 (grey in all three channels), and
/// where it sits. Bilinear sampling: nearest-neighbour aliasing costs small objects.
fn letterbox(frame: &Frame, size: [u32; 2]) -> (Vec<f32>, Letterbox) {
    let (w, h) = (size[0] as usize, size[1] as usize);
    let scale = (w as f64 / frame.width as f64).min(h as f64 / frame.height as f64);
    let (sw, sh) = (((frame.width as f64 * scale).round() as usize).min(w), ((frame.height as f64 * scale).round() as usize).min(h));
    let (px, py) = ((w - sw) / 2, (h - sh) / 2);
    let mut plane = vec![PAD; w * h];
    let max_x = frame.width.saturating_sub(1) as f64;
    let max_y = frame.height.saturating_sub(1) as f64;
    for y in 0..sh {
        let fy = ((y as f64 + 0.5) / scale - 0.5).clamp(0.0, max_y);
        let (y0, wy) = (fy.floor() as usize, (fy - fy.floor()) as f32);
        let y1 = (y0 + 1).min(frame.height - 1);
        let (row0, row1) = (&frame.luma[y0 * frame.width..][..frame.width], &frame.luma[y1 * frame.width..][..frame.width]);
        let out = &mut plane[(py + y) * w + px..][..sw];
        for (x, value) in out.iter_mut().enumerate() {
            let fx = ((x as f64 + 0.5) / scale - 0.5).clamp(0.0, max_x);
            let (x0, wx) = (fx.floor() as usize, (fx - fx.floor()) as f32);
            let x1 = (x0 + 1).min(frame.width - 1);
            let top = f32::from(row0[x0]) * (1.0 - wx) + f32::from(row0[x1]) * wx;
            let bottom = f32::from(row1[x0]) * (1.0 - wx) + f32::from(row1[x1]) * wx;
            *value = (top * (1.0 - wy) + bottom * wy) / 255.0;
        }
    }
    let mut input = Vec::with_capacity(3 * w * h);
    for _ in 0..3 {
        input.extend_from_slice(&plane);
    }
    (input, Letterbox { scale, pad: (px as f64, py as f64) })
}

/// How the output tensor is laid out.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Layout {
    /// YOLOv8: rows of attributes (`cx, cy, w, h`, class scores), one column per candidate.
    AttributesByCandidates,
    /// YOLOv8 transposed: a row per candidate.
    CandidatesByAttributes,
    /// YOLOv5: a row per candidate, `cx, cy, w, h, objectness`, class scores.
    CandidatesWithObjectness,
}

/// The layout of an output of `shape` for `classes` classes.
fn layout(shape: &[usize], classes: usize) -> Result<(Layout, usize), DetectorError> {
    let dims: Vec<usize> = shape.iter().copied().skip_while(|&d| d == 1).collect();
    let fits = |what: String| DetectorError::Run(format!("the output {shape:?} is not a YOLO output for {classes} classes: {what}"));
    let [a, b] = dims[..] else { return Err(fits("expected [1, 4+C, N] or [1, N, 5+C]".into())) };
    // Candidates outnumber attributes in every YOLO head (thousands against tens): the shorter
    // side holds the attributes, which tells the layouts apart without guessing.
    Ok(if a < b && a == 4 + classes {
        (Layout::AttributesByCandidates, b)
    } else if b < a && b == 4 + classes {
        (Layout::CandidatesByAttributes, a)
    } else if b < a && b == 5 + classes {
        (Layout::CandidatesWithObjectness, a)
    } else {
        return Err(fits("its shorter side is neither 4+C nor 5+C; check `classes`".into()));
    })
}

/// Boxes from a raw output, in frame pixels, suppressed per class.
fn decode(output: &[f32], shape: &[usize], config: &DetectorConfig, placed: Letterbox, frame: &Frame) -> Result<Vec<Detection>, DetectorError> {
    let classes = config.classes.len();
    let (layout, candidates) = layout(shape, classes)?;
    let attributes = output.len() / candidates.max(1);
    let at = |candidate: usize, attribute: usize| match layout {
        Layout::AttributesByCandidates => output[attribute * candidates + candidate],
        _ => output[candidate * attributes + attribute],
    };
    let first_class = if layout == Layout::CandidatesWithObjectness { 5 } else { 4 };
    let threshold = config.score_threshold as f32;
    let mut found: Vec<(usize, f32, [f64; 4])> = Vec::new();
    for candidate in 0..candidates {
        let objectness = if layout == Layout::CandidatesWithObjectness { at(candidate, 4) } else { 1.0 };
        if objectness < threshold {
            continue;
        }
        let (class, score) =
            (0..classes).map(|c| (c, at(candidate, first_class + c) * objectness)).fold((0, f32::MIN), |best, c| if c.1 > best.1 { c } else { best });
        if score.is_nan() || score < threshold {
            continue;
        }
        let (cx, cy, w, h) = (at(candidate, 0) as f64, at(candidate, 1) as f64, at(candidate, 2) as f64, at(candidate, 3) as f64);
        let to_frame = |x: f64, y: f64| {
            let fx = ((x - placed.pad.0) / placed.scale).clamp(0.0, frame.width as f64);
            let fy = ((y - placed.pad.1) / placed.scale).clamp(0.0, frame.height as f64);
            (fx, fy)
        };
        let (x1, y1) = to_frame(cx - w / 2.0, cy - h / 2.0);
        let (x2, y2) = to_frame(cx + w / 2.0, cy + h / 2.0);
        if x2 > x1 && y2 > y1 {
            found.push((class, score, [x1, y1, x2, y2]));
        }
    }
    found.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut kept: Vec<(usize, f32, [f64; 4])> = Vec::new();
    for candidate in found {
        if kept.len() == MAX_DETECTIONS {
            break;
        }
        if !kept.iter().any(|k| k.0 == candidate.0 && crate::scene::iou(&k.2, &candidate.2) > config.iou_threshold) {
            kept.push(candidate);
        }
    }
    Ok(kept.into_iter().map(|(class, score, bbox)| Detection { class: config.classes[class].clone(), score: f64::from(score), bbox }).collect())
}

mod tract_backend {
    use super::*;
    use tract_onnx::prelude::*;

    type Plan = std::sync::Arc<TypedRunnableModel>;

    pub struct TractDetector {
        plan: Plan,
        config: DetectorConfig,
    }

    impl TractDetector {
        pub fn load(config: &DetectorConfig, path: &Path) -> Result<Self, DetectorError> {
            let load_error = |e: TractError| DetectorError::Load { path: path.display().to_string(), message: format!("{e:#}") };
            let [w, h] = config.input_size;
            // The model's own shapes may name symbols (a dynamic batch, height, width): they are
            // left out, and inferred from the configured input instead.
            let plan = tract_onnx::onnx()
                .with_ignore_output_shapes(true)
                .with_ignore_value_info(true)
                .model_for_path(path)
                .and_then(|model| model.with_input_fact(0, f32::fact([1, 3, h as usize, w as usize]).into()))
                .and_then(|model| model.into_optimized())
                .and_then(|model| model.into_runnable())
                .map_err(load_error)?;
            Ok(Self { plan, config: config.clone() })
        }
    }

    impl Detector for TractDetector {
        fn detect(&mut self, frame: &Frame) -> Result<Vec<Detection>, DetectorError> {
            let [w, h] = self.config.input_size;
            let (input, placed) = letterbox(frame, self.config.input_size);
            let run = |e: TractError| DetectorError::Run(format!("{e:#}"));
            let tensor = Tensor::from_shape(&[1, 3, h as usize, w as usize], &input).map_err(run)?;
            let outputs = self.plan.run(tvec!(tensor.into())).map_err(run)?;
            let output = outputs.first().ok_or_else(|| DetectorError::Run("the model has no output".into()))?;
            let view = output.try_as_plain_ram().map_err(run)?;
            let values = view.as_slice::<f32>().map_err(run)?;
            decode(values, output.shape(), &self.config, placed, frame)
        }
    }
}

/// ONNX Runtime, loaded at run time from the library `ORT_DYLIB_PATH` names (e.g. the one inside
/// PyPI's `onnxruntime` wheel): nothing is downloaded or linked at build time.
#[cfg(feature = "ort")]
mod ort_backend {
    use super::*;
    use ort::environment::Environment;
    use ort::session::Session;
    use ort::value::Tensor;
    use std::sync::OnceLock;

    /// One runtime a process; sessions share it.
    static ENVIRONMENT: OnceLock<Result<Environment, String>> = OnceLock::new();

    fn environment() -> Result<&'static Environment, DetectorError> {
        let made = ENVIRONMENT.get_or_init(|| {
            let library = std::env::var_os("ORT_DYLIB_PATH").ok_or("ORT_DYLIB_PATH does not name an ONNX Runtime library (libonnxruntime.so)")?;
            let builder = ort::init_from(&library).map_err(|e| format!("cannot load {}: {e}", Path::new(&library).display()))?;
            builder.build().map_err(|e| e.to_string())
        });
        made.as_ref().map_err(|message| config_error("backend", message.clone()))
    }

    pub struct OrtDetector {
        session: Session,
        config: DetectorConfig,
    }

    impl OrtDetector {
        pub fn load(config: &DetectorConfig, path: &Path) -> Result<Self, DetectorError> {
            let load_error = |message: String| DetectorError::Load { path: path.display().to_string(), message };
            // One thread, as tract: a camera is given a core, and figures compare per core.
            let session = Session::builder(environment()?)
                .map_err(|e| load_error(e.to_string()))?
                .with_intra_threads(1)
                .map_err(|e| load_error(e.to_string()))?
                .commit_from_file(path)
                .map_err(|e| load_error(e.to_string()))?;
            Ok(Self { session, config: config.clone() })
        }
    }

    impl Detector for OrtDetector {
        fn detect(&mut self, frame: &Frame) -> Result<Vec<Detection>, DetectorError> {
            let [w, h] = self.config.input_size;
            let (input, placed) = letterbox(frame, self.config.input_size);
            let run = |e: ort::Error| DetectorError::Run(e.to_string());
            let tensor = Tensor::from_array(([1usize, 3, h as usize, w as usize], input)).map_err(run)?;
            let outputs = self.session.run(ort::inputs![tensor]).map_err(run)?;
            if outputs.len() == 0 {
                return Err(DetectorError::Run("the model has no output".into()));
            }
            let (shape, values) = outputs[0].try_extract_tensor::<f32>().map_err(run)?;
            let shape: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
            decode(values, &shape, &self.config, placed, frame)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(classes: &[&str]) -> DetectorConfig {
        DetectorConfig {
            model: "m.onnx".into(),
            input_size: [64, 64],
            classes: classes.iter().map(|c| c.to_string()).collect(),
            score_threshold: 0.3,
            iou_threshold: 0.45,
            backend: Backend::Tract,
            every_nth_frame: 1,
        }
    }

    #[test]
    fn yolov5_rows_weigh_classes_by_objectness_and_overlaps_of_a_class_are_one_object() {
        let frame = Frame::new(64, 64, 0.0, vec![0; 64 * 64]);
        let same_place = Letterbox { scale: 1.0, pad: (0.0, 0.0) };
        // cx, cy, w, h, objectness, person, car
        #[rustfmt::skip]
        let rows = [
            20.0, 20.0, 10.0, 10.0, 0.9, 0.9, 0.1, // a person
            21.0, 20.0, 10.0, 10.0, 0.8, 0.9, 0.1, // the same person again: suppressed
            21.0, 20.0, 10.0, 10.0, 0.8, 0.1, 0.9, // a car in the same place: another class, kept
            50.0, 50.0, 10.0, 10.0, 0.2, 0.9, 0.9, // unsure anything is there
        ];
        let mut padded = rows.to_vec();
        // Four more candidates under the threshold: candidates outnumber attributes.
        padded.extend([0.0; 28]);
        let found = decode(&padded, &[1, 8, 7], &config(&["person", "car"]), same_place, &frame).unwrap();
        let classes: Vec<&str> = found.iter().map(|d| d.class.as_str()).collect();
        assert_eq!(classes, ["person", "car"]);
        assert_eq!(found[0].bbox, [15.0, 15.0, 25.0, 25.0]);
        assert!((found[0].score - 0.81).abs() < 1e-6);
    }

    #[test]
    fn layouts_are_told_by_the_class_count() {
        assert_eq!(layout(&[1, 6, 8400], 2).unwrap(), (Layout::AttributesByCandidates, 8400));
        assert_eq!(layout(&[1, 8400, 6], 2).unwrap(), (Layout::CandidatesByAttributes, 8400));
        assert_eq!(layout(&[1, 25200, 85], 80).unwrap(), (Layout::CandidatesWithObjectness, 25200));
        assert!(layout(&[1, 25200, 85], 3).is_err());
        assert!(layout(&[1, 2, 3, 4], 3).is_err());
    }
}
