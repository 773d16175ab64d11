//! The MQTT source: a client of a real broker (Mosquitto in development), subscribed to the
//! device topics with QoS 1 and manual acknowledgements.
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS, Transport};
use tokio::sync::mpsc;

use crate::{Ack, BusError, Inbound};

/// The device topics the platform consumes (see `linli_domain::sensing::payload`).
pub const DEVICE_TOPICS: [&str; 3] = ["linli/v1/devices/+/telemetry", "linli/v1/devices/+/event", "linli/v1/devices/+/status"];

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
    /// Messages received but not yet taken by processing; when full, the broker waits.
    pub queue: usize,
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
            topics: DEVICE_TOPICS.iter().map(|t| t.to_string()).collect(),
            queue: 10_000,
        }
    }

    fn options(&self) -> Result<MqttOptions, BusError> {
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
        let mut options = MqttOptions::new(&self.client_id, host, port);
        options
            .set_keep_alive(Duration::from_secs(15))
            .set_manual_acks(true)
            .set_clean_session(!self.persistent_session)
            .set_max_packet_size(256 * 1024, 256 * 1024);
        // Enough in-flight QoS 1 messages to keep the pipe full while processing batches.
        options.set_inflight(1_000);
        if let (Some(user), Some(password)) = (&self.username, &self.password) {
            options.set_credentials(user, password);
        }
        if tls {
            options.set_transport(Transport::tls_with_default_config());
        }
        Ok(options)
    }
}

/// A connected (or connecting) subscriber.
pub struct MqttSource {
    config: MqttConfig,
    client: AsyncClient,
    eventloop: EventLoop,
}

impl MqttSource {
    pub fn build(config: MqttConfig) -> Result<Self, BusError> {
        let (client, eventloop) = AsyncClient::new(config.options()?, 1_000);
        Ok(MqttSource { config, client, eventloop })
    }

    /// A handle to publish with (commands to devices).
    pub fn client(&self) -> AsyncClient {
        self.client.clone()
    }

    /// Receives until the processing side hangs up, reconnecting after broker failures.
    pub async fn run(mut self, inbound: mpsc::Sender<Inbound>) {
        let clock = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        loop {
            match self.eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    tracing::info!(url = %self.config.url, session_present = ack.session_present, "connected to the MQTT broker");
                    for topic in &self.config.topics {
                        if let Err(error) = self.client.subscribe(topic, QoS::AtLeastOnce).await {
                            tracing::error!(%error, topic, "subscribing failed");
                        }
                    }
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    let message = Inbound {
                        topic: publish.topic.clone(),
                        payload: publish.payload.to_vec(),
                        received_at: clock(),
                        ack: Some(Ack::Mqtt(self.client.clone(), Box::new(publish))),
                    };
                    // Waiting here stops reading from the socket: the broker holds the rest.
                    if inbound.send(message).await.is_err() {
                        tracing::info!("processing stopped; leaving the MQTT broker");
                        let _ = self.client.disconnect().await;
                        return;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    if inbound.is_closed() {
                        return;
                    }
                    tracing::warn!(%error, url = %self.config.url, "MQTT connection lost; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
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
        assert_eq!(config("mqtt://127.0.0.1:1883").options().unwrap().broker_address(), ("127.0.0.1".to_string(), 1883));
        assert_eq!(config("mqtt://broker").options().unwrap().broker_address(), ("broker".to_string(), 1883));
        assert_eq!(config("mqtts://broker").options().unwrap().broker_address(), ("broker".to_string(), 8883));
        assert!(matches!(config("http://broker").options(), Err(BusError::BadUrl { .. })));
        assert!(matches!(config("mqtt://broker:x").options(), Err(BusError::BadUrl { .. })));
    }
}
