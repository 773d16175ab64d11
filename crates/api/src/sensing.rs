//! Ingestion: device messages from a source (MQTT) become telemetry; telemetry rules that fire
//! raise events in the event centre, which opens and routes orders as configured; a device that
//! says it is offline (its last will) raises an event for its maintainer. Refused messages go to
//! the dead-letter store with the reason and are counted in `/metrics`.
//!
//! Messages are taken in batches: events are raised first (idempotent: each carries an external
//! id made of device, rule and reading time), then readings and rule states are written in one
//! transaction, then the batch is acknowledged. A crash anywhere in between means redelivery, and
//! redelivery raises nothing twice.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use linli_bus::Inbound;
use linli_domain::sensing::{catalogue, parse_telemetry, parse_topic, Firing, MessageKind, RuleState, TelemetryRule};
use linli_domain::{Device, DeviceStatus};
use linli_store::{DeadLetter, DevicePatch, DeviceTelemetry, Jurisdiction, StoreError};
use tokio::sync::{mpsc, watch};

use crate::error::ApiResult;
use crate::{AppState, EventBody};

/// Messages taken at once: one transaction, one acknowledgement round.
const BATCH: usize = 1_000;
/// How long the list of rules is trusted before it is read again.
const RULES_TTL_MS: i64 = 5_000;
/// A device's last-seen time is written when it moved on by this much (or the device was not
/// online): a device reporting every second costs one registry write every 10 s, not one a batch.
const LAST_SEEN_STEP_MS: i64 = 10_000;
/// Payloads kept in a dead letter are cut here.
const DEAD_LETTER_BYTES: usize = 64 * 1024;

/// What ingestion remembers between batches.
struct Ingest {
    state: AppState,
    devices: HashMap<String, Option<Arc<Device>>>,
    rule_states: HashMap<String, HashMap<String, RuleState>>,
    /// The last-seen time last written per device.
    seen_written: HashMap<String, i64>,
    rules: Vec<TelemetryRule>,
    rules_read_at: Option<i64>,
}

/// Processes messages until the source hangs up. A change on `handovers` (devices moved
/// between nodes, see `linli_bus::nats`) drops what is cached per device: another node may have
/// moved its state on.
pub async fn run(state: AppState, mut inbound: mpsc::Receiver<Inbound>, mut handovers: watch::Receiver<u64>) {
    crate::ops::recorder();
    let mut ingest =
        Ingest { state, devices: HashMap::new(), rule_states: HashMap::new(), seen_written: HashMap::new(), rules: Vec::new(), rules_read_at: None };
    let mut batch = Vec::with_capacity(BATCH);
    while inbound.recv_many(&mut batch, BATCH).await > 0 {
        if handovers.has_changed().unwrap_or(false) {
            handovers.mark_unchanged();
            ingest.devices.clear();
            ingest.rule_states.clear();
            ingest.seen_written.clear();
        }
        ingest.process(&mut batch).await;
        batch.clear();
    }
}

/// Telemetry retention: every hour, raw readings older than `raw_days` are folded into hourly
/// roll-ups (kept `hourly_days`) and removed. Whole hours only, so an hour is never split.
pub async fn retain(state: AppState, raw_days: u32, hourly_days: u32) {
    const HOUR_MS: i64 = 3_600_000;
    let mut interval = tokio::time::interval(Duration::from_secs(3_600));
    loop {
        interval.tick().await;
        let hour = state.now() / HOUR_MS * HOUR_MS;
        let before = hour - i64::from(raw_days) * 24 * HOUR_MS;
        let hours_before = hour - i64::from(hourly_days) * 24 * HOUR_MS;
        match state.store.compact_telemetry(before, hours_before).await {
            Ok(done) => tracing::info!(readings = done.readings_removed, hours = done.hours_removed, "telemetry compacted"),
            Err(error) => tracing::error!(%error, "compacting telemetry failed; trying again in an hour"),
        }
    }
}

/// What one message asks for, once understood.
enum Work {
    Telemetry(DeviceTelemetry, Vec<Firing>),
    Status(DeviceStatus),
    Event(Box<EventBody>),
}

