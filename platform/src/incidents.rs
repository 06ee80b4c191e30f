//! Incidents: opened by hand (plain JSON) or from Alertmanager webhooks (v4, grouped;
//! deduplicated by fingerprint; a resolved alert resolves its incident), listed and read.

use std::collections::BTreeMap;

use aoi_control::authz::Authorized;
use aoi_control::{ApiError, Permission};
use aoi_store::{
    Alert, AlertStatus, Incident, IncidentFilter, IncidentState, IncomingAlert, NewIncident,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::Platform;
use crate::audit;
use crate::ports::store_error;
use crate::tenants::scope_tenant;

/// The body of `POST /api/v1/incidents`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIncident {
    pub title: String,
    /// critical, warning, info... (default `warning`).
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    /// Deduplication key; a random one when absent.
    #[serde(default)]
    pub fingerprint: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// Query filters of `GET /api/v1/incidents`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentQuery {
    pub state: Option<IncidentState>,
    pub severity: Option<String>,
    pub service: Option<String>,
    /// RFC 3339: created at or after.
    pub since: Option<DateTime<Utc>>,
    /// Default 100, at most 1000.
    pub limit: Option<u64>,
}

/// An incident with its alerts.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: Incident,
    pub alerts: Vec<Alert>,
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() || value.chars().count() > max {
        return Err(ApiError::invalid_input(
            field,
            format!("use 1 to {max} characters"),
        ));
    }
    Ok(())
}

/// Opens an incident by hand.
pub async fn create(
    platform: &Platform,
    proof: &Authorized,
    input: CreateIncident,
) -> Result<Incident, ApiError> {
    proof.require(Permission::WriteIncidents)?;
    check_text("title", &input.title, 500)?;
    let tenant = scope_tenant(platform, proof).await?;
    let fingerprint = input
        .fingerprint
        .clone()
        .unwrap_or_else(|| format!("manual-{}", Uuid::new_v4()));
    check_text("fingerprint", &fingerprint, 256)?;
    let incident = platform
        .store
        .create_incident(
            tenant,
            NewIncident {
                fingerprint,
                title: input.title,
                severity: input.severity.unwrap_or_else(|| "warning".into()),
                service: input.service,
                namespace: input.namespace,
                labels: json!(input.labels),
            },
        )
        .await
        .map_err(store_error("incident"))?;
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "incident.create",
        &format!("incident:{}", incident.id),
        json!({ "title": incident.title }),
    )
    .await?;
    // The console's incident list shows new incidents as they open.
    crate::sessions::publish_incident_state(platform, tenant, incident.id, incident.state);
    Ok(incident)
}

/// The tenant's incidents, newest first.
pub async fn list(
    platform: &Platform,
    proof: &Authorized,
    query: IncidentQuery,
) -> Result<Vec<Incident>, ApiError> {
    proof.require(Permission::ReadIncidents)?;
    let tenant = scope_tenant(platform, proof).await?;
    platform
        .store
        .incidents(
            tenant,
            IncidentFilter {
                state: query.state,
                severity: query.severity,
                service: query.service,
                since: query.since,
                limit: Some(query.limit.unwrap_or(100).clamp(1, 1000)),
            },
        )
        .await
        .map_err(store_error("incidents"))
}

/// One incident of the tenant with its alerts; another tenant's answers `NotFound`.
pub async fn get(
    platform: &Platform,
    proof: &Authorized,
    id: Uuid,
) -> Result<IncidentDetail, ApiError> {
    proof.require(Permission::ReadIncidents)?;
    let tenant = scope_tenant(platform, proof).await?;
    let what = format!("incident {id}");
    let incident = platform
        .store
        .incident(tenant, id)
        .await
        .map_err(store_error(what.clone()))?
        .ok_or(ApiError::NotFound { what: what.clone() })?;
    let alerts = platform
        .store
        .incident_alerts(tenant, id)
        .await
        .map_err(store_error(what))?;
    Ok(IncidentDetail { incident, alerts })
}

