//! External environments: sessions whose tool calls an API client executes (the AIOpsLab
//! bridge, bridge/aoi_aiopslab.py).
//!
//! The agent runs in an AOI worker as usual, with the usual roles, gate and step records; only
//! the environment is elsewhere. Its registry holds one [`ExternalToolset`] offering AIOpsLab's
//! APIs (get_logs, get_metrics, read_metrics, get_traces, read_traces, exec_shell). A call that
//! reaches it (a write only after the gate allowed it or a person approved it) is published as
//! the session's pending call; the client long-polls it (`GET .../external/next`), executes it
//! on its cluster and posts the output (`POST .../external/result`), which becomes the step's
//! observation. When the session ends, `next` answers `done` with the submission, which the
//! client hands to its orchestrator; AOI does not score external sessions.
//!
//! The exchange lives in memory in the process that runs the worker ([`exchange`]): the default
//! `aoi serve` runs its workers in-process, so the API and the worker meet there. A separate
//! `aoi worker agent` process (or several `serve` replicas behind one address) would need a
//! store-backed exchange (a table of pending calls) instead; the API answers `waiting` forever
//! for a session whose worker runs in another process. A call whose wait ends (answered,
//! timed out after `call_timeout_secs`, or dropped because the worker lost its lease) is
//! withdrawn; a result posted for it afterwards answers 409.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use aoi_control::{ApiError, Authorized, Permission};
use aoi_core::{Access, TaskSpec, TaskType, ToolCall, ToolOutput};
use aoi_plugin_sdk::{ToolManifest, Toolset};
use aoi_store::{EnvironmentKind, Session, TenantId};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use crate::Platform;
use crate::ports::store_error;
use crate::tenants::scope_tenant;

/// How long a call waits for the client's result by default (`config.call_timeout_secs`).
pub const DEFAULT_CALL_TIMEOUT_SECS: u64 = 600;
/// The longest a long-poll of `next` waits (`wait_ms` is capped to it).
pub const MAX_WAIT: Duration = Duration::from_secs(30);
/// The most of one output the agent gets; the rest is cut with a note.
pub const MAX_OUTPUT_BYTES: usize = 16 * 1024;

/// The task an external environment runs, from its `config` ([`ExternalTask::from_config`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalTask {
    /// detection, localization, analysis or mitigation.
    pub task_type: TaskType,
    /// The application's namespace, e.g. `test-hotel-reservation`.
    pub namespace: String,
    /// The application's display name, e.g. `Hotel Reservation`.
    pub app_name: String,
    /// What the application is, as the orchestrator describes it (may be empty).
    pub app_description: String,
    /// The full task text the orchestrator gave (problem description and instructions).
    pub instructions: String,
    /// How long one call waits for the client's result, in seconds (1 to 3600; default 600).
    pub call_timeout_secs: u64,
}

impl ExternalTask {
    /// Reads and checks an external environment's `config`; errors name the field
    /// (`config.task_type`, ...).
    pub fn from_config(config: &Value) -> Result<ExternalTask, ApiError> {
        let Some(map) = config.as_object() else {
            return Err(ApiError::invalid_input(
                "config",
                "an external environment needs a config object with task_type, namespace, app_name, app_description and instructions",
            ));
        };
        let text = |key: &str, required: bool| -> Result<String, ApiError> {
            match map.get(key) {
                Some(Value::String(s)) if !s.trim().is_empty() || !required => Ok(s.clone()),
                None if !required => Ok(String::new()),
                Some(Value::String(_)) | None => Err(ApiError::invalid_input(
                    format!("config.{key}"),
                    "is required: a non-empty string",
                )),
                Some(_) => Err(ApiError::invalid_input(
                    format!("config.{key}"),
                    "must be a string",
                )),
            }
        };
        let task_type: TaskType = text("task_type", true)?
            .parse()
            .map_err(|e: String| ApiError::invalid_input("config.task_type", e))?;
        let namespace = text("namespace", true)?;
        if namespace.len() > 253 || namespace.chars().any(char::is_whitespace) {
            return Err(ApiError::invalid_input(
                "config.namespace",
                "use a Kubernetes namespace name (no spaces, at most 253 characters)",
            ));
        }
        let call_timeout_secs = match map.get("call_timeout_secs") {
            None => DEFAULT_CALL_TIMEOUT_SECS,
            Some(v) => v
                .as_u64()
                .filter(|s| (1..=3600).contains(s))
                .ok_or_else(|| {
                    ApiError::invalid_input(
                        "config.call_timeout_secs",
                        "use a whole number of seconds from 1 to 3600",
                    )
                })?,
        };
        let known = [
            "task_type",
            "namespace",
            "app_name",
            "app_description",
            "instructions",
            "call_timeout_secs",
        ];
        if let Some(other) = map.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(ApiError::invalid_input(
                format!("config.{other}"),
                format!("unknown field: use {}", known.join(", ")),
            ));
        }
        Ok(ExternalTask {
            task_type,
            namespace,
            app_name: text("app_name", true)?,
            app_description: text("app_description", false)?,
            instructions: text("instructions", true)?,
            call_timeout_secs,
        })
    }

    /// The task as the agent sees it.
    pub fn spec(&self) -> TaskSpec {
        TaskSpec {
            task_type: self.task_type,
            app_name: self.app_name.clone(),
            namespace: self.namespace.clone(),
            app_description: self.app_description.clone(),
            instructions: self.instructions.clone(),
        }
    }

    pub fn call_timeout(&self) -> Duration {
        Duration::from_secs(self.call_timeout_secs)
    }
}

