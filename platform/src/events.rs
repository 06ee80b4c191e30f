//! Live events of sessions (steps, state changes, approvals), fanned out to SSE and gRPC
//! streams: an in-process broadcast, or Redis pub/sub across replicas when configured.
//!
//! With `redis.url`, every event published in this process is broadcast locally at once and
//! also published, in order, on the channel `<prefix>:events` as `{"origin","event"}`. Every
//! process subscribes to that channel and re-broadcasts locally what other processes
//! published; its own messages (same `origin`) are skipped, so no subscriber sees an event
//! twice. Live events are best effort: a lost message costs only liveness, since the store
//! keeps every step and SSE replays them on connect. The subscriber reconnects on its own.

use std::time::Duration;

use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot};

/// One live event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveEvent {
    pub tenant_id: uuid::Uuid,
    pub session_id: Option<uuid::Uuid>,
    pub incident_id: Option<uuid::Uuid>,
    /// `step`, `session_state`, `incident_state`, `approval`.
    pub kind: String,
    pub payload: serde_json::Value,
}

/// What travels on the Redis channel.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    /// The publishing bus; a bus skips its own messages.
    origin: String,
    event: LiveEvent,
}

/// The fan-out of live events.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<LiveEvent>,
    /// Feeds the Redis publisher task (in order), when fanning out across replicas.
    remote: Option<mpsc::UnboundedSender<LiveEvent>>,
}

/// Why the Redis fan-out could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("live events over redis: {0}")]
pub struct EventBusError(pub String);

/// How long [`EventBus::redis`] waits for its first subscription before going on (the
/// subscriber keeps trying in the background).
const FIRST_SUBSCRIBE_WAIT: Duration = Duration::from_secs(5);

impl EventBus {
    pub fn in_process() -> EventBus {
        let (tx, _) = broadcast::channel(4096);
        EventBus { tx, remote: None }
    }

    /// The bus the configuration asks for: Redis pub/sub with `redis.url`, else in-process.
    pub async fn from_config(
        redis: &aoi_control::config::RedisConfig,
    ) -> Result<EventBus, EventBusError> {
        match &redis.url {
            Some(url) => EventBus::redis(url, &redis.key_prefix).await,
            None => Ok(EventBus::in_process()),
        }
    }

    /// The Redis channel of a key prefix (`<prefix>:events`, without doubling a trailing `:`).
    pub fn channel_of(key_prefix: &str) -> String {
        format!("{}:events", key_prefix.trim_end_matches(':'))
    }

    /// A bus fanned out over the Redis channel `<key_prefix>:events`. Fails only on a
    /// malformed URL; an unreachable Redis is retried in the background (and logged), after
    /// waiting up to a few seconds for the first subscription.
    pub async fn redis(url: &str, key_prefix: &str) -> Result<EventBus, EventBusError> {
        let client =
            redis::Client::open(url).map_err(|e| EventBusError(format!("redis url {url}: {e}")))?;
        let channel = EventBus::channel_of(key_prefix);
        let origin = uuid::Uuid::new_v4().simple().to_string();
        let (tx, _) = broadcast::channel(4096);
        let (remote_tx, remote_rx) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = oneshot::channel();
        tokio::spawn(subscribe_loop(
            client.clone(),
            channel.clone(),
            origin.clone(),
            tx.clone(),
            ready_tx,
        ));
        tokio::spawn(publish_loop(client, channel, origin, remote_rx));
        if tokio::time::timeout(FIRST_SUBSCRIBE_WAIT, ready_rx)
            .await
            .is_err()
        {
            tracing::warn!(
                url,
                "no redis subscription for live events yet; still trying"
            );
        }
        Ok(EventBus {
            tx,
            remote: Some(remote_tx),
        })
    }

    /// Broadcasts to this process's subscribers and, with Redis, to the other replicas.
    pub fn publish(&self, event: LiveEvent) {
        if let Some(remote) = &self.remote {
            let _ = remote.send(event.clone());
        }
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.tx.subscribe()
    }
}

