//! Hand-made trajectories for the tests: a Social Network incident on `user-service`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use aoi_core::{
    Access, GateOutcome, GateRecord, NextAction, ObserverDecision, Role, SessionOutcome, Step,
    Submission, TaskSpec, TaskType, ToolCall, Trajectory,
};
use aoi_learning::patterns::{ReferenceRun, TaskInfo, Verdict};

pub const NS: &str = "test-social-network";
pub const FIX: &str = "kubectl patch svc user-service -n test-social-network --type=json -p '[{\"op\":\"replace\",\"path\":\"/spec/ports/0/targetPort\",\"value\":9090}]'";
pub const MAX_STEPS: u32 = 20;

/// Builds a trajectory step by step, the way the agent loop records it.
pub struct Builder {
    t: Trajectory,
}

impl Builder {
    pub fn new(task_type: TaskType) -> Self {
        Builder {
            t: Trajectory {
                session_id: "s-1".into(),
                problem_id: Some("user_service_target_port".into()),
                policy: "test".into(),
                task: TaskSpec {
                    task_type,
                    app_name: "Social Network".into(),
                    namespace: NS.into(),
                    app_description: "a social network".into(),
                    instructions: "find and fix the fault".into(),
                },
                steps: Vec::new(),
                submission: None,
                outcome: SessionOutcome::StepBudgetExhausted,
                actions: 0,
                writes: 0,
                input_tokens: 0,
                output_tokens: 0,
                duration_us: 0,
                policy_us: 0,
                tool_us: 0,
            },
        }
    }

    fn push(&mut self, mut step: Step) -> usize {
        let i = self.t.steps.len();
        step.index = i as u32;
        self.t.steps.push(step);
        i
    }

    fn observer(&mut self, next: NextAction, confidence: u8) -> usize {
        let mut step = Step::new(0, Role::Observer, "plan");
        step.decision = Some(ObserverDecision {
            previous_iteration_summary: String::new(),
            current_phase: "Diagnosis".into(),
            root_cause_analysis: String::new(),
            confidence,
            next_action: next,
        });
        self.push(step)
    }

    fn compress(&mut self) {
        let mut step = Step::new(0, Role::Compressor, "compress");
        step.compressed_observation = Some("summary".into());
        self.push(step);
    }

    /// An Observer probe turn, then the Probe's read and its summary. Returns the probe step.
    pub fn read(mut self, command: &str) -> Self {
        self.read_at(command);
        self
    }

    pub fn read_at(&mut self, command: &str) -> usize {
        self.observer(
            NextAction::Probe {
                instruction: command.into(),
                context: String::new(),
            },
            50,
        );
        let mut step = Step::new(0, Role::Probe, "exec_shell");
        step.tool_call = Some(ToolCall::exec_shell(command));
        step.access = Some(Access::Read);
        step.raw_observation = Some("output".into());
        let i = self.push(step);
        self.t.actions += 1;
        self.compress();
        i
    }

    /// An Observer executor turn, then the Executor's write through the gate.
    pub fn write(mut self, command: &str, outcome: GateOutcome) -> Self {
        self.write_at(command, outcome);
        self
    }

    pub fn write_at(&mut self, command: &str, outcome: GateOutcome) -> usize {
        self.observer(
            NextAction::Executor {
                instruction: command.into(),
                context: String::new(),
            },
            60,
        );
        let mut step = Step::new(0, Role::Executor, "exec_shell");
        step.tool_call = Some(ToolCall::exec_shell(command));
        step.access = Some(Access::Write);
        step.gate = Some(GateRecord {
            outcome,
            rule: "default".into(),
            actor: "aoi-agent".into(),
            reason: String::new(),
        });
        self.t.actions += 1;
        if outcome == GateOutcome::Denied {
            step.error = Some("denied by the write gate".into());
            return self.push(step);
        }
        step.raw_observation = Some("patched".into());
        self.t.writes += 1;
        let i = self.push(step);
        self.compress();
        i
    }

    /// A Probe that tried to write and was refused.
    pub fn probe_write(mut self, command: &str) -> Self {
        self.observer(
            NextAction::Probe {
                instruction: command.into(),
                context: String::new(),
            },
            50,
        );
        let mut step = Step::new(0, Role::Probe, "exec_shell");
        step.tool_call = Some(ToolCall::exec_shell(command));
        step.access = Some(Access::Write);
        step.error = Some("refused: the probe can only read".into());
        self.t.actions += 1;
        self.push(step);
        self
    }

    /// The submit turn; returns the builder and the submit step.
    pub fn submit(mut self, submission: Submission, confidence: u8) -> (Trajectory, usize) {
        let i = self.observer(
            NextAction::Submit {
                submission: submission.clone(),
            },
            confidence,
        );
        if let Some(step) = self.t.steps.get_mut(i) {
            step.action = "submit".into();
            step.submission = Some(submission.clone());
        }
        self.t.actions += 1;
        self.t.submission = Some(submission);
        self.t.outcome = SessionOutcome::Submitted;
        (self.t, i)
    }

    pub fn stop(self) -> Trajectory {
        self.t
    }
}

pub fn task(task_type: TaskType) -> TaskInfo {
    TaskInfo {
        task_type,
        max_steps: MAX_STEPS,
    }
}

pub fn success() -> Verdict {
    Verdict {
        success: true,
        detail: "ok".into(),
        ..Verdict::default()
    }
}

pub fn failure(criterion: &str) -> Verdict {
    Verdict {
        success: false,
        criteria: vec![aoi_learning::patterns::CriterionResult {
            name: criterion.into(),
            passed: false,
            detail: "wrong".into(),
        }],
        out_of_budget: false,
        detail: "failed".into(),
    }
}

pub fn reference() -> ReferenceRun {
    ReferenceRun {
        relevant: ["user-service".to_string()].into(),
        fix_commands: vec![FIX.into()],
        verification_commands: vec![format!("kubectl get endpoints user-service -n {NS}")],
    }
}

/// The teacher's clean, successful mitigation: list, diagnose, fix, verify, submit.
pub fn clean_mitigation() -> (Trajectory, usize) {
    Builder::new(TaskType::Mitigation)
        .read(&format!("kubectl get pods -n {NS}"))
        .read(&format!("kubectl describe svc user-service -n {NS}"))
        .write(FIX, GateOutcome::Allowed)
        .read(&format!("kubectl get endpoints user-service -n {NS}"))
        .submit(Submission::Mitigation, 90)
}
