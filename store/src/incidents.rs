//! Incidents (deduplicated by Alertmanager fingerprint while active) and their alerts.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::OnConflict,
};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::entity::{alert, incident};
use crate::{Alert, AlertStatus, Incident, IncidentState, Store, StoreError, TenantId, now};

/// An incident opened by hand (not from an alert).
#[derive(Clone, Debug)]
pub struct NewIncident {
    pub fingerprint: String,
    pub title: String,
    pub severity: String,
    pub service: Option<String>,
    pub namespace: Option<String>,
    pub labels: Json,
}

/// One alert from an Alertmanager webhook, already parsed.
#[derive(Clone, Debug)]
pub struct IncomingAlert {
    pub fingerprint: String,
    pub status: AlertStatus,
    /// Used when the alert opens an incident.
    pub title: String,
    pub severity: String,
    pub service: Option<String>,
    pub namespace: Option<String>,
    pub labels: Json,
    pub annotations: Json,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
}

/// What an ingested alert did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertIngest {
    /// The incident as it stands after the alert.
    pub incident: Incident,
    pub alert: Alert,
    /// True when this alert opened the incident.
    pub created: bool,
}

/// Filters for [`Store::incidents`]; all optional, combined with AND. Newest first.
#[derive(Clone, Debug, Default)]
pub struct IncidentFilter {
    pub state: Option<IncidentState>,
    pub severity: Option<String>,
    pub service: Option<String>,
    /// Created at or after.
    pub since: Option<DateTime<Utc>>,
    pub limit: Option<u64>,
}

impl Store {
    /// Opens an incident by hand; `Conflict` when an active one has this fingerprint.
    pub async fn create_incident(
        &self,
        tenant: TenantId,
        new: NewIncident,
    ) -> Result<Incident, StoreError> {
        self.require_tenant(tenant).await?;
        let at = now();
        incident::ActiveModel {
            id: Set(Uuid::new_v4()),
            tenant_id: Set(tenant.as_uuid()),
            dedup_key: Set(Some(new.fingerprint.clone())),
            fingerprint: Set(new.fingerprint),
            title: Set(new.title),
            severity: Set(new.severity),
            service: Set(new.service),
            namespace: Set(new.namespace),
            state: Set(IncidentState::Open),
            labels: Set(new.labels),
            created_at: Set(at),
            updated_at: Set(at),
            resolved_at: Set(None),
        }
        .insert(&self.db)
        .await
        .map_err(crate::error::unique_as(
            "an active incident already has this fingerprint",
        ))
    }

