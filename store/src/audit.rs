//! The audit log: append and read, never update or delete.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select, Set,
    TransactionTrait,
};
use serde_json::Value as Json;

use crate::entity::audit_log;
use crate::{AuditEvent, Store, StoreError, TenantId, now};

#[derive(Clone, Debug)]
pub struct NewAuditEvent {
    /// `None` for platform events.
    pub tenant: Option<TenantId>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub decision: Option<String>,
    pub details: Json,
}

/// Whose records a query reads: one tenant's, or the platform's own (tenant NULL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditScope {
    Tenant(TenantId),
    Platform,
}

/// Filters for [`Store::audit_events`]; all optional. Oldest (lowest sequence) first.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Before.
    pub until: Option<DateTime<Utc>>,
    /// Only records with a sequence id greater than this (paging).
    pub after_seq: Option<i64>,
    pub limit: Option<u64>,
}

/// Pages through an audit export in sequence order; see [`Store::audit_export`].
#[derive(Clone, Debug)]
pub struct AuditExport {
    store: Store,
    scope: AuditScope,
    filter: AuditFilter,
    page_size: u64,
    done: bool,
}

impl AuditExport {
    /// The next page, or `None` when the export is complete.
    pub async fn next_page(&mut self) -> Result<Option<Vec<AuditEvent>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let mut filter = self.filter.clone();
        filter.limit = Some(self.page_size);
        let page = self.store.audit_events(self.scope, filter).await?;
        if (page.len() as u64) < self.page_size {
            self.done = true;
        }
        match page.last() {
            Some(last) => {
                self.filter.after_seq = Some(last.seq);
                Ok(Some(page))
            }
            None => {
                self.done = true;
                Ok(None)
            }
        }
    }
}

impl Store {
    /// Appends a record; the store stamps `at` and the sequence id.
    pub async fn append_audit(&self, event: NewAuditEvent) -> Result<AuditEvent, StoreError> {
        Ok(audit_log::ActiveModel {
            tenant_id: Set(event.tenant.map(TenantId::as_uuid)),
            actor: Set(event.actor),
            action: Set(event.action),
            target: Set(event.target),
            decision: Set(event.decision),
            details: Set(event.details),
            at: Set(now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?)
    }

    /// Appends several records in one transaction, in order; the store stamps `at` and the
    /// sequence ids. Nothing is written when one of them fails.
    pub async fn append_audit_batch(&self, events: Vec<NewAuditEvent>) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let at = now();
        let rows = events.into_iter().map(|event| audit_log::ActiveModel {
            tenant_id: Set(event.tenant.map(TenantId::as_uuid)),
            actor: Set(event.actor),
            action: Set(event.action),
            target: Set(event.target),
            decision: Set(event.decision),
            details: Set(event.details),
            at: Set(at),
            ..Default::default()
        });
        let txn = self.db.begin().await?;
        audit_log::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The scope's records matching `filter`, in sequence order.
    pub async fn audit_events(
        &self,
        scope: AuditScope,
        filter: AuditFilter,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let mut query = scoped(scope);
        if let Some(actor) = filter.actor {
            query = query.filter(audit_log::Column::Actor.eq(actor));
        }
        if let Some(action) = filter.action {
            query = query.filter(audit_log::Column::Action.eq(action));
        }
        if let Some(since) = filter.since {
            query = query.filter(audit_log::Column::At.gte(since));
        }
        if let Some(until) = filter.until {
            query = query.filter(audit_log::Column::At.lt(until));
        }
        if let Some(after) = filter.after_seq {
            query = query.filter(audit_log::Column::Seq.gt(after));
        }
        if let Some(limit) = filter.limit {
            query = query.limit(limit);
        }
        Ok(query
            .order_by_asc(audit_log::Column::Seq)
            .all(&self.db)
            .await?)
    }

    /// Streams the scope's records matching `filter` (its `limit` is ignored) in pages of
    /// `page_size`, so an export never holds the whole log in memory.
    pub fn audit_export(
        &self,
        scope: AuditScope,
        filter: AuditFilter,
        page_size: u64,
    ) -> AuditExport {
        AuditExport {
            store: self.clone(),
            scope,
            filter: AuditFilter {
                limit: None,
                ..filter
            },
            page_size: page_size.max(1),
            done: false,
        }
    }
}

fn scoped(scope: AuditScope) -> Select<audit_log::Entity> {
    match scope {
        AuditScope::Tenant(tenant) => {
            audit_log::Entity::find().filter(audit_log::Column::TenantId.eq(tenant.as_uuid()))
        }
        AuditScope::Platform => {
            audit_log::Entity::find().filter(audit_log::Column::TenantId.is_null())
        }
    }
}
