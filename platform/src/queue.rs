//! The session queue: how workers learn that a session waits.
//!
//! The database stays the source of truth. A queue entry says "session S of tenant T may be
//! waiting"; a worker that receives one claims through the store ([`aoi_store::Store::claim_session`],
//! which hands each queued session to exactly one worker under a lease) and acknowledges the
//! entry afterwards. An entry that is lost (a Redis flush, a restart) costs latency only: the
//! reconciler ([`crate::worker`]) re-enqueues every session the store says is queued, and
//! sends sessions whose lease expired back to the queue first.
//!
//! Two implementations: [`InProcessQueue`] (a tokio channel, for one process) and
//! [`RedisQueue`] (a Redis stream `<prefix>:sessions` with one consumer group; at-least-once
//! delivery, entries a dead consumer held are taken over with XAUTOCLAIM once idle longer
//! than the lease).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::AsyncCommands as _;
use redis::streams::{StreamAutoClaimReply, StreamReadReply};
use tokio::sync::{Mutex, mpsc};
use uuid::Uuid;

/// Which session an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRef {
    pub tenant_id: Uuid,
    pub session_id: Uuid,
}

/// One received entry; acknowledge it with [`SessionQueue::ack`] once handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub session: SessionRef,
    /// The queue's own id of the entry (the stream id for Redis).
    pub receipt: String,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum QueueError {
    #[error("the session queue is unavailable: {0}")]
    Unavailable(String),
}

impl From<redis::RedisError> for QueueError {
    fn from(e: redis::RedisError) -> Self {
        QueueError::Unavailable(format!("redis: {e}"))
    }
}

/// A queue of session references with at-least-once delivery.
#[async_trait]
pub trait SessionQueue: Send + Sync {
    async fn enqueue(&self, session: SessionRef) -> Result<(), QueueError>;
    /// The next entry for `consumer`, waiting up to about `wait`; `None` when nothing came.
    async fn dequeue(&self, consumer: &str, wait: Duration)
    -> Result<Option<Delivery>, QueueError>;
    /// Done with the entry: it is not delivered again.
    async fn ack(&self, delivery: &Delivery) -> Result<(), QueueError>;
    /// Still working on the entry: keep others from taking it over.
    async fn renew(&self, consumer: &str, delivery: &Delivery) -> Result<(), QueueError>;
}

/// A tokio channel; entries live as long as the process.
pub struct InProcessQueue {
    tx: mpsc::UnboundedSender<SessionRef>,
    rx: Mutex<mpsc::UnboundedReceiver<SessionRef>>,
}

impl InProcessQueue {
    pub fn new() -> Arc<InProcessQueue> {
        let (tx, rx) = mpsc::unbounded_channel();
        Arc::new(InProcessQueue {
            tx,
            rx: Mutex::new(rx),
        })
    }
}

#[async_trait]
impl SessionQueue for InProcessQueue {
    async fn enqueue(&self, session: SessionRef) -> Result<(), QueueError> {
        self.tx
            .send(session)
            .map_err(|_| QueueError::Unavailable("the in-process queue is closed".into()))
    }

    async fn dequeue(
        &self,
        _consumer: &str,
        wait: Duration,
    ) -> Result<Option<Delivery>, QueueError> {
        let mut rx = self.rx.lock().await;
        match tokio::time::timeout(wait, rx.recv()).await {
            Ok(Some(session)) => Ok(Some(Delivery {
                session,
                receipt: session.session_id.to_string(),
            })),
            Ok(None) | Err(_) => Ok(None),
        }
    }

    async fn ack(&self, _delivery: &Delivery) -> Result<(), QueueError> {
        Ok(())
    }

    async fn renew(&self, _consumer: &str, _delivery: &Delivery) -> Result<(), QueueError> {
        Ok(())
    }
}

/// The consumer group every agent worker reads the stream with.
pub const GROUP: &str = "agent-workers";

/// A Redis stream with one consumer group.
pub struct RedisQueue {
    conn: redis::aio::MultiplexedConnection,
    key: String,
    /// Entries idle longer than this in another consumer's pending list are taken over.
    reclaim_after: Duration,
}

