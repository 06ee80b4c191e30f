//! Each failure pattern on a hand-made trajectory, and none on clean successful runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aoi_core::{GateOutcome, Submission, TaskType};
use aoi_learning::patterns::{FailurePattern as P, ReferenceRun, mine};
use common::*;
use std::collections::BTreeSet;

fn set(patterns: &[P]) -> BTreeSet<P> {
    patterns.iter().copied().collect()
}

#[test]
fn a_clean_successful_mitigation_shows_no_pattern() {
    let (t, _) = clean_mitigation();
    let m = mine(
        &t,
        &task(TaskType::Mitigation),
        &success(),
        Some(&reference()),
    );
    assert!(m.patterns.is_empty(), "{:?}", m.evidence);
    assert_eq!(m.first_wrong_step, None);
    assert!(m.evidence.is_empty());
    // Also without a reference.
    let m = mine(&t, &task(TaskType::Mitigation), &success(), None);
    assert!(m.patterns.is_empty(), "{:?}", m.evidence);
}

#[test]
fn a_clean_successful_localization_shows_no_pattern() {
    let (t, _) = Builder::new(TaskType::Localization)
        .read(&format!("kubectl get pods -n {NS}"))
        .read(&format!("kubectl describe svc user-service -n {NS}"))
        .read(&format!(
            "kubectl logs user-service-5c7d8f9b6-qwert -n {NS}"
        ))
        .submit(
            Submission::Localization {
                services: vec!["user-service".into()],
            },
            85,
        );
    let m = mine(
        &t,
        &task(TaskType::Localization),
        &success(),
        Some(&reference()),
    );
    assert!(m.patterns.is_empty(), "{:?}", m.evidence);
}

#[test]
fn a_missing_fix_is_a() {
    let (t, submit) = Builder::new(TaskType::Mitigation)
        .read(&format!("kubectl describe svc user-service -n {NS}"))
        .submit(Submission::Mitigation, 80);
    let m = mine(
        &t,
        &task(TaskType::Mitigation),
        &failure("mitigation"),
        Some(&reference()),
    );
    assert_eq!(m.patterns, set(&[P::MissingFix]), "{:?}", m.evidence);
    assert_eq!(m.first_wrong_step, Some(submit));
    assert!(
        m.evidence[0].starts_with("A missing fix"),
        "{:?}",
        m.evidence
    );
    assert!(
        m.evidence[0].contains("failed criteria: mitigation"),
        "{:?}",
        m.evidence
    );
}

#[test]
fn a_gate_denied_write_is_still_a_missing_fix() {
    let (t, _) = Builder::new(TaskType::Mitigation)
        .read(&format!("kubectl describe svc user-service -n {NS}"))
        .write(FIX, GateOutcome::Denied)
        .submit(Submission::Mitigation, 80);
    let m = mine(
        &t,
        &task(TaskType::Mitigation),
        &failure("mitigation"),
        Some(&reference()),
    );
    assert!(m.patterns.contains(&P::MissingFix), "{:?}", m.evidence);
    assert!(
        !m.patterns.contains(&P::WrongFix),
        "a denied write did not run: {:?}",
        m.evidence
    );
}

#[test]
fn an_unread_relevant_resource_is_b() {
    let mut reference = reference();
    reference.relevant.insert("mongodb-user".into());
    let (t, submit) = Builder::new(TaskType::Localization)
        .read(&format!("kubectl describe svc user-service -n {NS}"))
        .submit(
            Submission::Localization {
                services: vec!["user-service".into()],
            },
            80,
        );
    let m = mine(
        &t,
        &task(TaskType::Localization),
        &failure("localization"),
        Some(&reference),
    );
    assert_eq!(
        m.patterns,
        set(&[P::IncompleteDiagnosis]),
        "{:?}",
        m.evidence
    );
    assert_eq!(m.first_wrong_step, Some(submit));
    assert!(m.evidence[0].contains("mongodb-user"), "{:?}", m.evidence);
    // Reading a pod of mongodb-user closes the gap.
    let (t, _) = Builder::new(TaskType::Localization)
        .read(&format!("kubectl describe svc user-service -n {NS}"))
        .read(&format!(
            "kubectl logs mongodb-user-7d9f8c6b5-x2x4z -n {NS}"
        ))
        .submit(
            Submission::Localization {
                services: vec!["user-service".into()],
            },
            80,
        );
    let m = mine(
        &t,
        &task(TaskType::Localization),
        &failure("localization"),
        Some(&reference),
    );
    assert!(
        !m.patterns.contains(&P::IncompleteDiagnosis),
        "{:?}",
        m.evidence
    );
}

