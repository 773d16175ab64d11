//! Live RTSP input against the stand-in camera: every frame of an H.264 MP4 arrives decoded with
//! its time, and a camera that drops ends the stream rather than hanging.
use std::net::TcpListener;

use linli_vision::video::{serve_mp4, Mp4Writer, RtspReader, ServeOptions};
use linli_vision::VideoSource;

/// An MP4 of `frames` frames at 25 fps whose frames differ (a bar moving down), 320×240.
fn video(dir: &std::path::Path, frames: usize) -> std::path::PathBuf {
    let path = dir.join("camera.mp4");
    let mut writer = Mp4Writer::create(&path, 320, 240, 25, 1_000_000).unwrap();
    for n in 0..frames {
        let mut luma = vec![60u8; 320 * 240];
        let row = (n * 4) % 240;
        luma[row * 320..(row + 8).min(240) * 320].fill(220);
        writer.write(&luma).unwrap();
    }
    writer.finish().unwrap();
    path
}

fn serve(path: std::path::PathBuf, options: ServeOptions) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("rtsp://127.0.0.1:{}/camera", listener.local_addr().unwrap().port());
    std::thread::spawn(move || serve_mp4(listener, &path, options));
    url
}

#[test]
fn every_frame_of_a_stream_arrives_decoded_with_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let url = serve(video(dir.path(), 50), ServeOptions { realtime: false, drop_after_frames: None, repeat: false });
    let mut reader = RtspReader::open(&url).unwrap();
    let mut times = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        assert_eq!((frame.width, frame.height), (320, 240));
        // The bar is where frame n drew it.
        let row = (times.len() * 4) % 240 + 4;
        assert!(frame.luma[row * 320 + 160] > 150, "frame {} shows no bar at row {row}", times.len());
        times.push(frame.t);
    }
    assert_eq!(times.len(), 50);
    for (n, t) in times.iter().enumerate() {
        assert!((t - n as f64 / 25.0).abs() < 1e-3, "frame {n} at {t}");
    }
    assert_eq!(reader.format().fps, 25.0);
}

#[test]
fn a_camera_that_drops_ends_the_stream_and_can_be_reached_again() {
    let dir = tempfile::tempdir().unwrap();
    let url = serve(video(dir.path(), 50), ServeOptions { realtime: false, drop_after_frames: Some(10), repeat: true });
    for _ in 0..2 {
        let mut reader = RtspReader::open(&url).unwrap();
        let mut frames = 0;
        let end = loop {
            match reader.next_frame() {
                Ok(Some(_)) => frames += 1,
                other => break other,
            }
        };
        assert!(end.is_err() || matches!(end, Ok(None)), "{end:?}");
        assert!((9..=10).contains(&frames), "{frames} frames before the drop");
    }
}

#[test]
fn unreachable_and_malformed_streams_are_clear_errors() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let error = RtspReader::open(&format!("rtsp://127.0.0.1:{port}/none")).err().unwrap().to_string();
    assert!(error.contains("DESCRIBE"), "{error}");
    let error = RtspReader::open("rtsp://").err().unwrap().to_string();
    assert!(!error.is_empty());
}