impl Ingest {
    async fn process(&mut self, batch: &mut [Inbound]) {
        let now = self.state.now();
        if self.rules_read_at.is_none_or(|at| now - at > RULES_TTL_MS) {
            match self.state.sensing_rules().await {
                Ok(rules) => {
                    self.rules = rules;
                    self.rules_read_at = Some(now);
                }
                Err(error) => tracing::error!(error = %error.message, "reading telemetry rules failed; keeping the previous ones"),
            }
        }
        let mut telemetry: Vec<DeviceTelemetry> = Vec::new();
        // Where each device's entry in `telemetry` is: a batch merges a device's messages.
        let mut slots: HashMap<String, usize> = HashMap::new();
        let mut firings: Vec<(Arc<Device>, Firing)> = Vec::new();
        for message in batch.iter() {
            match self.understand(message).await {
                Ok((device, Work::Telemetry(readings, fired))) => {
                    metrics::counter!("linli_sensing_messages_total", "outcome" => "accepted").increment(1);
                    firings.extend(fired.into_iter().map(|f| (device.clone(), f)));
                    match slots.get(&readings.device_code) {
                        Some(&slot) => {
                            let existing = &mut telemetry[slot];
                            existing.readings.extend(readings.readings);
                            existing.seen_at = existing.seen_at.max(readings.seen_at);
                            for (rule, state) in readings.rule_states {
                                existing.rule_states.retain(|(r, _)| *r != rule);
                                existing.rule_states.push((rule, state));
                            }
                        }
                        None => {
                            slots.insert(readings.device_code.clone(), telemetry.len());
                            telemetry.push(readings);
                        }
                    }
                }
                Ok((device, Work::Status(status))) => {
                    metrics::counter!("linli_sensing_messages_total", "outcome" => "accepted").increment(1);
                    self.set_status(&device, status, message.received_at).await;
                }
                Ok((device, Work::Event(body))) => {
                    metrics::counter!("linli_sensing_messages_total", "outcome" => "accepted").increment(1);
                    self.raise(&device, *body, message).await;
                }
                Err(refusal) => self.dead_letter(message, refusal).await,
            }
        }
        for (device, firing) in firings {
            let body = EventBody {
                source: Some("iot".into()),
                category: Some(firing.category.clone()),
                severity: Some(firing.severity.as_str().into()),
                title: Some(firing.title.clone()),
                description: Some(format!("{}（{}）：{} = {}", firing.title, device.name, firing.rule_code, firing.value)),
                occurred_at: Some(linli_domain::time::format_rfc3339(firing.at)),
                external_id: Some(format!("{}/{}/{}", device.code, firing.rule_code, firing.at)),
                ..EventBody::default()
            };
            let origin = Inbound::new(format!("rule:{}", firing.rule_code), Vec::new(), firing.at);
            self.raise(&device, body, &origin).await;
        }
        for device in &mut telemetry {
            let written = self.seen_written.get(&device.device_code).copied();
            let online = self.devices.get(&device.device_code).and_then(|d| d.as_ref()).is_some_and(|d| d.status == DeviceStatus::Online);
            if online && device.seen_at.zip(written).is_some_and(|(seen, written)| seen - written < LAST_SEEN_STEP_MS) {
                device.seen_at = None;
            }
        }
        if !telemetry.is_empty() {
            let mut delay = Duration::from_millis(100);
            // Storage trouble holds the batch (and, through the bounded channel, the broker)
            // until it passes: nothing is acknowledged that is not written.
            while let Err(error) = self.state.store.record_telemetry(&telemetry).await {
                tracing::error!(%error, "writing telemetry failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            for device in &telemetry {
                if let Some(seen) = device.seen_at {
                    self.seen_written.insert(device.device_code.clone(), seen);
                    if let Some(Some(cached)) = self.devices.get_mut(&device.device_code) {
                        if cached.status == DeviceStatus::Offline {
                            Arc::make_mut(cached).status = DeviceStatus::Online;
                        }
                    }
                }
            }
        }
        for message in batch.iter_mut() {
            message.ack().await;
        }
    }

    /// The device a message comes from and what it asks for, or why it is refused.
    async fn understand(&mut self, message: &Inbound) -> Result<(Arc<Device>, Work), Refusal> {
        let (code, kind) = parse_topic(&message.topic).ok_or_else(|| Refusal::new("not_a_device_topic", None, "not a device topic"))?;
        let device = self.device(code).await?.ok_or_else(|| Refusal::new("unknown_device", Some(code), format!("unknown device {code:?}")))?;
        if device.status == DeviceStatus::Decommissioned {
            return Err(Refusal::new("revoked_device", Some(code), format!("device {code:?} is decommissioned")));
        }
        let work = match kind {
            MessageKind::Telemetry => {
                let mut readings = parse_telemetry(&message.payload, message.received_at).map_err(|e| Refusal::invalid(code, e))?;
                for reading in &readings {
                    catalogue::check(device.kind, reading).map_err(|e| Refusal::invalid(code, e))?;
                }
                self.load_states(code).await?;
                let known = &self.rule_states[code];
                let mut states: HashMap<String, RuleState> = HashMap::new();
                let mut fired = Vec::new();
                // Rules see a message's readings in time order (storage does not care).
                readings.sort_by_key(|r| r.at);
                for reading in &readings {
                    for rule in self.rules.iter().filter(|r| r.applies_to(device.kind, &reading.name)) {
                        let state = states.get(&rule.code).or_else(|| known.get(&rule.code)).cloned().unwrap_or_default();
                        let (next, firing) = rule.evaluate(&state, reading);
                        states.insert(rule.code.clone(), next);
                        fired.extend(firing);
                    }
                }
                // The states this message leaves become the known ones for the next message.
                self.rule_states.entry(code.to_string()).or_default().extend(states.clone());
                let seen_at = Some(readings.iter().map(|r| r.at).max().unwrap_or(message.received_at).min(message.received_at));
                Work::Telemetry(DeviceTelemetry { device_code: code.to_string(), readings, rule_states: states.into_iter().collect(), seen_at }, fired)
            }
            MessageKind::Status => Work::Status(parse_status(&message.payload).map_err(|e| Refusal::invalid(code, e))?),
            MessageKind::Event => {
                let mut body: Box<EventBody> =
                    serde_json::from_slice(&message.payload).map_err(|e| Refusal::new("invalid", Some(code), format!("payload: {e}")))?;
                // Redelivery must not raise it twice: without an id of its own, the device and
                // the time of receipt (which a redelivery keeps) name it.
                body.external_id.get_or_insert_with(|| format!("{code}/event/{}", message.received_at));
                Work::Event(body)
            }
        };
        Ok((device, work))
    }

    async fn device(&mut self, code: &str) -> Result<Option<Arc<Device>>, Refusal> {
        if let Some(known) = self.devices.get(code) {
            return Ok(known.clone());
        }
        let found = match self.state.store.get_device(&Jurisdiction::everywhere(), code).await {
            Ok(device) => Some(Arc::new(device)),
            Err(StoreError::NotFound { .. }) => None,
            Err(error) => return Err(Refusal::new("storage", Some(code), format!("looking the device up failed: {error}"))),
        };
        // Unknown ids are remembered too, so a flood from one costs no queries; the cache is
        // dropped when it grows large, which also picks up devices registered since.
        if self.devices.len() > 100_000 {
            self.devices.clear();
        }
        self.devices.insert(code.to_string(), found.clone());
        Ok(found)
    }

    /// Brings a device's stored rule states into the cache, once.
    async fn load_states(&mut self, code: &str) -> Result<(), Refusal> {
        if !self.rule_states.contains_key(code) {
            let stored =
                self.state.store.rule_states(code).await.map_err(|e| Refusal::new("storage", Some(code), format!("reading rule states failed: {e}")))?;
            self.rule_states.insert(code.to_string(), stored.into_iter().collect());
        }
        Ok(())
    }

    async fn set_status(&mut self, device: &Device, status: DeviceStatus, at: i64) {
        // The cached copy may be stale (telemetry marks devices online): status changes are rare,
        // so the stored one is read.
        let was = match self.state.store.get_device(&Jurisdiction::everywhere(), &device.code).await {
            Ok(stored) => stored.status,
            Err(_) => device.status,
        };
        let patch = DevicePatch { status: Some(status), last_seen_at: (status == DeviceStatus::Online).then_some(at), ..Default::default() };
        match self.state.store.update_device(&Jurisdiction::everywhere(), &device.code, &patch).await {
            Ok(updated) => {
                self.devices.insert(device.code.clone(), Some(Arc::new(updated)));
            }
            Err(error) => tracing::error!(%error, device = %device.code, "recording a device's status failed"),
        }
        if status == DeviceStatus::Offline && was != DeviceStatus::Offline {
            let body = EventBody {
                source: Some("iot".into()),
                category: Some("other".into()),
                severity: Some("minor".into()),
                title: Some(format!("设备离线：{}", device.name)),
                description: Some(format!("{} ({}) went offline", device.name, device.code)),
                occurred_at: Some(linli_domain::time::format_rfc3339(at)),
                external_id: Some(format!("{}/offline/{at}", device.code)),
                ..EventBody::default()
            };
            self.raise(device, body, &Inbound::new(format!("status:{}", device.code), Vec::new(), at)).await;
        }
    }

    /// Raises an event at the device's place; a refusal goes to the dead letters.
    async fn raise(&mut self, device: &Device, mut body: EventBody, origin: &Inbound) {
        body.source = Some("iot".into());
        body.device_code = Some(device.code.clone());
        body.region_code = Some(device.region_code.clone());
        if let Some(position) = device.position {
            body.lon = Some(position.lon);
            body.lat = Some(position.lat);
        }
        let result: ApiResult<_> = crate::report_event(&self.state, body).await;
        match result {
            Ok(_) => metrics::counter!("linli_sensing_events_total").increment(1),
            Err(error) => {
                let reason = format!("the event was refused: {}", error.message);
                self.dead_letter(origin, Refusal::new("event_refused", Some(&device.code), reason)).await;
            }
        }
    }

    async fn dead_letter(&self, message: &Inbound, refusal: Refusal) {
        metrics::counter!("linli_sensing_messages_total", "outcome" => refusal.kind).increment(1);
        let payload = &message.payload[..message.payload.len().min(DEAD_LETTER_BYTES)];
        let letter = DeadLetter {
            id: 0,
            at: message.received_at,
            source: message.topic.clone(),
            device_code: refusal.device,
            reason: refusal.reason,
            payload: String::from_utf8_lossy(payload).into_owned(),
        };
        if let Err(error) = self.state.store.record_dead_letter(&letter).await {
            tracing::error!(%error, topic = %message.topic, reason = %letter.reason, "keeping a dead letter failed");
        }
    }
}

/// Why a message was refused: a metrics label and the reason kept with it.
struct Refusal {
    kind: &'static str,
    device: Option<String>,
    reason: String,
}

impl Refusal {
    fn new(kind: &'static str, device: Option<&str>, reason: impl Into<String>) -> Self {
        Refusal { kind, device: device.map(str::to_string), reason: reason.into() }
    }

