//! The training recipe reads what the exporter writes: an export of each kind made by
//! [`DatasetWriter`] is loaded by the recipe's own reader (`inference/training/aoi_train/data.py`,
//! standard library only, so no torch is needed) with `python3`, and a tampered copy is refused
//! there too. `python3` is part of the project's machine setup; without it this test fails and
//! says so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_core::Role;
use aoi_learning::dataset::*;
use aoi_learning::rewards::RewardWeights;
use std::path::{Path, PathBuf};
use std::process::Command;

fn recipe_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("inference")
        .join("training")
}

/// Runs the recipe's reader on `dir`; `Ok(stdout)` or `Err(stderr)`.
fn python_load(dir: &Path, kind: &str) -> Result<String, String> {
    let script = format!(
        "import json, sys\n\
         from aoi_train.data import load_export\n\
         e = load_export(sys.argv[1], expect_kind='{kind}')\n\
         print(json.dumps({{'kind': e.kind, 'rows': len(e.rows), \
         'groups': len(e.groups()) if e.kind == 'grpo' else None}}))\n"
    );
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir)
        .env("PYTHONPATH", recipe_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 must be installed (scripts/setup.sh): the recipe's reader runs on it");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).to_string())
    }
}

fn msg(role: &str, text: &str) -> Message {
    match role {
        "system" => Message::system(text),
        "user" => Message::user(text),
        _ => Message::assistant(text),
    }
}

#[test]
fn the_recipe_reads_every_kind_the_exporter_writes() {
    let root = tempfile::tempdir().unwrap();

    let grpo_dir = root.path().join("grpo");
    let mut rows: Vec<GrpoRow> = (0..6)
        .map(|i| GrpoRow {
            prompt: vec![msg("system", "observer"), msg("user", "task and context")],
            completion: vec![msg("assistant", "{\"next_action\": {\"kind\": \"probe\"}}")],
            reward: f64::from(i % 3) / 2.0,
            advantage: 0.0,
            group_id: format!("p{}#0", i / 3),
            problem_id: format!("p{}", i / 3),
            session_id: format!("s-{i}"),
            step: 1,
            role: Role::Observer,
            logprobs: (i % 2 == 0).then(|| vec![-0.5, -0.25, -1.0]),
        })
        .collect();
    assign_group_advantages(&mut rows);
    let mut writer = DatasetWriter::<GrpoRow>::create(
        &grpo_dir,
        ExportMeta::new("acme").with_reward_weights(RewardWeights::default()),
    )
    .unwrap();
    for row in &rows {
        writer.write(row).unwrap();
    }
    writer.finish().unwrap();
    assert_eq!(
        python_load(&grpo_dir, "grpo").unwrap(),
        r#"{"kind": "grpo", "rows": 6, "groups": 2}"#
    );

    let sft_dir = root.path().join("sft");
    let mut writer = DatasetWriter::<SftRow>::create(&sft_dir, ExportMeta::new("acme")).unwrap();
    writer
        .write(&SftRow {
            messages: vec![msg("user", "task"), msg("assistant", "answer")],
            source: SftSource::Signal,
            session_id: "s-1".into(),
            problem_id: Some("p0".into()),
        })
        .unwrap();
    writer.finish().unwrap();
    assert_eq!(
        python_load(&sft_dir, "sft").unwrap(),
        r#"{"kind": "sft", "rows": 1, "groups": null}"#
    );

    let dpo_dir = root.path().join("dpo");
    let mut writer = DatasetWriter::<DpoRow>::create(&dpo_dir, ExportMeta::new("acme")).unwrap();
    writer
        .write(&DpoRow {
            prompt: vec![msg("user", "task")],
            chosen: vec![msg("assistant", "kubectl rollout undo deploy/geo")],
            rejected: vec![msg("assistant", "submit now")],
            signal_id: "sig-1".into(),
            session_id: "s-2".into(),
        })
        .unwrap();
    writer.finish().unwrap();
    assert_eq!(
        python_load(&dpo_dir, "dpo").unwrap(),
        r#"{"kind": "dpo", "rows": 1, "groups": null}"#
    );

    // A byte changed after export: the recipe refuses it, naming the file.
    let file = grpo_dir.join("grpo.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen("task and context", "task and c0ntext", 1)).unwrap();
    let refused = python_load(&grpo_dir, "grpo").unwrap_err();
    assert!(refused.contains("grpo.jsonl"), "{refused}");
    assert!(refused.to_lowercase().contains("sha256"), "{refused}");
}
