//! Thrown-object analysis frames per second at 960×540 on one core, and decoding measured apart:
//! Y4M reading and H.264 (OpenH264) decoding of the same clip.
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

criterion_group!(benches, analysis);
criterion_main!(benches);
