//! The ONNX path end to end: a real model file (the grid detector, written by code) loaded by the
//! backend, frames letterboxed into it, its YOLOv8 output decoded back to frame pixels.
use linli_vision::detect::{load, write_grid_model, Backend, DetectorConfig, GRID_CLASS};
use linli_vision::Frame;

fn config(model: &std::path::Path, backend: Backend) -> DetectorConfig {
    serde_json::from_value(serde_json::json!({
        "model": model, "input_size": [320, 320], "classes": [GRID_CLASS], "score_threshold": 0.5, "backend": backend,
    }))
    .unwrap()
}

/// A dark 640×360 frame with bright squares at the given boxes.
fn frame(squares: &[[usize; 4]]) -> Frame {
    let (w, h) = (640, 360);
    let mut luma = vec![20u8; w * h];
    for &[x1, y1, x2, y2] in squares {
        for y in y1..y2 {
            luma[y * w + x1..y * w + x2].fill(250);
        }
    }
    Frame::new(w, h, 0.0, luma)
}

fn detects_bright_squares_where_they_are(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("grid.onnx");
    write_grid_model(&model, 320, 32, 32).unwrap();
    let mut detector = load(&config(&model, backend)).unwrap();
    // The frame is scaled by a half into the 320×320 input and padded by 70 rows above and below:
    // these squares fill the cells at rows 4 and 6, columns 3 and 7, exactly.
    let squares = [[192, 116, 256, 180], [448, 244, 512, 308]];
    let mut found = detector.detect(&frame(&squares)).unwrap();
    found.sort_by(|a, b| a.bbox[0].total_cmp(&b.bbox[0]));
    assert_eq!(found.len(), 2, "{found:?}");
    for (detection, square) in found.iter().zip(&squares) {
        assert_eq!(detection.class, GRID_CLASS);
        assert!(detection.score > 0.99, "{detection:?}");
        for (got, want) in detection.bbox.iter().zip(square) {
            assert!((got - *want as f64).abs() < 1e-3, "{detection:?} is not at {square:?}");
        }
    }
    // Nothing bright, nothing found: the letterbox's grey padding is no object.
    assert!(detector.detect(&frame(&[])).unwrap().is_empty());
}

#[test]
fn tract_detects_bright_squares_where_they_are() {
    detects_bright_squares_where_they_are(Backend::Tract);
}

#[cfg(feature = "ort")]
#[test]
fn onnx_runtime_detects_bright_squares_where_they_are() {
    use std::io::Write as _;
    if std::env::var_os("ORT_DYLIB_PATH").is_none() {
        let _ = writeln!(std::io::stderr(), "skipped: ORT_DYLIB_PATH is not set, ONNX Runtime not tested");
        return;
    }
    detects_bright_squares_where_they_are(Backend::Ort);
}

#[test]
fn bad_models_and_configurations_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.onnx");
    let error = load(&config(&missing, Backend::Tract)).err().unwrap().to_string();
    assert!(error.contains("missing.onnx") && error.contains("no such file"), "{error}");
    let garbage = dir.path().join("garbage.onnx");
    std::fs::write(&garbage, b"not a protobuf at all").unwrap();
    assert!(load(&config(&garbage, Backend::Tract)).err().unwrap().to_string().contains("garbage.onnx"));
    // The model's output does not fit the classes named.
    let model = dir.path().join("grid.onnx");
    write_grid_model(&model, 320, 32, 32).unwrap();
    let mut two_classes = config(&model, Backend::Tract);
    two_classes.classes.push("dark".into());
    let error = load(&two_classes).unwrap().detect(&frame(&[])).err().unwrap().to_string();
    assert!(error.contains("2 classes"), "{error}");
    let mut odd = config(&model, Backend::Tract);
    odd.input_size = [300, 300];
    assert!(load(&odd).err().unwrap().to_string().contains("input_size"));
}
