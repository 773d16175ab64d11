//! Cameras the server watches itself: each camera device whose `attributes.video` holds a
//! configuration (see `linli_vision::camera::CameraConfig`, set through `PUT /cameras/{code}/video`)
//! gets a thread that reads its video, runs the thrown-object detector and its scene rules, and
//! hands alerts to a task that keeps their evidence (snapshot, clip) in the media store and raises
//! them in the event centre.
//!
//! A camera whose video cannot be read, or whose stream drops, is marked offline and tried again
//! after 1 s, 2 s, 4 s … up to a minute (from 1 s again after a run of 30 s); when the first retry
//! fails too, a `设备离线` event tells its maintainer. The other cameras keep running.
//! A configuration that cannot run (e.g. a facade outside the frame) waits for a new one.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use linli_domain::sensing::alarms::AlarmType;
use linli_domain::{Device, DeviceKind, DeviceStatus};
use linli_store::{DeviceFilter, DevicePatch, Jurisdiction, PageRequest};
use linli_vision::camera::{Alert, CameraConfig, CameraPipeline, ConfigError, Finding};
use linli_vision::VideoSource;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, Notify};

use crate::{AppState, EventBody};

/// The device attribute holding a camera's video configuration.
pub const VIDEO_ATTRIBUTE: &str = "video";
/// How often the configured cameras are read again (a change through the API wakes it at once).
const RESCAN_EVERY: Duration = Duration::from_secs(10);
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(60);
/// A run this long resets the wait before the next try to the first one.
const HEALTHY_RUN: Duration = Duration::from_secs(30);
/// How often a running camera's frame count is brought up to date (the device's last-seen time
/// only every `LAST_SEEN_STEP_MS`).
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// What the watched cameras are doing, shared by the supervisor and the API.
#[derive(Default)]
pub struct Cameras {
    /// By code: which start of the camera the status belongs to, and the status. A camera
    /// restarted with a new configuration must not hear from its previous thread.
    statuses: Mutex<BTreeMap<String, (u64, CameraStatus)>>,
    starts: AtomicU64,
    /// Cameras to start again even if their configuration is unchanged (a PUT of the same one).
    restarts: Mutex<HashSet<String>>,
    /// Rung when a configuration changes through the API.
    changed: Notify,
}

/// One watched camera's state.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CameraStatus {
    pub code: String,
    /// `starting`, `online`, `offline` (retrying), `ended` (a file played to its end) or
    /// `invalid` (the configuration cannot run; waiting for a new one).
    pub state: String,
    pub source: String,
    /// Why the camera is offline or invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Failures since the server began watching it.
    pub failures: u32,
    /// When the next try is, while offline.
    #[serde(skip_serializing_if = "Option::is_none", with = "linli_domain::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub retry_at: Option<i64>,
    /// Frames analysed since the server started watching it.
    pub frames: u64,
    /// Alerts raised in that time.
    pub alerts: u64,
    #[serde(with = "linli_domain::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub since: i64,
}

impl Cameras {
    /// Every watched camera's status, by code.
    pub fn statuses(&self) -> Vec<CameraStatus> {
        self.statuses.lock().expect("camera statuses").values().map(|(_, status)| status.clone()).collect()
    }

    pub fn status(&self, code: &str) -> Option<CameraStatus> {
        self.statuses.lock().expect("camera statuses").get(code).map(|(_, status)| status.clone())
    }

    /// Tells the supervisor a configuration changed.
    pub fn reload(&self) {
        self.changed.notify_one();
    }

    /// Tells the supervisor to start a camera again (an invalid or ended one, say).
    pub fn restart(&self, code: &str) {
        self.restarts.lock().expect("camera restarts").insert(code.to_string());
        self.changed.notify_one();
    }

    /// Whether `start` is the camera's current run: a superseded one must not touch the device.
    fn is_current(&self, code: &str, start: u64) -> bool {
        self.statuses.lock().expect("camera statuses").get(code).is_some_and(|(s, _)| *s == start)
    }