    /// Records an alert: a firing alert joins the active incident with its fingerprint or opens
    /// one; a resolved alert resolves that incident. `None` for a resolved alert with no active
    /// incident (nothing to attach it to).
    pub async fn ingest_alert(
        &self,
        tenant: TenantId,
        alert_in: IncomingAlert,
    ) -> Result<Option<AlertIngest>, StoreError> {
        self.require_tenant(tenant).await?;
        let at = now();
        let active = self.active_incident(tenant, &alert_in.fingerprint).await?;
        let (incident, created) = match (alert_in.status, active) {
            (AlertStatus::Resolved, None) => return Ok(None),
            (AlertStatus::Resolved, Some(found)) => {
                incident::Entity::update_many()
                    .set(incident::ActiveModel {
                        state: Set(IncidentState::Resolved),
                        dedup_key: Set(None),
                        resolved_at: Set(Some(at)),
                        updated_at: Set(at),
                        ..Default::default()
                    })
                    .filter(incident::Column::TenantId.eq(tenant.as_uuid()))
                    .filter(incident::Column::Id.eq(found.id))
                    .filter(incident::Column::DedupKey.eq(alert_in.fingerprint.as_str()))
                    .exec(&self.db)
                    .await?;
                (found, false)
            }
            (AlertStatus::Firing, Some(found)) => {
                incident::Entity::update_many()
                    .set(incident::ActiveModel {
                        updated_at: Set(at),
                        ..Default::default()
                    })
                    .filter(incident::Column::TenantId.eq(tenant.as_uuid()))
                    .filter(incident::Column::Id.eq(found.id))
                    .exec(&self.db)
                    .await?;
                (found, false)
            }
            (AlertStatus::Firing, None) => {
                let inserted = incident::Entity::insert(incident::ActiveModel {
                    id: Set(Uuid::new_v4()),
                    tenant_id: Set(tenant.as_uuid()),
                    fingerprint: Set(alert_in.fingerprint.clone()),
                    dedup_key: Set(Some(alert_in.fingerprint.clone())),
                    title: Set(alert_in.title.clone()),
                    severity: Set(alert_in.severity.clone()),
                    service: Set(alert_in.service.clone()),
                    namespace: Set(alert_in.namespace.clone()),
                    state: Set(IncidentState::Open),
                    labels: Set(alert_in.labels.clone()),
                    created_at: Set(at),
                    updated_at: Set(at),
                    resolved_at: Set(None),
                })
                .on_conflict(
                    OnConflict::columns([incident::Column::TenantId, incident::Column::DedupKey])
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(&self.db)
                .await?;
                // Losing the race to a concurrent alert is fine: join the winner's incident.
                let found = self
                    .active_incident(tenant, &alert_in.fingerprint)
                    .await?
                    .ok_or_else(|| StoreError::conflict("incident resolved while opening it"))?;
                (found, inserted == 1)
            }
        };
        let alert = alert::ActiveModel {
            id: Set(Uuid::new_v4()),
            tenant_id: Set(tenant.as_uuid()),
            incident_id: Set(incident.id),
            fingerprint: Set(alert_in.fingerprint),
            status: Set(alert_in.status),
            labels: Set(alert_in.labels),
            annotations: Set(alert_in.annotations),
            starts_at: Set(crate::truncate_micros(alert_in.starts_at)),
            ends_at: Set(alert_in.ends_at.map(crate::truncate_micros)),
            received_at: Set(at),
        }
        .insert(&self.db)
        .await?;
        let incident = self
            .incident(tenant, incident.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Some(AlertIngest {
            incident,
            alert,
            created,
        }))
    }

    /// Moves an incident along the state machine ([`IncidentState::can_move_to`]).
    /// `InvalidTransition` for a move it forbids, `Conflict` when another writer moved it first.
    pub async fn update_incident_state(
        &self,
        tenant: TenantId,
        id: Uuid,
        to: IncidentState,
    ) -> Result<Incident, StoreError> {
        let current = self
            .incident(tenant, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if !current.state.can_move_to(to) {
            return Err(StoreError::InvalidTransition {
                from: current.state.as_str().to_owned(),
                to: to.as_str().to_owned(),
            });
        }
        let at = now();
        let mut change = incident::ActiveModel {
            state: Set(to),
            updated_at: Set(at),
            ..Default::default()
        };
        if !to.is_active() {
            change.dedup_key = Set(None);
        }
        if to == IncidentState::Resolved {
            change.resolved_at = Set(Some(at));
        }
        let done = incident::Entity::update_many()
            .set(change)
            .filter(incident::Column::TenantId.eq(tenant.as_uuid()))
            .filter(incident::Column::Id.eq(id))
            .filter(incident::Column::State.eq(current.state))
            .exec(&self.db)
            .await?;
        if done.rows_affected == 0 {
            return Err(StoreError::conflict("the incident changed state meanwhile"));
        }
        self.incident(tenant, id).await?.ok_or(StoreError::NotFound)
    }

    pub async fn incident(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<Incident>, StoreError> {
        Ok(incident::Entity::find()
            .filter(incident::Column::TenantId.eq(tenant.as_uuid()))
            .filter(incident::Column::Id.eq(id))
            .one(&self.db)
            .await?)
    }

    /// The tenant's incidents matching `filter`, newest first.
    pub async fn incidents(
        &self,
        tenant: TenantId,
        filter: IncidentFilter,
    ) -> Result<Vec<Incident>, StoreError> {
        let mut query =
            incident::Entity::find().filter(incident::Column::TenantId.eq(tenant.as_uuid()));
        if let Some(state) = filter.state {
            query = query.filter(incident::Column::State.eq(state));
        }
        if let Some(severity) = filter.severity {
            query = query.filter(incident::Column::Severity.eq(severity));
        }
        if let Some(service) = filter.service {
            query = query.filter(incident::Column::Service.eq(service));
        }
        if let Some(since) = filter.since {
            query = query.filter(incident::Column::CreatedAt.gte(since));
        }
        if let Some(limit) = filter.limit {
            query = query.limit(limit);
        }
        Ok(query
            .order_by_desc(incident::Column::CreatedAt)
            .order_by_desc(incident::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// The alerts attached to an incident, oldest first (empty for another tenant's incident).
    pub async fn incident_alerts(
        &self,
        tenant: TenantId,
        incident_id: Uuid,
    ) -> Result<Vec<Alert>, StoreError> {
        Ok(alert::Entity::find()
            .filter(alert::Column::TenantId.eq(tenant.as_uuid()))
            .filter(alert::Column::IncidentId.eq(incident_id))
            .order_by_asc(alert::Column::ReceivedAt)
            .order_by_asc(alert::Column::Id)
            .all(&self.db)
            .await?)
    }

    async fn active_incident(
        &self,
        tenant: TenantId,
        fingerprint: &str,
    ) -> Result<Option<Incident>, StoreError> {
        Ok(incident::Entity::find()
            .filter(incident::Column::TenantId.eq(tenant.as_uuid()))
            .filter(incident::Column::DedupKey.eq(fingerprint))
            .one(&self.db)
            .await?)
    }
}