    fn invalid(device: &str, error: linli_domain::InvalidField) -> Self {
        Refusal::new("invalid", Some(device), format!("{}: {}", error.field, error.message))
    }
}

/// A status message: `online` / `offline` (the usual last will), as text or `{"status": …}`.
fn parse_status(payload: &[u8]) -> Result<DeviceStatus, linli_domain::InvalidField> {
    let text = std::str::from_utf8(payload).map_err(|_| linli_domain::InvalidField::new("status", "not UTF-8"))?.trim();
    let value = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => map.get("status").and_then(|s| s.as_str()).map(str::to_string),
        Ok(serde_json::Value::String(s)) => Some(s),
        _ => Some(text.to_string()),
    };
    let value = value.ok_or_else(|| linli_domain::InvalidField::new("status", "missing"))?;
    match DeviceStatus::parse("status", &value)? {
        status @ (DeviceStatus::Online | DeviceStatus::Offline | DeviceStatus::Fault) => Ok(status),
        _ => Err(linli_domain::InvalidField::new("status", "a device may report online, offline or fault")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_payloads() {
        assert_eq!(parse_status(b"offline").unwrap(), DeviceStatus::Offline);
        assert_eq!(parse_status(br#"{"status": "online"}"#).unwrap(), DeviceStatus::Online);
        assert_eq!(parse_status(br#""fault""#).unwrap(), DeviceStatus::Fault);
        assert!(parse_status(b"decommissioned").is_err());
        assert!(parse_status(b"sleepy").is_err());
    }
}
