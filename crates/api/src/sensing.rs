//! Ingestion: device messages from a source (MQTT) become telemetry; telemetry rules that fire
//! raise events in the event centre, which opens and routes orders as configured; a device that
//! says it is offline (its last will) raises an event for its maintainer. Refused messages go to
//! the dead-letter store with the reason and are counted in `/metrics`.
//!
//! Messages are taken in batches: events are raised first (idempotent: each carries an external
//! id made of device, rule and reading time), then readings and rule states are written in one
//! transaction, then status changes and dead letters, then the batch is acknowledged. A crash
//! anywhere in between means redelivery, and redelivery raises nothing twice; storage trouble
//! anywhere means the batch is taken again, from what is stored, until it passes.
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
/// How long a cached device is trusted (its status, e.g. decommissioned, shows within this).
const DEVICES_TTL_MS: i64 = 60_000;
/// A device's last-seen time is written when it moved on by this much (or the device was not
/// online): a device reporting every second costs one registry write every 10 s, not one a batch.
pub(crate) const LAST_SEEN_STEP_MS: i64 = 10_000;
/// Payloads kept in a dead letter are cut here.
const DEAD_LETTER_BYTES: usize = 64 * 1024;

/// What ingestion remembers between batches.
struct Ingest {
    state: AppState,
    devices: HashMap<String, Option<Arc<Device>>>,
    /// When `devices` was last emptied: registrations and decommissionings show within this.
    devices_read_at: i64,
    rule_states: HashMap<String, HashMap<String, RuleState>>,
    /// The last-seen time last written per device.
    seen_written: HashMap<String, i64>,
    rules: Vec<TelemetryRule>,
    rules_read_at: Option<i64>,
}

/// Storage did not answer: the batch is taken again from what is stored, after a pause.
#[derive(Debug)]
struct StorageTrouble(String);

