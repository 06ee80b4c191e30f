//! `recording::recorded` around the builtin policy: every reply carries an exchange whose
//! completion the `llm` parser reads back as the same answer, and whose prompt holds no secret.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_core::{
    Access, ChatRole, CompressInput, ContextEntry, ModelExchange, NextAction, ObserverView, Policy,
    RoleRequest, TaskSpec, TaskType, ToolCall, ToolDoc, ToolOutput,
};
use aoi_inference::builtin::BuiltinPolicy;
use aoi_inference::llm::parse;
use aoi_inference::recording::recorded;

const PASSWORD: &str = "m0ng0-Geo-2024!";
const PLACEHOLDER: &str = "<<password:1>>";
const NS: &str = "test-hotel-reservation";

const PODS: &str = "NAME                        READY   STATUS             RESTARTS      AGE
frontend-6d8f9c7b5-aaaaa    1/1     Running            0             5h
geo-7c9d8b6f4-bbbbb         0/1     CrashLoopBackOff   7 (2m ago)    5h
mongodb-geo-5f6d7c8b9-ccc   1/1     Running            0             5h
search-6d8f9c7b5-ddddd      1/1     Running            0             5h
";

const EVENTS: &str = "LAST SEEN   TYPE      REASON    OBJECT                    MESSAGE
2m          Warning   BackOff   pod/geo-7c9d8b6f4-bbbbb   Back-off restarting failed container geo
";

fn task(task_type: TaskType) -> TaskSpec {
    TaskSpec {
        task_type,
        app_name: "Hotel Reservation".into(),
        namespace: NS.into(),
        app_description: "hotel booking".into(),
        instructions: format!("Find the fault. The admin login is MONGO_PASSWORD={PASSWORD}"),
    }
}

fn tools(access: Access) -> Vec<ToolDoc> {
    [
        "exec_shell",
        "get_logs",
        "get_metrics",
        "read_metrics",
        "get_traces",
        "read_traces",
    ]
    .into_iter()
    .map(|name| ToolDoc {
        name: name.into(),
        description: String::new(),
        access,
    })
    .collect()
}

/// A small cluster with one crashing service whose logs leak the database password.
fn respond(call: &ToolCall) -> String {
    let command = call.str_arg("command").unwrap_or("");
    match call.tool.as_str() {
        "get_logs" => format!(
            "2024-05-01 ERROR geo: auth failed for admin MONGO_PASSWORD={PASSWORD}\npanic: no reachable servers"
        ),
        "exec_shell" if command.contains("get pods") => PODS.to_string(),
        "exec_shell" if command.contains("events") => EVENTS.to_string(),
        "exec_shell" if command.contains("logs") => format!(
            "2024-05-01 ERROR geo: auth failed for admin MONGO_PASSWORD={PASSWORD}\npanic: no reachable servers"
        ),
        _ => format!("ok (MONGO_PASSWORD={PASSWORD})"),
    }
}

/// The exchange's completion with the session's placeholder put back, as the `llm` policy
/// restores a parsed reply.
fn restored(exchange: &ModelExchange) -> String {
    exchange.completion.replace(PLACEHOLDER, PASSWORD)
}

/// What every recorded exchange must hold: a system and a user message, no secret anywhere,
/// no logprobs and no temperature.
fn check_redacted(exchange: &ModelExchange, seen_placeholder: &mut bool) {
    let roles: Vec<ChatRole> = exchange.prompt.iter().map(|m| m.role).collect();
    assert_eq!(roles, [ChatRole::System, ChatRole::User]);
    let text = serde_json::to_string(exchange).unwrap();
    assert!(
        !text.contains(PASSWORD),
        "a secret is in the exchange: {text}"
    );
    *seen_placeholder |= text.contains(PLACEHOLDER);
    assert_eq!(exchange.logprobs, None);
    assert_eq!(exchange.temperature, None);
}

#[derive(Default)]
struct Seen {
    roles: Vec<&'static str>,
    placeholder: bool,
}

