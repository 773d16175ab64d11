//! Camera and edge-AI alarms over HTTP, on SQLite and (when `LINLI_TEST_DATABASE_URL` is set)
//! PostgreSQL: an alarm with a snapshot becomes an event with evidence and opens an order; a
//! repeat is answered with the first event; bad alarms are refused naming the field, and leave
//! nothing behind.
mod common;

use std::sync::Arc;

use linli_api::AppState;
use linli_store::SqlStore;
use serde_json::{json, Value};

struct App {
    base: String,
    client: reqwest::Client,
    media_dir: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn start(store: SqlStore, dir: tempfile::TempDir) -> App {
    let regions = [("d", "district", None), ("s", "street", Some("d")), ("c1", "community", Some("s")), ("c2", "community", Some("s"))];
    common::place(&store, &regions, &["dept.police"], &[("cam-1", "camera", "c1"), ("cam-2", "camera", "c2")]).await;
    common::provision(&store, &[("edge", "integrator", Some("c1"), None), ("community", "community_worker", Some("c1"), None), ("admin", "admin", None, None)])
        .await;
    let mut state = AppState::new(Arc::new(store));
    let media_dir = dir.path().join("media");
    state.media_dir = Arc::new(media_dir.clone());
    state.max_media_bytes = 4096;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
    tokio::spawn(linli_api::serve(listener, state, std::future::pending()));
    App { base, client: reqwest::Client::new(), media_dir, _dir: dir }
}

impl App {
    async fn login(&self, username: &str) -> String {
        let body = json!({"username": username, "password": common::PASSWORD});
        let reply: Value = self.client.post(format!("{}/auth/login", self.base)).json(&body).send().await.unwrap().json().await.unwrap();
        reply["token"].as_str().unwrap().to_string()
    }

    async fn send(&self, token: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let reply = self.client.post(format!("{}/alarms", self.base)).bearer_auth(token).header("content-type", content_type).body(body).send().await.unwrap();
        (reply.status().as_u16(), reply.json().await.unwrap_or_default())
    }

    async fn json(&self, token: &str, alarm: Value) -> (u16, Value) {
        self.send(token, "application/json", alarm.to_string().into_bytes()).await
    }

    async fn multipart(&self, token: &str, alarm: &Value, snapshot: &[u8]) -> (u16, Value) {
        let boundary = "linli-test-boundary";
        let mut body =
            format!("--{boundary}\r\ncontent-disposition: form-data; name=\"alarm\"\r\ncontent-type: application/json\r\n\r\n{alarm}\r\n").into_bytes();
        body.extend(
            format!("--{boundary}\r\ncontent-disposition: form-data; name=\"snapshot\"; filename=\"s.jpg\"\r\ncontent-type: image/jpeg\r\n\r\n").as_bytes(),
        );
        body.extend(snapshot);
        body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.send(token, &format!("multipart/form-data; boundary={boundary}"), body).await
    }