/// Alertmanager's webhook payload, version 4. Unknown fields are tolerated here (and only
/// here): Alertmanager adds fields across releases and a webhook must keep working.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerPayload {
    pub version: String,
    #[serde(default)]
    pub group_key: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub receiver: Option<String>,
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(default, rename = "externalURL")]
    pub external_url: Option<String>,
    pub alerts: Vec<AlertmanagerAlert>,
}

/// One alert of an Alertmanager group.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerAlert {
    /// `firing` or `resolved`.
    pub status: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// What one alert did.
#[derive(Debug, Clone, Serialize)]
pub struct IngestedAlert {
    pub fingerprint: String,
    pub status: String,
    /// The incident it joined, opened or resolved; none for a resolved alert that matched no
    /// open incident.
    pub incident_id: Option<Uuid>,
    pub created: bool,
}

/// The answer of the webhook.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    pub alerts: Vec<IngestedAlert>,
}

fn fingerprint_of(alert: &AlertmanagerAlert) -> String {
    match &alert.fingerprint {
        Some(f) if !f.is_empty() => f.clone(),
        // Alertmanager always sends one; otherwise the sorted label set identifies it.
        _ => alert
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// Ingests a webhook: every alert is checked first, then recorded (nothing half-written on
/// bad input).
pub async fn ingest_alertmanager(
    platform: &Platform,
    proof: &Authorized,
    payload: AlertmanagerPayload,
) -> Result<IngestReport, ApiError> {
    proof.require(Permission::WriteIncidents)?;
    if payload.version != "4" {
        return Err(ApiError::invalid_input(
            "version",
            format!(
                "only Alertmanager webhook version 4 is accepted, got `{}`",
                payload.version
            ),
        ));
    }
    let mut parsed = Vec::new();
    for (i, alert) in payload.alerts.iter().enumerate() {
        let status = match alert.status.as_str() {
            "firing" => AlertStatus::Firing,
            "resolved" => AlertStatus::Resolved,
            other => {
                return Err(ApiError::invalid_input(
                    format!("alerts[{i}].status"),
                    format!("`{other}` is not firing or resolved"),
                ));
            }
        };
        let fingerprint = fingerprint_of(alert);
        if fingerprint.is_empty() {
            return Err(ApiError::invalid_input(
                format!("alerts[{i}].fingerprint"),
                "send a fingerprint or labels",
            ));
        }
        let label = |k: &str| {
            alert
                .labels
                .get(k)
                .or_else(|| payload.common_labels.get(k))
                .cloned()
        };
        let title = alert
            .annotations
            .get("summary")
            .cloned()
            .or_else(|| label("alertname"))
            .unwrap_or_else(|| fingerprint.clone());
        parsed.push(IncomingAlert {
            fingerprint,
            status,
            title,
            severity: label("severity").unwrap_or_else(|| "warning".into()),
            service: label("service"),
            namespace: label("namespace"),
            labels: json!(alert.labels),
            annotations: json!(alert.annotations),
            starts_at: alert.starts_at,
            // Alertmanager sends 0001-01-01 for "not ended".
            ends_at: alert.ends_at.filter(|t| t.timestamp() > 0),
        });
    }
    let tenant = scope_tenant(platform, proof).await?;
    let mut report = Vec::new();
    for alert in parsed {
        let fingerprint = alert.fingerprint.clone();
        let status = match alert.status {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        };
        let done = platform
            .store
            .ingest_alert(tenant, alert)
            .await
            .map_err(store_error("incident"))?;
        if let Some(d) = &done {
            // Opened, grown by an alert or resolved: live lists follow.
            crate::sessions::publish_incident_state(
                platform,
                tenant,
                d.incident.id,
                d.incident.state,
            );
        }
        report.push(IngestedAlert {
            fingerprint,
            status: status.into(),
            incident_id: done.as_ref().map(|d| d.incident.id),
            created: done.as_ref().is_some_and(|d| d.created),
        });
    }
    audit::record_write(
        platform,
        proof,
        Some(tenant),
        "alertmanager.ingest",
        payload.group_key.as_deref().unwrap_or("alertmanager"),
        json!({
            "alerts": report,
            "receiver": payload.receiver,
            "group_status": payload.status,
            "external_url": payload.external_url,
        }),
    )
    .await?;
    Ok(IngestReport { alerts: report })
}