    fn update(&self, code: &str, start: u64, change: impl FnOnce(&mut CameraStatus)) {
        if let Some((_, status)) = self.statuses.lock().expect("camera statuses").get_mut(code).filter(|(s, _)| *s == start) {
            change(status);
        }
    }
}

/// A source as it may be shown: a stream's user and password hidden.
pub fn shown_source(source: &str) -> String {
    match url::Url::parse(source.trim()) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let _ = url.set_username("***");
            let _ = url.set_password(None);
            url.to_string()
        }
        _ => source.to_string(),
    }
}

/// Hides the credentials in a device's video configuration, for every response that shows it.
pub fn hide_credentials(device: &mut Device) {
    if let Some(source) = device.attributes.get_mut(VIDEO_ATTRIBUTE).and_then(|video| video.get_mut("source")) {
        if let Some(shown) = source.as_str().map(shown_source) {
            *source = shown.into();
        }
    }
}

/// Checks a configuration as the API receives it: the vision crate's own checks, then the alarm
/// type of each scene rule. Errors name the field.
pub fn check_config(value: serde_json::Value) -> Result<CameraConfig, ConfigError> {
    let config = CameraConfig::from_json(value)?;
    for (i, rule) in config.scene.iter().flat_map(|s| s.rules.iter()).enumerate() {
        if let Some(alarm) = &rule.alarm_type {
            AlarmType::parse("alarm_type", alarm).map_err(|e| ConfigError { field: format!("scene.rules[{i}].alarm_type"), message: e.message })?;
        }
    }
    Ok(config)
}

