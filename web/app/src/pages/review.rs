//! The review queue: corrective signals by status, and one signal beside the failed trajectory
//! it was drafted from, with the decisions.

use aoi_platform::signals::{SignalDetail, SignalView};
use leptos::prelude::*;
use serde_json::Value;

use super::timeline::timeline;
use super::{Section, Viewer, badge, document, time};
use crate::islands::LiveRegion;

/// The statuses a reviewer can list, `all` last.
const STATUSES: [&str; 5] = ["pending", "approved", "edited", "rejected", "all"];

pub struct QueueView {
    pub status: String,
    pub signals: Vec<SignalView>,
}

/// `A missing fix, F wrong fix` from the stored pattern names (`missing_fix`...).
fn patterns_text(patterns: &Value) -> String {
    let names: Vec<String> = patterns
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| serde_json::from_value::<aoi_learning::FailurePattern>(p.clone()).ok())
                .map(|p| format!("{} {}", p.letter(), p.name()))
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        "—".to_owned()
    } else {
        names.join(", ")
    }
}

fn status_kind(status: &str) -> &'static str {
    match status {
        "pending" => "wait",
        "approved" | "edited" => "ok",
        "rejected" => "alert",
        _ => "muted",
    }
}

pub fn queue_page(viewer: &Viewer, view: &QueueView) -> String {
    let tabs = STATUSES
        .iter()
        .map(|s| {
            let href = format!("/console/review?status={s}");
            let here = (view.status == *s).then_some("page");
            view! { <li><a href=href aria-current=here>{*s}</a></li> }
        })
        .collect_view();
    let src = format!("/console/review?status={}&part=live", view.status);
    let body = queue_body_view(view);
    document("Review queue", Some((viewer, Section::Review)), move || {
        view! {
            <h1>"Review queue"</h1>
            <p class="lede">"Corrective signals the evolver drafted from failed sessions. Approved (or edited) ones guide new sessions of similar incidents and become training data."</p>
            <nav aria-label="Signal status"><ul class="tabs">{tabs}</ul></nav>
            <LiveRegion src=src label="Corrective signals".to_owned()>{body}</LiveRegion>
        }
        .into_any()
    })
}

pub fn queue_body(view: &QueueView) -> String {
    queue_body_view(view).to_html()
}

fn queue_body_view(view: &QueueView) -> AnyView {
    let rows = view
        .signals
        .iter()
        .map(|s| {
            let href = format!("/console/review/{}", s.id);
            let verified = if s.verified { badge("ok", "verified") } else { badge("alert", "not verified") };
            view! {
                <tr data-signal=s.id.to_string()>
                    <td><a href=href>{s.problem_id.clone()}</a></td>
                    <td>{s.task_type.clone()}</td>
                    <td>{patterns_text(&s.patterns)}</td>
                    <td>{verified}</td>
                    <td>{badge(status_kind(s.status.as_str()), s.status.as_str())}</td>
                    <td>{time(&s.created_at)}</td>
                </tr>
            }
        })
        .collect_view();
    let empty = view.signals.is_empty().then(|| {
        view! { <p class="empty">"Nothing here."</p> }
    });
    view! {
        <table class="signals">
            <thead><tr><th scope="col">"Problem"</th><th scope="col">"Task"</th><th scope="col">"Failure patterns"</th><th scope="col">"Verification"</th><th scope="col">"Status"</th><th scope="col">"Drafted"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        {empty}
    }
    .into_any()
}

/// The plan's steps grouped by phase, in plan order.
fn plan_by_phase(plan: &Value) -> AnyView {
    let steps = plan
        .get("steps")
        .and_then(Value::as_array)
        .or_else(|| plan.as_array())
        .cloned()
        .unwrap_or_default();
    let phases = ["discovery", "diagnosis", "resolution", "verification"];
    let text = |s: &Value, k: &str| s.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let groups = phases
        .iter()
        .map(|phase| {
            let items = steps
                .iter()
                .filter(|s| text(s, "phase").eq_ignore_ascii_case(phase))
                .map(|s| {
                    let command = text(s, "command");
                    let purpose = text(s, "purpose");
                    view! { <li><code class="command">{command}</code><span class="tool-description">{purpose}</span></li> }
                })
                .collect_view();
            let title = format!("{}{}", phase[..1].to_uppercase(), &phase[1..]);
            view! {
                <section class="phase">
                    <h4>{title}</h4>
                    <ol class="plan">{items}</ol>
                </section>
            }
        })
        .collect_view();
    let submission = plan
        .get("submission")
        .filter(|s| !s.is_null())
        .map(|s| view! { <p>"Submission: "<code>{s.to_string()}</code></p> });
    view! { {groups}{submission} }.into_any()
}

fn list_of(value: &Value) -> AnyView {
    let items = value
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|v| {
            let text = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
            view! { <li><code>{text}</code></li> }
        })
        .collect_view();
    view! { <ul class="plain">{items}</ul> }.into_any()
}