/// A call waiting for the client.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingCall {
    pub call_id: Uuid,
    pub tool: String,
    pub args: Map<String, Value>,
    /// The call in AIOpsLab's Python-call form, e.g. `exec_shell("kubectl get pods -n x")`.
    pub action: String,
    /// `write` for a state-changing shell command (it already passed the gate).
    pub access: Access,
}

/// How a session ended, as the client sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finished {
    /// The session's final status (`succeeded` when the agent submitted).
    pub status: String,
    /// The submission (`{"kind": "localization", "services": [...]}`), if any.
    pub submission: Option<Value>,
    /// The submission as AIOpsLab's call, e.g. `submit(["geo"])`, if any.
    pub action: Option<String>,
}

/// What `GET /api/v1/sessions/{id}/external/next` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Next {
    /// A call to execute; post its output with its `call_id`.
    Call(PendingCall),
    /// The session ended.
    Done(Finished),
    /// Nothing to do within the wait; ask again.
    Waiting { status: String },
}

#[derive(Debug, Clone)]
enum SlotState {
    Idle,
    Calling(PendingCall),
    Done(Finished),
}

/// One session's side of the exchange.
#[derive(Debug)]
struct Slot {
    state: watch::Sender<SlotState>,
    reply: Mutex<Option<(Uuid, oneshot::Sender<ToolOutput>)>>,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            state: watch::Sender::new(SlotState::Idle),
            reply: Mutex::new(None),
        }
    }
}

/// Why a posted result was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    #[error(
        "session {session} has no pending call: the call may have timed out or the session ended"
    )]
    NoPendingCall { session: Uuid },
    #[error("call {posted} is not the pending call of session {session} (pending: {pending})")]
    OtherCall {
        session: Uuid,
        posted: Uuid,
        pending: Uuid,
    },
}

/// The pending calls of the sessions of external environments in this process.
#[derive(Debug, Default)]
pub struct ExternalExchange {
    slots: Mutex<HashMap<Uuid, Arc<Slot>>>,
}

static EXCHANGE: LazyLock<ExternalExchange> = LazyLock::new(ExternalExchange::default);

/// The exchange of this process (see the module doc on why it is in memory).
pub fn exchange() -> &'static ExternalExchange {
    &EXCHANGE
}

