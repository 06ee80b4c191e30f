//! The incidents list and one incident: alerts and labels, each session's timeline by role,
//! the pending approvals, the verdict control and a new session.

use std::collections::BTreeMap;

use aoi_control::ApiError;
use aoi_platform::incidents::IncidentDetail;
use aoi_platform::sessions::SessionWithSteps;
use aoi_store::{Approval, Environment, Incident, IncidentState, SessionStatus};
use chrono::{DateTime, Duration, Utc};
use leptos::prelude::*;
use serde::Deserialize;

use super::timeline::{command_of, timeline};
use super::{Section, Viewer, badge, document, time};
use crate::islands::LiveRegion;

/// Every incident state, in the order of the counts.
pub const STATES: [IncidentState; 6] = [
    IncidentState::Open,
    IncidentState::Diagnosing,
    IncidentState::AwaitingApproval,
    IncidentState::Mitigated,
    IncidentState::Resolved,
    IncidentState::Closed,
];

/// The list's filters (the query string; blank means any).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Filters {
    pub state: Option<String>,
    pub severity: Option<String>,
    pub service: Option<String>,
    /// `1h`, `24h`, `7d` or `30d`.
    pub since: Option<String>,
}

impl Filters {
    pub fn state_filter(&self) -> Result<Option<IncidentState>, ApiError> {
        match self
            .state
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Ok(None),
            Some(s) => STATES
                .into_iter()
                .find(|state| state.as_str() == s)
                .map(Some)
                .ok_or_else(|| {
                    ApiError::invalid_input("state", format!("{s:?} is not an incident state"))
                }),
        }
    }

    pub fn since_time(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let span = match self.since.as_deref()? {
            "1h" => Duration::hours(1),
            "24h" => Duration::hours(24),
            "7d" => Duration::days(7),
            "30d" => Duration::days(30),
            _ => return None,
        };
        Some(now - span)
    }

    /// The query string of these filters plus `extra` (`part=live`).
    pub fn query(&self, extra: Option<(&str, &str)>) -> String {
        let mut pairs: Vec<(String, String)> = [
            ("state", &self.state),
            ("severity", &self.severity),
            ("service", &self.service),
            ("since", &self.since),
        ]
        .into_iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .filter(|v| !v.is_empty())
                .map(|v| (k.to_owned(), crate::server::encode(v)))
        })
        .collect();
        if let Some((k, v)) = extra {
            pairs.push((k.to_owned(), v.to_owned()));
        }
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// What the list page shows.
#[derive(Debug, Clone)]
pub struct ListView {
    pub filters: Filters,
    /// Incidents per state over the filters other than the state.
    pub counts: BTreeMap<&'static str, usize>,
    pub incidents: Vec<Incident>,
}

pub fn count_states(incidents: &[Incident]) -> BTreeMap<&'static str, usize> {
    let mut counts: BTreeMap<&'static str, usize> =
        STATES.iter().map(|s| (s.as_str(), 0)).collect();
    for incident in incidents {
        *counts.entry(incident.state.as_str()).or_default() += 1;
    }
    counts
}

fn state_kind(state: IncidentState) -> &'static str {
    match state {
        IncidentState::Open => "alert",
        IncidentState::Diagnosing => "busy",
        IncidentState::AwaitingApproval => "wait",
        IncidentState::Mitigated | IncidentState::Resolved => "ok",
        IncidentState::Closed => "muted",
    }
}

fn severity_kind(severity: &str) -> &'static str {
    match severity {
        "critical" | "page" | "high" => "alert",
        "warning" => "wait",
        _ => "muted",
    }
}

