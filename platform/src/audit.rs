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

/// Records that an API key authenticated a request (`api_key.use`).
pub async fn record_key_use(
    platform: &Platform,
    principal: &Principal,
    method: &str,
    path: &str,
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
            action: "api_key.use".into(),
            target: format!("{method} {path}"),
            decision: None,
            details: json!({ "key_name": principal.display }),
        },
    )
    .await
    .map(|_| ())
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
