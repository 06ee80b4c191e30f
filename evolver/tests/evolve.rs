//! The evolver on the shipped suite: drafting a signal from a failed run with the built-in
//! teacher, verifying plans by replay, and retrieving lessons.

#[allow(clippy::unwrap_used, clippy::expect_used)]
mod evolve {
    use aoi_agent::{AutoGate, SessionConfig, ToolRegistry, run_session};
    use aoi_core::{
        CompressInput, NextAction, ObserverDecision, ObserverView, Policy, PolicyError, Reply,
        RoleRequest, Submission, TaskSpec, TaskType, ToolCall, Trajectory,
    };
    use aoi_evolver::{
        EvolveError, FailedRun, Phase, draft_signal, draft_signal_with_teacher, select_lessons,
        symptoms_of, verify_plan,
    };
    use aoi_learning::patterns::{FailurePattern, Verdict};
    use aoi_plugin_sdk::Toolset;
    use aoi_twin::env::TwinEnv;
    use aoi_twin::suite::Suite;
    use async_trait::async_trait;
    use std::sync::Arc;

    /// Submits a wrong answer at once: "No" for detection, a made-up service, an application
    /// code defect, or a mitigation without a fix.
    struct WrongAtOnce;

    #[async_trait]
    impl Policy for WrongAtOnce {
        fn name(&self) -> &str {
            "wrong-at-once"
        }
        async fn observe(
            &mut self,
            view: &ObserverView,
        ) -> Result<Reply<ObserverDecision>, PolicyError> {
            let submission = match view.task.task_type {
                TaskType::Detection => Submission::Detection { anomaly: false },
                TaskType::Localization => Submission::Localization {
                    services: vec!["no-such-service".into()],
                },
                TaskType::Analysis => Submission::Analysis {
                    system_level: aoi_core::SystemLevel::Hardware,
                    fault_type: aoi_core::FaultType::CodeDefect,
                },
                TaskType::Mitigation => Submission::Mitigation,
            };
            Ok(Reply::free(ObserverDecision {
                previous_iteration_summary: String::new(),
                current_phase: "Discovery".into(),
                root_cause_analysis: "looks fine".into(),
                confidence: 90,
                next_action: NextAction::Submit { submission },
            }))
        }
        async fn probe(&mut self, _: &RoleRequest) -> Result<Reply<ToolCall>, PolicyError> {
            Err(PolicyError::Other("never probes".into()))
        }
        async fn execute(&mut self, _: &RoleRequest) -> Result<Reply<ToolCall>, PolicyError> {
            Err(PolicyError::Other("never executes".into()))
        }
        async fn compress(&mut self, _: &CompressInput) -> Result<Reply<String>, PolicyError> {
            Ok(Reply::free(String::new()))
        }
    }

    fn suite() -> Suite {
        Suite::resolve("aiopslab").unwrap()
    }

    async fn failed_run(suite: &Suite, problem_id: &str, seed: u64) -> FailedRun {
        let env = Arc::new(TwinEnv::start(suite, problem_id, seed).unwrap());
        let tools = ToolRegistry::new(vec![env.clone() as Arc<dyn Toolset>]).unwrap();
        let mut policy = WrongAtOnce;
        let mut trajectory: Trajectory = run_session(
            "failed",
            &mut policy,
            &tools,
            &AutoGate,
            env.task(),
            &SessionConfig::default(),
        )
        .await;
        trajectory.problem_id = Some(problem_id.to_string());
        let evaluation = env.evaluate(trajectory.submission.as_ref());
        assert!(
            !evaluation.success,
            "the wrong answer must fail: {}",
            evaluation.detail
        );
        FailedRun {
            problem_id: problem_id.to_string(),
            seed,
            trajectory,
            verdict: Verdict {
                success: false,
                detail: evaluation.detail,
                ..Verdict::default()
            },
            source_session: None,
            operator_category: None,
        }
    }

    fn phases_in_order(phases: &[Phase]) -> bool {
        let rank = |p: &Phase| Phase::ALL.iter().position(|q| q == p).unwrap();
        phases.windows(2).all(|w| rank(&w[0]) <= rank(&w[1]))
    }

