//! The built-in policy on problems the shipped suite does not have: known faults on other
//! targets of the same apps, and a fault composed from existing effects. The suite is assembled
//! as a directory (shipped apps and faults plus tests/data/unseen) and run through `aoi bench`,
//! the way a user would load their own suite.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aoi-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn builtin_policy_solves_problems_outside_the_shipped_suite() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let shipped = root.join("plugins/twin/suites/aiopslab");
    let dir = scratch("unseen");
    let suite = dir.join("suite");
    copy_dir(&shipped.join("apps"), &suite.join("apps"));
    copy_dir(&shipped.join("faults"), &suite.join("faults"));
    copy_dir(&root.join("server/tests/data/unseen"), &suite);
    let out = dir.join("r.json");
    let status = Command::new(env!("CARGO_BIN_EXE_aoi"))
        .args(["bench", "--suite"])
        .arg(&suite)
        .args(["--policy", "builtin", "--runs", "3", "--seed", "5", "--quiet", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["suite"], "unseen");
    let tasks = report["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 19);
    let mut unsolved = Vec::new();
    for t in tasks {
        let runs = t["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 3);
        if !runs.iter().any(|r| r["success"] == true) {
            unsolved.push(t["id"].as_str().unwrap().to_string());
        }
    }
    assert!(unsolved.is_empty(), "never solved in 3 runs: {unsolved:?}");
    let overall = &report["summary"]["overall"];
    let avg = overall["avg_at_k"].as_f64().unwrap();
    assert!(avg >= 0.85, "avg@3 on unseen problems is {avg}");
    // The composed fault is found by reasoning: localized to its target.
    let composed = tasks.iter().find(|t| t["id"] == "unseen_cpu_and_delay-geo-localization").unwrap();
    assert!(composed["runs"].as_array().unwrap().iter().any(|r| r["success"] == true));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bench_json_has_the_documented_shape() {
    let dir = scratch("shape");
    let out = dir.join("r.json");
    let status = Command::new(env!("CARGO_BIN_EXE_aoi"))
        .args(["bench", "--suite", "aiopslab", "--tasks", "*target_port*-1", "--runs", "2", "--quiet", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    for key in ["suite", "policy", "runs", "seed", "tasks", "summary"] {
        assert!(r.get(key).is_some(), "missing {key}");
    }
    let t = &r["tasks"][0];
    for key in ["id", "task_type", "app", "fault", "runs"] {
        assert!(t.get(key).is_some(), "task missing {key}");
    }
    for key in ["success", "steps", "duration_ms", "input_tokens", "output_tokens", "writes"] {
        assert!(t["runs"][0].get(key).is_some(), "run missing {key}");
    }
    for tt in ["detection", "localization", "analysis", "mitigation"] {
        let s = &r["summary"]["by_task_type"][tt];
        for key in ["avg_at_1", "avg_at_k", "best_at_k", "gap"] {
            let v = s[key].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{tt}.{key} = {v}");
        }
    }
    assert_eq!(r["tasks"].as_array().unwrap().len(), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_aoi")).args(args).output().unwrap();
        (o.status.success(), String::from_utf8_lossy(&o.stderr).to_string())
    };
    let (ok, err) = run(&["bench", "--suite", "/nonexistent/suite", "--quiet"]);
    assert!(!ok);
    assert!(err.contains("no such suite"), "{err}");
    let (ok, err) = run(&["bench", "--policy", "magic", "--quiet"]);
    assert!(!ok);
    assert!(err.contains("unknown policy `magic`"), "{err}");
    let (ok, err) = run(&["bench", "--tasks", "nothing-matches-*", "--quiet"]);
    assert!(!ok);
    assert!(err.contains("no task of suite"), "{err}");
    let (ok, err) = run(&["run", "--problem", "no-such-problem"]);
    assert!(!ok);
    assert!(err.contains("no problem `no-such-problem`"), "{err}");
}