#[test]
fn probes_mostly_off_the_incident_are_c() {
    let mut b = Builder::new(TaskType::Analysis);
    let first_off = b.read_at(&format!(
        "kubectl logs home-timeline-service-6b7c8d9f4-abcde -n {NS}"
    ));
    let (t, _) = b
        .read(&format!(
            "kubectl describe deployment media-frontend -n {NS}"
        ))
        .read(&format!("kubectl describe svc user-service -n {NS}"))
        .submit(
            Submission::Analysis {
                system_level: aoi_core::SystemLevel::Application,
                fault_type: aoi_core::FaultType::CodeDefect,
            },
            80,
        );
    let m = mine(
        &t,
        &task(TaskType::Analysis),
        &failure("analysis"),
        Some(&reference()),
    );
    assert_eq!(
        m.patterns,
        set(&[P::WrongDiagnosticPath]),
        "{:?}",
        m.evidence
    );
    assert_eq!(m.first_wrong_step, Some(first_off));
    assert!(m.evidence[0].contains("2 of 3"), "{:?}", m.evidence);
}

#[test]
fn a_write_never_checked_is_d_even_when_it_worked() {
    let mut b = Builder::new(TaskType::Mitigation)
        .read(&format!("kubectl describe svc user-service -n {NS}"));
    b.write_at(FIX, GateOutcome::Allowed);
    // A read of another resource does not verify the fix.
    let (t, submit) = b
        .read(&format!(
            "kubectl describe deployment media-frontend -n {NS}"
        ))
        .submit(Submission::Mitigation, 90);
    let m = mine(
        &t,
        &task(TaskType::Mitigation),
        &success(),
        Some(&reference()),
    );
    assert_eq!(
        m.patterns,
        set(&[P::MissingVerification]),
        "{:?}",
        m.evidence
    );
    assert_eq!(m.first_wrong_step, Some(submit));
    // A broad listing after the write does verify it.
    let (t, _) = Builder::new(TaskType::Mitigation)
        .read(&format!("kubectl describe svc user-service -n {NS}"))
        .write(FIX, GateOutcome::Allowed)
        .read(&format!("kubectl get pods -n {NS}"))
        .submit(Submission::Mitigation, 90);
    let m = mine(
        &t,
        &task(TaskType::Mitigation),
        &success(),
        Some(&reference()),
    );
    assert!(m.patterns.is_empty(), "{:?}", m.evidence);
}

#[test]
fn a_low_confidence_stop_with_steps_left_is_e() {
    let (t, submit) = Builder::new(TaskType::Detection)
        .read(&format!("kubectl describe svc user-service -n {NS}"))
        .submit(Submission::Detection { anomaly: false }, 20);
    let m = mine(
        &t,
        &task(TaskType::Detection),
        &failure("detection"),
        Some(&reference()),
    );
    assert_eq!(m.patterns, set(&[P::PrematureStop]), "{:?}", m.evidence);
    assert_eq!(m.first_wrong_step, Some(submit));
    assert!(m.evidence[0].contains("confidence 20"), "{:?}", m.evidence);
    // With no actions left it is not premature.
    let mut tight = task(TaskType::Detection);
    tight.max_steps = t.actions;
    let m = mine(&t, &tight, &failure("detection"), Some(&reference()));
    assert!(!m.patterns.contains(&P::PrematureStop), "{:?}", m.evidence);
    // Confident and diagnosed: a wrong answer, not a premature stop.
    let (t, _) = Builder::new(TaskType::Detection)
        .read(&format!("kubectl describe svc user-service -n {NS}"))
        .submit(Submission::Detection { anomaly: false }, 80);
    let m = mine(
        &t,
        &task(TaskType::Detection),
        &failure("detection"),
        Some(&reference()),
    );
    assert!(!m.patterns.contains(&P::PrematureStop), "{:?}", m.evidence);
}

#[test]
fn a_stop_before_any_relevant_read_is_e_and_b() {
    let (t, submit) = Builder::new(TaskType::Detection)
        .read(&format!("kubectl get pods -n {NS}"))
        .submit(Submission::Detection { anomaly: false }, 90);
    let m = mine(
        &t,
        &task(TaskType::Detection),
        &failure("detection"),
        Some(&reference()),
    );
    assert_eq!(
        m.patterns,
        set(&[P::IncompleteDiagnosis, P::PrematureStop]),
        "{:?}",
        m.evidence
    );
    assert_eq!(m.first_wrong_step, Some(submit));
    assert_eq!(m.evidence.len(), 2);
    assert!(
        m.evidence[1].starts_with("E premature stop"),
        "{:?}",
        m.evidence
    );
}

