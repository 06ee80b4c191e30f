//! The model teacher on a run no twin reproduces, with an in-memory [`TeacherModel`] that
//! records what it was sent: the draft is unverified and pending-worthy, secrets never leave
//! in the prompt and are restored in the plan, and a model error or a reply that is no plan is
//! an error naming the model and what is wrong.

#[allow(clippy::unwrap_used, clippy::expect_used)]
mod model_teacher {
    use std::sync::Mutex;

    use aoi_core::{
        Access, ChatMessage, Role, SessionOutcome, Step, TaskSpec, TaskType, ToolCall, Trajectory,
    };
    use aoi_evolver::{
        EvolveError, FailedRun, Phase, TeacherModel, Verdict, draft_signal_with_model,
    };
    use serde_json::{Value, json};

    const SECRET: &str = "AKIAZ7Q3XK9M2LPW4RTY";

    /// Answers `reply` (or fails with it) and keeps every prompt.
    struct Scripted {
        reply: Result<String, String>,
        sent: Mutex<Vec<Vec<ChatMessage>>>,
    }

    impl Scripted {
        fn new(reply: Result<String, String>) -> Self {
            Scripted {
                reply,
                sent: Mutex::new(Vec::new()),
            }
        }
    }

    impl TeacherModel for Scripted {
        fn name(&self) -> &str {
            "scripted"
        }
        async fn complete(
            &self,
            messages: &[ChatMessage],
            _schema_name: &str,
            _schema: &Value,
        ) -> Result<String, String> {
            self.sent.lock().unwrap().push(messages.to_vec());
            self.reply.clone()
        }
    }

    fn failed_run() -> FailedRun {
        let mut read = Step::new(1, Role::Probe, "exec_shell");
        read.tool_call = Some(ToolCall::exec_shell(
            "kubectl logs deploy/payments -n payments",
        ));
        read.access = Some(Access::Read);
        read.compressed_observation = Some(format!("auth failed for key {SECRET}"));
        let task = TaskSpec {
            task_type: TaskType::Mitigation,
            app_name: "payments".into(),
            namespace: "payments".into(),
            app_description: String::new(),
            instructions: "payments pods crash looping".into(),
        };
        FailedRun {
            problem_id: "payments-prod".into(),
            seed: 0,
            trajectory: Trajectory {
                session_id: "s1".into(),
                problem_id: None,
                policy: "builtin".into(),
                task,
                steps: vec![Step::new(0, Role::Observer, "plan"), read],
                submission: None,
                outcome: SessionOutcome::Failed {
                    message: "gave up".into(),
                },
                actions: 1,
                writes: 0,
                input_tokens: 0,
                output_tokens: 0,
                duration_us: 0,
                policy_us: 0,
                tool_us: 0,
            },
            verdict: Verdict {
                success: false,
                criteria: Vec::new(),
                out_of_budget: false,
                detail: "the agent gave up".into(),
            },
            source_session: Some("s1".into()),
            operator_category: None,
        }
    }

    fn plan() -> String {
        json!({
            "diagnosis": "the key was revoked",
            "phases": {
                "Discovery": [],
                "Diagnosis": [{"command": "kubectl logs deploy/payments -n payments", "purpose": "read the auth errors"}],
                "Resolution": [{"command": "rotate <<aws-key:1>>", "purpose": "replace the revoked key"}],
                "Verification": [{"command": "kubectl get pods -n payments", "purpose": "check the pods are ready"}]
            },
            "submission": {"kind": "mitigation"}
        })
        .to_string()
    }

    #[tokio::test]
    async fn a_good_plan_is_drafted_unverified_with_secrets_kept_from_the_model() {
        let model = Scripted::new(Ok(plan()));
        let draft = draft_signal_with_model(&failed_run(), &model)
            .await
            .unwrap();
        assert!(!draft.verification.attempted);
        assert!(!draft.verification.success);
        assert_eq!(draft.problem_id, "payments-prod");
        assert_eq!(draft.task_type, TaskType::Mitigation);
        let fix: Vec<&str> = draft
            .plan
            .phase(Phase::Resolution)
            .map(|s| s.command.as_str())
            .collect();
        assert_eq!(fix, [format!("rotate {SECRET}")]);
        assert!(draft.rationale.contains("scripted"), "{}", draft.rationale);
        assert!(draft.lesson.contains("`kubectl get pods -n payments`"));
        let sent = model.sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        let prompt: String = sent[0].iter().map(|m| m.content.as_str()).collect();
        assert!(!prompt.contains(SECRET), "{prompt}");
        assert!(prompt.contains("<<aws-key:1>>"), "{prompt}");
        assert!(prompt.contains("kubectl logs deploy/payments -n payments"));
    }

    #[tokio::test]
    async fn a_failing_model_or_a_reply_that_is_no_plan_is_a_clear_error() {
        let down = Scripted::new(Err("pool unavailable".into()));
        let err = draft_signal_with_model(&failed_run(), &down)
            .await
            .unwrap_err();
        assert!(matches!(err, EvolveError::Teacher { .. }), "{err}");
        assert!(err.to_string().contains("pool unavailable"), "{err}");
        let chatty = Scripted::new(Ok("Just restart it.".into()));
        let err = draft_signal_with_model(&failed_run(), &chatty)
            .await
            .unwrap_err();
        assert!(matches!(err, EvolveError::MalformedPlan { .. }), "{err}");
        assert!(err.to_string().contains("scripted"), "{err}");
        let wrong_kind = plan().replace("\"mitigation\"", "\"detection\", \"anomaly\": true");
        let err = draft_signal_with_model(&failed_run(), &Scripted::new(Ok(wrong_kind)))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("detection task"), "{err}");
    }
}
