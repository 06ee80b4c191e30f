//! The audit trail: recording (every service write calls [`record`]) and reading it back
//! (query with filters, JSONL export).

use aoi_control::authz::Authorized;
use aoi_control::{ApiError, Permission, Principal};
use aoi_store::{AuditEvent, AuditFilter, AuditScope, NewAuditEvent, TenantId};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Platform;
use crate::ports::store_error;
use crate::tenants::scope_tenant;

/// One record to append.
#[derive(Debug, Clone)]
pub struct Entry {
    pub tenant: Option<TenantId>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub decision: Option<String>,
    pub details: Value,
}

/// The actor string of a principal: `user:<id>` or `key:<id>`.
pub fn actor(principal: &Principal) -> String {
    principal.subject()
}

/// Appends one record; a failure to audit fails the operation.
pub async fn record(platform: &Platform, entry: Entry) -> Result<AuditEvent, ApiError> {
    platform
        .store
        .append_audit(NewAuditEvent {
            tenant: entry.tenant,
            actor: entry.actor,
            action: entry.action,
            target: entry.target,
            decision: entry.decision,
            details: entry.details,
        })
        .await
        .map_err(store_error("audit log"))
}

/// Most records one batch of the [`AuditSink`] writes.
const SINK_BATCH: usize = 512;
/// Records waiting in the [`AuditSink`] before callers wait for room.
const SINK_CAPACITY: usize = 16_384;
/// How long the [`AuditSink`] keeps gathering records after the first of a batch, so a steady
/// stream of usage records is written in a few larger transactions (each commit costs about as
/// much as dozens of rows). A flush ends the wait at once.
const SINK_LINGER: std::time::Duration = std::time::Duration::from_millis(20);

enum SinkCommand {
    Record(NewAuditEvent),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Usage records (`api_key.use`, `inference.chat`) are frequent and change nothing, so they are
/// written behind the request in batches: one transaction per batch, formed from whatever
/// arrived while the previous batch was being written and within [`SINK_LINGER`] of the
/// batch's first record (at most [`SINK_BATCH`]). Decisions and writes never go through here
/// ([`record`] is synchronous and fails its operation).
///
/// Readers of the audit log call [`AuditSink::flush`] first, so a request's usage record is
/// visible to the next read in the same process. A failing database is retried once per batch;
/// records that still cannot be written are logged at error level with their count.
#[derive(Clone)]
pub struct AuditSink {
    tx: tokio::sync::mpsc::Sender<SinkCommand>,
}

impl std::fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSink").finish_non_exhaustive()
    }
}

impl AuditSink {
    /// Starts the writer task over `store`; it ends when the last sink clone is dropped.
    /// Must be called inside a tokio runtime.
    pub fn start(store: aoi_store::Store) -> AuditSink {
        let (tx, rx) = tokio::sync::mpsc::channel(SINK_CAPACITY);
        tokio::spawn(sink_loop(store, rx));
        AuditSink { tx }
    }

    /// Queues one record (waits only when the queue is full).
    pub async fn push(&self, entry: Entry) {
        let event = NewAuditEvent {
            tenant: entry.tenant,
            actor: entry.actor,
            action: entry.action,
            target: entry.target,
            decision: entry.decision,
            details: entry.details,
        };
        if self.tx.send(SinkCommand::Record(event)).await.is_err() {
            tracing::error!("audit sink stopped: a usage record was not written");
        }
    }

