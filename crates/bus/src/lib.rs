//! Where messages from outside come in, and the bus that carries them to processing. Each source
//! is written as config → build → run: [`mqtt::MqttSource`] subscribes to the device topics of
//! a broker and hands every message to processing through a bounded channel, which pushes back
//! on the broker when processing falls behind.
//!
//! Processing acknowledges a message ([`Inbound::ack`]) only once it is durable, so a crash
//! between receipt and commit means redelivery (at least once), never loss; processing is
//! idempotent, so redelivery does no harm.

pub mod mqtt;

/// A message from outside, to be processed and then acknowledged.
pub struct Inbound {
    pub topic: String,
    pub payload: Vec<u8>,
    /// Epoch milliseconds at receipt.
    pub received_at: i64,
    ack: Option<Ack>,
}

enum Ack {
    Mqtt(rumqttc::v5::AsyncClient, Box<rumqttc::v5::mqttbytes::v5::Publish>),
}

impl Inbound {
    /// A message with nothing to acknowledge (tests, HTTP pushes already answered).
    pub fn new(topic: impl Into<String>, payload: Vec<u8>, received_at: i64) -> Self {
        Inbound { topic: topic.into(), payload, received_at, ack: None }
    }

    /// Tells the source the message is safely processed: the broker may forget it.
    pub async fn ack(&mut self) {
        match self.ack.take() {
            Some(Ack::Mqtt(client, publish)) => {
                if let Err(error) = client.ack(&publish).await {
                    tracing::warn!(%error, topic = %self.topic, "acknowledging an MQTT message failed; the broker will redeliver it");
                }
            }
            None => {}
        }
    }
}

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbound").field("topic", &self.topic).field("bytes", &self.payload.len()).field("received_at", &self.received_at).finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bad broker url {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
}