pub fn list_page(viewer: &Viewer, view: &ListView) -> String {
    let f = &view.filters;
    let src = format!("/console/incidents?{}", f.query(Some(("part", "live"))));
    let state_options = STATES
        .iter()
        .map(|s| {
            let selected = f.state.as_deref() == Some(s.as_str());
            let label = s.as_str().replace('_', " ");
            view! { <option value=s.as_str() selected=selected>{label}</option> }
        })
        .collect_view();
    let since_options = [
        ("1h", "last hour"),
        ("24h", "last 24 hours"),
        ("7d", "last 7 days"),
        ("30d", "last 30 days"),
    ]
    .into_iter()
    .map(|(value, label)| {
        let selected = f.since.as_deref() == Some(value);
        view! { <option value=value selected=selected>{label}</option> }
    })
    .collect_view();
    let severity = f.severity.clone().unwrap_or_default();
    let service = f.service.clone().unwrap_or_default();
    let body = list_body_view(view);
    document("Incidents", Some((viewer, Section::Incidents)), move || {
        view! {
            <h1>"Incidents"</h1>
            <form method="get" action="/console/incidents" class="filters" aria-label="Filter incidents">
                <div class="field">
                    <label for="f-state">"State"</label>
                    <select id="f-state" name="state">
                        <option value="">"any"</option>
                        {state_options}
                    </select>
                </div>
                <div class="field">
                    <label for="f-severity">"Severity"</label>
                    <input id="f-severity" name="severity" type="search" value=severity placeholder="critical, warning..."/>
                </div>
                <div class="field">
                    <label for="f-service">"Service"</label>
                    <input id="f-service" name="service" type="search" value=service/>
                </div>
                <div class="field">
                    <label for="f-since">"Opened"</label>
                    <select id="f-since" name="since">
                        <option value="">"any time"</option>
                        {since_options}
                    </select>
                </div>
                <button type="submit">"Filter"</button>
                <a href="/console/incidents" class="button-link">"Clear"</a>
            </form>
            <LiveRegion src=src label="Incidents".to_owned()>{body}</LiveRegion>
        }
        .into_any()
    })
}

/// The live part of the list (also served alone with `part=live`).
pub fn list_body(view: &ListView) -> String {
    list_body_view(view).to_html()
}

fn list_body_view(view: &ListView) -> AnyView {
    let f = view.filters.clone();
    let counts = STATES
        .iter()
        .map(|s| {
            let n = view.counts.get(s.as_str()).copied().unwrap_or(0);
            let mut only = f.clone();
            only.state = Some(s.as_str().to_owned());
            let href = format!("/console/incidents?{}", only.query(None));
            let label = s.as_str().replace('_', " ");
            let testid = format!("count-{}", s.as_str());
            view! {
                <li><a href=href data-testid=testid><span class="count">{n}</span>" "{label}</a></li>
            }
        })
        .collect_view();
    let rows = view
        .incidents
        .iter()
        .map(|i| {
            let href = format!("/console/incidents/{}", i.id);
            let title = i.title.clone();
            let service = i.service.clone().unwrap_or_else(|| "—".into());
            view! {
                <tr data-incident=i.id.to_string()>
                    <td><a href=href>{title}</a></td>
                    <td>{badge(severity_kind(&i.severity), &i.severity)}</td>
                    <td>{service}</td>
                    <td data-testid="state">{badge(state_kind(i.state), i.state.as_str())}</td>
                    <td>{time(&i.created_at)}</td>
                </tr>
            }
        })
        .collect_view();
    let empty = view.incidents.is_empty().then(|| {
        view! { <p class="empty">"No incidents match these filters."</p> }
    });
    view! {
        <ul class="counts" aria-label="Incidents by state">{counts}</ul>
        <table class="incidents">
            <caption class="visually-hidden">"Incidents, newest first"</caption>
            <thead><tr><th scope="col">"Title"</th><th scope="col">"Severity"</th><th scope="col">"Service"</th><th scope="col">"State"</th><th scope="col">"Opened"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        {empty}
    }
    .into_any()
}

/// What the incident page shows.
#[derive(Debug, Clone)]
pub struct IncidentView {
    pub detail: IncidentDetail,
    /// Newest first.
    pub sessions: Vec<SessionWithSteps>,
    /// Operators' verdicts on finished sessions, by session.
    pub verdicts: std::collections::HashMap<uuid::Uuid, aoi_platform::signals::VerdictView>,
    /// Pending approvals of these sessions.
    pub pending: Vec<Approval>,
    pub environments: Vec<Environment>,
    pub can_decide: bool,
    pub can_start: bool,
    pub can_judge: bool,
}

