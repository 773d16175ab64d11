//! Video analytics that run on CPUs, in Rust.
//!
//! - [`video`]: frames from Y4M files, H.264 MP4 files (OpenH264, built from source) and live
//!   RTSP streams; writers for both file formats, which the synthetic clips use; a stand-in RTSP
//!   camera that streams an MP4.
//! - [`calib`]: a facade seen in perspective, divided into floors and window columns, and the
//!   homography from the image to it.
//! - [`throw`]: the thrown-object (高空抛物) detector: a background model, candidate tracks, a
//!   physical test (gravity, a parabola) and the back-traced origin, as floor and column.
//! - [`scene`]: detections (from a detector or an edge device) tracked across frames and judged
//!   by per-camera rules: dwell in a zone, lines crossed, zones entered, crowds.
//! - [`camera`]: one camera as the server runs it: its configuration, and the pipeline from its
//!   frames to alerts with evidence (a JPEG snapshot, a short MP4 clip).
//! - [`detect`]: YOLO-format ONNX detectors (tract, or ONNX Runtime with the `ort` feature).
//! - [`synth`]: clips with known truth (facades, noise, weather, distractors, throws) and
//!   [`eval`]: the figures a detector earns on them.
//!
//! The crate reads the files and RTSP streams it is pointed at, and nothing else: no database.

pub mod calib;
pub mod camera;
pub mod detect;
pub mod eval;
pub mod frame;
pub mod scene;
pub mod synth;
pub mod throw;
pub mod video;

pub use calib::{Calibration, CalibrationError};
pub use frame::Frame;
pub use throw::{detect_throws, DetectError, ThrowDetector, ThrowEvent};
pub use video::{open_source, open_video, VideoError, VideoFormat, VideoSource};