impl RedisQueue {
    /// Connects and creates the stream and its group when missing. Fails with what to check
    /// when Redis is unreachable.
    pub async fn connect(
        url: &str,
        key_prefix: &str,
        reclaim_after: Duration,
    ) -> Result<RedisQueue, QueueError> {
        let client = redis::Client::open(url)
            .map_err(|e| QueueError::Unavailable(format!("redis url {url}: {e}")))?;
        let conn = tokio::time::timeout(
            Duration::from_secs(5),
            client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| QueueError::Unavailable(format!("no answer from redis at {url} within 5s")))?
        .map_err(|e| {
            QueueError::Unavailable(format!(
                "cannot connect to redis at {url} ({e}): start Redis or fix redis.url"
            ))
        })?;
        let queue = RedisQueue {
            conn,
            key: format!("{key_prefix}:sessions"),
            reclaim_after,
        };
        queue.ensure_group().await?;
        Ok(queue)
    }

    /// The stream's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Creates the group (and the stream) unless it exists; needed again after a flush.
    pub async fn ensure_group(&self) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.key)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        match created {
            Ok(()) => Ok(()),
            Err(e) if e.to_string().contains("BUSYGROUP") => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn autoclaim(&self, consumer: &str) -> redis::RedisResult<Option<Delivery>> {
        let mut conn = self.conn.clone();
        let idle_ms = u64::try_from(self.reclaim_after.as_millis()).unwrap_or(u64::MAX);
        let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(&self.key)
            .arg(GROUP)
            .arg(consumer)
            .arg(idle_ms)
            .arg("0-0")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut conn)
            .await?;
        Ok(reply.claimed.into_iter().find_map(|e| to_delivery(&e)))
    }

    async fn read_new(&self, consumer: &str) -> redis::RedisResult<Option<Delivery>> {
        let mut conn = self.conn.clone();
        let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(1)
            .arg("STREAMS")
            .arg(&self.key)
            .arg(">")
            .query_async(&mut conn)
            .await?;
        Ok(reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .find_map(|e| to_delivery(&e)))
    }

    async fn try_dequeue(&self, consumer: &str) -> redis::RedisResult<Option<Delivery>> {
        if let Some(d) = self.autoclaim(consumer).await? {
            return Ok(Some(d));
        }
        self.read_new(consumer).await
    }
}

fn to_delivery(entry: &redis::streams::StreamId) -> Option<Delivery> {
    let tenant: String = entry.get("tenant")?;
    let session: String = entry.get("session")?;
    Some(Delivery {
        session: SessionRef {
            tenant_id: tenant.parse().ok()?,
            session_id: session.parse().ok()?,
        },
        receipt: entry.id.clone(),
    })
}

fn missing_group(e: &redis::RedisError) -> bool {
    e.to_string().contains("NOGROUP")
}

#[async_trait]
impl SessionQueue for RedisQueue {
    async fn enqueue(&self, session: SessionRef) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let _: String = conn
            .xadd(
                &self.key,
                "*",
                &[
                    ("tenant", session.tenant_id.to_string()),
                    ("session", session.session_id.to_string()),
                ],
            )
            .await?;
        Ok(())
    }

    async fn dequeue(
        &self,
        consumer: &str,
        wait: Duration,
    ) -> Result<Option<Delivery>, QueueError> {
        let got = match self.try_dequeue(consumer).await {
            Err(e) if missing_group(&e) => {
                // The stream was flushed: recreate the group; the reconciler refills it.
                self.ensure_group().await?;
                self.try_dequeue(consumer).await?
            }
            other => other?,
        };
        if got.is_none() {
            tokio::time::sleep(wait.min(Duration::from_millis(200))).await;
        }
        Ok(got)
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let acked: redis::RedisResult<i64> = conn.xack(&self.key, GROUP, &[&delivery.receipt]).await;
        match acked {
            Ok(_) => Ok(()),
            Err(e) if missing_group(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn renew(&self, consumer: &str, delivery: &Delivery) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let renewed: redis::RedisResult<redis::Value> = redis::cmd("XCLAIM")
            .arg(&self.key)
            .arg(GROUP)
            .arg(consumer)
            .arg(0)
            .arg(&delivery.receipt)
            .arg("JUSTID")
            .query_async(&mut conn)
            .await;
        match renewed {
            Ok(_) => Ok(()),
            Err(e) if missing_group(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
