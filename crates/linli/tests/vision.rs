//! `linli vision`: the thrown-object CLI contract on Y4M and H.264 MP4 clips with known truth,
//! and its errors on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn linli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_linli")).args(args).output().expect("linli runs")
}

fn synth(dir: &Path, seed: u64, count: u32, format: &str) {
    let out = linli(&[
        "vision",
        "synth",
        "--out",
        dir.to_str().unwrap(),
        "--seed",
        &seed.to_string(),
        "--count",
        &count.to_string(),
        "--duration",
        "9",
        "--format",
        format,
    ]);
    assert!(out.status.success(), "synth: {}", String::from_utf8_lossy(&out.stderr));
}

fn clip(dir: &Path, seed: u64, extension: &str) -> (PathBuf, PathBuf, serde_json::Value) {
    let name = format!("clip-{seed:06}");
    let truth = serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap()).unwrap();
    (dir.join(format!("{name}.{extension}")), dir.join(format!("{name}.calib.json")), truth)
}

/// Runs the CLI on a clip, checks every line against the contract, and matches the events to
/// the truth: a throw is found by an event starting within a second of it, on its floor (±1) and
/// column. Returns (throws, found, events matching no throw).
fn check_clip(video: &Path, calib: &Path, truth: &serde_json::Value) -> (usize, usize, usize) {
    let out = linli(&["vision", "throw", "--video", video.to_str().unwrap(), "--calib", calib.to_str().unwrap()]);
    assert!(out.status.success(), "{}: {}", video.display(), String::from_utf8_lossy(&out.stderr));
    let events: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).expect("one JSON object a line")).collect();
    for event in &events {
        let keys: Vec<&str> = event.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["t_start", "t_end", "origin", "confidence", "track"], "{event}");
        assert!(event["t_start"].as_f64().unwrap() <= event["t_end"].as_f64().unwrap());
        assert!((0.0..=1.0).contains(&event["confidence"].as_f64().unwrap()));
        assert!(event["origin"]["floor"].as_u64().unwrap() >= 1 && event["origin"]["column"].as_u64().unwrap() >= 1);
        let track = event["track"].as_array().unwrap();
        assert!(track.len() >= 6 && track.iter().all(|p| p.as_array().unwrap().len() == 3), "{event}");
    }
    let throws = truth["throws"].as_array().unwrap();
    let number = |v: &serde_json::Value| v.as_f64().unwrap();
    let mut used = vec![false; events.len()];
    let mut found = 0;
    for throw in throws {
        let hit = events.iter().enumerate().position(|(i, e)| {
            !used[i]
                && (number(&e["t_start"]) - number(&throw["t"])).abs() <= 1.0
                && (number(&e["origin"]["floor"]) - number(&throw["floor"])).abs() <= 1.0
                && e["origin"]["column"] == throw["column"]
        });
        if let Some(i) = hit {
            used[i] = true;
            found += 1;
        } else {
            eprintln!("{}: throw {throw} not found in {events:?}", video.display());
        }
    }
    (throws.len(), found, used.iter().filter(|u| !**u).count())
}

/// Over several clips: at least 80% of the throws found where they came from, no false alarm.
fn check_clips(clips: impl Iterator<Item = (PathBuf, PathBuf, serde_json::Value)>) {
    let (mut throws, mut found, mut false_alarms) = (0, 0, 0);
    for (video, calib, truth) in clips {
        let (t, f, a) = check_clip(&video, &calib, &truth);
        (throws, found, false_alarms) = (throws + t, found + f, false_alarms + a);
    }
    assert!(throws >= 2, "the clips hold throws to find");
    assert!(found * 5 >= throws * 4, "found {found} of {throws} throws");
    assert_eq!(false_alarms, 0, "false alarms");
}

#[test]
fn throws_in_y4m_clips_are_traced_to_their_window() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), 9001, 4, "y4m");
    check_clips((9001..9005).map(|seed| clip(dir.path(), seed, "y4m")));
}

