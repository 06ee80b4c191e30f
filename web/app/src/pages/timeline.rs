//! A session's steps by role, as the incident page, the review queue and the benchmark
//! drill-down show them: the Observer's phase, hypothesis, confidence and plan; each Probe
//! command with its output folded; the Compressor's summary; each Executor command with the
//! resource it touches and the guardrail's decision.

use aoi_core::{Access, GateOutcome, NextAction, ObserverDecision, Role, Step};
use aoi_platform::sessions::StepView;
use leptos::prelude::*;

use super::badge;

/// The exact command of a tool call: the shell command itself, else `tool key=value ...`.
pub(crate) fn command_of(call: &aoi_core::ToolCall) -> String {
    if let Some(command) = call.args.get("command").and_then(|c| c.as_str()) {
        return command.to_owned();
    }
    let args = call
        .args
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    if args.is_empty() {
        call.tool.clone()
    } else {
        format!("{} {args}", call.tool)
    }
}

/// What a write touches: `namespace/kind/name` for a kubectl command, else the tool.
fn resource_of(call: &aoi_core::ToolCall) -> String {
    let command = command_of(call);
    match aoi_agent::kubectl_target(&command) {
        Some(t) => match (t.namespace, t.object) {
            (Some(ns), Some(object)) => format!("{ns}/{object}"),
            (None, Some(object)) => object,
            (Some(ns), None) => format!("namespace {ns}"),
            (None, None) => format!("kubectl {}", t.verb),
        },
        None => call.tool.clone(),
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Observer => "Observer",
        Role::Probe => "Probe",
        Role::Executor => "Executor",
        Role::Compressor => "Compressor",
    }
}

/// A session's steps by role; `first_wrong` marks the step where a failed run went wrong.
pub(crate) fn timeline(steps: &[StepView], first_wrong: Option<i32>) -> AnyView {
    let steps = steps
        .iter()
        .map(|s| step_view(s, first_wrong == Some(s.index)))
        .collect_view();
    view! { <ol class="timeline" aria-label="Steps by role">{steps}</ol> }.into_any()
}

fn step_view(step: &StepView, first_wrong: bool) -> impl IntoView + use<> {
    let index = step.index;
    let wrong = first_wrong.then(|| {
        view! { <p class="first-wrong-label" data-testid="first-wrong">"First wrong step"</p> }
    });
    let parsed: Option<Step> = serde_json::from_value(step.payload.clone()).ok();
    let Some(parsed) = parsed else {
        let raw = step.payload.to_string();
        let role = step.role.clone();
        return view! {
            <li class="step"><span class="role">{role}</span><pre>{raw}</pre></li>
        }
        .into_any();
    };
    let role_class = if first_wrong {
        format!("step step-{} first-wrong", parsed.role.as_str())
    } else {
        format!("step step-{}", parsed.role.as_str())
    };
    let heading = format!("{} · step {index}", role_name(parsed.role));
    let error = parsed
        .error
        .clone()
        .map(|e| view! { <p class="step-error">{e}</p> });
    let body = match parsed.role {
        Role::Observer => observer_view(parsed.decision.as_ref()).into_any(),
        Role::Probe => call_view(&parsed, false).into_any(),
        Role::Executor => call_view(&parsed, true).into_any(),
        Role::Compressor => {
            let summary = parsed.compressed_observation.clone().unwrap_or_default();
            view! { <p class="summary">{summary}</p> }.into_any()
        }
    };
    let role = parsed.role.as_str();
    view! {
        <li class=role_class data-role=role data-index=index>
            {wrong}
            <h4>{heading}</h4>
            {body}
            {error}
        </li>
    }
    .into_any()
}

fn observer_view(decision: Option<&ObserverDecision>) -> impl IntoView + use<> {
    decision.map(|d| {
        let plan = match &d.next_action {
            NextAction::Probe { instruction, .. } => format!("Look: {instruction}"),
            NextAction::Executor { instruction, .. } => format!("Change: {instruction}"),
            NextAction::Submit { submission } => format!(
                "Submit: {}",
                serde_json::to_string(submission).unwrap_or_default()
            ),
        };
        let confidence = d.confidence;
        let confidence_text = format!("{confidence}%");
        view! {
            <dl class="facts">
                <div><dt>"Phase"</dt><dd>{d.current_phase.clone()}</dd></div>
                <div><dt>"Hypothesis"</dt><dd>{d.root_cause_analysis.clone()}</dd></div>
                <div><dt>"Confidence"</dt><dd><meter min="0" max="100" value=confidence>{confidence_text.clone()}</meter>" "{confidence_text}</dd></div>
                <div><dt>"Plan"</dt><dd>{plan}</dd></div>
            </dl>
        }
    })
}

fn call_view(step: &Step, executor: bool) -> impl IntoView + use<> {
    let command = step
        .tool_call
        .as_ref()
        .map(command_of)
        .unwrap_or_else(|| step.action.clone());
    let resource = (executor || step.access == Some(Access::Write))
        .then(|| step.tool_call.as_ref().map(resource_of))
        .flatten()
        .map(|r| view! { <div><dt>"Resource"</dt><dd><code>{r}</code></dd></div> });
    let gate = step.gate.as_ref().map(|g| {
        let outcome = match g.outcome {
            GateOutcome::Allowed => "allowed",
            GateOutcome::Approved => "approved",
            GateOutcome::Denied => "denied",
        };
        let kind = if g.outcome == GateOutcome::Denied { "alert" } else { "ok" };
        let who = format!("as {} · {}", g.actor, g.reason);
        view! {
            <div><dt>"Guardrail"</dt><dd><code>{g.rule.clone()}</code>" "<span data-testid="gate-outcome">{badge(kind, outcome)}</span>" "{who}</dd></div>
        }
    });
    let output = step.raw_observation.clone().map(|raw| {
        let lines = raw.lines().count();
        let summary = format!("Output ({lines} lines)");
        view! { <details class="output"><summary>{summary}</summary><pre>{raw}</pre></details> }
    });
    view! {
        <dl class="facts">
            <div><dt>"Command"</dt><dd><code class="command">{command}</code></dd></div>
            {resource}
            {gate}
        </dl>
        {output}
    }
}