/// A camera being watched: what it was started with (configuration and the device's place), and
/// the flag that stops its thread, raised when the watch is dropped (the supervisor ending too).
struct Watch {
    key: serde_json::Value,
    stop: Arc<AtomicBool>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts and stops camera threads as configurations come and go; runs until the runtime stops.
pub async fn supervise(state: AppState) {
    let mut watching: HashMap<String, Watch> = HashMap::new();
    loop {
        match configured(&state).await {
            Ok(wanted) => {
                let restarts = std::mem::take(&mut *state.cameras.restarts.lock().expect("camera restarts"));
                watching.retain(|code, watch| {
                    let keep = !restarts.contains(code) && wanted.get(code).is_some_and(|(device, config)| watch_key(device, config) == watch.key);
                    if !keep {
                        state.cameras.statuses.lock().expect("camera statuses").remove(code);
                    }
                    keep
                });
                for (code, (device, value)) in wanted {
                    if watching.contains_key(&code) {
                        continue;
                    }
                    let stop = Arc::new(AtomicBool::new(false));
                    let key = watch_key(&device, &value);
                    start(&state, device, value, stop.clone());
                    watching.insert(code, Watch { key, stop });
                }
            }
            Err(error) => tracing::error!(%error, "reading the configured cameras failed; keeping the ones running"),
        }
        tokio::select! {
            _ = tokio::time::sleep(RESCAN_EVERY) => {}
            _ = state.cameras.changed.notified() => {}
        }
    }
}

/// What a running camera depends on: its configuration, and where its events go.
fn watch_key(device: &Device, config: &serde_json::Value) -> serde_json::Value {
    serde_json::json!([config, device.name, device.region_code, device.position])
}

/// Camera devices with a video configuration, in service.
async fn configured(state: &AppState) -> Result<HashMap<String, (Device, serde_json::Value)>, linli_store::StoreError> {
    let filter = DeviceFilter { kind: Some(DeviceKind::Camera), ..Default::default() };
    let mut page_request = PageRequest::first(PageRequest::MAX_LIMIT);
    let mut wanted = HashMap::new();
    loop {
        let page = state.store.list_devices(&Jurisdiction::everywhere(), &filter, &page_request).await?;
        for device in page.items {
            let in_service = !matches!(device.status, DeviceStatus::Decommissioned | DeviceStatus::Maintenance);
            if let Some(video) = device.attributes.get(VIDEO_ATTRIBUTE).filter(|_| in_service).cloned() {
                wanted.insert(device.code.clone(), (device, video));
            }
        }
        match page.next_cursor {
            Some(cursor) => page_request.after = Some(cursor),
            None => return Ok(wanted),
        }
    }
}

/// What a camera's thread tells its task.
enum Report {
    Online,
    Offline { error: String, retry_in: Duration },
    Invalid(String),
    Progress(u64),
    Alert { alert: Box<Alert>, key: String, at: i64 },
    Ended,
}

fn start(state: &AppState, device: Device, value: serde_json::Value, stop: Arc<AtomicBool>) {
    let now = state.now();
    let source = shown_source(value.get("source").and_then(|s| s.as_str()).unwrap_or(""));
    let status = CameraStatus {
        code: device.code.clone(),
        state: "starting".into(),
        source,
        error: None,
        failures: 0,
        retry_at: None,
        frames: 0,
        alerts: 0,
        since: now,
    };
    let start = state.cameras.starts.fetch_add(1, Ordering::Relaxed);
    state.cameras.statuses.lock().expect("camera statuses").insert(device.code.clone(), (start, status));
    let (reports, received) = mpsc::channel(64);
    match check_config(value) {
        Ok(config) => {
            let code = device.code.clone();
            let clock = state.clock.clone();
            let spawned = std::thread::Builder::new().name(format!("camera {code}")).spawn(move || watch(&config, &stop, &reports, &*clock));
            if let Err(error) = spawned {
                tracing::error!(%error, camera = %device.code, "cannot start a camera thread");
            }
        }
        Err(error) => {
            let _ = reports.try_send(Report::Invalid(error.to_string()));
        }
    }
    tokio::spawn(handle_reports(state.clone(), device, start, received));
}

/// How one attempt at watching ended.
enum RunEnd {
    Stopped,
    Ended,
    Failed(String),
    Invalid(String),
}

/// The camera's thread: runs the video through the pipeline, again after failures, until stopped.
fn watch(config: &CameraConfig, stop: &AtomicBool, reports: &mpsc::Sender<Report>, clock: &(dyn Fn() -> i64 + Send + Sync)) {
    let mut wait = FIRST_RETRY;
    let (mut pass, mut analysed) = (0u64, 0u64);
    while !stop.load(Ordering::Relaxed) {
        let began = Instant::now();
        // A panic in the analysis is one failed run, not a camera silently gone.
        let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(config, stop, reports, clock, &mut pass, &mut analysed)));
        let end = attempt.unwrap_or_else(|_| RunEnd::Failed("the analysis failed (a fault in Linli; see the log)".into()));
        let _ = reports.blocking_send(Report::Progress(analysed));
        match end {
            RunEnd::Stopped => return,
            RunEnd::Ended => {
                let _ = reports.blocking_send(Report::Ended);
                return;
            }
            RunEnd::Invalid(error) => {
                let _ = reports.blocking_send(Report::Invalid(error));
                return;
            }
            RunEnd::Failed(_) if stop.load(Ordering::Relaxed) => return,
            RunEnd::Failed(error) => {
                if began.elapsed() >= HEALTHY_RUN {
                    wait = FIRST_RETRY;
                }
                tracing::warn!(%error, retry_in_s = wait.as_secs(), "camera offline");
                if reports.blocking_send(Report::Offline { error, retry_in: wait }).is_err() {
                    return;
                }
                let until = Instant::now() + wait;
                while Instant::now() < until {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100).min(until - Instant::now()));
                }
                wait = (wait * 2).min(LAST_RETRY);
            }
        }
    }
}