impl ExternalExchange {
    fn slot(&self, session: Uuid) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots
            .entry(session)
            .or_insert_with(|| Arc::new(Slot::new()))
            .clone()
    }

    fn existing(&self, session: Uuid) -> Option<Arc<Slot>> {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.get(&session).cloned()
    }

    /// Forgets a session (its waiters still see its last state).
    pub fn forget(&self, session: Uuid) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.remove(&session);
    }

    /// Publishes `call` as the session's pending call and waits up to `timeout` for its result.
    /// `None` when none came in time. A dropped wait (the worker lost its lease) withdraws it.
    pub async fn call(
        &self,
        session: Uuid,
        call: &ToolCall,
        access: Access,
        timeout: Duration,
    ) -> Option<ToolOutput> {
        let slot = self.slot(session);
        let call_id = Uuid::new_v4();
        let (tx, rx) = oneshot::channel();
        *slot.reply.lock().unwrap_or_else(PoisonError::into_inner) = Some((call_id, tx));
        slot.state.send_replace(SlotState::Calling(PendingCall {
            call_id,
            tool: call.tool.clone(),
            args: call.args.clone(),
            action: call.to_string(),
            access,
        }));
        let _withdraw = Withdraw {
            slot: slot.clone(),
            call_id,
        };
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(output)) => Some(output),
            Ok(Err(_)) | Err(_) => None,
        }
    }

    /// Hands the client's output to the waiting call.
    pub fn post_result(
        &self,
        session: Uuid,
        call_id: Uuid,
        output: ToolOutput,
    ) -> Result<PendingCall, PostError> {
        let slot = self
            .existing(session)
            .ok_or(PostError::NoPendingCall { session })?;
        let pending = match &*slot.state.borrow() {
            SlotState::Calling(p) => p.clone(),
            SlotState::Idle | SlotState::Done(_) => {
                return Err(PostError::NoPendingCall { session });
            }
        };
        if pending.call_id != call_id {
            return Err(PostError::OtherCall {
                session,
                posted: call_id,
                pending: pending.call_id,
            });
        }
        let reply = slot
            .reply
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        slot.state.send_replace(SlotState::Idle);
        match reply {
            Some((id, tx)) if id == call_id => match tx.send(output) {
                Ok(()) => Ok(pending),
                Err(_) => Err(PostError::NoPendingCall { session }),
            },
            _ => Err(PostError::NoPendingCall { session }),
        }
    }

    /// Marks the session ended: waiting clients get `done`; the slot is then dropped.
    pub fn finish(&self, session: Uuid, finished: Finished) {
        if let Some(slot) = self.existing(session) {
            slot.state.send_replace(SlotState::Done(finished));
        }
        self.forget(session);
    }

    /// The session's pending call, or its end, waiting up to `wait` for either.
    pub async fn next(&self, session: Uuid, wait: Duration) -> Option<Next> {
        let slot = self.slot(session);
        let mut rx = slot.state.subscribe();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match rx.borrow_and_update().clone() {
                SlotState::Calling(call) => return Some(Next::Call(call)),
                SlotState::Done(done) => return Some(Next::Done(done)),
                SlotState::Idle => {}
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return None,
            }
        }
    }
}

/// Withdraws a pending call whose wait ended (answered, timed out or dropped).
struct Withdraw {
    slot: Arc<Slot>,
    call_id: Uuid,
}

impl Drop for Withdraw {
    fn drop(&mut self) {
        let mut reply = self
            .slot
            .reply
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if reply.as_ref().is_some_and(|(id, _)| *id == self.call_id) {
            *reply = None;
        }
        drop(reply);
        self.slot.state.send_if_modified(|state| match state {
            SlotState::Calling(p) if p.call_id == self.call_id => {
                *state = SlotState::Idle;
                true
            }
            _ => false,
        });
    }
}

/// AIOpsLab's APIs, executed by the API client of the session.
pub struct ExternalToolset {
    session: Uuid,
    timeout: Duration,
    /// Set once a call went unanswered: later calls fail at once instead of each waiting.
    abandoned: AtomicBool,
}

impl ExternalToolset {
    pub fn new(session: Uuid, timeout: Duration) -> ExternalToolset {
        ExternalToolset {
            session,
            timeout,
            abandoned: AtomicBool::new(false),
        }
    }
}

/// Whether a call changes state, as the gate classified it (exec_shell by its command).
fn access_of(call: &ToolCall) -> Access {
    if call.tool != "exec_shell" {
        return Access::Read;
    }
    match call.str_arg("command").map(aoi_agent::classify_shell) {
        Some(class) if class.is_read() => Access::Read,
        _ => Access::Write,
    }
}

/// Cuts `text` to [`MAX_OUTPUT_BYTES`] on a character boundary, with a note.
pub fn truncate_output(text: &str) -> String {
    if text.len() <= MAX_OUTPUT_BYTES {
        return text.to_string();
    }
    let mut end = MAX_OUTPUT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[... output cut at {MAX_OUTPUT_BYTES} of {} bytes]",
        &text[..end],
        text.len()
    )
}

#[async_trait]
impl Toolset for ExternalToolset {
    fn manifests(&self) -> Vec<ToolManifest> {
        aoi_twin::env::manifests()
    }

    async fn call(&self, call: &ToolCall) -> ToolOutput {
        if self.abandoned.load(Ordering::Relaxed) {
            return ToolOutput::error(
                "[ERROR] the external client stopped answering: no call of this session is executed any more; submit with what is known",
            );
        }
        match exchange()
            .call(self.session, call, access_of(call), self.timeout)
            .await
        {
            Some(output) => output,
            None => {
                self.abandoned.store(true, Ordering::Relaxed);
                ToolOutput::error(format!(
                    "[ERROR] no result from the external client within {} s: the bridge is not running or lost the session",
                    self.timeout.as_secs()
                ))
            }
        }
    }
}