/// Runs `recorded(builtin)` through the loop for `task_type`, checking every reply.
async fn run(task_type: TaskType, seen: &mut Seen) {
    let spec = task(task_type);
    let executor_available = task_type == TaskType::Mitigation;
    let mut policy = recorded(Box::new(BuiltinPolicy::new()));
    assert_eq!(policy.name(), "builtin");
    policy.reset(&spec);
    let mut context = Vec::new();
    let mut already_run: Vec<String> = Vec::new();
    for iteration in 0..20 {
        let view = ObserverView {
            task: spec.clone(),
            iteration,
            max_iterations: 20,
            context: context.clone(),
            lessons: vec![],
            executor_available,
        };
        let reply = policy.observe(&view).await.unwrap();
        let exchange = reply.exchange.as_ref().expect("observer exchange");
        check_redacted(exchange, &mut seen.placeholder);
        let back =
            parse::observer_decision(&restored(exchange), task_type, executor_available).unwrap();
        assert_eq!(back, reply.value);
        seen.roles.push("observer");
        let (instruction, is_executor) = match reply.value.next_action {
            NextAction::Submit { submission } => {
                assert_eq!(submission.task_type(), task_type);
                return;
            }
            NextAction::Probe { instruction, .. } => (instruction, false),
            NextAction::Executor { instruction, .. } => (instruction, true),
        };
        let access = if is_executor {
            Access::Write
        } else {
            Access::Read
        };
        let request = RoleRequest {
            task: spec.clone(),
            instruction: instruction.clone(),
            context: format!("the password is MONGO_PASSWORD={PASSWORD}"),
            already_run: already_run.clone(),
            tools: tools(access),
        };
        let reply = if is_executor {
            policy.execute(&request).await.unwrap()
        } else {
            policy.probe(&request).await.unwrap()
        };
        let exchange = reply.exchange.as_ref().expect("tool call exchange");
        check_redacted(exchange, &mut seen.placeholder);
        assert_eq!(
            parse::tool_call(&restored(exchange), &request.tools).unwrap(),
            reply.value
        );
        seen.roles
            .push(if is_executor { "executor" } else { "probe" });
        let call = reply.value;
        let output = respond(&call);
        already_run.push(call.to_string());
        let reply = policy
            .compress(&CompressInput {
                task: spec.clone(),
                instruction,
                call: call.clone(),
                output: ToolOutput::ok(output),
            })
            .await
            .unwrap();
        let exchange = reply.exchange.as_ref().expect("compressor exchange");
        check_redacted(exchange, &mut seen.placeholder);
        assert!(
            exchange.prompt[1].content.contains(PLACEHOLDER) || !call.to_string().contains("logs"),
            "the leaked log line is in the prompt, redacted"
        );
        assert_eq!(parse::summary(&restored(exchange)).unwrap(), reply.value);
        seen.roles.push("compressor");
        context.push(ContextEntry {
            step: iteration,
            role: if is_executor { "executor" } else { "probe" }.into(),
            action: call.to_string(),
            summary: reply.value,
            ok: true,
        });
    }
}

#[tokio::test]
async fn every_role_of_the_builtin_is_recorded_parsable_and_redacted() {
    let mut seen = Seen::default();
    for task_type in [
        TaskType::Detection,
        TaskType::Localization,
        TaskType::Analysis,
        TaskType::Mitigation,
    ] {
        run(task_type, &mut seen).await;
    }
    for role in ["observer", "probe", "executor", "compressor"] {
        assert!(
            seen.roles.contains(&role),
            "no {role} reply: {:?}",
            seen.roles
        );
    }
    assert!(seen.placeholder, "the planted password was never replaced");
}

#[tokio::test]
async fn an_exchange_the_inner_policy_recorded_is_kept() {
    struct Recording;
    #[async_trait::async_trait]
    impl Policy for Recording {
        fn name(&self) -> &str {
            "teacher"
        }
        async fn observe(
            &mut self,
            _: &ObserverView,
        ) -> Result<aoi_core::Reply<aoi_core::ObserverDecision>, aoi_core::PolicyError> {
            unreachable!()
        }
        async fn probe(
            &mut self,
            _: &RoleRequest,
        ) -> Result<aoi_core::Reply<ToolCall>, aoi_core::PolicyError> {
            unreachable!()
        }
        async fn execute(
            &mut self,
            _: &RoleRequest,
        ) -> Result<aoi_core::Reply<ToolCall>, aoi_core::PolicyError> {
            unreachable!()
        }
        async fn compress(
            &mut self,
            _: &CompressInput,
        ) -> Result<aoi_core::Reply<String>, aoi_core::PolicyError> {
            Ok(
                aoi_core::Reply::free("s".to_string()).with_exchange(ModelExchange {
                    prompt: vec![],
                    completion: "own".into(),
                    logprobs: Some(vec![-1.0]),
                    temperature: Some(1.0),
                }),
            )
        }
    }
    let mut policy = recorded(Box::new(Recording));
    assert_eq!(policy.name(), "teacher");
    let input = CompressInput {
        task: task(TaskType::Detection),
        instruction: String::new(),
        call: ToolCall::exec_shell("kubectl get pods"),
        output: ToolOutput::ok("x"),
    };
    let exchange = policy.compress(&input).await.unwrap().exchange.unwrap();
    assert_eq!(exchange.completion, "own");
    assert_eq!(exchange.logprobs, Some(vec![-1.0]));
}
