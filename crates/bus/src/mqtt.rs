//! The MQTT source: a client of a real broker (Mosquitto in development), subscribed to the
//! device topics with QoS 1 and manual acknowledgements. It speaks MQTT 5 so that it can tell the
//! broker how many unacknowledged messages it may hold (Receive Maximum): messages are
//! acknowledged only once committed, in batches, and MQTT 3.1.1 brokers allow a client only a
//! handful in flight (Mosquitto: 20), which would cap throughput at a few batches of 20. Devices
//! may speak either version.
use std::sync::Arc;
use std::time::Duration;

use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use rumqttc::Transport;
use tokio::sync::mpsc;

use linli_domain::sensing::payload::TOPIC_PREFIX;

use crate::{Ack, BusError, Inbound};

/// The device topics the platform consumes (see `linli_domain::sensing::payload`).
fn device_topics() -> Vec<String> {
    ["telemetry", "event", "status"].iter().map(|kind| format!("{TOPIC_PREFIX}+/{kind}")).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttConfig {
    /// `mqtt://HOST[:PORT]` (default port 1883) or `mqtts://HOST[:PORT]` (TLS, default 8883).
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub client_id: String,
    /// Keep the session on the broker across restarts, so QoS 1 messages published while the
    /// platform was down are delivered when it is back (needs a stable `client_id`).
    pub persistent_session: bool,
    pub topics: Vec<String>,
    /// Connections sharing the subscriptions (`$share/{client_id}/…`), each `{client_id}-{n}`.
    /// One keeps each device's messages in order; several spread the work, and a device's
    /// messages may then be processed out of order (rules ignore readings older than the last
    /// one they saw, so only devices that send no `ts` can be misjudged).
    pub connections: usize,
    /// Unacknowledged messages the broker may send ahead (MQTT 5 Receive Maximum). This is the
    /// back-pressure: messages are acknowledged only once processed, so the broker holds the
    /// rest, and the event loop keeps running (keep-alives) however slow processing is.
    pub in_flight: u16,
}

impl MqttConfig {
    /// The device topics of the broker at `url`.
    pub fn devices(url: &str, client_id: &str) -> Self {
        MqttConfig {
            url: url.to_string(),
            username: None,
            password: None,
            client_id: client_id.to_string(),
            persistent_session: true,
            topics: device_topics(),
            connections: 1,
            in_flight: 2_000,
        }
    }

    /// The capacity the channel to processing needs so that handing a message over never waits:
    /// every connection's in-flight messages.
    pub fn channel_capacity(&self) -> usize {
        usize::from(self.in_flight.max(1)) * self.connections.max(1)
    }

    /// Checks the URL without connecting.
    pub fn check(&self) -> Result<(), BusError> {
        self.options(&self.client_id).map(drop)
    }

    pub(crate) fn options(&self, client_id: &str) -> Result<MqttOptions, BusError> {
        let bad = |reason: &str| BusError::BadUrl { url: self.url.clone(), reason: reason.to_string() };
        let (tls, rest) = match self.url.split_once("://") {
            Some(("mqtt" | "tcp", rest)) => (false, rest),
            Some(("mqtts" | "ssl" | "tls", rest)) => (true, rest),
            _ => return Err(bad("must start with mqtt:// or mqtts://")),
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().map_err(|_| bad("the port must be a number"))?),
            None => (rest, if tls { 8883 } else { 1883 }),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let mut options = MqttOptions::new(client_id, host, port);
        options
            .set_keep_alive(Duration::from_secs(15))
            .set_manual_acks(true)
            .set_clean_start(!self.persistent_session)
            .set_max_packet_size(Some(256 * 1024))
            .set_receive_maximum(Some(self.in_flight.max(1)));
        if self.persistent_session {
            // A week: long enough for any outage, short enough that an abandoned id is forgotten.
            options.set_session_expiry_interval(Some(7 * 24 * 3_600));
        }
        if let (Some(user), Some(password)) = (&self.username, &self.password) {
            options.set_credentials(user, password);
        }
        if tls {
            options.set_transport(Transport::tls_with_default_config());
        }
        Ok(options)
    }
}

/// Sends a connection's acknowledgements without ever waiting on its event loop: the loop may
/// itself be waiting for room in the channel to processing (the broker can send past Receive
/// Maximum, as Mosquitto 2.0 does with a backlog), and processing waiting on it would stall
/// both. When the client's queue is full, acknowledgements go, in order, through one task that
/// waits for room (one waiter: flume's cost per waiting sender made thousands of them
/// quadratic).
pub(crate) struct Acker {
    client: AsyncClient,
    spill: mpsc::UnboundedSender<Box<rumqttc::v5::mqttbytes::v5::Publish>>,
}

impl Acker {
    fn start(client: AsyncClient) -> Arc<Self> {
        let (spill, mut spilled) = mpsc::unbounded_channel::<Box<rumqttc::v5::mqttbytes::v5::Publish>>();
        let waiting = client.clone();
        tokio::spawn(async move {
            while let Some(publish) = spilled.recv().await {
                if let Err(error) = waiting.ack(&publish).await {
                    tracing::warn!(%error, "acknowledging an MQTT message failed; the broker will redeliver it");
                }
            }
        });
        Arc::new(Acker { client, spill })
    }

    pub(crate) fn ack(&self, publish: Box<rumqttc::v5::mqttbytes::v5::Publish>) {
        if self.client.try_ack(&publish).is_err() {
            let _ = self.spill.send(publish);
        }
    }
}

/// Connected (or connecting) subscribers sharing the device topics.
pub struct MqttSource {
    config: MqttConfig,
    connections: Vec<(AsyncClient, EventLoop)>,
}

impl MqttSource {
    pub fn build(config: MqttConfig) -> Result<Self, BusError> {
        let count = config.connections.max(1);
        let connections = (0..count)
            .map(|n| {
                let id = if count == 1 { config.client_id.clone() } else { format!("{}-{n}", config.client_id) };
                // Room for acknowledgements of ten times the in-flight messages: the broker may send
                // past Receive Maximum (Mosquitto 2.0 does, with a backlog on reconnection).
                Ok(AsyncClient::new(config.options(&id)?, usize::from(config.in_flight.max(1)) * 10))
            })
            .collect::<Result<_, BusError>>()?;
        Ok(MqttSource { config, connections })
    }

    /// The topic filters subscribed: shared among the connections when there are several.
    fn filters(&self) -> Vec<String> {
        if self.connections.len() == 1 {
            return self.config.topics.clone();
        }
        self.config.topics.iter().map(|t| format!("$share/{}/{t}", self.config.client_id)).collect()
    }

    /// Receives until the processing side hangs up, reconnecting after broker failures.
    pub async fn run(self, inbound: mpsc::Sender<Inbound>) {
        let filters = self.filters();
        let tasks: Vec<_> = self
            .connections
            .into_iter()
            .map(|(client, eventloop)| tokio::spawn(receive(self.config.url.clone(), filters.clone(), client, eventloop, inbound.clone())))
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    }
}

async fn receive(url: String, filters: Vec<String>, client: AsyncClient, mut eventloop: EventLoop, inbound: mpsc::Sender<Inbound>) {
    // The last receipt time given per topic, by the topic's hash (a collision costs at most a
    // millisecond); forgotten wholesale when large, by then the times it held are long past.
    const MAX_STAMPS: usize = 1 << 18;
    let mut stamps: std::collections::HashMap<u64, i64> = std::collections::HashMap::new();
    let acker = Acker::start(client.clone());
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                tracing::info!(%url, session_present = ack.session_present, "connected to the MQTT broker");
                for filter in &filters {
                    if let Err(error) = client.subscribe(filter, QoS::AtLeastOnce).await {
                        tracing::error!(%error, filter, "subscribing failed");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(mut publish))) => {
                let topic = String::from_utf8_lossy(&publish.topic).into_owned();
                // A reading without its own time is named by its receipt time, and a reading is
                // stored once per device, attribute and time: so two messages on one topic never
                // share a receipt millisecond.
                let known = stamps.len();
                let last = stamps.entry(crate::fnv1a(topic.as_bytes())).or_insert(i64::MIN);
                let received_at = crate::now_ms().max(last.saturating_add(1));
                *last = received_at;
                if known >= MAX_STAMPS {
                    stamps.clear();
                }
                // The acknowledgement needs only the packet id: the payload is not kept twice.
                let payload = std::mem::take(&mut publish.payload).to_vec();
                let message = Inbound { topic, payload, received_at, ack: Some(Ack::Mqtt(acker.clone(), Box::new(publish))) };
                // The channel holds every in-flight message (see `channel_capacity`), so this does
                // not wait and the event loop keeps answering the broker.
                if inbound.send(message).await.is_err() {
                    tracing::info!("processing stopped; leaving the MQTT broker");
                    let _ = client.disconnect().await;
                    return;
                }
            }
            Ok(_) => {}
            Err(error) => {
                if inbound.is_closed() {
                    return;
                }
                tracing::warn!(%error, %url, "MQTT connection lost; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_or_refused() {
        let config = |url: &str| MqttConfig::devices(url, "linli-test");
        assert_eq!(config("mqtt://127.0.0.1:1883").options("x").unwrap().broker_address(), ("127.0.0.1".to_string(), 1883));
        assert_eq!(config("mqtt://broker").options("x").unwrap().broker_address(), ("broker".to_string(), 1883));
        assert_eq!(config("mqtts://broker").options("x").unwrap().broker_address(), ("broker".to_string(), 8883));
        assert!(matches!(config("http://broker").options("x"), Err(BusError::BadUrl { .. })));
        assert!(matches!(config("mqtt://broker:x").options("x"), Err(BusError::BadUrl { .. })));
    }
}