    /// Waits until every record queued before this call is written (or failed).
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(SinkCommand::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn sink_loop(store: aoi_store::Store, mut rx: tokio::sync::mpsc::Receiver<SinkCommand>) {
    while let Some(first) = rx.recv().await {
        let linger_until = tokio::time::Instant::now() + SINK_LINGER;
        let mut batch = Vec::new();
        let mut flushes = Vec::new();
        let mut next = Some(first);
        while let Some(command) = next.take() {
            match command {
                SinkCommand::Record(event) => batch.push(event),
                SinkCommand::Flush(done) => flushes.push(done),
            }
            // Full, or someone waits for what is queued (all of it is in the batch: the
            // channel is in order): write now.
            if batch.len() >= SINK_BATCH || !flushes.is_empty() {
                break;
            }
            next = match rx.try_recv() {
                Ok(command) => Some(command),
                Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                    tokio::time::timeout_at(linger_until, rx.recv())
                        .await
                        .ok()
                        .flatten()
                }
                Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => None,
            };
        }
        write_batch(&store, batch).await;
        for done in flushes {
            let _ = done.send(());
        }
    }
}

async fn write_batch(store: &aoi_store::Store, batch: Vec<NewAuditEvent>) {
    if batch.is_empty() {
        return;
    }
    let count = batch.len();
    let first = store.append_audit_batch(batch.clone()).await;
    let Err(first) = first else {
        return;
    };
    tracing::warn!(cause = %first, count, "audit sink: batch failed, retrying once");
    if let Err(e) = store.append_audit_batch(batch).await {
        tracing::error!(cause = %e, count, "audit sink: usage records lost");
    }
}

/// The tenant id of a principal's tenant (cached), for usage records.
async fn principal_tenant(
    platform: &Platform,
    principal: &Principal,
) -> Result<Option<TenantId>, ApiError> {
    match crate::tenants::tenant_id_of(platform, &principal.tenant).await {
        Ok(id) => Ok(Some(id)),
        Err(ApiError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Queues a usage record made by `proof`'s principal in its own tenant (decision `allowed`):
/// written by the [`AuditSink`], not before the answer.
pub async fn record_usage(
    platform: &Platform,
    proof: &Authorized,
    action: &str,
    target: &str,
    details: Value,
) -> Result<(), ApiError> {
    let principal = proof.principal();
    let tenant = principal_tenant(platform, principal).await?;
    let mut details = details;
    if let Value::Object(map) = &mut details {
        map.insert("actor_name".into(), json!(principal.display));
        map.insert("permission".into(), json!(proof.permission().name()));
    }
    platform
        .audit_sink
        .push(Entry {
            tenant,
            actor: actor(principal),
            action: action.into(),
            target: target.into(),
            decision: Some("allowed".into()),
            details,
        })
        .await;
    Ok(())
}

/// Records a write done by `proof`'s principal in its tenant (`allowed`).
pub async fn record_write(
    platform: &Platform,
    proof: &Authorized,
    tenant: Option<TenantId>,
    action: &str,
    target: &str,
    details: Value,
) -> Result<AuditEvent, ApiError> {
    let principal = proof.principal();
    let mut details = details;
    if let Value::Object(map) = &mut details {
        map.insert("actor_name".into(), json!(principal.display));
        map.insert("permission".into(), json!(proof.permission().name()));
    }
    record(
        platform,
        Entry {
            tenant,
            actor: actor(principal),
            action: action.into(),
            target: target.into(),
            decision: Some("allowed".into()),
            details,
        },
    )
    .await
}

/// Records that an API key authenticated a request (`api_key.use`), through the
/// [`AuditSink`].
pub async fn record_key_use(
    platform: &Platform,
    principal: &Principal,
    method: &str,
    path: &str,
) -> Result<(), ApiError> {
    let tenant = principal_tenant(platform, principal).await?;
    platform
        .audit_sink
        .push(Entry {
            tenant,
            actor: actor(principal),
            action: "api_key.use".into(),
            target: format!("{method} {path}"),
            decision: None,
            details: json!({ "key_name": principal.display }),
        })
        .await;
    Ok(())
}

/// Records a refused write (an authorization decision on a write).
pub async fn record_denied(
    platform: &Platform,
    principal: &Principal,
    permission: Permission,
    target: &str,
) -> Result<(), ApiError> {
    let tenant = platform
        .store
        .tenant_by_slug(principal.tenant.as_str())
        .await
        .map_err(store_error("tenant"))?
        .map(|t| t.tenant_id());
    record(
        platform,
        Entry {
            tenant,
            actor: actor(principal),
            action: "authz.denied".into(),
            target: target.into(),
            decision: Some("denied".into()),
            details: json!({ "permission": permission.name(), "actor_name": principal.display }),
        },
    )
    .await
    .map(|_| ())
}

/// Filters of `GET /api/v1/audit` (query string).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// RFC 3339; at or after.
    pub since: Option<DateTime<Utc>>,
    /// RFC 3339; before.
    pub until: Option<DateTime<Utc>>,
    /// Only records after this sequence number (paging).
    pub after_seq: Option<i64>,
    /// At most this many records (default 100, at most 1000).
    pub limit: Option<u64>,
}

impl AuditQuery {
    fn filter(&self) -> AuditFilter {
        AuditFilter {
            actor: self.actor.clone(),
            action: self.action.clone(),
            since: self.since,
            until: self.until,
            after_seq: self.after_seq,
            limit: Some(self.limit.unwrap_or(100).clamp(1, 1000)),
        }
    }
}

/// The tenant's audit records matching `query`, oldest first.
pub async fn query(
    platform: &Platform,
    proof: &Authorized,
    query: &AuditQuery,
) -> Result<Vec<AuditEvent>, ApiError> {
    proof.require(Permission::ReadAudit)?;
    let tenant = scope_tenant(platform, proof).await?;
    platform.audit_sink.flush().await;
    platform
        .store
        .audit_events(AuditScope::Tenant(tenant), query.filter())
        .await
        .map_err(store_error("audit log"))
}

/// The tenant's audit records matching `query` (its limit ignored) as JSON Lines.
pub async fn export_jsonl(
    platform: &Platform,
    proof: &Authorized,
    query: &AuditQuery,
) -> Result<String, ApiError> {
    proof.require(Permission::ReadAudit)?;
    let tenant = scope_tenant(platform, proof).await?;
    platform.audit_sink.flush().await;
    let mut export = platform
        .store
        .audit_export(AuditScope::Tenant(tenant), query.filter(), 500);
    let mut out = String::new();
    while let Some(page) = export.next_page().await.map_err(store_error("audit log"))? {
        for event in page {
            let line = serde_json::to_string(&event)
                .map_err(|e| crate::ports::internal("audit export", &e.to_string()))?;
            out.push_str(&line);
            out.push('\n');
        }
    }
    Ok(out)
}
