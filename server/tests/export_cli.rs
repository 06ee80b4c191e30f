//! `aoi rollout` and `aoi export` end to end: rollouts of the built-in and the local policy on
//! two problems of the shipped suite read back as GRPO exports with a group per problem and a
//! row per recorded step; `aoi export` reads a tenant's data from the database into an export
//! that reads back, and refuses what it cannot do, saying what to do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use aoi_learning::{DatasetRows, read_dataset};

const AOI: &str = env!("CARGO_BIN_EXE_aoi");
const PROBLEMS: &str =
    "k8s_target_port-misconfig-mitigation-1,k8s_target_port-misconfig-detection-1";

fn aoi(args: &[&str], data_dir: Option<&Path>) -> (bool, String) {
    let mut cmd = Command::new(AOI);
    let (command, rest) = args.split_first().unwrap();
    cmd.arg(command);
    if let Some(dir) = data_dir {
        cmd.arg("--data-dir").arg(dir);
    }
    cmd.args(rest)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("AOI_ADMIN_PASSWORD", "export-test-password")
        .env("RUST_LOG", "warn");
    for (k, _) in std::env::vars() {
        if k.starts_with("AOI__") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {AOI}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The training recipe's own reader (`inference/training/aoi_train/data.py`, standard library
/// only) on an export: `(rows, groups)`.
fn python_load(dir: &Path) -> (u64, u64) {
    let recipe = Path::new(env!("CARGO_MANIFEST_DIR")).join("../inference/training");
    let script = "import json, sys\n\
                  from aoi_train.data import load_export\n\
                  e = load_export(sys.argv[1], expect_kind='grpo')\n\
                  print(json.dumps([len(e.rows), len(e.groups())]))\n";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir)
        .env("PYTHONPATH", recipe)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 must be installed (scripts/setup.sh): the recipe's reader runs on it");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn rollout(policy: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grpo");
    let (ok, text) = aoi(
        &[
            "rollout",
            "--policy",
            policy,
            "--temperature",
            "1.0",
            "--group",
            "3",
            "--problems",
            PROBLEMS,
            "--seed",
            "7",
            "--jobs",
            "2",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(ok, "{text}");
    let dataset = read_dataset(&out).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(dataset.manifest.tenant, "bench");
    assert_eq!(dataset.manifest.counts.groups, Some(2), "{text}");
    assert_eq!(dataset.manifest.counts.sessions, 6, "{text}");
    let DatasetRows::Grpo(rows) = &dataset.rows else {
        panic!("not a grpo export")
    };
    let groups: BTreeSet<&str> = rows.iter().map(|r| r.group_id.as_str()).collect();
    let expected: BTreeSet<String> = PROBLEMS.split(',').map(|p| format!("{p}#0")).collect();
    assert_eq!(
        groups,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
    assert!(
        rows.iter().all(|r| r.logprobs.is_none()),
        "no sampling backend gave logprobs"
    );
    // Every step of every session was recorded: as many rows as steps, none skipped.
    assert!(
        text.contains(&format!("{} rows in 2 groups", rows.len())),
        "{text}"
    );
    assert!(text.contains("skipped: 0 steps"), "{text}");
    // The group's rows share their run's reward.
    for session in &dataset.manifest.source_sessions {
        let rewards: BTreeSet<String> = rows
            .iter()
            .filter(|r| &r.session_id == session)
            .map(|r| format!("{:.9}", r.reward))
            .collect();
        assert_eq!(rewards.len(), 1, "{session}: {rewards:?}");
    }
    // The training recipe reads the rollout as it is.
    assert_eq!(python_load(&out), (rows.len() as u64, 2));
}

#[test]
fn rollout_of_the_builtin_policy_reads_back() {
    rollout("builtin");
}

#[test]
fn rollout_of_the_local_policy_reads_back() {
    rollout("local");
}

#[test]
fn rollout_refuses_a_group_of_one_and_unknown_problems() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let out = out.to_str().unwrap();
    let (ok, text) = aoi(
        &[
            "rollout",
            "--group",
            "1",
            "--problems",
            PROBLEMS,
            "--out",
            out,
        ],
        None,
    );
    assert!(!ok && text.contains("--group must be at least 2"), "{text}");
    let (ok, text) = aoi(
        &[
            "rollout",
            "--group",
            "2",
            "--problems",
            "no-such-problem",
            "--out",
            out,
        ],
        None,
    );
    assert!(
        !ok && text.contains("`no-such-problem` is not a problem"),
        "{text}"
    );
}

#[test]
fn export_reads_the_database_into_an_export() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, text) = aoi(
        &[
            "admin", "tenants", "create", "--slug", "acme", "--name", "Acme",
        ],
        Some(&data),
    );
    assert!(ok, "{text}");
    let out = dir.path().join("sft");
    let (ok, text) = aoi(
        &[
            "export",
            "sft",
            "--tenant",
            "acme",
            "--out",
            out.to_str().unwrap(),
        ],
        Some(&data),
    );
    assert!(ok, "{text}");
    let dataset = read_dataset(&out).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(dataset.manifest.tenant, "acme");
    assert!(dataset.rows.is_empty(), "a new tenant has no runs");

    let (ok, text) = aoi(
        &[
            "export",
            "sft",
            "--tenant",
            "acme",
            "--out",
            out.to_str().unwrap(),
        ],
        Some(&data),
    );
    assert!(!ok && text.contains("not empty"), "{text}");
    let other = dir.path().join("other");
    let other = other.to_str().unwrap();
    let (ok, text) = aoi(
        &["export", "ppo", "--tenant", "acme", "--out", other],
        Some(&data),
    );
    assert!(!ok && text.contains("use grpo, sft or dpo"), "{text}");
    let (ok, text) = aoi(
        &["export", "dpo", "--tenant", "nobody", "--out", other],
        Some(&data),
    );
    assert!(!ok && text.contains("no tenant `nobody`"), "{text}");
    let (ok, text) = aoi(
        &[
            "export",
            "dpo",
            "--tenant",
            "acme",
            "--since",
            "yesterday",
            "--out",
            other,
        ],
        Some(&data),
    );
    assert!(!ok && text.contains("RFC 3339"), "{text}");
}

/// `aoi rollout --policy llm` through the pool of `--config`: the llm policy's own exchanges
/// are recorded, with the log-probabilities the backend gave (the fake vLLM gives them when
/// asked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_of_the_llm_policy_records_the_backends_logprobs() {
    use aoi_core::{NextAction, ObserverDecision, Submission};
    let decision = ObserverDecision {
        previous_iteration_summary: "scripted".into(),
        current_phase: "Diagnosis".into(),
        root_cause_analysis: "scripted answer".into(),
        confidence: 70,
        next_action: NextAction::Submit {
            submission: Submission::Detection { anomaly: true },
        },
    };
    let fake = aoi_test_support::spawn(aoi_test_support::FakeConfig {
        replies: aoi_test_support::ReplyScript {
            default: aoi_inference::recording::render_decision(&decision),
            ..aoi_test_support::ReplyScript::default()
        },
        ..aoi_test_support::FakeConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grpo");
    let out_arg = out.to_str().unwrap().to_string();
    // Through the inference pool of --config, as production rollouts sample.
    let config = dir.path().join("aoi.toml");
    std::fs::write(
        &config,
        format!(
            "[[inference.backends]]\nname = \"fake\"\nurl = \"{}\"\n",
            fake.base_url()
        ),
    )
    .unwrap();
    let config_arg = config.to_str().unwrap().to_string();
    let (ok, text) = tokio::task::spawn_blocking(move || {
        aoi(
            &[
                "rollout",
                "--policy",
                "llm",
                "--config",
                &config_arg,
                "--llm-model",
                "fake-model",
                "--temperature",
                "1.0",
                "--group",
                "2",
                "--problems",
                "k8s_target_port-misconfig-detection-1",
                "--out",
                &out_arg,
            ],
            None,
        )
    })
    .await
    .unwrap();
    assert!(ok, "{text}");
    let dataset = read_dataset(&out).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let DatasetRows::Grpo(rows) = &dataset.rows else {
        panic!("not a grpo export")
    };
    assert_eq!(rows.len(), 2, "one submit step per run: {text}");
    for row in rows {
        let logprobs = row.logprobs.as_ref().expect("the backend gave logprobs");
        assert!(!logprobs.is_empty() && logprobs.iter().all(|l| *l <= 0.0), "{logprobs:?}");
        assert_eq!(row.role, aoi_core::Role::Observer);
    }
    // The backend was asked for them.
    assert!(fake.requests().iter().all(|r| r["logprobs"] == true));
    fake.shutdown().await;
}
