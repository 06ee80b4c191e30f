//! A trajectory as learning reads it: Observer turns, each with the tool events of its round,
//! every tool event classified (read, applied write, refused write, refused) with the resources
//! it names.

use crate::targets::{Target, call_targets, call_text, is_relevant};
use aoi_core::{
    Access, GateOutcome, NextAction, ObserverDecision, Role, Step, Submission, Trajectory,
};
use std::collections::BTreeSet;

/// What became of one tool step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A call that ran and could not change state (Probe reads, Executor reads).
    Read,
    /// A write that passed the gate and ran.
    Write,
    /// A write that was refused: the Probe tried to write, the gate denied it, or the Observer
    /// asked for the Executor in a task without one.
    RefusedWrite,
    /// Refused for another reason (a repeated command, an unknown tool, bad arguments).
    Refused,
}

/// One tool step.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolEvent {
    /// The step's position in the trajectory.
    pub step: usize,
    pub role: Role,
    /// The command as text (`exec_shell`'s command, otherwise the call in Python form).
    pub command: String,
    /// The resources the call names (none for broad listings).
    pub targets: Vec<Target>,
    pub kind: EventKind,
}

impl ToolEvent {
    /// Whether one of the named resources is in `relevant`.
    pub fn touches(&self, relevant: &BTreeSet<String>) -> bool {
        self.targets.iter().any(|t| is_relevant(&t.name, relevant))
    }

    /// The named resources' names.
    pub fn target_names(&self) -> impl Iterator<Item = &str> {
        self.targets.iter().map(|t| t.name.as_str())
    }
}

/// One Observer turn and the tool events of the round it started.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn<'a> {
    /// The Observer step's position in the trajectory.
    pub step: usize,
    /// The parsed decision; `None` when the Observer failed (an unparsable reply).
    pub decision: Option<&'a ObserverDecision>,
    /// Set on the submit turn.
    pub submission: Option<&'a Submission>,
    /// The tool events of this turn's round.
    pub events: Vec<ToolEvent>,
}

impl Turn<'_> {
    /// What the Observer chose, if it parsed.
    pub fn action(&self) -> Option<&NextAction> {
        self.decision.map(|d| &d.next_action)
    }
}

/// Classifies a tool step; `None` for steps that are not tool steps (Observer, Compressor).
pub fn tool_event(position: usize, step: &Step) -> Option<ToolEvent> {
    if !matches!(step.role, Role::Probe | Role::Executor) {
        return None;
    }
    let Some(call) = &step.tool_call else {
        // The Executor asked for in a task without one: a write the runtime refused.
        return (step.role == Role::Executor).then(|| ToolEvent {
            step: position,
            role: step.role,
            command: step.action.clone(),
            targets: Vec::new(),
            kind: EventKind::RefusedWrite,
        });
    };
    let denied = step
        .gate
        .as_ref()
        .is_some_and(|g| g.outcome == GateOutcome::Denied);
    let kind = match (step.access, step.error.is_some() || denied) {
        (Some(Access::Read), false) => EventKind::Read,
        (Some(Access::Write), false) => EventKind::Write,
        (Some(Access::Write), true) => EventKind::RefusedWrite,
        _ => EventKind::Refused,
    };
    Some(ToolEvent {
        step: position,
        role: step.role,
        command: call_text(call),
        targets: call_targets(call),
        kind,
    })
}

/// The trajectory's tool events, in order.
pub fn tool_events(trajectory: &Trajectory) -> Vec<ToolEvent> {
    trajectory
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| tool_event(i, s))
        .collect()
}

/// The trajectory's Observer turns, each with its round's tool events. Tool steps before the
/// first Observer step (none in a normal session) are not part of any turn.
pub fn turns(trajectory: &Trajectory) -> Vec<Turn<'_>> {
    let mut turns: Vec<Turn<'_>> = Vec::new();
    for (i, step) in trajectory.steps.iter().enumerate() {
        if step.role == Role::Observer {
            turns.push(Turn {
                step: i,
                decision: step.decision.as_ref(),
                submission: step.submission.as_ref(),
                events: Vec::new(),
            });
        } else if let (Some(event), Some(turn)) = (tool_event(i, step), turns.last_mut()) {
            turn.events.push(event);
        }
    }
    turns
}
