//! Platform DTOs to `aoi.v1` messages and request fields to typed inputs. The messages mirror
//! the REST JSON: RFC 3339 timestamps, enums as their REST strings, free-form JSON as text.

use std::collections::HashMap;

use aoi_control::ApiError;
use aoi_platform::incidents::IncidentDetail;
use aoi_platform::sessions::{SessionWithSteps, StepView};
use aoi_store::{Alert, Approval, Incident, Session};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::pb;

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn time_opt(t: &Option<DateTime<Utc>>) -> Option<String> {
    t.as_ref().map(time)
}

/// A JSON object as a string map: strings as they are, other values as JSON text.
fn string_map(value: &Value) -> HashMap<String, String> {
    value
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A REST enum value serialized as its string (`open`, `queued`...).
fn enum_str<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// A UUID request field; a malformed one is `INVALID_ARGUMENT`.
pub fn uuid(field: &str, value: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value.trim())
        .map_err(|_| ApiError::invalid_input(field, format!("`{value}` is not a UUID")))
}

/// A REST enum (or other scalar) from its string form; a wrong one is `INVALID_ARGUMENT`.
pub fn parse<T: DeserializeOwned>(field: &str, value: &str) -> Result<T, ApiError> {
    serde_json::from_value(Value::String(value.to_string()))
        .map_err(|e| ApiError::invalid_input(field, format!("`{value}`: {e}")))
}

pub fn incident(i: Incident) -> pb::Incident {
    pb::Incident {
        id: i.id.to_string(),
        tenant_id: i.tenant_id.to_string(),
        fingerprint: i.fingerprint,
        title: i.title,
        severity: i.severity,
        service: i.service,
        namespace: i.namespace,
        state: enum_str(&i.state),
        labels: string_map(&i.labels),
        created_at: time(&i.created_at),
        updated_at: time(&i.updated_at),
        resolved_at: time_opt(&i.resolved_at),
    }
}

pub fn alert(a: Alert) -> pb::Alert {
    pb::Alert {
        id: a.id.to_string(),
        incident_id: a.incident_id.to_string(),
        fingerprint: a.fingerprint,
        status: enum_str(&a.status),
        labels: string_map(&a.labels),
        annotations: string_map(&a.annotations),
        starts_at: time(&a.starts_at),
        ends_at: time_opt(&a.ends_at),
        received_at: time(&a.received_at),
    }
}

pub fn incident_detail(d: IncidentDetail) -> pb::IncidentDetail {
    pb::IncidentDetail {
        incident: Some(incident(d.incident)),
        alerts: d.alerts.into_iter().map(alert).collect(),
    }
}

pub fn session(s: Session) -> pb::Session {
    pb::Session {
        id: s.id.to_string(),
        tenant_id: s.tenant_id.to_string(),
        incident_id: s.incident_id.to_string(),
        environment_id: s.environment_id.to_string(),
        status: enum_str(&s.status),
        lease_owner: s.lease_owner,
        lease_expires_at: time_opt(&s.lease_expires_at),
        attempts: s.attempts,
        result_json: s.result.map(|r| r.to_string()),
        created_at: time(&s.created_at),
        started_at: time_opt(&s.started_at),
        finished_at: time_opt(&s.finished_at),
    }
}

pub fn step(s: StepView) -> pb::Step {
    pb::Step {
        index: s.index,
        role: s.role,
        payload_json: s.payload.to_string(),
        created_at: time(&s.created_at),
    }
}

pub fn session_with_steps(s: SessionWithSteps) -> pb::SessionWithSteps {
    pb::SessionWithSteps {
        session: Some(session(s.session)),
        steps: s.steps.into_iter().map(step).collect(),
    }
}

pub fn approval(a: Approval) -> pb::Approval {
    pb::Approval {
        id: a.id.to_string(),
        tenant_id: a.tenant_id.to_string(),
        session_id: a.session_id.map(|s| s.to_string()),
        status: enum_str(&a.status),
        request_json: a.request.to_string(),
        requested_at: time(&a.requested_at),
        deadline: time(&a.deadline),
        decided_by: a.decided_by,
        decided_at: time_opt(&a.decided_at),
        reason: a.reason,
    }
}
