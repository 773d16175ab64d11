//! Scale-out over NATS JetStream: several `linli` nodes sharing one PostgreSQL and one NATS
//! split the device stream between them, and a node killed mid-stream loses nothing.
//!
//! - **Bridge.** One node at a time (the holder of the `bridge` lease in the cluster's key-value
//!   bucket) subscribes to the MQTT broker under the one client id all nodes share, and copies
//!   each message into the stream, acknowledging it to the broker only once JetStream has stored
//!   it. When the holder dies its lease runs out, another node takes it, connects under the same
//!   client id and so resumes the broker's session: messages the dead node had not acknowledged
//!   are sent again, and the stream drops those it already holds (`Nats-Msg-Id`).
//! - **Partitions.** The stream's subjects are `{namespace}.sensing.{p}`, `p` a hash of the device
//!   id, so a device's messages stay in order on one partition. Each partition has a durable
//!   consumer; every live node (a key in the bucket, refreshed every second) owns the partitions
//!   that rendezvous hashing gives it and pulls only from those. A device is thus handled by one
//!   node at a time, which keeps its rule state in that node's memory valid. When a node dies
//!   its partitions move to the others, and JetStream redelivers whatever it had not
//!   acknowledged once the acknowledgement wait passes; processing is idempotent, so a message
//!   handled twice has the effect of once.
//!
//! JetStream does the storing, delivery and redelivery; the only coordination written here is
//! choosing a bridge and dividing partitions, which JetStream 2.9 has no primitive for.
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, kv, stream};
use async_nats::HeaderMap;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use linli_domain::sensing::parse_topic;

use crate::mqtt::{MqttConfig, MqttSource};
use crate::{fnv1a, fnv1a_extend, mix, Ack, BusError, Inbound};

/// Partitions of the device stream: the most nodes that can share the work. Fixed, because
/// every node must hash devices the same way and each partition keeps a durable consumer.
pub const PARTITIONS: u32 = 32;

const TOPIC_HEADER: &str = "Linli-Topic";
const RECEIVED_HEADER: &str = "Linli-Received-At";
/// Messages the bridge copies before waiting for JetStream's acknowledgements.
const BRIDGE_BATCH: usize = 500;
/// Messages a partition's consumer may have delivered and not yet acknowledged.
const MAX_ACK_PENDING: i64 = 4_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConfig {
    /// `nats://HOST[:PORT]`.
    pub url: String,
    /// Prefixes the stream, subjects, consumers and bucket, so separate deployments (or test
    /// runs) can share one NATS server.
    pub namespace: String,
    /// This node's name among the others; unique per running process.
    pub node_id: String,
    /// How long a delivered message may go unacknowledged before JetStream sends it again (to
    /// whichever node owns its partition by then).
    pub ack_wait: Duration,
    /// How long a node's liveness (and the bridge lease) lasts without a refresh: the time a
    /// dead node's work waits before others take it over.
    pub lease: Duration,
}

impl NatsConfig {
    pub fn new(url: &str, namespace: &str) -> Self {
        let clock = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        NatsConfig {
            url: url.to_string(),
            namespace: namespace.to_string(),
            node_id: format!("node-{}-{:x}", std::process::id(), clock & 0xffff_ffff),
            ack_wait: Duration::from_secs(30),
            lease: Duration::from_secs(3),
        }
    }

    /// Checks the names without connecting: they become subjects and bucket keys.
    pub fn check(&self) -> Result<(), BusError> {
        let bad = BusError::BadNats;
        if !self.url.starts_with("nats://") && !self.url.starts_with("tls://") {
            return Err(bad(format!("url {:?} must start with nats:// or tls://", self.url)));
        }
        let valid = |name: &str| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid(&self.namespace) {
            return Err(bad(format!("namespace {:?} may hold only letters, digits, - and _", self.namespace)));
        }
        if !valid(&self.node_id) {
            return Err(bad(format!("node id {:?} may hold only letters, digits, - and _", self.node_id)));
        }
        if self.lease < Duration::from_secs(1) || self.ack_wait < Duration::from_secs(1) {
            return Err(bad("lease and ack wait must be at least 1 s".into()));
        }
        Ok(())
    }

    fn stream_name(&self) -> String {
        format!("{}_sensing", self.namespace)
    }

    fn subject(&self, partition: u32) -> String {
        format!("{}.sensing.{partition}", self.namespace)
    }
}