    #[tokio::test]
    async fn detection_signal_is_drafted_and_verified_with_the_builtin_teacher() {
        let suite = suite();
        let failed = failed_run(&suite, "k8s_target_port-misconfig-detection-1", 11).await;
        let draft = draft_signal(&suite, &failed).await.unwrap();
        assert_eq!(draft.task_type, TaskType::Detection);
        assert!(
            draft.patterns.contains(&FailurePattern::PrematureStop)
                || draft
                    .patterns
                    .contains(&FailurePattern::IncompleteDiagnosis),
            "patterns: {:?}",
            draft.patterns
        );
        assert!(draft.first_wrong_step.is_some());
        assert_eq!(draft.failed_commands, vec!["submit(\"No\")".to_string()]);
        assert!(draft.plan.phase(Phase::Discovery).count() > 0);
        assert!(draft.plan.phase(Phase::Diagnosis).count() > 0);
        assert_eq!(
            draft.plan.phase(Phase::Resolution).count(),
            0,
            "detection writes nothing"
        );
        let phases: Vec<Phase> = draft.plan.steps.iter().map(|s| s.phase).collect();
        assert!(phases_in_order(&phases), "{phases:?}");
        assert_eq!(
            draft.plan.submission,
            Some(serde_json::json!({"kind": "detection", "anomaly": true}))
        );
        assert!(
            draft.verification.attempted && draft.verification.success,
            "{:?}",
            draft.verification
        );
        assert!(
            draft.rationale.contains("premature stop")
                || draft.rationale.contains("incomplete diagnosis")
        );
        assert!(
            draft.rationale.contains("first went wrong at step"),
            "{}",
            draft.rationale
        );
        assert!(
            draft.lesson.starts_with("On a detection task for "),
            "{}",
            draft.lesson
        );
        assert!(draft.lesson.contains("Diagnose with `"), "{}", draft.lesson);
        assert!(draft.lesson.contains("submit(\"Yes\")"), "{}", draft.lesson);
        assert!(
            draft.symptoms.contains(&"detection".to_string()),
            "{:?}",
            draft.symptoms
        );
        assert!(
            draft
                .symptoms
                .contains(&failed.trajectory.task.namespace.to_lowercase())
        );
    }

    #[tokio::test]
    async fn mitigation_signal_has_a_fix_and_a_verification_and_fails_without_the_fix() {
        let suite = suite();
        let problem = "k8s_target_port-misconfig-mitigation-1";
        let failed = failed_run(&suite, problem, 5).await;
        let draft = draft_signal(&suite, &failed).await.unwrap();
        assert!(
            draft.patterns.contains(&FailurePattern::MissingFix),
            "{:?}",
            draft.patterns
        );
        let fixes: Vec<&str> = draft
            .plan
            .phase(Phase::Resolution)
            .map(|s| s.command.as_str())
            .collect();
        assert!(!fixes.is_empty(), "{:#?}", draft.plan);
        assert!(
            draft.plan.phase(Phase::Verification).count() > 0,
            "{:#?}",
            draft.plan
        );
        assert!(draft.verification.success, "{:?}", draft.verification);
        assert!(
            draft.lesson.contains(&format!("Fix with `{}`", fixes[0])),
            "{}",
            draft.lesson
        );
        assert!(
            draft.rationale.contains("missing fix"),
            "{}",
            draft.rationale
        );

        // The same plan replays to success; without its Resolution phase it fails.
        let again = verify_plan(&suite, problem, 5, &draft.plan).await;
        assert!(again.attempted && again.success, "{again:?}");
        let mut broken = draft.plan.clone();
        broken.steps.retain(|s| s.phase != Phase::Resolution);
        let v = verify_plan(&suite, problem, 5, &broken).await;
        assert!(v.attempted, "{v:?}");
        assert!(!v.success, "a plan without its fix must not verify: {v:?}");
    }

    #[tokio::test]
    async fn a_teacher_that_fails_yields_an_unverified_draft() {
        let suite = suite();
        let failed = failed_run(&suite, "k8s_target_port-misconfig-localization-1", 3).await;
        let mut teacher = WrongAtOnce;
        let draft = draft_signal_with_teacher(&suite, &failed, &mut teacher)
            .await
            .unwrap();
        assert!(!draft.verification.success);
        assert!(!draft.verification.attempted);
        assert!(
            draft.verification.detail.contains("did not solve"),
            "{}",
            draft.verification.detail
        );
        assert!(
            draft.rationale.contains("not verified"),
            "{}",
            draft.rationale
        );
    }