/// The body of `POST /api/v1/sessions/{id}/external/result`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostResult {
    pub call_id: Uuid,
    /// What the call printed (AIOpsLab's observation text).
    pub output: String,
    /// Whether the call failed (AIOpsLab prints `[ERROR] ...`).
    #[serde(default)]
    pub is_error: bool,
}

/// What a posted result was taken for.
#[derive(Debug, Clone, Serialize)]
pub struct Accepted {
    pub call_id: Uuid,
    pub tool: String,
    /// Whether the output was cut to [`MAX_OUTPUT_BYTES`].
    pub truncated: bool,
}

/// A session of the caller's tenant that runs on an external environment.
async fn external_session(
    platform: &Platform,
    proof: &Authorized,
    id: Uuid,
) -> Result<(TenantId, Session), ApiError> {
    let tenant = scope_tenant(platform, proof).await?;
    let what = format!("session {id}");
    let session = platform
        .store
        .session(tenant, id)
        .await
        .map_err(store_error(what.clone()))?
        .ok_or(ApiError::NotFound { what })?;
    let environment = platform
        .store
        .environment(tenant, session.environment_id)
        .await
        .map_err(store_error("the session's environment"))?;
    if environment.map(|e| e.kind) != Some(EnvironmentKind::External) {
        return Err(ApiError::Conflict {
            what: format!(
                "session {id} does not run on an external environment; only those take calls from a client"
            ),
        });
    }
    Ok((tenant, session))
}

/// How a finished session looks from its stored result.
fn finished_of(session: &Session) -> Finished {
    let result = session.result.clone().unwrap_or(Value::Null);
    let submission = result.get("submission").filter(|s| !s.is_null()).cloned();
    let action = result
        .get("submission_action")
        .and_then(Value::as_str)
        .map(str::to_string);
    Finished {
        status: session.status.as_str().to_string(),
        submission,
        action,
    }
}

/// The session's next call to execute, or its end, waiting up to `wait` (capped to
/// [`MAX_WAIT`]) for either (needs [`Permission::StartSession`]: the client runs the session).
pub async fn next(
    platform: &Platform,
    proof: &Authorized,
    id: Uuid,
    wait: Duration,
) -> Result<Next, ApiError> {
    proof.require(Permission::StartSession)?;
    let (_, session) = external_session(platform, proof, id).await?;
    if session.status.is_final() {
        exchange().forget(id);
        return Ok(Next::Done(finished_of(&session)));
    }
    match exchange().next(id, wait.min(MAX_WAIT)).await {
        Some(next) => Ok(next),
        None => Ok(Next::Waiting {
            status: session.status.as_str().to_string(),
        }),
    }
}