pub fn incident_page(viewer: &Viewer, view: &IncidentView) -> String {
    let incident = &view.detail.incident;
    let title = incident.title.clone();
    let src = format!("/console/incidents/{}?part=live", incident.id);
    let body = incident_body_view(view);
    document(
        &incident.title,
        Some((viewer, Section::Incidents)),
        move || {
            view! {
                <p class="crumbs"><a href="/console/incidents">"Incidents"</a></p>
                <h1>{title}</h1>
                <LiveRegion src=src label="This incident, live".to_owned()>{body}</LiveRegion>
            }
            .into_any()
        },
    )
}

pub fn incident_body(view: &IncidentView) -> String {
    incident_body_view(view).to_html()
}

fn incident_body_view(view: &IncidentView) -> AnyView {
    let incident = &view.detail.incident;
    let back = format!("/console/incidents/{}", incident.id);
    let facts = view! {
        <dl class="facts">
            <div><dt>"State"</dt><dd data-testid="incident-state">{badge(state_kind(incident.state), incident.state.as_str())}</dd></div>
            <div><dt>"Severity"</dt><dd>{badge(severity_kind(&incident.severity), &incident.severity)}</dd></div>
            <div><dt>"Service"</dt><dd>{incident.service.clone().unwrap_or_else(|| "—".into())}</dd></div>
            <div><dt>"Namespace"</dt><dd>{incident.namespace.clone().unwrap_or_else(|| "—".into())}</dd></div>
            <div><dt>"Opened"</dt><dd>{time(&incident.created_at)}</dd></div>
        </dl>
    };
    let pending = view
        .pending
        .iter()
        .map(|a| approval_card(a, view.can_decide, &back))
        .collect_view();
    let sessions = view
        .sessions
        .iter()
        .map(|s| session_view(s, view.verdicts.get(&s.session.id), view.can_judge, &back))
        .collect_view();
    let no_sessions = view.sessions.is_empty().then(|| {
        view! { <p class="empty">"No session has looked at this incident yet."</p> }
    });
    let start = view
        .can_start
        .then(|| start_form(incident.id, &view.environments));
    view! {
        {facts}
        {labels_view(&incident.labels)}
        {alerts_view(&view.detail.alerts)}
        <div class="approvals" aria-label="Pending approvals">{pending}</div>
        <h2>"Sessions"</h2>
        {no_sessions}
        {sessions}
        {start}
    }
    .into_any()
}

fn labels_view(labels: &serde_json::Value) -> impl IntoView + use<> {
    let chips = labels.as_object().map(|m| {
        m.iter()
            .map(|(k, v)| {
                let text = format!(
                    "{k}={}",
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string())
                );
                view! { <li class="chip">{text}</li> }
            })
            .collect_view()
    });
    view! {
        <h2>"Labels"</h2>
        <ul class="chips" aria-label="Labels">{chips}</ul>
    }
}