/// The partition of a device topic: its device id hashed, so a device's messages stay together.
fn partition_of(topic: &str) -> u32 {
    let device = parse_topic(topic).map_or(topic, |(device, _)| device);
    (mix(fnv1a(device.as_bytes())) % u64::from(PARTITIONS)) as u32
}

/// The live node that owns a partition: the highest hash of (node, partition), so that when a
/// node comes or goes only its own partitions move.
fn owner(nodes: &BTreeSet<String>, partition: u32) -> Option<&String> {
    nodes.iter().max_by_key(|node| mix(fnv1a(node.as_bytes()) ^ u64::from(partition)))
}

/// A node's connection to the cluster.
pub struct NatsBus {
    config: NatsConfig,
    context: jetstream::Context,
    stream: stream::Stream,
    cluster: kv::Store,
}

impl NatsBus {
    /// Connects and makes sure the stream and the cluster bucket exist.
    pub async fn connect(config: NatsConfig) -> Result<Self, BusError> {
        config.check()?;
        let failed = |what: &str, error: &dyn std::fmt::Display| BusError::Nats(format!("{what}: {error}"));
        let client = async_nats::ConnectOptions::new()
            .name(format!("linli {}", config.node_id))
            .connection_timeout(Duration::from_secs(5))
            .connect(config.url.as_str())
            .await
            .map_err(|e| failed(&format!("connecting to {}", config.url), &e))?;
        let context = jetstream::new(client);
        let stream = context
            .get_or_create_stream(stream::Config {
                name: config.stream_name(),
                subjects: vec![format!("{}.sensing.*", config.namespace)],
                // Each message is removed once its partition's consumer acknowledges it.
                retention: stream::RetentionPolicy::WorkQueue,
                // Full means the bridge's publishes fail, so it stops acknowledging the broker:
                // the pressure goes back to the devices' broker instead of into memory.
                discard: stream::DiscardPolicy::New,
                max_bytes: 4 << 30,
                max_age: Duration::from_secs(7 * 24 * 3_600),
                // Long enough for a bridge hand-over (lease, reconnection, resend), short enough
                // that packet ids (16 bits) rarely come round within it.
                duplicate_window: Duration::from_secs(30),
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|e| failed("creating the sensing stream", &e))?;
        // The bucket's stream is made here rather than by `create_key_value`, which first asks
        // for account details in a form NATS 2.9 does not answer in; this is the stream it makes.
        let bucket = format!("{}_cluster", config.namespace);
        context
            .get_or_create_stream(stream::Config {
                name: format!("KV_{bucket}"),
                subjects: vec![format!("$KV.{bucket}.>")],
                max_messages_per_subject: 1,
                max_age: config.lease,
                allow_rollup: true,
                deny_delete: true,
                allow_direct: true,
                discard: stream::DiscardPolicy::New,
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|e| failed("creating the cluster bucket", &e))?;
        let cluster = context.get_key_value(bucket.as_str()).await.map_err(|e| failed("opening the cluster bucket", &e))?;
        Ok(NatsBus { config, context, stream, cluster })
    }

    /// Runs this node's part until `inbound` hangs up: keeps it alive in the cluster, bridges
    /// the broker while it holds the bridge lease, and feeds `inbound` from the partitions it
    /// owns. `handovers` counts changes of the owned partitions: whoever caches per-device state
    /// drops it then, as another node may have moved the devices on.
    pub async fn run(self, mqtt: Option<MqttConfig>, inbound: mpsc::Sender<Inbound>, handovers: watch::Sender<u64>) {
        let node_key = format!("node.{}", self.config.node_id);
        let tick = (self.config.lease / 3).max(Duration::from_millis(300));
        let mut bridge: Option<(u64, JoinHandle<()>)> = None;
        let mut pulling: HashMap<u32, JoinHandle<()>> = HashMap::new();
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!(node = %self.config.node_id, url = %self.config.url, "joining the NATS cluster");
        let mut refreshed_at = tokio::time::Instant::now();
        while !inbound.is_closed() {
            interval.tick().await;
            if let Err(error) = self.cluster.put(&node_key, self.config.node_id.clone().into()).await {
                tracing::warn!(%error, "refreshing this node's liveness failed");
                // Cut off past its lease, another node may hold the bridge by now: two bridges
                // under one client id would take the broker session from each other.
                if refreshed_at.elapsed() >= self.config.lease {
                    if let Some((_, task)) = bridge.take() {
                        tracing::warn!("stopped bridging the broker: the bridge lease may have passed to another node");
                        task.abort();
                    }
                }
                continue;
            }
            refreshed_at = tokio::time::Instant::now();
            if let Some(mqtt) = &mqtt {
                bridge = self.hold_bridge(bridge, mqtt).await;
            }
            let nodes = match self.live_nodes().await {
                Ok(nodes) => nodes,
                Err(error) => {
                    tracing::warn!(%error, "listing the live nodes failed");
                    continue;
                }
            };
            let mine: BTreeSet<u32> = (0..PARTITIONS).filter(|p| owner(&nodes, *p) == Some(&self.config.node_id)).collect();
            let held: BTreeSet<u32> = pulling.keys().copied().collect();
            if mine == held {
                continue;
            }
            for lost in held.difference(&mine) {
                if let Some(task) = pulling.remove(lost) {
                    task.abort();
                }
            }
            for gained in mine.difference(&held) {
                match self.partition_consumer(*gained).await {
                    Ok(consumer) => {
                        pulling.insert(*gained, tokio::spawn(pull(*gained, consumer, inbound.clone())));
                    }
                    Err(error) => tracing::warn!(%error, partition = gained, "opening a partition's consumer failed"),
                }
            }
            handovers.send_modify(|count| *count += 1);
            tracing::info!(node = %self.config.node_id, nodes = nodes.len(), partitions = pulling.len(), "partitions rebalanced");
        }
        for (_, task) in pulling {
            task.abort();
        }
        if let Some((_, task)) = bridge {
            task.abort();
            let _ = self.cluster.delete("bridge").await;
        }
        let _ = self.cluster.delete(&node_key).await;
    }

    /// Takes, keeps or loses the bridge lease, starting or stopping the bridge to match.
    async fn hold_bridge(&self, held: Option<(u64, JoinHandle<()>)>, mqtt: &MqttConfig) -> Option<(u64, JoinHandle<()>)> {
        let me = self.config.node_id.clone();
        match held {
            Some((revision, task)) => match self.cluster.update("bridge", me.into(), revision).await {
                Ok(revision) if !task.is_finished() => Some((revision, task)),
                outcome => {
                    if let Err(error) = outcome {
                        tracing::warn!(%error, "lost the bridge lease; another node bridges the broker");
                    }
                    task.abort();
                    None
                }
            },
            None => {
                let revision = self.cluster.create("bridge", me.into()).await.ok()?;
                let source = match MqttSource::build(mqtt.clone()) {
                    Ok(source) => source,
                    Err(error) => {
                        tracing::error!(%error, "cannot bridge the broker");
                        return None;
                    }
                };
                tracing::info!(node = %self.config.node_id, broker = %mqtt.url, "holding the bridge lease: copying the broker's device messages into JetStream");
                Some((revision, tokio::spawn(bridge(source, mqtt.channel_capacity(), self.context.clone(), self.config.clone()))))
            }
        }
    }

    async fn live_nodes(&self) -> Result<BTreeSet<String>, BusError> {
        let mut keys = self.cluster.keys().await.map_err(|e| BusError::Nats(format!("listing nodes: {e}")))?;
        let mut nodes = BTreeSet::new();
        while let Some(key) = keys.next().await {
            let key = key.map_err(|e| BusError::Nats(format!("listing nodes: {e}")))?;
            if let Some(node) = key.strip_prefix("node.") {
                nodes.insert(node.to_string());
            }
        }
        Ok(nodes)
    }

    async fn partition_consumer(&self, partition: u32) -> Result<consumer::PullConsumer, BusError> {
        let name = format!("{}-sensing-{partition}", self.config.namespace);
        self.stream
            .get_or_create_consumer(
                &name,
                consumer::pull::Config {
                    durable_name: Some(name.clone()),
                    filter_subject: self.config.subject(partition),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: self.config.ack_wait,
                    max_ack_pending: MAX_ACK_PENDING,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| BusError::Nats(format!("consumer {name}: {e}")))
    }
}

/// Copies the broker's device messages into the stream; each is acknowledged to the broker once
/// JetStream has stored it.
async fn bridge(source: MqttSource, capacity: usize, context: jetstream::Context, config: NatsConfig) {
    let (sender, mut received) = mpsc::channel(capacity);
    let receiving = tokio::spawn(source.run(sender));
    let mut batch = Vec::with_capacity(BRIDGE_BATCH);
    while received.recv_many(&mut batch, BRIDGE_BATCH).await > 0 {
        let mut delay = Duration::from_millis(100);
        loop {
            match copy(&context, &config, &batch).await {
                Ok(()) => break,
                Err(error) => {
                    // Not acknowledged, so the broker keeps them; retrying keeps their order.
                    tracing::warn!(%error, "copying device messages into JetStream failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        for mut message in batch.drain(..) {
            message.ack().await;
        }
    }
    receiving.abort();
}

async fn copy(context: &jetstream::Context, config: &NatsConfig, batch: &[Inbound]) -> Result<(), BusError> {
    let mut pending = Vec::with_capacity(batch.len());
    for message in batch {
        let mut headers = HeaderMap::new();
        headers.insert(TOPIC_HEADER, message.topic.as_str());
        headers.insert(RECEIVED_HEADER, message.received_at.to_string().as_str());
        // The broker resends an unacknowledged message under its packet id, so (packet id,
        // content) names it across a bridge hand-over; the stream drops the second copy.
        if let Some(id) = message.packet_id() {
            let content = fnv1a_extend(fnv1a(message.topic.as_bytes()), &message.payload);
            headers.insert("Nats-Msg-Id", format!("{id}-{content:x}").as_str());
        }
        let subject = config.subject(partition_of(&message.topic));
        let ack = context.publish_with_headers(subject, headers, message.payload.clone().into()).await.map_err(|e| BusError::Nats(e.to_string()))?;
        pending.push(ack);
    }
    for ack in pending {
        ack.await.map_err(|e| BusError::Nats(e.to_string()))?;
    }
    Ok(())
}

/// Hands a partition's messages to processing until the task is stopped (the partition moved).
async fn pull(partition: u32, consumer: consumer::PullConsumer, inbound: mpsc::Sender<Inbound>) {
    loop {
        let mut messages = match consumer.stream().max_messages_per_batch(BRIDGE_BATCH).heartbeat(Duration::from_secs(5)).messages().await {
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!(%error, partition, "pulling failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        while let Some(message) = messages.next().await {
            let message = match message {
                Ok(message) => message,
                Err(error) => {
                    tracing::warn!(%error, partition, "pulling a message failed");
                    continue;
                }
            };
            let header = |name: &str| message.headers.as_ref().and_then(|h| h.get(name)).map(|v| v.as_str().to_string());
            let inbound_message = Inbound {
                topic: header(TOPIC_HEADER).unwrap_or_else(|| message.subject.to_string()),
                payload: message.payload.to_vec(),
                received_at: header(RECEIVED_HEADER).and_then(|v| v.parse().ok()).unwrap_or_else(crate::now_ms),
                ack: Some(Ack::JetStream(Box::new(message))),
            };
            if inbound.send(inbound_message).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_always_lands_on_one_partition() {
        let telemetry = partition_of("linli/v1/devices/bin-7/telemetry");
        assert_eq!(telemetry, partition_of("linli/v1/devices/bin-7/status"));
        assert!(telemetry < PARTITIONS);
        // Fixed values: nodes of any build must agree.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn partitions_move_only_from_a_node_that_leaves() {
        let three: BTreeSet<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let two: BTreeSet<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let mut counts = HashMap::new();
        for p in 0..PARTITIONS {
            let before = owner(&three, p).unwrap();
            *counts.entry(before.clone()).or_insert(0) += 1;
            if before != "c" {
                assert_eq!(owner(&two, p), Some(before));
            }
        }
        assert!(counts.values().all(|n| *n >= 6), "every node owns a fair share: {counts:?}");
        let pair: BTreeSet<String> = ["node-1", "node-2"].iter().map(|s| s.to_string()).collect();
        let first = (0..PARTITIONS).filter(|p| owner(&pair, *p).unwrap() == "node-1").count();
        assert!((10..=22).contains(&first), "names alike still split the partitions: {first}");
    }

    #[test]
    fn names_are_checked() {
        assert!(NatsConfig::new("nats://127.0.0.1:4222", "linli").check().is_ok());
        assert!(NatsConfig::new("http://x", "linli").check().is_err());
        assert!(NatsConfig::new("nats://x", "a.b").check().is_err());
    }
}
