//! The camera pipeline as the server runs it: findings come out with a JPEG snapshot and an MP4
//! clip that decodes, once the frames after the moment have arrived.
use linli_vision::camera::{CameraConfig, CameraPipeline, Finding};
use linli_vision::scene::{Detection, FrameDetections};
use linli_vision::synth::{Clip, ClipOptions};
use linli_vision::video::Mp4Reader;
use linli_vision::{Frame, VideoSource};

fn decodes(mp4: &[u8]) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.mp4");
    std::fs::write(&path, mp4).unwrap();
    let mut reader = Mp4Reader::open(&path).unwrap();
    let mut frames = 0;
    while reader.next_frame().unwrap().is_some() {
        frames += 1;
    }
    frames
}

#[test]
fn a_throw_comes_with_a_snapshot_and_a_clip_around_it() {
    // A seed whose clip holds throws (the generator draws 0–2).
    let options = ClipOptions { duration_s: 10.0, ..Default::default() };
    let mut clip = (1..50).map(|seed| Clip::new(seed, &options)).find(|c| !c.truth.throws.is_empty()).unwrap();
    let config = CameraConfig::from_json(serde_json::json!({"source": "clip.y4m", "throw": clip.truth.calib})).unwrap();
    let mut pipeline = CameraPipeline::new(config, Vec::new(), None).unwrap();
    let (w, h, fps) = (clip.truth.width, clip.truth.height, f64::from(clip.truth.fps));
    let mut alerts = Vec::new();
    let mut n = 0;
    while let Some(luma) = clip.next_frame() {
        alerts.extend(pipeline.push(&Frame::new(w, h, n as f64 / fps, luma), fps).unwrap());
        n += 1;
    }
    alerts.extend(pipeline.finish());
    assert!(!alerts.is_empty(), "the clip's throws {:?} raised nothing", clip.truth.throws);
    for alert in &alerts {
        let Finding::Throw(event) = &alert.finding else { panic!("only throws are watched") };
        assert!(clip.truth.throws.iter().any(|t| t.floor.abs_diff(event.origin.floor) <= 1), "{event:?} matches no throw");
        assert_eq!(&alert.snapshot_jpeg[..2], &[0xFF, 0xD8], "a JPEG");
        let frames = decodes(&alert.clip_mp4);
        // At least the fall itself and a second around it, at 25 fps.
        assert!(frames as f64 >= (event.t_end - event.t_start + 1.0) * 25.0 * 0.9, "{frames} frames");
    }
}

#[test]
fn a_rule_firing_waits_for_the_seconds_after_it_then_comes_with_its_evidence() {
    let config = CameraConfig::from_json(serde_json::json!({
        "source": "clip.y4m",
        "detections": "detections.jsonl",
        "clip_before_s": 1.0,
        "clip_after_s": 1.0,
        "scene": {"rules": [{"name": "gate", "kind": "intrusion", "zone": [[100, 100], [300, 100], [300, 300], [100, 300]]}]}
    }))
    .unwrap();
    // A person walks into the zone at about 2 s.
    let detections: Vec<FrameDetections> = (0..100)
        .map(|i| {
            let t = f64::from(i) / 10.0;
            let x = 10.0 + 40.0 * t;
            FrameDetections { t, detections: vec![Detection { class: "person".into(), score: 0.9, bbox: [x, 150.0, x + 20.0, 200.0] }] }
        })
        .collect();
    let mut pipeline = CameraPipeline::new(config, detections, None).unwrap();
    let mut alerts = Vec::new();
    let mut released_at = None;
    for n in 0..250 {
        let t = f64::from(n) / 25.0;
        let fresh = pipeline.push(&Frame::new(320, 240, t, vec![(n % 200) as u8; 320 * 240]), 25.0).unwrap();
        if !fresh.is_empty() && released_at.is_none() {
            released_at = Some(t);
        }
        alerts.extend(fresh);
    }
    assert_eq!(alerts.len(), 1, "one entry");
    let Finding::Scene(event) = &alerts[0].finding else { panic!("a scene event") };
    assert_eq!(event.rule, "gate");
    // The foot enters at x = 100 (t ≈ 1.9 s) and the clip waits one second past it.
    assert!((1.7..2.3).contains(&event.t), "{}", event.t);
    assert!(released_at.unwrap() >= event.t + 1.0);
    assert_eq!(&alerts[0].snapshot_jpeg[..2], &[0xFF, 0xD8]);
    let frames = decodes(&alerts[0].clip_mp4);
    assert!((45..=55).contains(&frames), "two seconds at 25 fps, not {frames}");
}

