//! Thrown-object analysis frames per second at 960×540 on one core, and decoding measured apart:
//! Y4M reading and H.264 (OpenH264) decoding of the same clip; and the scene engine's detections
//! per second.
//!
//!     cargo bench -p linli-vision --bench throw
//!
//! Criterion's throughput line gives frames/s ("elem/s").

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use linli_vision::synth::{Clip, ClipOptions};
use linli_vision::video::{Mp4Writer, Y4mWriter};
use linli_vision::{open_video, Frame, ThrowDetector};

const FRAMES: usize = 150;

fn frames() -> (Clip, Vec<Frame>) {
    let mut clip = Clip::new(424_242, &ClipOptions { duration_s: FRAMES as f64 / 25.0, ..ClipOptions::default() });
    let mut frames = Vec::new();
    while let Some(luma) = clip.next_frame() {
        frames.push(Frame::new(clip.truth.width, clip.truth.height, frames.len() as f64 / 25.0, luma));
    }
    (clip, frames)
}

fn analysis(c: &mut Criterion) {
    let (clip, frames) = frames();
    let mut group = c.benchmark_group("throw");
    group.sample_size(10);
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.bench_function("analysis 960x540", |b| {
        b.iter(|| {
            let mut detector = ThrowDetector::new(clip.truth.calib.clone(), clip.truth.width, clip.truth.height).unwrap();
            let mut events = 0;
            for frame in &frames {
                events += detector.push(frame).len();
            }
            events + detector.finish().len()
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let (y4m, mp4) = (dir.path().join("clip.y4m"), dir.path().join("clip.mp4"));
    let mut writer = Y4mWriter::create(&y4m, clip.truth.width, clip.truth.height, 25).unwrap();
    let mut encoder = Mp4Writer::create(&mp4, clip.truth.width, clip.truth.height, 25, 4_000_000).unwrap();
    for frame in &frames {
        writer.write(&frame.luma).unwrap();
        encoder.write(&frame.luma).unwrap();
    }
    writer.finish().unwrap();
    encoder.finish().unwrap();
    for (name, path) in [("decode y4m 960x540", &y4m), ("decode h264 mp4 960x540", &mp4)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut video = open_video(path).unwrap();
                let mut count = 0;
                while video.next_frame().unwrap().is_some() {
                    count += 1;
                }
                assert_eq!(count, FRAMES);
                count
            })
        });
    }
    group.finish();
}

/// Tracker plus scene rules: detections a second. A street scene of 40 objects (cars parking and
/// driving, people walking), four rules of every kind.
fn scene(c: &mut Criterion) {
    use linli_vision::scene::{Detection, SceneConfig, SceneRules, TrackerConfig};
    let config: SceneConfig = serde_json::from_str(
        r#"{"rules": [
            {"name": "no parking", "kind": "dwell", "classes": ["car"], "zone": [[0, 300], [960, 300], [960, 540], [0, 540]], "min_seconds": 30},
            {"name": "gate line", "kind": "line", "classes": ["person"], "from": [0, 270], "to": [960, 270], "direction": "both"},
            {"name": "yard", "kind": "intrusion", "classes": ["person"], "zone": [[600, 0], [960, 0], [960, 200], [600, 200]]},
            {"name": "square", "kind": "crowd", "classes": ["person"], "zone": [[0, 0], [480, 0], [480, 540], [0, 540]], "more_than": 10, "min_seconds": 20}
        ]}"#,
    )
    .unwrap();
    let frames: Vec<Vec<Detection>> = (0..500)
        .map(|n| {
            (0..40)
                .map(|i| {
                    let (class, speed) = if i % 2 == 0 { ("car", if i % 4 == 0 { 0.0 } else { 4.0 }) } else { ("person", 1.5) };
                    let x = (30.0 * i as f64 + speed * n as f64) % 940.0;
                    let y = 60.0 + 11.0 * i as f64 + if class == "person" { 0.5 * n as f64 % 100.0 } else { 0.0 };
                    Detection { class: class.into(), score: 0.5 + (i % 5) as f64 / 10.0, bbox: [x, y, x + 20.0, y + 40.0] }
                })
                .collect()
        })
        .collect();
    let detections: u64 = frames.iter().map(|f| f.len() as u64).sum();
    let mut group = c.benchmark_group("scene");
    group.throughput(Throughput::Elements(detections));
    group.bench_function("tracker and rules, 40 objects a frame", |b| {
        b.iter(|| {
            let mut rules = SceneRules::new(config.clone(), TrackerConfig::default()).unwrap();
            frames.iter().enumerate().map(|(n, f)| rules.process(n as f64 / 25.0, f).len()).sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, analysis, scene);
criterion_main!(benches);