#[test]
fn a_write_that_is_not_the_reference_fix_is_f() {
    let mut b = Builder::new(TaskType::Mitigation)
        .read(&format!("kubectl describe svc user-service -n {NS}"));
    let wrong = b.write_at(
        &format!("kubectl rollout restart deployment/user-service -n {NS}"),
        GateOutcome::Allowed,
    );
    let (t, _) = b
        .read(&format!("kubectl get endpoints user-service -n {NS}"))
        .submit(Submission::Mitigation, 80);
    let m = mine(
        &t,
        &task(TaskType::Mitigation),
        &failure("mitigation"),
        Some(&reference()),
    );
    assert_eq!(m.patterns, set(&[P::WrongFix]), "{:?}", m.evidence);
    assert_eq!(m.first_wrong_step, Some(wrong));
    // Without a reference, the failed verdict alone says the write did not mitigate.
    let m = mine(
        &t,
        &task(TaskType::Mitigation),
        &failure("mitigation"),
        None,
    );
    assert!(m.patterns.contains(&P::WrongFix), "{:?}", m.evidence);
}

#[test]
fn the_reference_fix_in_other_words_is_not_f() {
    let (t, _) = Builder::new(TaskType::Mitigation)
        .read(&format!("kubectl describe svc user-service -n {NS}"))
        .write(
            &format!(
                "kubectl -n {NS} patch service/user-service --type merge -p '{{\"spec\":{{}}}}'"
            ),
            GateOutcome::Approved,
        )
        .read(&format!("kubectl get endpoints user-service -n {NS}"))
        .submit(Submission::Mitigation, 80);
    let m = mine(
        &t,
        &task(TaskType::Mitigation),
        &failure("mitigation"),
        Some(&reference()),
    );
    assert!(!m.patterns.contains(&P::WrongFix), "{:?}", m.evidence);
}

#[test]
fn first_wrong_step_is_the_earliest_over_patterns() {
    // C at the first off-incident probe, then A at the submit.
    let mut b = Builder::new(TaskType::Mitigation);
    let first_off = b.read_at(&format!(
        "kubectl describe deployment media-frontend -n {NS}"
    ));
    let (t, _) = b
        .read(&format!(
            "kubectl logs home-timeline-service-6b7c8d9f4-abcde -n {NS}"
        ))
        .read(&format!("kubectl describe svc user-service -n {NS}"))
        .submit(Submission::Mitigation, 80);
    let m = mine(
        &t,
        &task(TaskType::Mitigation),
        &failure("mitigation"),
        Some(&reference()),
    );
    assert!(
        m.patterns.contains(&P::MissingFix) && m.patterns.contains(&P::WrongDiagnosticPath),
        "{:?}",
        m.evidence
    );
    assert_eq!(m.first_wrong_step, Some(first_off));
}

#[test]
fn running_out_of_steps_without_submitting_is_a_not_e() {
    let t = Builder::new(TaskType::Mitigation)
        .read(&format!("kubectl describe svc user-service -n {NS}"))
        .stop();
    let mut verdict = failure("mitigation");
    verdict.out_of_budget = true;
    let m = mine(
        &t,
        &task(TaskType::Mitigation),
        &verdict,
        Some(&reference()),
    );
    assert_eq!(m.patterns, set(&[P::MissingFix]), "{:?}", m.evidence);
    assert_eq!(m.first_wrong_step, Some(t.steps.len() - 1));
}

#[test]
fn a_reference_is_read_off_a_teachers_run() {
    let (t, _) = clean_mitigation();
    let r = ReferenceRun::from_trajectory(&t);
    assert_eq!(r.relevant, ["user-service".to_string()].into());
    assert_eq!(r.fix_commands, vec![FIX.to_string()]);
    assert_eq!(
        r.verification_commands,
        vec![format!("kubectl get endpoints user-service -n {NS}")]
    );
}

#[test]
fn patterns_have_the_papers_letters_and_names() {
    let names: Vec<String> = P::ALL
        .iter()
        .map(|p| format!("{} {}", p.letter(), p.name()))
        .collect();
    assert_eq!(
        names,
        [
            "A missing fix",
            "B incomplete diagnosis",
            "C wrong diagnostic path",
            "D missing verification",
            "E premature stop",
            "F wrong fix"
        ]
    );
    assert_eq!(
        serde_json::to_string(&P::WrongDiagnosticPath).unwrap(),
        "\"wrong_diagnostic_path\""
    );
}