    #[tokio::test]
    async fn an_unknown_problem_or_a_mismatched_task_type_is_refused() {
        let suite = suite();
        let mut failed = failed_run(&suite, "k8s_target_port-misconfig-detection-1", 1).await;
        failed.problem_id = "no-such-problem".into();
        let err = draft_signal(&suite, &failed).await.unwrap_err();
        assert!(matches!(err, EvolveError::UnknownProblem { .. }), "{err}");
        failed.problem_id = "k8s_target_port-misconfig-mitigation-1".into();
        let err = draft_signal(&suite, &failed).await.unwrap_err();
        assert!(matches!(err, EvolveError::TaskTypeMismatch { .. }), "{err}");
        let v = verify_plan(
            &suite,
            "no-such-problem",
            1,
            &aoi_evolver::RepairedPlan {
                steps: Vec::new(),
                submission: Some(serde_json::json!({"kind": "mitigation"})),
            },
        )
        .await;
        assert!(!v.attempted && !v.success, "{v:?}");
    }

    fn task(task_type: TaskType, app: &str, namespace: &str, text: &str) -> TaskSpec {
        TaskSpec {
            task_type,
            app_name: app.into(),
            namespace: namespace.into(),
            app_description: String::new(),
            instructions: text.into(),
        }
    }

    #[test]
    fn symptoms_are_lower_case_keywords_without_stop_words() {
        let t = task(
            TaskType::Mitigation,
            "Hotel Reservation",
            "test-hotel-reservation",
            "You are an expert DevOps engineer. Fix the geo service.",
        );
        let s = symptoms_of(&t, "ImagePullBackOff on geo, connection refused");
        assert_eq!(
            &s[..3],
            &["mitigation", "hotel-reservation", "test-hotel-reservation"]
        );
        for w in [
            "hotel",
            "reservation",
            "fix",
            "geo",
            "imagepullbackoff",
            "connection",
            "refused",
        ] {
            assert!(s.contains(&w.to_string()), "{w} missing from {s:?}");
        }
        for w in ["you", "the", "expert", "devops", "on"] {
            assert!(!s.contains(&w.to_string()), "{w} kept in {s:?}");
        }
        assert_eq!(s.iter().filter(|w| *w == "geo").count(), 1, "no repeats");
    }

    #[test]
    fn lessons_are_ranked_by_symptom_overlap_ties_by_order_and_zero_overlap_dropped() {
        let hotel = task(
            TaskType::Mitigation,
            "Hotel Reservation",
            "test-hotel-reservation",
            "geo pods crash",
        );
        let cands = vec![
            (
                symptoms_of(
                    &task(
                        TaskType::Detection,
                        "Social Network",
                        "test-social-network",
                        "pods crash",
                    ),
                    "",
                ),
                "social".to_string(),
            ),
            (
                symptoms_of(
                    &task(
                        TaskType::Mitigation,
                        "Hotel Reservation",
                        "test-hotel-reservation",
                        "rate pods",
                    ),
                    "",
                ),
                "hotel-rate".to_string(),
            ),
            (symptoms_of(&hotel, "geo"), "hotel-geo".to_string()),
            (
                vec!["astronomy".into(), "kafka".into()],
                "unrelated".to_string(),
            ),
            (
                symptoms_of(
                    &task(
                        TaskType::Mitigation,
                        "Hotel Reservation",
                        "test-hotel-reservation",
                        "rate pods",
                    ),
                    "",
                ),
                "hotel-rate-2".to_string(),
            ),
        ];
        let got = select_lessons(&cands, &hotel, "", 3);
        assert_eq!(got, vec!["hotel-geo", "hotel-rate", "hotel-rate-2"]);
        let all = select_lessons(&cands, &hotel, "", 10);
        assert_eq!(
            all,
            vec!["hotel-geo", "hotel-rate", "hotel-rate-2", "social"]
        );
        assert!(select_lessons(&cands, &hotel, "", 0).is_empty());
    }
}