fn alerts_view(alerts: &[aoi_store::Alert]) -> impl IntoView + use<> {
    let rows = alerts
        .iter()
        .map(|a| {
            let status = format!("{:?}", a.status).to_lowercase();
            let kind = if status == "firing" { "alert" } else { "ok" };
            let summary = a
                .annotations
                .get("summary")
                .or_else(|| a.annotations.get("description"))
                .and_then(|v| v.as_str())
                .unwrap_or("—")
                .to_owned();
            let labels = a
                .labels
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            view! {
                <tr>
                    <td>{badge(kind, &status)}</td>
                    <td>{summary}</td>
                    <td><code>{labels}</code></td>
                    <td>{time(&a.starts_at)}</td>
                </tr>
            }
        })
        .collect_view();
    let empty = alerts
        .is_empty()
        .then(|| view! { <p class="empty">"Opened by hand: no alerts."</p> });
    view! {
        <h2>"Alerts"</h2>
        {empty}
        <table class="alerts">
            <thead><tr><th scope="col">"Status"</th><th scope="col">"Summary"</th><th scope="col">"Labels"</th><th scope="col">"Since"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

fn approval_card(approval: &Approval, can_decide: bool, back: &str) -> impl IntoView + use<> {
    let request = &approval.request;
    let text = |k: &str| {
        request
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("—")
            .to_owned()
    };
    let call: Option<aoi_core::ToolCall> =
        serde_json::from_value(request.get("tool_call").cloned().unwrap_or_default()).ok();
    let command = call
        .as_ref()
        .map(command_of)
        .unwrap_or_else(|| request.to_string());
    let id = approval.id;
    let controls = if can_decide {
        let approve = format!("/console/approvals/{id}/approve");
        let deny = format!("/console/approvals/{id}/deny");
        let reason_id = format!("reason-{id}");
        let deny_reason_id = format!("deny-reason-{id}");
        let back = back.to_owned();
        let back2 = back.clone();
        view! {
            <div class="decide">
                <form method="post" action=approve data-inline="" class="stack" data-testid="approve-form">
                    <input type="hidden" name="back" value=back/>
                    <label for=reason_id.clone()>"Why may this write run? (required)"</label>
                    <textarea id=reason_id name="reason" required=true minlength="3" rows="2"></textarea>
                    <p class="form-error" role="alert"></p>
                    <button type="submit" class="approve">"Approve this write"</button>
                </form>
                <form method="post" action=deny data-inline="" class="stack" data-testid="deny-form">
                    <input type="hidden" name="back" value=back2/>
                    <label for=deny_reason_id.clone()>"Why not? (required)"</label>
                    <textarea id=deny_reason_id name="reason" required=true minlength="3" rows="2"></textarea>
                    <p class="form-error" role="alert"></p>
                    <button type="submit" class="deny">"Deny"</button>
                </form>
            </div>
        }
        .into_any()
    } else {
        view! { <p class="note" data-testid="no-decide">"Your role can see this request but not decide it."</p> }.into_any()
    };
    view! {
        <article class="card approval" data-approval=id.to_string() aria-label="Write waiting for approval">
            <h3>"A write waits for your approval"</h3>
            <dl class="facts">
                <div><dt>"Command"</dt><dd><code class="command" data-testid="approval-command">{command}</code></dd></div>
                <div><dt>"Resource"</dt><dd><code>{text("resource")}</code></dd></div>
                <div><dt>"Guardrail"</dt><dd><code>{text("rule")}</code></dd></div>
                <div><dt>"Would run as"</dt><dd>{text("actor")}</dd></div>
                <div><dt>"Decide before"</dt><dd>{time(&approval.deadline)}</dd></div>
            </dl>
            {controls}
        </article>
    }
}

fn session_kind(status: SessionStatus) -> &'static str {
    match status {
        SessionStatus::Queued | SessionStatus::Running => "busy",
        SessionStatus::WaitingApproval => "wait",
        SessionStatus::Succeeded => "ok",
        SessionStatus::Failed => "alert",
        SessionStatus::Cancelled => "muted",
    }
}

fn session_view(
    s: &SessionWithSteps,
    verdict: Option<&aoi_platform::signals::VerdictView>,
    can_judge: bool,
    back: &str,
) -> impl IntoView + use<> {
    let verdict_line = verdict.map(|v| {
        let text = match (&v.correct, &v.category) {
            (true, _) => format!("Verdict: right, by {}", v.decided_by),
            (false, Some(c)) => format!("Verdict: wrong ({c}), by {}; the evolver drafts a corrective signal", v.decided_by),
            (false, None) => format!("Verdict: wrong, by {}", v.decided_by),
        };
        view! { <p class="verdict-line" data-testid="verdict">{text}</p> }
    });
    let session = &s.session;
    let id = session.id;
    let heading = format!("Session {}", &id.to_string()[..8]);
    let steps = timeline(&s.steps, None);
    let outcome = session.result.as_ref().map(|r| {
        let text = r
            .get("submission")
            .filter(|v| !v.is_null())
            .map(|v| format!("Submitted {v}"))
            .or_else(|| r.get("outcome").map(|o| format!("Outcome {o}")))
            .unwrap_or_default();
        view! { <p class="outcome">{text}</p> }
    });
    let verdict = (can_judge && session.status.is_final()).then(|| verdict_form(id, back));
    view! {
        <article class="session card" data-session=id.to_string()>
            <h3>{heading}" "{badge(session_kind(session.status), session.status.as_str())}</h3>
            <p class="meta">"Started "{time(&session.created_at)}</p>
            {steps}
            {outcome}
            {verdict_line}
            {verdict}
        </article>
    }
}

fn verdict_form(id: uuid::Uuid, back: &str) -> impl IntoView + use<> {
    let action = format!("/console/sessions/{id}/verdict");
    let right = format!("verdict-right-{id}");
    let wrong = format!("verdict-wrong-{id}");
    let category = format!("category-{id}");
    let back = back.to_owned();
    let patterns = aoi_learning::FailurePattern::ALL
        .into_iter()
        .map(|p| {
            let letter = p.letter().to_string();
            let label = format!("{letter}: {}", p.name());
            view! { <option value=letter>{label}</option> }
        })
        .collect_view();
    view! {
        <form method="post" action=action data-inline="" class="verdict">
            <fieldset>
                <legend>"Was this session right?"</legend>
                <input type="hidden" name="back" value=back/>
                <input type="radio" id=right.clone() name="verdict" value="right" required=true/>
                <label for=right>"Right"</label>
                <input type="radio" id=wrong.clone() name="verdict" value="wrong"/>
                <label for=wrong>"Wrong"</label>
                <label for=category.clone()>"Failure category (when wrong)"</label>
                <select id=category name="category">
                    <option value="">"—"</option>
                    {patterns}
                </select>
                <p class="form-error" role="alert"></p>
                <button type="submit">"Record verdict"</button>
            </fieldset>
        </form>
    }
}

fn start_form(incident: uuid::Uuid, environments: &[Environment]) -> impl IntoView + use<> {
    let action = format!("/console/incidents/{incident}/sessions");
    let options = environments
        .iter()
        .map(|e| {
            let label = format!("{} ({:?})", e.name, e.kind).to_lowercase();
            view! { <option value=e.id.to_string()>{label}</option> }
        })
        .collect_view();
    let none = environments.is_empty();
    view! {
        <form method="post" action=action data-inline="" class="card stack start-session">
            <h2>"Start a new session"</h2>
            <label for="environment">"Environment"</label>
            <select id="environment" name="environment_id" required=true disabled=none>{options}</select>
            <p class="form-error" role="alert"></p>
            <button type="submit" disabled=none>"Start session"</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aoi_core::{GateOutcome, GateRecord, NextAction, ObserverDecision, Role, Step, ToolCall};
    use aoi_platform::sessions::StepView;
    use aoi_store::ApprovalStatus;
    use uuid::Uuid;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T02:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn incident(state: IncidentState) -> Incident {
        Incident {
            id: Uuid::new_v4(),
            tenant_id: Uuid::new_v4(),
            fingerprint: "fp".into(),
            dedup_key: None,
            title: "frontend 5xx above 5%".into(),
            severity: "critical".into(),
            service: Some("frontend".into()),
            namespace: Some("shop".into()),
            state,
            labels: serde_json::json!({"alertname": "HighErrorRate"}),
            created_at: at(),
            updated_at: at(),
            resolved_at: None,
        }
    }

    fn step(index: i32, step: &Step) -> StepView {
        StepView {
            index,
            role: step.role.as_str().into(),
            payload: serde_json::to_value(step).unwrap_or_default(),
            created_at: at(),
        }
    }

    fn view_with(can_decide: bool) -> IncidentView {
        let incident = incident(IncidentState::AwaitingApproval);
        let session_id = Uuid::new_v4();
        let mut observer = Step::new(0, Role::Observer, "plan");
        observer.decision = Some(ObserverDecision {
            previous_iteration_summary: String::new(),
            current_phase: "Diagnosis".into(),
            root_cause_analysis: "the service targets the wrong port".into(),
            confidence: 80,
            next_action: NextAction::Executor {
                instruction: "patch the target port".into(),
                context: String::new(),
            },
        });
        let mut probe = Step::new(1, Role::Probe, "exec_shell");
        probe.tool_call =
            Some(ToolCall::new("exec_shell").arg("command", "kubectl get svc -n shop"));
        probe.raw_observation = Some("NAME PORT\nfrontend 80\n".into());
        let mut executor = Step::new(2, Role::Executor, "exec_shell");
        executor.tool_call = Some(
            ToolCall::new("exec_shell")
                .arg("command", "kubectl patch service frontend -n shop -p '{}'"),
        );
        executor.gate = Some(GateRecord {
            outcome: GateOutcome::Approved,
            rule: "default:ask".into(),
            actor: "user:olga".into(),
            reason: "documented fix".into(),
        });
        let session = aoi_store::Session {
            id: session_id,
            tenant_id: incident.tenant_id,
            incident_id: incident.id,
            environment_id: Uuid::new_v4(),
            status: SessionStatus::WaitingApproval,
            lease_owner: None,
            lease_expires_at: None,
            attempts: 1,
            result: None,
            created_at: at(),
            started_at: Some(at()),
            finished_at: None,
        };
        let approval = Approval {
            id: Uuid::new_v4(),
            tenant_id: incident.tenant_id,
            session_id: Some(session_id),
            status: ApprovalStatus::Pending,
            request: serde_json::json!({
                "tool_call": {"tool": "exec_shell", "args": {"command": "kubectl delete pod x -n shop"}},
                "resource": "shop/pod/x",
                "rule": "default:ask",
                "actor": "agent",
            }),
            requested_at: at(),
            deadline: at(),
            decided_by: None,
            decided_at: None,
            reason: None,
        };
        IncidentView {
            detail: IncidentDetail {
                incident,
                alerts: Vec::new(),
            },
            sessions: vec![SessionWithSteps {
                session,
                steps: vec![step(0, &observer), step(1, &probe), step(2, &executor)],
            }],
            verdicts: Default::default(),
            pending: vec![approval],
            environments: Vec::new(),
            can_decide,
            can_start: false,
            can_judge: false,
        }
    }

    #[test]
    fn only_deciders_get_approve_and_deny_controls() {
        let viewer = incident_body(&view_with(false));
        assert!(!viewer.contains("approve-form"), "{viewer}");
        assert!(!viewer.contains("/approve\""), "{viewer}");
        assert!(viewer.contains("no-decide"));
        let operator = incident_body(&view_with(true));
        assert!(operator.contains("approve-form"));
        assert!(operator.contains("deny-form"));
        // The reason is required by the form (and by the service).
        assert!(operator.matches("required").count() >= 2, "{operator}");
        assert!(operator.contains("kubectl delete pod x -n shop"));
        assert!(operator.contains("shop/pod/x"));
    }

    #[test]
    fn the_timeline_shows_each_role() {
        let html = incident_body(&view_with(false));
        assert!(
            html.contains("the service targets the wrong port"),
            "the Observer's hypothesis"
        );
        assert!(html.contains("80%"), "its confidence");
        assert!(html.contains("Change: patch the target port"), "its plan");
        assert!(
            html.contains("kubectl get svc -n shop"),
            "the Probe's command"
        );
        assert!(html.contains("<details"), "its output, folded");
        assert!(
            html.contains("shop/service/frontend"),
            "the resource the write touches: {html}"
        );
        assert!(html.contains("default:ask"), "the guardrail that asked");
        assert!(html.contains("approved"));
    }

    #[test]
    fn counts_cover_every_state() {
        let incidents = vec![
            incident(IncidentState::Open),
            incident(IncidentState::Open),
            incident(IncidentState::Mitigated),
        ];
        let counts = count_states(&incidents);
        assert_eq!(counts.get("open"), Some(&2));
        assert_eq!(counts.get("mitigated"), Some(&1));
        assert_eq!(counts.get("closed"), Some(&0));
        assert_eq!(counts.len(), STATES.len());
    }

    #[test]
    fn pages_carry_the_live_island() {
        let viewer = Viewer {
            name: "vera".into(),
            tenant: "default".into(),
            roles: vec!["viewer".into()],
            may_review: false,
            may_benchmarks: true,
            may_models: true,
            may_admin: false,
        };
        let list = ListView {
            filters: Filters {
                state: Some("open".into()),
                ..Filters::default()
            },
            counts: count_states(&[]),
            incidents: vec![incident(IncidentState::Open)],
        };
        let html = list_page(&viewer, &list);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<leptos-island"), "{html}");
        assert!(
            html.contains("/console/incidents?state=open&amp;part=live")
                || html.contains("/console/incidents?state=open&part=live"),
            "{html}"
        );
        assert!(html.contains("frontend 5xx above 5%"));
    }

    #[test]
    fn a_bad_state_filter_says_what_is_wrong() {
        let filters = Filters {
            state: Some("exploded".into()),
            ..Filters::default()
        };
        let e = filters
            .state_filter()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("exploded"), "{e}");
    }
}
