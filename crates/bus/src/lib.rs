//! Where messages from outside come in, and the bus that carries them to processing. Each source
//! is written as config → build → run: [`mqtt::MqttSource`] subscribes to the device topics of
//! a broker and hands every message to processing through a bounded channel, which pushes back
//! on the broker when processing falls behind.
//!
//! With NATS configured, [`nats::NatsBus`] puts JetStream between the two: one node bridges the
//! broker into a stream, and every node processes the partitions it owns (scale-out).
//!
//! Processing acknowledges a message ([`Inbound::ack`]) only once it is durable, so a crash
//! between receipt and commit means redelivery (at least once), never loss; processing is
//! idempotent, so redelivery does no harm.

pub mod control;
pub mod mqtt;
pub mod nats;

/// A message from outside, to be processed and then acknowledged.
pub struct Inbound {
    pub topic: String,
    pub payload: Vec<u8>,
    /// Epoch milliseconds at receipt.
    pub received_at: i64,
    ack: Option<Ack>,
}

enum Ack {
    Mqtt(std::sync::Arc<mqtt::Acker>, Box<rumqttc::v5::mqttbytes::v5::Publish>),
    JetStream(Box<async_nats::jetstream::Message>),
}

impl Inbound {
    /// A message with nothing to acknowledge (tests, HTTP pushes already answered).
    pub fn new(topic: impl Into<String>, payload: Vec<u8>, received_at: i64) -> Self {
        Inbound { topic: topic.into(), payload, received_at, ack: None }
    }

    /// Tells the source the message is safely processed: the broker may forget it.
    pub async fn ack(&mut self) {
        match self.ack.take() {
            Some(Ack::Mqtt(acker, publish)) => acker.ack(publish),
            Some(Ack::JetStream(message)) => {
                if let Err(error) = message.ack().await {
                    tracing::warn!(%error, topic = %self.topic, "acknowledging a JetStream message failed; it will be redelivered");
                }
            }
            None => {}
        }
    }

    /// The broker's packet id of an MQTT message: the same when the broker sends it again.
    pub(crate) fn packet_id(&self) -> Option<u16> {
        match &self.ack {
            Some(Ack::Mqtt(_, publish)) => Some(publish.pkid),
            _ => None,
        }
    }
}

/// FNV-1a, written out because every node (of any build) must hash alike, which the standard
/// library's hasher does not promise.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_extend(0xcbf2_9ce4_8422_2325, bytes)
}

/// Goes on hashing from `hash` (FNV-1a), so parts can be hashed without joining them.
pub(crate) fn fnv1a_extend(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

/// MurmurHash3's finaliser: FNV alone leaves names that differ in one character (`node-1`,
/// `node-2`) ordered alike for every partition, so one node would own them all.
pub(crate) fn mix(mut key: u64) -> u64 {
    key ^= key >> 33;
    key = key.wrapping_mul(0xff51_afd7_ed55_8ccd);
    key ^= key >> 33;
    key = key.wrapping_mul(0xc4ce_b93f_e1a8_5ec5);
    key ^ (key >> 33)
}

/// Epoch milliseconds now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
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
    #[error("bad nats settings: {0}")]
    BadNats(String),
    #[error("broker: {0}")]
    Broker(String),
    #[error("nats: {0}")]
    Nats(String),
}