/// Hands the output of the session's pending call to the agent (needs
/// [`Permission::StartSession`]; audited as `external.result` without the output itself).
/// A write reaches the client only after the gate allowed or a person approved it, so the
/// client only ever executes decided writes.
pub async fn post_result(
    platform: &Platform,
    proof: &Authorized,
    id: Uuid,
    input: PostResult,
) -> Result<Accepted, ApiError> {
    proof.require(Permission::StartSession)?;
    let (tenant, _) = external_session(platform, proof, id).await?;
    let truncated = input.output.len() > MAX_OUTPUT_BYTES;
    let text = truncate_output(&input.output);
    let output = if input.is_error {
        ToolOutput::error(text)
    } else {
        ToolOutput::ok(text)
    };
    let pending = exchange()
        .post_result(id, input.call_id, output)
        .map_err(|e| ApiError::Conflict {
            what: e.to_string(),
        })?;
    crate::audit::record_write(
        platform,
        proof,
        Some(tenant),
        "external.result",
        &format!("session:{id}"),
        json!({
            "call_id": input.call_id,
            "tool": pending.tool,
            "access": pending.access,
            "is_error": input.is_error,
            "bytes": input.output.len(),
        }),
    )
    .await?;
    Ok(Accepted {
        call_id: input.call_id,
        tool: pending.tool,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Value {
        json!({
            "task_type": "localization",
            "namespace": "test-hotel-reservation",
            "app_name": "Hotel Reservation",
            "app_description": "hotels",
            "instructions": "find the faulty service",
        })
    }

    #[test]
    fn config_is_read_and_errors_name_the_field() {
        let t = ExternalTask::from_config(&task()).unwrap();
        assert_eq!(t.task_type, TaskType::Localization);
        assert_eq!(t.call_timeout_secs, DEFAULT_CALL_TIMEOUT_SECS);
        assert_eq!(t.spec().namespace, "test-hotel-reservation");
        let field_of = |v: Value| match ExternalTask::from_config(&v) {
            Err(ApiError::InvalidInput { field, .. }) => field,
            other => panic!("expected invalid input, got {other:?}"),
        };
        let mut bad = task();
        bad["task_type"] = json!("triage");
        assert_eq!(field_of(bad), "config.task_type");
        let mut bad = task();
        bad.as_object_mut().unwrap().remove("namespace");
        assert_eq!(field_of(bad), "config.namespace");
        let mut bad = task();
        bad["instructions"] = json!(3);
        assert_eq!(field_of(bad), "config.instructions");
        let mut bad = task();
        bad["call_timeout_secs"] = json!(0);
        assert_eq!(field_of(bad), "config.call_timeout_secs");
        let mut bad = task();
        bad["problem_id"] = json!("x");
        assert_eq!(field_of(bad), "config.problem_id");
        assert_eq!(field_of(json!([])), "config");
    }

    #[test]
    fn long_outputs_are_cut_on_a_character_boundary_with_a_note() {
        let text = "é".repeat(MAX_OUTPUT_BYTES);
        let cut = truncate_output(&text);
        assert!(cut.len() < MAX_OUTPUT_BYTES + 100, "{}", cut.len());
        assert!(cut.ends_with(&format!("of {} bytes]", text.len())), "{cut}");
        assert_eq!(truncate_output("short"), "short");
    }

    #[test]
    fn shell_writes_are_marked_write() {
        assert_eq!(
            access_of(&ToolCall::exec_shell("kubectl get pods -n x")),
            Access::Read
        );
        assert_eq!(
            access_of(&ToolCall::exec_shell("kubectl delete pod a -n x")),
            Access::Write
        );
        assert_eq!(access_of(&ToolCall::get_logs("x", "geo")), Access::Read);
    }

    #[tokio::test]
    async fn a_call_waits_for_the_posted_result() {
        let session = Uuid::new_v4();
        let tools = Arc::new(ExternalToolset::new(session, Duration::from_secs(30)));
        let agent = {
            let tools = tools.clone();
            tokio::spawn(async move {
                tools
                    .call(&ToolCall::exec_shell("kubectl get pods -n x"))
                    .await
            })
        };
        let Some(Next::Call(pending)) = exchange().next(session, Duration::from_secs(30)).await
        else {
            panic!("no pending call");
        };
        assert_eq!(pending.action, r#"exec_shell("kubectl get pods -n x")"#);
        assert_eq!(pending.access, Access::Read);
        let wrong = Uuid::new_v4();
        assert!(matches!(
            exchange().post_result(session, wrong, ToolOutput::ok("no")),
            Err(PostError::OtherCall { .. })
        ));
        exchange()
            .post_result(session, pending.call_id, ToolOutput::ok("NAME READY"))
            .unwrap();
        assert_eq!(agent.await.unwrap(), ToolOutput::ok("NAME READY"));
        // Answered: nothing is pending any more.
        assert_eq!(
            exchange().post_result(session, pending.call_id, ToolOutput::ok("again")),
            Err(PostError::NoPendingCall { session })
        );
        assert!(
            exchange()
                .next(session, Duration::from_millis(20))
                .await
                .is_none()
        );
        exchange().finish(
            session,
            Finished {
                status: "succeeded".into(),
                submission: None,
                action: None,
            },
        );
    }

    #[tokio::test]
    async fn an_unanswered_call_times_out_and_later_calls_fail_at_once() {
        let session = Uuid::new_v4();
        let tools = ExternalToolset::new(session, Duration::from_millis(50));
        let out = tools.call(&ToolCall::get_logs("x", "geo")).await;
        assert!(out.is_error && out.text.contains("no result"), "{out:?}");
        // The timed-out call was withdrawn.
        assert!(
            exchange()
                .next(session, Duration::from_millis(20))
                .await
                .is_none()
        );
        let out = tools.call(&ToolCall::get_logs("x", "geo")).await;
        assert!(
            out.is_error && out.text.contains("stopped answering"),
            "{out:?}"
        );
        exchange().forget(session);
    }

    #[tokio::test]
    async fn waiting_clients_see_the_end() {
        let session = Uuid::new_v4();
        let slot = exchange().slot(session);
        let waiter =
            tokio::spawn(async move { exchange().next(session, Duration::from_secs(30)).await });
        while slot.state.receiver_count() == 0 {
            tokio::task::yield_now().await;
        }
        let finished = Finished {
            status: "succeeded".into(),
            submission: Some(json!({"kind": "detection", "anomaly": true})),
            action: Some("submit(\"Yes\")".into()),
        };
        exchange().finish(session, finished.clone());
        assert_eq!(waiter.await.unwrap(), Some(Next::Done(finished)));
    }
}
