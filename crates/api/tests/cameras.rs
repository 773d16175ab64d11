//! Cameras the server watches itself, on SQLite and (when `LINLI_TEST_DATABASE_URL` is set)
//! PostgreSQL: a throw in an MP4 and a vehicle standing in a fire lane become events with a
//! snapshot and a clip; a camera whose video is missing is marked offline, raises an offline event
//! and comes back once its video appears, while the others keep running; bad configurations are
//! refused naming the field; a live RTSP camera that drops is retried and comes back.
mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use linli_api::AppState;
use linli_store::SqlStore;
use linli_vision::synth::{Clip, ClipOptions};
use linli_vision::video::{serve_mp4, Mp4Writer, ServeOptions, Y4mWriter};
use serde_json::{json, Value};

struct App {
    base: String,
    client: reqwest::Client,
    dir: tempfile::TempDir,
}

async fn start(store: SqlStore, dir: tempfile::TempDir) -> App {
    let regions = [("d", "district", None), ("s", "street", Some("d")), ("c1", "community", Some("s"))];
    let devices =
        [("cam-1", "camera", "c1"), ("cam-2", "camera", "c1"), ("cam-3", "camera", "c1"), ("cam-4", "camera", "c1"), ("meter-1", "smart_meter", "c1")];
    common::place(&store, &regions, &["dept.police", "dept.fire"], &devices).await;
    common::provision(
        &store,
        &[("admin", "admin", None, None), ("community", "community_worker", Some("c1"), None), ("resident", "resident", Some("c1"), None)],
    )
    .await;
    let mut state = AppState::new(Arc::new(store));
    state.media_dir = Arc::new(dir.path().join("media"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
    tokio::spawn(linli_api::serve(listener, state, std::future::pending()));
    App { base, client: reqwest::Client::new(), dir }
}

impl App {
    async fn login(&self, username: &str) -> String {
        let body = json!({"username": username, "password": common::PASSWORD});
        let reply: Value = self.client.post(format!("{}/auth/login", self.base)).json(&body).send().await.unwrap().json().await.unwrap();
        reply["token"].as_str().unwrap().to_string()
    }

    async fn get(&self, token: &str, path: &str) -> Value {
        self.client.get(format!("{}{path}", self.base)).bearer_auth(token).send().await.unwrap().json().await.unwrap()
    }

    async fn put_video(&self, token: &str, camera: &str, video: Value) -> (u16, Value) {
        let reply = self.client.put(format!("{}/cameras/{camera}/video", self.base)).bearer_auth(token).json(&video).send().await.unwrap();
        (reply.status().as_u16(), reply.json().await.unwrap_or_default())
    }

    /// Waits (up to a minute) until `done` holds of what `path` answers.
    async fn until(&self, token: &str, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..600 {
            let value = self.get(token, path).await;
            if done(&value) {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{path} never got there: {}", self.get(token, path).await);
    }
}

/// An MP4 of a synthetic clip holding throws the detector finds on its own; the calibration and
/// the floors it finds.
fn clip_with_throws(dir: &Path) -> (std::path::PathBuf, Value, Vec<u32>) {
    let options = ClipOptions { duration_s: 8.0, ..Default::default() };
    for seed in 300.. {
        let mut clip = Clip::new(seed, &options);
        if clip.truth.throws.is_empty() {
            continue;
        }
        let path = dir.join(format!("throw-{seed}.mp4"));
        let mut writer = Mp4Writer::create(&path, clip.truth.width, clip.truth.height, clip.truth.fps, 4_000_000).unwrap();
        while let Some(luma) = clip.next_frame() {
            writer.write(&luma).unwrap();
        }
        writer.finish().unwrap();
        let mut floors = Vec::new();
        let mut video = linli_vision::open_video(&path).unwrap();
        linli_vision::detect_throws(video.as_mut(), &clip.truth.calib, |e| floors.push(e.origin.floor)).unwrap();
        if !floors.is_empty() {
            return (path, serde_json::to_value(&clip.truth.calib).unwrap(), floors);
        }
    }
    unreachable!()
}

/// Seconds of flat grey frames at 10 fps, 320×240.
fn plain_video(path: &Path, seconds: u32) {
    let mut writer = Y4mWriter::create(path, 320, 240, 10).unwrap();
    for n in 0..seconds * 10 {
        writer.write(&vec![100 + (n % 7) as u8; 320 * 240]).unwrap();
    }
    writer.finish().unwrap();
}

async fn cameras_raise_events_with_evidence(app: App) {
    let admin = app.login("admin").await;
    let dir = app.dir.path().to_path_buf();
    let (throw_video, calib, floors) = clip_with_throws(&dir);

    // A car stops in the fire lane at 1 s and stays; a person walks through it.
    let lane = json!([[100, 100], [300, 100], [300, 230], [100, 230]]);
    let detections: String = (0..60)
        .map(|i| {
            let t = f64::from(i) / 10.0;
            let walker = 10.0 + 50.0 * t;
            let mut boxes = vec![json!({"class": "person", "score": 0.8, "box": [walker, 150.0, walker + 15.0, 200.0]})];
            if t >= 1.0 {
                boxes.push(json!({"class": "car", "score": 0.9, "box": [150.0, 150.0, 230.0, 210.0]}));
            }
            json!({"t": t, "detections": boxes}).to_string() + "\n"
        })
        .collect();
    std::fs::write(dir.join("lane.jsonl"), detections).unwrap();
    plain_video(&dir.join("lane.y4m"), 6);
    let scene =
        json!({"rules": [{"name": "fire lane", "kind": "dwell", "classes": ["car"], "alarm_type": "fire_lane_blocked", "zone": lane, "min_seconds": 2}]});

    let (status, view) = app.put_video(&admin, "cam-1", json!({"source": throw_video, "realtime": false, "throw": calib})).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!((view["video"]["repeat"].as_bool(), view["video"]["clip_before_s"].as_f64()), (Some(false), Some(3.0)), "defaults spelled out");
    let lane_video = json!({"source": dir.join("lane.y4m"), "realtime": false, "scene": scene, "detections": dir.join("lane.jsonl")});
    assert_eq!(app.put_video(&admin, "cam-2", lane_video.clone()).await.0, 200);
    let missing = dir.join("later.y4m");
    let small_facade = json!({"facade": [[100, 20], [220, 20], [220, 220], [100, 220]], "floors": 6, "columns": 3});
    assert_eq!(app.put_video(&admin, "cam-3", json!({"source": missing, "realtime": false, "throw": small_facade})).await.0, 200);

    // Refused, naming the field; a role that may not configure cameras.
    let refused = |(status, body): (u16, Value)| (status, body["errors"][0]["field"].as_str().unwrap_or_default().to_string());
    assert_eq!(refused(app.put_video(&admin, "meter-1", lane_video.clone()).await), (400, "code".into()));
    assert_eq!(refused(app.put_video(&admin, "cam-1", json!({"source": "x.mp4"})).await), (400, "video".into()));
    let mut bad_alarm = lane_video.clone();
    bad_alarm["scene"]["rules"][0]["alarm_type"] = json!("ufo");
    assert_eq!(refused(app.put_video(&admin, "cam-2", bad_alarm).await), (400, "scene.rules[0].alarm_type".into()));
    let bad_calib = json!({"source": "x.mp4", "throw": {"facade": [[0, 0], [0, 0], [0, 0], [0, 0]], "floors": 3, "columns": 2}});
    assert_eq!(refused(app.put_video(&admin, "cam-1", bad_calib).await), (400, "throw".into()));
    assert_eq!(app.put_video(&admin, "cam-9", lane_video.clone()).await.0, 404);
    let community = app.login("community").await;
    assert_eq!(app.put_video(&community, "cam-1", lane_video.clone()).await.0, 403);
    // Nor through the device's attributes, which name what the server opens.
    let patch = json!({"attributes": {"video": lane_video}});
    let reply = app.client.patch(format!("{}/devices/cam-2", app.base)).bearer_auth(&community).json(&patch).send().await.unwrap();
    assert_eq!(reply.status().as_u16(), 403);
    assert_eq!(app.client.get(format!("{}/cameras", app.base)).bearer_auth(&app.login("resident").await).send().await.unwrap().status().as_u16(), 403);

    // The throws and the blocked lane, each with a snapshot and a clip.
    let events = app
        .until(&admin, "/events?source=analytics&limit=100", |page| {
            let items = page["items"].as_array().unwrap();
            let count = |category: &str| items.iter().filter(|e| e["category"] == category).count();
            count("safety.throwing") >= floors.len() && count("safety.fire") >= 1
        })
        .await;
    let items = events["items"].as_array().unwrap();
    let throws: Vec<&Value> = items.iter().filter(|e| e["category"] == "safety.throwing").collect();
    assert_eq!(throws.len(), floors.len(), "{throws:?}");
    for (event, floor) in throws.iter().rev().zip(&floors) {
        assert_eq!((event["device_code"].as_str(), event["attributes"]["floor"].as_u64()), (Some("cam-1"), Some(u64::from(*floor))));
        assert_eq!(event["attributes"]["alarm_type"], "throwing");
    }
    let lanes: Vec<&Value> = items.iter().filter(|e| e["category"] == "safety.fire").collect();
    assert_eq!(lanes.len(), 1, "one event for the one parked car: {lanes:?}");
    assert_eq!((lanes[0]["attributes"]["rule"].as_str(), lanes[0]["attributes"]["class"].as_str()), (Some("fire lane"), Some("car")));
    for event in throws.iter().chain(&lanes) {
        let evidence = event["evidence"].as_array().unwrap();
        assert_eq!(evidence.len(), 2, "a snapshot and a clip: {event}");
        let snapshot = app.client.get(format!("{}/media/{}", app.base, evidence[0].as_str().unwrap())).send().await.unwrap();
        assert_eq!(snapshot.headers()["content-type"], "image/jpeg");
        assert_eq!(&snapshot.bytes().await.unwrap()[..2], &[0xFF, 0xD8]);
        let clip = app.client.get(format!("{}/media/{}", app.base, evidence[1].as_str().unwrap())).send().await.unwrap();
        assert_eq!(clip.headers()["content-type"], "video/mp4");
        assert_eq!(&clip.bytes().await.unwrap()[4..8], b"ftyp");
    }

    // The files played to their end; the missing one is offline, retried, and said so.
    let cameras = app.until(&admin, "/cameras", |list| list.as_array().unwrap().iter().filter(|c| c["state"] == "ended").count() == 2).await;
    let cam3 = cameras.as_array().unwrap().iter().find(|c| c["code"] == "cam-3").unwrap().clone();
    assert_eq!(cam3["state"], "offline", "{cam3}");
    assert!(cam3["error"].as_str().unwrap().contains("later.y4m"), "{cam3}");
    assert!(cam3["retry_at"].is_string() && cam3["failures"].as_u64().unwrap() >= 1, "{cam3}");
    assert_eq!(app.get(&admin, "/devices/cam-3").await["status"], "offline");
    app.until(&admin, "/events?category=other", |page| page["items"].as_array().unwrap().iter().any(|e| e["device_code"] == "cam-3")).await;
    // Its video appears: the next try picks it up.
    plain_video(&missing, 2);
    app.until(&admin, "/cameras/cam-3", |view| view["status"]["state"] == "ended").await;
    assert_eq!(app.get(&admin, "/devices/cam-3").await["status"], "online");

    // A live camera whose stream drops every 30 frames: offline, and back at the next try.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("rtsp://viewer:s3cret@127.0.0.1:{}/live", listener.local_addr().unwrap().port());
    let options = ServeOptions { realtime: false, drop_after_frames: Some(30), repeat: true };
    let streamed = throw_video.clone();
    std::thread::spawn(move || serve_mp4(listener, &streamed, options));
    assert_eq!(app.put_video(&admin, "cam-4", json!({"source": url, "throw": calib})).await.0, 200);
    let live =
        app.until(&admin, "/cameras/cam-4", |view| view["status"]["failures"].as_u64() >= Some(2) && view["status"]["frames"].as_u64() >= Some(40)).await;
    assert!(live["status"]["error"].as_str().unwrap().contains("ended"), "{live}");
    app.until(&admin, "/cameras/cam-4", |view| view["status"]["state"] == "online").await;
    // Its password is never shown back.
    for path in ["/cameras", "/cameras/cam-4", "/devices/cam-4", "/devices?kind=camera"] {
        let shown = app.get(&admin, path).await.to_string();
        assert!(shown.contains("127.0.0.1") && !shown.contains("s3cret"), "{path}: {shown}");
    }

    // Unwatched: gone from the list, the device kept.
    let reply = app.client.delete(format!("{}/cameras/cam-2/video", app.base)).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(reply.status().as_u16(), 204);
    app.until(&admin, "/cameras", |list| list.as_array().unwrap().iter().all(|c| c["code"] != "cam-2")).await;
    assert!(app.get(&admin, "/cameras/cam-2").await["video"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_cameras_raise_events_with_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open_sqlite(&dir.path().join("linli.db")).await.unwrap();
    cameras_raise_events_with_evidence(start(store, dir).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cameras_raise_events_with_evidence() {
    if let Some(store) = common::postgres_store("linli_cameras").await {
        cameras_raise_events_with_evidence(start(store, tempfile::tempdir().unwrap()).await).await;
    }
}