/// One attempt: open the source, analyse frames until it ends, fails or the camera is stopped.
/// `pass` counts passes over a file, `analysed` the frames analysed since watching began.
fn run(
    config: &CameraConfig,
    stop: &AtomicBool,
    reports: &mpsc::Sender<Report>,
    clock: &(dyn Fn() -> i64 + Send + Sync),
    pass: &mut u64,
    analysed: &mut u64,
) -> RunEnd {
    let detections = match config.load_detections() {
        Ok(detections) => detections,
        Err(error) => return RunEnd::Invalid(error.to_string()),
    };
    let detector = match config.load_detector() {
        Ok(detector) => detector,
        Err(error) => return RunEnd::Invalid(error.to_string()),
    };
    let mut pipeline = match CameraPipeline::new(config.clone(), detections, detector) {
        Ok(pipeline) => pipeline,
        Err(error) => return RunEnd::Invalid(error.to_string()),
    };
    let mut video = match open(config) {
        Ok(video) => video,
        Err(error) => return RunEnd::Failed(error),
    };
    let live = config.is_live();
    let mut opened_at = (Instant::now(), clock());
    let mut frames = 0u64;
    let mut last_progress = Instant::now();
    // Alerts are named by the configuration, the pass over a file and their time in it, so a
    // restarted server replaying the same file with the same rules raises nothing twice; live
    // ones by their wall-clock time.
    let digest: String = serde_json::to_vec(config).map(|bytes| format!("{:x}", Sha256::digest(bytes))[..12].to_string()).unwrap_or_default();
    let send = |alerts: Vec<Alert>, pass: u64, opened_ms: i64| {
        for alert in alerts {
            let offset_ms = (alert.finding.t() * 1000.0).round() as i64;
            let at = opened_ms + offset_ms;
            // Two objects a rule fires on at once are two events.
            let tracks: String = match &alert.finding {
                Finding::Scene(event) => event.tracks.iter().map(|t| format!("-{t}")).collect(),
                Finding::Throw(_) => String::new(),
            };
            let key = if live { format!("{at}{tracks}") } else { format!("{digest}/{pass}-{offset_ms}{tracks}") };
            if reports.blocking_send(Report::Alert { alert: Box::new(alert), key, at }).is_err() {
                return false;
            }
        }
        true
    };
    loop {
        if stop.load(Ordering::Relaxed) || reports.is_closed() {
            return RunEnd::Stopped;
        }
        let frame = match video.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) if config.repeat && !live && frames > 0 => {
                if !send(pipeline.restart(), *pass, opened_at.1) {
                    return RunEnd::Stopped;
                }
                *pass += 1;
                video = match open(config) {
                    Ok(video) => video,
                    Err(error) => return RunEnd::Failed(error),
                };
                opened_at = (Instant::now(), clock());
                continue;
            }
            Ok(None) if live => {
                send(pipeline.finish(), *pass, opened_at.1);
                return RunEnd::Failed("the stream ended".into());
            }
            Ok(None) if frames == 0 => return RunEnd::Failed("the video holds no frame".into()),
            Ok(None) => {
                send(pipeline.finish(), *pass, opened_at.1);
                return RunEnd::Ended;
            }
            Err(error) => {
                send(pipeline.finish(), *pass, opened_at.1);
                return RunEnd::Failed(error.to_string());
            }
        };
        if config.realtime && !live {
            // A file played as a camera would show it.
            let due = opened_at.0 + Duration::from_secs_f64(frame.t.max(0.0));
            while let Some(left) = due.checked_duration_since(Instant::now()) {
                if stop.load(Ordering::Relaxed) {
                    return RunEnd::Stopped;
                }
                std::thread::sleep(left.min(Duration::from_millis(200)));
            }
        }
        let alerts = match pipeline.push(&frame, video.format().fps) {
            Ok(alerts) => alerts,
            // A stream may change resolution when its camera is reconfigured: start afresh.
            Err(error) if live && error.field == "source" => return RunEnd::Failed(error.to_string()),
            Err(error) => return RunEnd::Invalid(error.to_string()),
        };
        // Online once a frame has been analysed: a stream that answers and then sends nothing
        // is still out.
        if frames == 0 && reports.blocking_send(Report::Online).is_err() {
            return RunEnd::Stopped;
        }
        frames += 1;
        *analysed += 1;
        if !send(alerts, *pass, opened_at.1) {
            return RunEnd::Stopped;
        }
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            let _ = reports.try_send(Report::Progress(*analysed));
        }
    }
}