pub fn signal_page(viewer: &Viewer, detail: &SignalDetail) -> String {
    let s = &detail.signal;
    let title = format!("Signal for {}", s.problem_id);
    let id = s.id;
    let verification = {
        let v = &s.verification;
        let attempted = v.get("attempted").and_then(Value::as_bool).unwrap_or(false);
        let success = v.get("success").and_then(Value::as_bool).unwrap_or(false);
        let detail = v.get("detail").and_then(Value::as_str).unwrap_or_default().to_owned();
        let badge = match (attempted, success) {
            (true, true) => badge("ok", "replayed on the twin: solved"),
            (true, false) => badge("alert", "replayed on the twin: not solved"),
            _ => badge("muted", "not replayed"),
        };
        view! { <p data-testid="verification">{badge}" "{detail}</p> }
    };
    let trajectory = match &detail.source_session {
        Some(source) => {
            let verdict = source.verdict.as_ref().map(|v| {
                let text = match (&v.correct, &v.category) {
                    (true, _) => format!("Marked right by {}", v.decided_by),
                    (false, Some(c)) => format!("Marked wrong ({c}) by {}", v.decided_by),
                    (false, None) => format!("Marked wrong by {}", v.decided_by),
                };
                view! { <p class="meta">{text}</p> }
            });
            let incident = format!("/console/incidents/{}", source.incident_id);
            view! {
                <p class="meta"><a href=incident>"The incident"</a>" · session "{source.status.as_str()}</p>
                {verdict}
                {timeline(&source.steps, s.first_wrong_step)}
            }
            .into_any()
        }
        None => view! { <p class="empty">"The failed session is no longer stored."</p> }.into_any(),
    };
    let plan = s.edited_plan.clone().unwrap_or_else(|| s.plan.clone());
    let plan_text = serde_json::to_string_pretty(&plan).unwrap_or_default();
    let pending = s.status.as_str() == "pending";
    let decided = (!pending).then(|| {
        let text = format!(
            "{} by {}{}",
            s.status.as_str(),
            s.reviewer.clone().unwrap_or_default(),
            s.review_reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default()
        );
        view! { <p data-testid="signal-status">{badge(status_kind(s.status.as_str()), &text)}</p> }
    });
    let decide = pending.then(|| {
        let approve = format!("/console/review/{id}/approve");
        let edit = format!("/console/review/{id}/edit");
        let reject = format!("/console/review/{id}/reject");
        let lesson = s.lesson.clone();
        let rationale = s.rationale.clone();
        view! {
            <section class="card" aria-labelledby="decide">
                <h2 id="decide">"Decide"</h2>
                <form method="post" action=approve>
                    <button type="submit" class="approve" data-testid="approve-signal">"Approve this signal"</button>
                </form>
                <details class="edit">
                    <summary>"Edit, then approve"</summary>
                    <form method="post" action=edit class="stack">
                        <label for="plan">"Repaired plan (JSON)"</label>
                        <textarea id="plan" name="plan" rows="12" required=true>{plan_text}</textarea>
                        <label for="lesson">"Lesson"</label>
                        <textarea id="lesson" name="lesson" rows="3">{lesson}</textarea>
                        <label for="rationale">"Rationale"</label>
                        <textarea id="rationale" name="rationale" rows="3">{rationale}</textarea>
                        <button type="submit" class="primary">"Save and approve"</button>
                    </form>
                </details>
                <form method="post" action=reject class="stack">
                    <label for="reject-reason">"Reject because (required)"</label>
                    <textarea id="reject-reason" name="reason" rows="2" required=true minlength="3"></textarea>
                    <button type="submit" class="deny">"Reject"</button>
                </form>
            </section>
        }
    });
    let patterns = patterns_text(&s.patterns);
    let first_wrong = s
        .first_wrong_step
        .map(|i| format!("step {i}"))
        .unwrap_or_else(|| "—".to_owned());
    let lesson = s.lesson.clone();
    let rationale = s.rationale.clone();
    let evidence = list_of(&s.evidence);
    let failed = list_of(&s.failed_commands);
    let plan_view = plan_by_phase(&plan);
    let heading = title.clone();
    document(&title, Some((viewer, Section::Review)), move || {
        view! {
            <p class="crumbs"><a href="/console/review">"Review queue"</a></p>
            <h1>{heading}</h1>
            {decided}
            <div class="split">
                <section aria-labelledby="failed-run">
                    <h2 id="failed-run">"The failed trajectory"</h2>
                    {trajectory}
                </section>
                <section aria-labelledby="signal">
                    <h2 id="signal">"The corrective signal"</h2>
                    <dl class="facts">
                        <div><dt>"Failure patterns"</dt><dd data-testid="patterns">{patterns}</dd></div>
                        <div><dt>"First wrong step"</dt><dd>{first_wrong}</dd></div>
                    </dl>
                    <h3>"Evidence"</h3>
                    {evidence}
                    <h3>"Failed commands"</h3>
                    {failed}
                    <h3>"Repaired plan"</h3>
                    {plan_view}
                    <h3>"Verification"</h3>
                    {verification}
                    <h3>"Lesson"</h3>
                    <p>{lesson}</p>
                    <h3>"Rationale"</h3>
                    <p>{rationale}</p>
                    {decide}
                </section>
            </div>
        }
        .into_any()
    })
}