#[test]
fn throws_in_h264_mp4_clips_are_traced_to_their_window() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), 9101, 3, "mp4");
    for seed in 9101..9104 {
        let head = std::fs::read(clip(dir.path(), seed, "mp4").0).unwrap();
        assert_eq!(&head[4..8], b"ftyp", "an MP4 file");
    }
    check_clips((9101..9104).map(|seed| clip(dir.path(), seed, "mp4")));
}

#[test]
fn bad_videos_and_calibrations_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), 9201, 1, "y4m");
    let (video, calib, _) = clip(dir.path(), 9201, "y4m");
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
    let fails = |video: &str, calib: &str, expected: &str| {
        let out = linli(&["vision", "throw", "--video", video, "--calib", calib]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{video} {calib} should fail");
        assert!(stderr.contains(expected), "{video} {calib}: {stderr}");
    };
    let (video, calib) = (video.to_str().unwrap(), calib.to_str().unwrap());
    fails(&path("missing.y4m"), calib, "cannot open");
    let bytes = std::fs::read(video).unwrap();
    write("cut.y4m", &bytes[..bytes.len() / 3]);
    fails(&path("cut.y4m"), calib, "truncated");
    write("noise.mp4", &[7u8; 4096]);
    fails(&path("noise.mp4"), calib, "neither YUV4MPEG2 nor MP4");
    write("empty.y4m", b"");
    fails(&path("empty.y4m"), calib, "empty");
    let mut broken_mp4 = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    broken_mp4.extend_from_slice(&[0u8; 64]);
    write("broken.mp4", &broken_mp4);
    fails(&path("broken.mp4"), calib, "video");
    write("flat.json", br#"{"facade": [[10,10],[10,10],[10,10],[10,10]], "floors": 5, "columns": 3}"#);
    fails(video, &path("flat.json"), "facade");
    write("zero.json", br#"{"facade": [[100,50],[300,50],[300,400],[100,400]], "floors": 0, "columns": 3}"#);
    fails(video, &path("zero.json"), "floors");
    write("outside.json", br#"{"facade": [[100,50],[3000,50],[3000,400],[100,400]], "floors": 5, "columns": 3}"#);
    fails(video, &path("outside.json"), "outside");
    fails(video, &path("missing.json"), "cannot read calibration");
}

#[test]
fn scene_rules_run_over_a_detections_file() {
    let dir = tempfile::tempdir().unwrap();
    let (detections, rules) = (dir.path().join("detections.jsonl"), dir.path().join("rules.json"));
    // A car stops in the fire lane at 1 s and stays 20 s; a person walks past.
    let lines: Vec<String> = (0..250)
        .map(|n| {
            let t = n as f64 / 10.0;
            let car = if t >= 1.0 { r#"{"class": "car", "score": 0.9, "box": [10, 150, 60, 200]}"# } else { "" };
            let person = format!(r#"{{"class": "person", "score": 0.8, "box": [{}, 300, {}, 380]}}"#, 2 * n, 2 * n + 30);
            let items: Vec<&str> = [car, person.as_str()].into_iter().filter(|s| !s.is_empty()).collect();
            format!(r#"{{"t": {t}, "detections": [{}]}}"#, items.join(", "))
        })
        .collect();
    std::fs::write(&detections, lines.join("\n")).unwrap();
    std::fs::write(
        &rules,
        r#"{"rules": [{"name": "fire lane", "kind": "dwell", "classes": ["car"], "zone": [[0, 100], [80, 100], [80, 260], [0, 260]], "min_seconds": 15}]}"#,
    )
    .unwrap();
    let out = linli(&["vision", "scene", "--detections", detections.to_str().unwrap(), "--rules", rules.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let events: Vec<serde_json::Value> = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((events[0]["rule"].as_str(), events[0]["kind"].as_str(), events[0]["class"].as_str()), (Some("fire lane"), Some("dwell"), Some("car")));
    assert!((events[0]["t"].as_f64().unwrap() - 16.0).abs() < 0.15);
    std::fs::write(&detections, "{\"t\": 1}\n{\"t\": 0}\n").unwrap();
    let out = linli(&["vision", "scene", "--detections", detections.to_str().unwrap(), "--rules", rules.to_str().unwrap()]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("line 2"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn an_onnx_detector_prints_detections_a_scene_can_read() {
    use linli_vision::detect::{write_grid_model, GRID_CLASS};
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("grid.onnx");
    write_grid_model(&model, 320, 32, 32).unwrap();
    // Ten 320×320 frames, a bright 32 px square filling cell (row 2, column 3) from frame 5.
    let video = dir.path().join("squares.y4m");
    let mut writer = linli_vision::video::Y4mWriter::create(&video, 320, 320, 10).unwrap();
    for n in 0..10 {
        let mut luma = vec![15u8; 320 * 320];
        if n >= 5 {
            for y in 64..96 {
                luma[y * 320 + 96..y * 320 + 128].fill(240);
            }
        }
        writer.write(&luma).unwrap();
    }
    writer.finish().unwrap();
    let (video_arg, model_arg) = (video.to_str().unwrap(), model.to_str().unwrap());
    let out =
        linli(&["vision", "detect", "--video", video_arg, "--model", model_arg, "--input-size", "320", "--classes", GRID_CLASS, "--score-threshold", "0.5"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("frames/s"));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let frames = linli_vision::scene::parse_detections(&stdout).unwrap();
    assert_eq!(frames.len(), 10);
    assert!(frames[..5].iter().all(|f| f.detections.is_empty()), "{stdout}");
    for frame in &frames[5..] {
        assert_eq!(frame.detections.len(), 1, "{stdout}");
        assert_eq!((frame.detections[0].class.as_str(), frame.detections[0].bbox), (GRID_CLASS, [96.0, 64.0, 128.0, 96.0]));
    }
    // Bad flags and models: a clear error and a failure.
    let refused = |args: &[&str]| {
        let out = linli(args);
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let missing = dir.path().join("missing.onnx");
    let error = refused(&["vision", "detect", "--video", video_arg, "--model", missing.to_str().unwrap(), "--input-size", "320", "--classes", "a"]);
    assert!(error.contains("missing.onnx"), "{error}");
    let error = refused(&["vision", "detect", "--video", video_arg, "--model", model_arg, "--input-size", "300", "--classes", "a"]);
    assert!(error.contains("input_size"), "{error}");
    let error = refused(&["vision", "detect", "--video", video_arg, "--model", model_arg, "--input-size", "huge", "--classes", "a"]);
    assert!(error.contains("huge"), "{error}");
}

#[test]
fn throws_are_found_on_a_live_rtsp_stream_as_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), 9102, 1, "mp4");
    let (video, calib, _) = clip(dir.path(), 9102, "mp4");
    let from_file = linli(&["vision", "throw", "--video", video.to_str().unwrap(), "--calib", calib.to_str().unwrap()]);
    assert!(from_file.status.success());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("rtsp://127.0.0.1:{}/camera", listener.local_addr().unwrap().port());
    let options = linli_vision::video::ServeOptions { realtime: false, drop_after_frames: None, repeat: false };
    std::thread::spawn(move || linli_vision::video::serve_mp4(listener, &video, options));
    let live = linli(&["vision", "throw", "--video", &url, "--calib", calib.to_str().unwrap()]);
    assert!(live.status.success(), "{}", String::from_utf8_lossy(&live.stderr));
    let floors = |out: &Output| -> Vec<u64> {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["origin"]["floor"].as_u64().unwrap())
            .collect()
    };
    assert!(!floors(&from_file).is_empty(), "the clip's throws are found in the file");
    assert_eq!(floors(&live), floors(&from_file));
}
