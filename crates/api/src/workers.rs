//! Background work of a running server: the deadline sweep, the live stream fed from the outbox,
//! the cameras watched (see `cameras`), and webhook deliveries (HMAC-signed, retried, in order per webhook).
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use linli_store::{OutboxMessage, Webhook};
use sha2::Sha256;

use crate::AppState;

/// How often each loop looks for work.
const SWEEP_EVERY: Duration = Duration::from_secs(15);
const STREAM_EVERY: Duration = Duration::from_millis(200);
const WEBHOOKS_EVERY: Duration = Duration::from_secs(1);
/// Attempts per message before a webhook skips it (recording the failure).
const ATTEMPTS: u32 = 5;

/// Starts the background loops; they stop when the runtime does.
pub fn spawn(state: AppState) {
    tokio::spawn(sweep_loop(state.clone()));
    tokio::spawn(stream_loop(state.clone()));
    tokio::spawn(retention_loop(state.clone()));
    if state.watch_cameras {
        tokio::spawn(crate::cameras::supervise(state.clone()));
    }
    tokio::spawn(webhook_loop(state));
}

/// Telemetry retention: every hour (not at start: every node starting would compact at once),
/// raw readings older than the raw retention are folded into hourly roll-ups and removed, and
/// roll-ups past their own retention go. Whole hours only, so an hour is never split.
async fn retention_loop(state: AppState) {
    const HOUR_MS: i64 = 3_600_000;
    loop {
        tokio::time::sleep(Duration::from_secs(3_600)).await;
        let hour = state.now() / HOUR_MS * HOUR_MS;
        let before = hour - i64::from(state.retention.raw_days) * 24 * HOUR_MS;
        let hours_before = hour - i64::from(state.retention.hourly_days) * 24 * HOUR_MS;
        match state.store.compact_telemetry(before, hours_before).await {
            Ok(done) => tracing::info!(readings = done.readings_removed, hours = done.hours_removed, "telemetry compacted"),
            Err(error) => tracing::error!(%error, "compacting telemetry failed; trying again in an hour"),
        }
    }
}

async fn sweep_loop(state: AppState) {
    loop {
        tokio::time::sleep(SWEEP_EVERY).await;
        match crate::routes::orders::sweep_due_orders(&state).await {
            Ok((checked, recorded)) if checked > 0 => tracing::info!(checked, recorded, "deadline sweep"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e.message, "deadline sweep failed"),
        }
    }
}

/// Publishes committed outbox messages to the live stream, whichever process wrote them. With
/// nobody subscribed it only follows the newest id (one indexed MAX), so a first subscriber gets
/// everything after the head it was told (see `routes::stream`), even what commits before the
/// next tick.
async fn stream_loop(state: AppState) {
    let mut cursor: Option<i64> = state.store.outbox_head().await.ok();
    loop {
        tokio::time::sleep(STREAM_EVERY).await;
        if state.live.receiver_count() == 0 {
            cursor = state.store.outbox_head().await.ok();
            continue;
        }
        let after = match cursor {
            Some(after) => after,
            None => match state.store.outbox_head().await {
                Ok(head) => head,
                Err(e) => {
                    tracing::warn!(error = %e, "live stream cannot read the outbox");
                    continue;
                }
            },
        };
        cursor = Some(after);
        match state.store.outbox_after(after, 500).await {
            Ok(messages) => {
                for message in messages {
                    cursor = Some(message.id);
                    // Subscribers that left meanwhile are fine.
                    let _ = state.live.send(Arc::new(message));
                }
            }
            Err(e) => tracing::warn!(error = %e, "live stream read failed"),
        }
    }
}

async fn webhook_loop(state: AppState) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("an HTTP client builds");
    loop {
        tokio::time::sleep(WEBHOOKS_EVERY).await;
        let hooks = match state.store.list_webhooks().await {
            Ok(hooks) => hooks,
            Err(e) => {
                tracing::warn!(error = %e, "webhooks unreadable");
                continue;
            }
        };
        for hook in hooks {
            if let Err(e) = deliver_pending(&state, &client, &hook).await {
                tracing::warn!(webhook = hook.id, error = %e, "webhook delivery stopped");
            }
        }
    }
}

/// Whether a webhook wants a topic: it lists a prefix of it, or lists nothing.
pub fn wants(topics: &[String], topic: &str) -> bool {
    topics.is_empty() || topics.iter().any(|t| topic.starts_with(t.as_str()))
}

/// The signature header value of a body: `sha256=` and the hex HMAC-SHA256 under the secret.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!("sha256={}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

async fn deliver_pending(state: &AppState, client: &reqwest::Client, hook: &Webhook) -> Result<(), linli_store::StoreError> {
    let messages = state.store.outbox_after(hook.cursor, 100).await?;
    for message in messages {
        let status = if wants(&hook.topics, &message.topic) { deliver(client, hook, &message).await } else { "skipped".to_string() };
        state.store.advance_webhook(hook.id, message.id, &status).await?;
        if status.starts_with("failed") {
            tracing::warn!(webhook = hook.id, message = message.id, %status, "webhook message dropped after retries");
        }
    }
    Ok(())
}

async fn deliver(client: &reqwest::Client, hook: &Webhook, message: &OutboxMessage) -> String {
    let body = serde_json::to_vec(message).expect("outbox messages serialize");
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
        }
        let timestamp = (message.at / 1000).to_string();
        let response = client
            .post(&hook.url)
            .header("content-type", "application/json")
            .header("x-linli-topic", &message.topic)
            .header("x-linli-delivery", message.id.to_string())
            .header("x-linli-timestamp", &timestamp)
            .header("x-linli-signature", signature(&hook.secret, &timestamp, &body))
            .body(body.clone())
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => return format!("delivered {}", r.status().as_u16()),
            Ok(r) => last = format!("http {}", r.status().as_u16()),
            Err(e) => last = e.to_string(),
        }
    }
    format!("failed after {ATTEMPTS} attempts: {last}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_a_known_vector_and_topics_filter() {
        // HMAC-SHA256("key", "1.body"), computed independently with Python's hmac module.
        assert_eq!(signature("key", "1", b"body"), "sha256=91b5374b153842ad05b2c4eab9349b8321b14703165bd3fb8b034dfb8be98ae5");
        assert!(wants(&[], "order.created"));
        assert!(wants(&["order.".into()], "order.created"));
        assert!(!wants(&["whistle.".into()], "order.created"));
    }
}