#[test]
fn configurations_that_cannot_run_are_refused_naming_the_field() {
    let refused = |value: serde_json::Value| CameraConfig::from_json(value).unwrap_err().field;
    assert_eq!(refused(serde_json::json!({"source": "", "throw": {"facade": [[0,0],[10,0],[10,10],[0,10]], "floors": 2, "columns": 2}})), "source");
    assert_eq!(refused(serde_json::json!({"source": "a.mp4"})), "video");
    assert_eq!(refused(serde_json::json!({"source": "a.mp4", "throw": {"facade": [[0,0],[10,0],[10,10],[0,10]], "floors": 0, "columns": 2}})), "throw");
    assert_eq!(refused(serde_json::json!({"source": "a.mp4", "scene": {"rules": []}})), "detections");
    assert_eq!(refused(serde_json::json!({"source": "http://x/a.mp4", "scene": {"rules": []}, "detections": "d"})), "source");
    assert_eq!(refused(serde_json::json!({"source": "a.mp4", "scene": {"rules": []}, "detections": "d", "clip_after_s": 60})), "clip_after_s");
    assert_eq!(refused(serde_json::json!({"source": "a.mp4", "scene": {"rules": []}, "detections": "d", "colour": true})), "video");
}

#[test]
fn a_detector_on_the_frames_drives_the_rules() {
    use linli_vision::detect::{write_grid_model, GRID_CLASS};
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("grid.onnx");
    // Cells of 64 px every 16 px: a 64 px square moving smoothly is found where it is, give or
    // take half a stride, and overlapping finds are one object.
    write_grid_model(&model, 320, 64, 16).unwrap();
    // A bright square (a "light") crosses a 320×320 frame, which the model sees as it is, left
    // to right at 80 px/s; the zone is the right half.
    let config = CameraConfig::from_json(serde_json::json!({
        "source": "clip.y4m",
        "clip_before_s": 0.5,
        "clip_after_s": 0.5,
        "detector": {"model": model, "input_size": [320, 320], "classes": [GRID_CLASS], "score_threshold": 0.5, "every_nth_frame": 2},
        "scene": {"rules": [{"name": "right half", "kind": "intrusion", "zone": [[160, 0], [320, 0], [320, 320], [160, 320]]}]}
    }))
    .unwrap();
    let detector = config.load_detector().unwrap();
    let mut pipeline = CameraPipeline::new(config, Vec::new(), detector).unwrap();
    let mut alerts = Vec::new();
    for n in 0..40u32 {
        let t = f64::from(n) / 10.0;
        let left = 8 * n as usize;
        let mut luma = vec![10u8; 320 * 320];
        for y in 128..192 {
            luma[y * 320 + left..y * 320 + left + 64].fill(250);
        }
        alerts.extend(pipeline.push(&Frame::new(320, 320, t, luma), 10.0).unwrap());
    }
    alerts.extend(pipeline.finish());
    assert_eq!(alerts.len(), 1, "{:?}", alerts.iter().map(|a| &a.finding).collect::<Vec<_>>());
    let Finding::Scene(event) = &alerts[0].finding else { panic!("a scene event") };
    assert_eq!(event.class.as_deref(), Some(GRID_CLASS));
    // Its foot (the box's bottom middle) crosses x = 160 when the square's left edge passes 128,
    // at 1.6 s, found at the next analysed frame or the one after.
    assert!((1.6..=2.0).contains(&event.t), "{}", event.t);
}