/// Publishes this process's events on the channel, in order, reconnecting as needed.
async fn publish_loop(
    client: redis::Client,
    channel: String,
    origin: String,
    mut rx: mpsc::UnboundedReceiver<LiveEvent>,
) {
    let mut conn: Option<redis::aio::MultiplexedConnection> = None;
    while let Some(event) = rx.recv().await {
        let message = match serde_json::to_string(&Envelope {
            origin: origin.clone(),
            event,
        }) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "live event not serialisable; not fanned out");
                continue;
            }
        };
        // One retry on a fresh connection; then the event stays local.
        for attempt in 0..2 {
            if conn.is_none() {
                match client.get_multiplexed_async_connection().await {
                    Ok(c) => conn = Some(c),
                    Err(e) => {
                        tracing::warn!(error = %e, "redis unreachable; live event stays local");
                        break;
                    }
                }
            }
            let Some(c) = conn.as_mut() else { break };
            let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(&message)
                .query_async(c)
                .await;
            match sent {
                Ok(_) => break,
                Err(e) => {
                    conn = None;
                    if attempt == 1 {
                        tracing::warn!(error = %e, "live event not published on redis");
                    }
                }
            }
        }
    }
}

/// Subscribes to the channel and re-broadcasts other processes' events locally; reconnects
/// with a growing pause (up to 5 s) when the subscription breaks.
async fn subscribe_loop(
    client: redis::Client,
    channel: String,
    origin: String,
    tx: broadcast::Sender<LiveEvent>,
    ready: oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut pause = Duration::from_millis(100);
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    pause = Duration::from_millis(100);
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                    let mut messages = pubsub.into_on_message();
                    while let Some(msg) = messages.next().await {
                        let envelope: Envelope = match serde_json::from_slice(
                            msg.get_payload_bytes(),
                        ) {
                            Ok(e) => e,
                            Err(e) => {
                                tracing::warn!(error = %e, "unreadable live event on redis; skipped");
                                continue;
                            }
                        };
                        if envelope.origin != origin {
                            let _ = tx.send(envelope.event);
                        }
                    }
                    tracing::warn!("redis live-event subscription ended; reconnecting");
                }
                Err(e) => tracing::warn!(error = %e, "redis subscribe failed; retrying"),
            },
            Err(e) => tracing::warn!(error = %e, "redis unreachable for live events; retrying"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64) -> LiveEvent {
        LiveEvent {
            tenant_id: uuid::Uuid::nil(),
            session_id: None,
            incident_id: None,
            kind: "step".to_owned(),
            payload: serde_json::json!({ "index": n }),
        }
    }

    #[test]
    fn channel_names() {
        assert_eq!(EventBus::channel_of("aoi:"), "aoi:events");
        assert_eq!(EventBus::channel_of("x"), "x:events");
    }

    #[tokio::test]
    async fn in_process_delivers() {
        let bus = EventBus::in_process();
        let mut rx = bus.subscribe();
        bus.publish(event(1));
        assert_eq!(rx.recv().await.unwrap(), event(1));
    }

    /// Two buses on one prefix: each sees the other's events once, and its own once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_fans_out_across_buses_without_doubles() {
        let url = std::env::var("AOI_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let prefix = format!("aoi-test-events-{}", uuid::Uuid::new_v4().simple());
        let a = EventBus::redis(&url, &prefix).await.unwrap();
        let b = EventBus::redis(&url, &prefix).await.unwrap();
        let mut on_a = a.subscribe();
        let mut on_b = b.subscribe();
        // Both subscriptions must exist, or this test cannot tell anything: fail clearly.
        let mut conn = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|e| panic!("this test needs Redis at {url}: {e}"));
        let counts: Vec<(String, i64)> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(EventBus::channel_of(&prefix))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(counts[0].1, 2, "both buses subscribed");
        for n in 0..5 {
            a.publish(event(n));
        }
        let wait = Duration::from_secs(5);
        for n in 0..5 {
            assert_eq!(
                tokio::time::timeout(wait, on_b.recv())
                    .await
                    .unwrap()
                    .unwrap(),
                event(n)
            );
            assert_eq!(
                tokio::time::timeout(wait, on_a.recv())
                    .await
                    .unwrap()
                    .unwrap(),
                event(n)
            );
        }
        // Nothing more: a's own events did not come back to it through Redis.
        assert!(
            tokio::time::timeout(Duration::from_millis(500), on_a.recv())
                .await
                .is_err()
        );
        assert!(
            tokio::time::timeout(Duration::from_millis(100), on_b.recv())
                .await
                .is_err()
        );
    }
}