fn open(config: &CameraConfig) -> Result<Box<dyn VideoSource>, String> {
    linli_vision::open_source(&config.source).map_err(|e| e.to_string())
}

/// The camera's task: keeps its status, marks the device online or offline, and raises alerts.
async fn handle_reports(state: AppState, device: Device, start: u64, mut reports: mpsc::Receiver<Report>) {
    let code = device.code.clone();
    let cameras = state.cameras.clone();
    let mut outage_failures = 0u32;
    let mut seen_written = i64::MIN / 2;
    while let Some(report) = reports.recv().await {
        let now = state.now();
        match report {
            Report::Online => {
                cameras.update(&code, start, |s| {
                    s.state = "online".into();
                    s.error = None;
                    s.retry_at = None;
                });
                outage_failures = 0;
                if cameras.is_current(&code, start) {
                    set_device_status(&state, &code, DeviceStatus::Online, now).await;
                }
            }
            Report::Offline { error, retry_in } => {
                cameras.update(&code, start, |s| {
                    s.state = "offline".into();
                    s.error = Some(error.clone());
                    s.failures += 1;
                    s.retry_at = Some(now + retry_in.as_millis() as i64);
                });
                // Marked at once; said (an event for the maintainer) once per outage, when the
                // first retry fails too: a stream that drops and comes straight back is no outage.
                // A camera registered offline that never came up is news as well.
                outage_failures += 1;
                if !cameras.is_current(&code, start) {
                    continue;
                }
                if outage_failures == 1 {
                    set_device_status(&state, &code, DeviceStatus::Offline, now).await;
                }
                if outage_failures == 2 {
                    raise(&state, crate::sensing::offline_event(&device, now, &error)).await;
                }
            }
            Report::Invalid(error) => {
                tracing::warn!(camera = %code, %error, "the camera's video configuration cannot run");
                cameras.update(&code, start, |s| {
                    s.state = "invalid".into();
                    s.error = Some(error);
                    s.retry_at = None;
                });
            }
            Report::Progress(frames) => {
                cameras.update(&code, start, |s| s.frames = frames);
                // The last-seen time is written as seldom as for any device.
                if now - seen_written >= crate::sensing::LAST_SEEN_STEP_MS {
                    seen_written = now;
                    let patch = DevicePatch { last_seen_at: Some(now), ..Default::default() };
                    if let Err(error) = state.store.update_device(&Jurisdiction::everywhere(), &code, &patch).await {
                        tracing::warn!(camera = %code, %error, "recording the camera's last-seen time failed");
                    }
                }
            }
            Report::Alert { alert, key, at } => {
                let body = alert_event(&state, &device, &alert, &key, at).await;
                if raise(&state, body).await {
                    cameras.update(&code, start, |s| s.alerts += 1);
                }
            }
            Report::Ended => cameras.update(&code, start, |s| {
                s.state = "ended".into();
                s.retry_at = None;
            }),
        }
    }
}

/// Sets a device's status, unless it has it already.
async fn set_device_status(state: &AppState, code: &str, status: DeviceStatus, at: i64) {
    let everywhere = Jurisdiction::everywhere();
    let was = match state.store.get_device(&everywhere, code).await {
        Ok(device) => device.status,
        Err(error) => {
            tracing::warn!(camera = %code, %error, "reading the camera's device failed");
            return;
        }
    };
    if was != status {
        let patch = DevicePatch { status: Some(status), last_seen_at: (status == DeviceStatus::Online).then_some(at), ..Default::default() };
        if let Err(error) = state.store.update_device(&everywhere, code, &patch).await {
            tracing::warn!(camera = %code, %error, "recording the camera's status failed");
        }
    }
}