    fn media_files(&self) -> usize {
        std::fs::read_dir(&self.media_dir).map(|d| d.count()).unwrap_or(0)
    }
}

async fn alarms_become_events_with_evidence(app: App) {
    let edge = app.login("edge").await;
    let snapshot = b"\xff\xd8\xff\xe0 a jpeg snapshot".to_vec();
    let alarm = json!({"camera_id": "cam-1", "type": "高空抛物", "confidence": 0.93, "region": {"x": 0.4, "y": 0.1, "width": 0.05, "height": 0.3}, "alarm_id": "A-1001"});
    let (status, outcome) = app.multipart(&edge, &alarm, &snapshot).await;
    assert_eq!(status, 201, "{outcome}");
    let event = &outcome["event"];
    assert_eq!((event["source"].as_str(), event["category"].as_str(), event["severity"].as_str()), (Some("camera_ai"), Some("safety.throwing"), Some("major")));
    assert_eq!((event["device_code"].as_str(), event["region_code"].as_str()), (Some("cam-1"), Some("c1")));
    assert_eq!(event["attributes"]["confidence"], 0.93);
    assert_eq!(event["attributes"]["region"]["width"], 0.05);
    let media_id = event["evidence"][0].as_str().unwrap().to_string();
    let stored = app.client.get(format!("{}/media/{media_id}", app.base)).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(stored.as_ref(), snapshot.as_slice());
    // A major camera alarm opens a proactive order at the street.
    assert_eq!((outcome["order"]["proactive"].as_bool(), outcome["order"]["holder"]["code"].as_str()), (Some(true), Some("s")));

    // The camera retries: the first event answers.
    let (status, again) = app.multipart(&edge, &alarm, &snapshot).await;
    assert_eq!((status, &again["event"]["id"]), (201, &event["id"]));

    // JSON, a minor type: an event without an order.
    // The camera's own time, an hour ago (alarms older than 7 days are refused).
    let an_hour_ago = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 - 3_600_000;
    let time = linli_domain::time::format_rfc3339(an_hour_ago);
    let (status, parking) = app.json(&edge, json!({"camera_id": "cam-1", "type": "illegal_parking", "time": time})).await;
    assert_eq!(status, 201, "{parking}");
    assert_eq!((parking["event"]["category"].as_str(), parking["order"].is_null()), (Some("traffic.parking"), true));

    // Refused, naming the fields; nothing is kept.
    let files = app.media_files();
    let (status, body) = app.multipart(&edge, &json!({"camera_id": "cam-1", "type": "ufo", "confidence": 2}), b"x").await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!((status, fields), (400, vec!["type", "confidence"]));
    assert_eq!(app.media_files(), files);
    let (status, body) = app.multipart(&edge, &json!({"camera_id": "cam-1", "type": "crowd"}), &vec![0u8; 5000]).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (400, Some("snapshot")));
    assert_eq!(app.media_files(), files);
    assert_eq!(app.json(&edge, json!({"camera_id": "cam-9", "type": "crowd"})).await.0, 404);
    // A camera outside the integrator's jurisdiction, and a role that may not push alarms.
    assert_eq!(app.json(&edge, json!({"camera_id": "cam-2", "type": "crowd"})).await.0, 403);
    let community = app.login("community").await;
    assert_eq!(app.json(&community, json!({"camera_id": "cam-1", "type": "crowd"})).await.0, 403);
    assert_eq!(app.send(&edge, "application/json", b"{".to_vec()).await.1["errors"][0]["field"], "body");
    assert_eq!(app.json(&edge, json!({"camera_id": "cam-1", "type": "crowd", "colour": "red"})).await.0, 400);
    // Every refused alarm is kept with its reason; refusals of the caller (403) are not.
    let admin = app.login("admin").await;
    let letters: Value = app.client.get(format!("{}/sensing/dead-letters", app.base)).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    let letters = letters.as_array().unwrap();
    assert!(letters.iter().all(|l| l["source"] == "http:/api/v1/alarms"), "{letters:?}");
    assert!(letters[0]["reason"].as_str().unwrap().contains("colour"), "{}", letters[0]);
    assert_eq!(letters[0]["device_code"], "cam-1");
    assert!(letters.iter().any(|l| l["reason"].as_str().unwrap().contains("type") && l["payload"].as_str().unwrap().contains("ufo")), "{letters:?}");
    assert!(letters.iter().any(|l| l["device_code"] == "cam-9"), "{letters:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_alarms_become_events_with_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open_sqlite(&dir.path().join("linli.db")).await.unwrap();
    alarms_become_events_with_evidence(start(store, dir).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_alarms_become_events_with_evidence() {
    if let Some(store) = common::postgres_store("linli_alarms").await {
        alarms_become_events_with_evidence(start(store, tempfile::tempdir().unwrap()).await).await;
    }
}