/// Processes messages until the source hangs up. A change on `handovers` (devices moved
/// between nodes, see `linli_bus::nats`) drops what is cached per device: another node may have
/// moved its state on.
pub async fn run(state: AppState, mut inbound: mpsc::Receiver<Inbound>, mut handovers: watch::Receiver<u64>) {
    crate::ops::recorder();
    let mut ingest = Ingest {
        devices_read_at: state.now(),
        state,
        devices: HashMap::new(),
        rule_states: HashMap::new(),
        seen_written: HashMap::new(),
        rules: Vec::new(),
        rules_read_at: None,
    };
    let mut batch = Vec::with_capacity(BATCH);
    while inbound.recv_many(&mut batch, BATCH).await > 0 {
        if handovers.has_changed().unwrap_or(false) {
            handovers.mark_unchanged();
            ingest.forget();
        }
        let mut delay = Duration::from_millis(100);
        // Storage trouble holds the batch (and, through the bounded channel, the broker) until
        // it passes: nothing is acknowledged, nor dead-lettered, that is not written. Taking a
        // batch again is harmless: everything it writes is idempotent.
        while let Err(StorageTrouble(error)) = ingest.process(&mut batch).await {
            tracing::error!(%error, "ingesting a batch failed on storage; taking it again");
            ingest.forget();
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        batch.clear();
    }
}

/// What one message asks for, once understood.
enum Work {
    Telemetry(DeviceTelemetry, Vec<Firing>),
    Status(DeviceStatus),
    Event(Box<EventBody>),
}

impl Ingest {
    /// Drops what is cached per device, to be read again from storage.
    fn forget(&mut self) {
        self.devices.clear();
        self.rule_states.clear();
        self.seen_written.clear();
        self.devices_read_at = self.state.now();
    }

    async fn process(&mut self, batch: &mut [Inbound]) -> Result<(), StorageTrouble> {
        let now = self.state.now();
        if self.rules_read_at.is_none_or(|at| now - at > RULES_TTL_MS) {
            match self.state.sensing_rules().await {
                Ok(rules) => {
                    self.rules = rules;
                    self.rules_read_at = Some(now);
                }
                Err(error) => tracing::error!(error = %error.message, "reading telemetry rules failed; keeping the previous ones"),
            }
            // Ids refused as unknown are asked about again, in case they were registered since.
            self.devices.retain(|_, device| device.is_some());
        }
        if now - self.devices_read_at > DEVICES_TTL_MS {
            self.devices.clear();
            self.devices_read_at = now;
        }
        let mut telemetry: Vec<DeviceTelemetry> = Vec::new();
        // Where each device's entry in `telemetry` is: a batch merges a device's messages.
        let mut slots: HashMap<String, usize> = HashMap::new();
        let mut firings: Vec<(Arc<Device>, Firing)> = Vec::new();
        // Applied once the batch's telemetry is written, so a reading does not undo a last will.
        let mut statuses: Vec<(Arc<Device>, DeviceStatus, i64)> = Vec::new();
        let mut letters: Vec<Letter> = Vec::new();
        for message in batch.iter() {
            let (device, work) = match self.understand(message).await {
                Ok(understood) => understood,
                Err(refusal) if refusal.kind == "storage" => return Err(StorageTrouble(refusal.reason)),
                Err(refusal) => {
                    letters.push(refusal.letter(&message.topic, message.received_at, &message.payload));
                    continue;
                }
            };
            metrics::counter!("linli_sensing_messages_total", "outcome" => "accepted").increment(1);
            match work {
                Work::Telemetry(readings, fired) => {
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
                Work::Status(status) => statuses.push((device, status, message.received_at)),
                Work::Event(body) => self.raise(&device, *body, (&message.topic, message.received_at, &message.payload), &mut letters).await?,
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
                // The rule names the scene the cockpit counts the event under (垃圾满溢, …).
                attributes: linli_domain::Attributes::from_iter([("rule".to_string(), firing.rule_code.clone().into())]),
                ..EventBody::default()
            };
            self.raise(&device, body, (&format!("rule:{}", firing.rule_code), firing.at, &[]), &mut letters).await?;
        }
        for device in &mut telemetry {
            let written = self.seen_written.get(&device.device_code).copied();
            let online = self.devices.get(&device.device_code).and_then(|d| d.as_ref()).is_some_and(|d| d.status == DeviceStatus::Online);
            if online && device.seen_at.zip(written).is_some_and(|(seen, written)| seen - written < LAST_SEEN_STEP_MS) {
                device.seen_at = None;
            }
        }
        if !telemetry.is_empty() {
            self.state.store.record_telemetry(&telemetry).await.map_err(|e| StorageTrouble(format!("writing telemetry: {e}")))?;
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
        for (device, status, at) in statuses {
            self.set_status(&device, status, at, &mut letters).await?;
        }
        for (kind, letter) in &letters {
            self.state.store.record_dead_letter(letter).await.map_err(|e| StorageTrouble(format!("keeping a dead letter: {e}")))?;
            metrics::counter!("linli_sensing_messages_total", "outcome" => *kind).increment(1);
        }
        for message in batch.iter_mut() {
            message.ack().await;
        }
        Ok(())
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
                // Redelivery must not raise it twice, so it is named: by its own id, within the
                // device (two devices may use the same ids), or else by its receipt time (which a
                // redelivery through the NATS stream keeps).
                body.external_id = Some(match body.external_id.take() {
                    Some(id) => format!("{code}/event/{id}"),
                    None => format!("{code}/event@{}", message.received_at),
                });
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

    async fn set_status(&mut self, device: &Device, status: DeviceStatus, at: i64, letters: &mut Vec<Letter>) -> Result<(), StorageTrouble> {
        let failed = |e: StoreError| StorageTrouble(format!("recording a device's status: {e}"));
        // The cached copy may be stale (telemetry marks devices online): status changes are rare,
        // so the stored one is read.
        let was = self.state.store.get_device(&Jurisdiction::everywhere(), &device.code).await.map_err(failed)?.status;
        let patch = DevicePatch { status: Some(status), last_seen_at: (status == DeviceStatus::Online).then_some(at), ..Default::default() };
        let updated = self.state.store.update_device(&Jurisdiction::everywhere(), &device.code, &patch).await.map_err(failed)?;
        self.devices.insert(device.code.clone(), Some(Arc::new(updated)));
        if status == DeviceStatus::Offline && was != DeviceStatus::Offline {
            let body = offline_event(device, at, "its last will");
            self.raise(device, body, (&format!("status:{}", device.code), at, &[]), letters).await?;
        }
        Ok(())
    }

    /// Raises an event at the device's place. One the event centre refuses becomes a dead letter
    /// labelled by `origin` (source, time, payload); storage trouble stops the batch.
    async fn raise(&mut self, device: &Device, mut body: EventBody, origin: (&str, i64, &[u8]), letters: &mut Vec<Letter>) -> Result<(), StorageTrouble> {
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
            Err(error) if error.status.is_server_error() => return Err(StorageTrouble(format!("raising an event: {}", error.message))),
            Err(error) => {
                let refusal = Refusal::new("event_refused", Some(&device.code), format!("the event was refused: {}", error.message));
                letters.push(refusal.letter(origin.0, origin.1, origin.2));
            }
        }
        Ok(())
    }
}

/// The event for a device's maintainer that it went offline at `at`, and why, placed at the device.
pub(crate) fn offline_event(device: &Device, at: i64, why: &str) -> EventBody {
    EventBody {
        source: Some("iot".into()),
        category: Some("other".into()),
        severity: Some("minor".into()),
        title: Some(format!("设备离线：{}", device.name)),
        description: Some(format!("{} ({}) went offline: {why}", device.name, device.code)),
        occurred_at: Some(linli_domain::time::format_rfc3339(at)),
        external_id: Some(format!("{}/offline/{at}", device.code)),
        device_code: Some(device.code.clone()),
        region_code: Some(device.region_code.clone()),
        lon: device.position.map(|p| p.lon),
        lat: device.position.map(|p| p.lat),
        ..EventBody::default()
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

    /// The dead letter keeping what was refused: its source (a topic, `rule:…`, `status:…`),
    /// time and payload (cut at 64 KiB), with the metrics label.
    fn letter(self, source: &str, at: i64, payload: &[u8]) -> Letter {
        let payload = &payload[..payload.len().min(DEAD_LETTER_BYTES)];
        let letter = DeadLetter {
            id: 0,
            at,
            source: source.to_string(),
            device_code: self.device,
            reason: self.reason,
            payload: String::from_utf8_lossy(payload).into_owned(),
        };
        (self.kind, letter)
    }
}

/// A dead letter and the metrics label of its refusal.
type Letter = (&'static str, DeadLetter);

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