/// Raises an event as the platform, retrying storage trouble a few times; whether it was recorded.
async fn raise(state: &AppState, body: EventBody) -> bool {
    let mut wait = Duration::from_millis(200);
    for attempt in 1..=5 {
        match crate::report_event(state, body.clone()).await {
            Ok(_) => {
                metrics::counter!("linli_camera_alerts_total").increment(1);
                return true;
            }
            Err(error) if error.status.is_server_error() && attempt < 5 => {
                tracing::warn!(error = %error.message, "raising a camera alert failed; trying again");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(error) => {
                tracing::error!(error = %error.message, external_id = ?body.external_id, "a camera alert was not raised");
                return false;
            }
        }
    }
    false
}

/// The event an alert becomes, its snapshot and clip kept as evidence.
async fn alert_event(state: &AppState, camera: &Device, alert: &Alert, key: &str, at: i64) -> EventBody {
    let mut evidence = Vec::new();
    for (field, content_type, bytes) in [("snapshot", "image/jpeg", &alert.snapshot_jpeg), ("clip", "video/mp4", &alert.clip_mp4)] {
        if bytes.is_empty() {
            continue;
        }
        match crate::routes::media::store_media(state, field, content_type, bytes).await {
            Ok(info) => evidence.push(info.id),
            Err(error) => tracing::warn!(camera = %camera.code, field, error = %error.message, "keeping evidence failed; the alert goes without it"),
        }
    }
    let mut attributes = linli_domain::Attributes::new();
    let (alarm, title, description, name) = match &alert.finding {
        Finding::Throw(event) => {
            attributes.insert("floor".into(), event.origin.floor.into());
            attributes.insert("column".into(), event.origin.column.into());
            attributes.insert("confidence".into(), event.confidence.into());
            attributes.insert("track".into(), serde_json::to_value(&event.track).unwrap_or_default());
            let (floor, column) = (event.origin.floor, event.origin.column);
            let title = format!("高空抛物：{} {floor}层第{column}列窗", camera.name);
            let description = format!("an object fell from floor {floor}, window column {column} (confidence {:.2})", event.confidence);
            (AlarmType::Throwing, title, description, "throw".to_string())
        }
        Finding::Scene(event) => {
            let rule = scene_alarm(event);
            attributes.insert("rule".into(), event.rule.clone().into());
            attributes.insert("tracks".into(), serde_json::to_value(&event.tracks).unwrap_or_default());
            if let Some(class) = &event.class {
                attributes.insert("class".into(), class.clone().into());
            }
            if let Some(bbox) = event.bbox {
                attributes.insert("box".into(), serde_json::to_value(bbox).unwrap_or_default());
            }
            let title = format!("{}：{}（{}）", rule.label_zh(), camera.name, event.rule);
            let description = format!("rule {:?} ({}) fired{}", event.rule, event.kind, event.class.as_ref().map(|c| format!(" on a {c}")).unwrap_or_default());
            (rule, title, description, event.rule.clone())
        }
    };
    attributes.insert("alarm_type".into(), alarm.as_str().into());
    let (category, severity) = alarm.event();
    EventBody {
        source: Some("analytics".into()),
        category: Some(category.into()),
        severity: Some(severity.as_str().into()),
        title: Some(title),
        description: Some(description),
        region_code: Some(camera.region_code.clone()),
        lon: camera.position.map(|p| p.lon),
        lat: camera.position.map(|p| p.lat),
        occurred_at: Some(linli_domain::time::format_rfc3339(at)),
        evidence,
        external_id: Some(format!("{}/vision/{name}/{key}", camera.code)),
        device_code: Some(camera.code.clone()),
        attributes,
        ..EventBody::default()
    }
}

/// The alarm type a scene rule raises: as configured, else by the rule's kind.
fn scene_alarm(event: &linli_vision::scene::SceneEvent) -> AlarmType {
    let configured = event.alarm_type.as_deref().and_then(|a| AlarmType::parse("alarm_type", a).ok());
    configured.unwrap_or(match event.kind {
        "dwell" => AlarmType::IllegalParking,
        "crowd" => AlarmType::Crowd,
        _ => AlarmType::Intrusion,
    })
}
