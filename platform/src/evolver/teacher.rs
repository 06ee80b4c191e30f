//! The evolver's teachers over the inference pool: the model teacher for sessions no twin
//! reproduces ([`PoolTeacher`], the port `aoi_evolver` asks), and the `llm` policy that plays a
//! twin problem when `evolver.teacher = "model"`. Both ask for `evolver.teacher_model` (or
//! `inference.model`) and follow the tenant's inference policy for external backends.

use std::sync::Arc;

use aoi_core::{ChatMessage, SessionOutcome, Submission, TaskSpec, TaskType, Trajectory};
use aoi_router::{ChatRequest, Pool};
use aoi_store::{Environment, Incident, Session, TenantId};
use serde_json::{Value, json};

use crate::Platform;

/// Tokens the model teacher may answer with: a plan of up to 40 steps.
const PLAN_MAX_TOKENS: u32 = 4096;

/// The model the evolver's teacher asks for: `evolver.teacher_model`, or `inference.model`.
pub fn teacher_model(platform: &Platform) -> String {
    platform
        .config
        .evolver
        .teacher_model(&platform.config.inference.model)
        .to_owned()
}

/// Whether the tenant's traffic may reach external backends (its inference policy).
pub async fn allow_external(platform: &Platform, tenant: TenantId) -> Result<bool, String> {
    crate::models::inference_policy(platform, tenant)
        .await
        .map(|p| p.allow_external)
        .map_err(|e| format!("the tenant's inference policy: {e}"))
}

/// One chat completion through the pool, constrained to a JSON Schema, as the `llm` policy
/// sends them; affinity keeps one failed session's calls on one backend.
pub struct PoolTeacher {
    pub pool: Arc<Pool>,
    pub model: String,
    pub allow_external: bool,
    /// The failed session's id.
    pub affinity: String,
}

impl aoi_evolver::TeacherModel for PoolTeacher {
    fn name(&self) -> &str {
        &self.model
    }

    async fn complete(
        &self,
        messages: &[ChatMessage],
        schema_name: &str,
        schema: &Value,
    ) -> Result<String, String> {
        let body = json!({
            "model": self.model,
            "messages": messages,
            "temperature": 0.0,
            "max_tokens": PLAN_MAX_TOKENS,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": schema, "strict": true}
            },
            "guided_json": schema,
        });
        let request = ChatRequest {
            body,
            model: self.model.clone(),
            adapter: None,
            affinity: Some(self.affinity.clone()),
            allow_external: self.allow_external,
        };
        let response = self.pool.chat(request).await.map_err(|e| e.to_string())?;
        response
            .body
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| "the reply has no `choices[0].message.content`".to_owned())
    }
}

/// The `llm` policy that plays a twin problem as the teacher (replayed on the twin to verify
/// its plan), secrets redacted from its prompts.
pub fn llm_teacher(
    pool: Arc<Pool>,
    model: String,
    allow_external: bool,
    session: &str,
) -> aoi_inference::llm::LlmPolicy {
    let config = aoi_inference::llm::LlmConfig {
        model,
        redaction: Some(aoi_inference::privacy::RedactionPolicy::secrets_only()),
        ..aoi_inference::llm::LlmConfig::default()
    };
    let mut policy = aoi_inference::llm::LlmPolicy::with_pool(config, pool, allow_external);
    policy.set_session(format!("evolver-{session}"));
    policy
}

/// The task a session on an environment no twin reproduces was given: the recorded
/// `result.task` when there is one, else built from the incident (its title as the
/// instructions) and the submission's task type (mitigation when it never submitted).
pub fn untwinned_task(
    result: &Value,
    environment: &Environment,
    incident: Option<&Incident>,
    submission: Option<&Submission>,
) -> TaskSpec {
    if let Some(task) = result
        .get("task")
        .and_then(|t| serde_json::from_value::<TaskSpec>(t.clone()).ok())
    {
        return task;
    }
    let task_type = result
        .get("task_type")
        .and_then(|t| serde_json::from_value::<TaskType>(t.clone()).ok())
        .or_else(|| submission.map(Submission::task_type))
        .unwrap_or(TaskType::Mitigation);
    TaskSpec {
        task_type,
        app_name: incident
            .and_then(|i| i.service.clone())
            .unwrap_or_else(|| environment.name.clone()),
        namespace: incident
            .and_then(|i| i.namespace.clone())
            .unwrap_or_default(),
        app_description: format!("environment {}", environment.name),
        instructions: incident.map(|i| i.title.clone()).unwrap_or_default(),
    }
}

/// The session's recorded run as a trajectory for `task`; an unreadable step is an error
/// naming it.
pub fn recorded_trajectory(
    session: &Session,
    steps: &[aoi_store::Step],
    problem_id: Option<&str>,
    task: TaskSpec,
) -> Result<Trajectory, String> {
    let result = session.result.clone().unwrap_or(Value::Null);
    let outcome = result
        .get("outcome")
        .and_then(|o| serde_json::from_value::<SessionOutcome>(o.clone()).ok())
        .unwrap_or_else(|| SessionOutcome::Failed {
            message: result
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("the session recorded no outcome")
                .to_owned(),
        });
    let mut agent_steps = Vec::with_capacity(steps.len());
    for step in steps {
        match serde_json::from_value::<aoi_core::Step>(step.payload.clone()) {
            Ok(s) => agent_steps.push(s),
            Err(e) => {
                return Err(format!(
                    "step {} of session {} is unreadable: {e}",
                    step.step_index, session.id
                ));
            }
        }
    }
    let count = |field: &str| {
        result
            .get(field)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    };
    Ok(Trajectory {
        session_id: session.id.to_string(),
        problem_id: problem_id.map(str::to_owned),
        policy: result
            .get("policy")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned(),
        task,
        input_tokens: agent_steps.iter().map(|s| s.input_tokens).sum(),
        output_tokens: agent_steps.iter().map(|s| s.output_tokens).sum(),
        steps: agent_steps,
        submission: submission_of(&result),
        outcome,
        actions: count("actions"),
        writes: count("writes"),
        duration_us: 0,
        policy_us: 0,
        tool_us: 0,
    })
}

/// The submission a session's result records, if any.
pub fn submission_of(result: &Value) -> Option<Submission> {
    result
        .get("submission")
        .and_then(|s| serde_json::from_value::<Option<Submission>>(s.clone()).ok())
        .flatten()
}
