//! Dataset exports: round trips of each kind, the documented fields, and refusals (tampered
//! file, missing or wrong field, bad manifest, non-empty target).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_core::Role;
use aoi_learning::dataset::*;
use aoi_learning::rewards::RewardWeights;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// A change to a row, and the start of the error it must cause.
type RowEdit = (
    Box<dyn Fn(&mut serde_json::Map<String, Value>)>,
    &'static str,
);
/// A change to the manifest, and what the error must mention.
type ManifestEdit = (Box<dyn Fn(&mut Value)>, &'static str);

fn grpo_row(session: &str, group: u32, reward: f64) -> GrpoRow {
    GrpoRow {
        prompt: vec![
            Message::system("observer"),
            Message::user("task and context"),
        ],
        completion: vec![Message::assistant("{\"next_action\": {}}")],
        reward,
        advantage: 0.0,
        group_id: format!("p1#{group}"),
        problem_id: "p1".into(),
        session_id: session.into(),
        step: 2,
        role: Role::Observer,
        logprobs: if reward > 0.5 {
            Some(vec![-0.1, -2.0])
        } else {
            None
        },
    }
}

fn sft_row(session: &str) -> SftRow {
    SftRow {
        messages: vec![Message::user("task"), Message::assistant("answer")],
        source: SftSource::Success,
        session_id: session.into(),
        problem_id: None,
    }
}

fn dpo_row(session: &str) -> DpoRow {
    DpoRow {
        prompt: vec![Message::user("task")],
        chosen: vec![Message::assistant("fix it")],
        rejected: vec![Message::assistant("submit now")],
        signal_id: "sig-1".into(),
        session_id: session.into(),
    }
}

fn grpo_meta() -> ExportMeta {
    ExportMeta::new("acme").with_reward_weights(RewardWeights::default())
}

fn export<R: DatasetRow>(dir: &Path, meta: ExportMeta, rows: &[R]) -> Manifest {
    let mut w = DatasetWriter::<R>::create(dir, meta).unwrap();
    for row in rows {
        w.write(row).unwrap();
    }
    w.finish().unwrap()
}

fn grpo_rows() -> Vec<GrpoRow> {
    let mut rows = vec![
        grpo_row("s-1", 0, 1.0),
        grpo_row("s-2", 0, 0.2),
        grpo_row("s-3", 0, 0.0),
        grpo_row("s-1", 1, 0.3),
        grpo_row("s-2", 1, 0.3),
    ];
    assign_group_advantages(&mut rows);
    rows
}

#[test]
fn group_advantages_are_assigned_per_group() {
    let rows = grpo_rows();
    assert!(rows[0].advantage > 0.0 && rows[2].advantage < 0.0);
    assert!(rows[..3].iter().map(|r| r.advantage).sum::<f64>().abs() < 1e-9);
    assert_eq!(
        (rows[3].advantage, rows[4].advantage),
        (0.0, 0.0),
        "equal rewards"
    );
}

#[test]
fn grpo_round_trips_with_its_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let rows = grpo_rows();
    let manifest = export(dir.path(), grpo_meta(), &rows);
    assert_eq!(manifest.counts.rows, 5);
    assert_eq!(manifest.counts.groups, Some(2));
    assert_eq!(manifest.counts.sessions, 3);
    assert_eq!(manifest.source_sessions, ["s-1", "s-2", "s-3"]);
    let bytes = fs::read(dir.path().join("grpo.jsonl")).unwrap();
    assert_eq!(manifest.files[0].sha256, sha256_hex(&bytes));

    let back = read_dataset(dir.path()).unwrap();
    assert_eq!(back.manifest, manifest);
    assert_eq!(back.rows, DatasetRows::Grpo(rows));

    // The manifest on disk has exactly the documented fields.
    let json: Value =
        serde_json::from_slice(&fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    let keys: BTreeSet<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "format",
        "version",
        "kind",
        "tenant",
        "created_at",
        "generator",
        "files",
        "counts",
        "source_sessions",
        "reward_weights",
    ]
    .into();
    assert_eq!(keys, expected);
    assert_eq!(json["format"], "aoi-dataset");
    assert_eq!(json["kind"], "grpo");
    // `logprobs` is written as null, not left out.
    let first_null = String::from_utf8(bytes)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    assert!(first_null.contains("\"logprobs\":null"), "{first_null}");
}

#[test]
fn sft_and_dpo_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = vec![sft_row("s-9"), sft_row("s-8")];
    rows[1].source = SftSource::Signal;
    rows[1].problem_id = Some("p2".into());
    let manifest = export(dir.path(), ExportMeta::new("acme"), &rows);
    assert_eq!(manifest.counts.groups, None);
    assert_eq!(manifest.reward_weights, None);
    let back = read_dataset(dir.path()).unwrap();
    assert_eq!(back.rows, DatasetRows::Sft(rows));
    let json: Value =
        serde_json::from_slice(&fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    assert!(json.get("reward_weights").is_none() && json["counts"].get("groups").is_none());

    let dir = tempfile::tempdir().unwrap();
    let rows = vec![dpo_row("s-5")];
    export(dir.path(), ExportMeta::new("acme"), &rows);
    let back = read_dataset(dir.path()).unwrap();
    assert_eq!(back.manifest.kind, DatasetKind::Dpo);
    assert_eq!(back.rows, DatasetRows::Dpo(rows));
}

/// The fenced examples in docs/datasets.md, by tag.
fn doc_examples() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/datasets.md");
    let text = fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(tag) = line.strip_prefix("```json ") {
            current = Some((tag.trim().to_string(), String::new()));
        } else if line.starts_with("```") {
            if let Some(done) = current.take() {
                out.push(done);
            }
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

#[test]
fn the_documented_examples_parse_and_have_exactly_the_fields() {
    let examples = doc_examples();
    let tags: Vec<&str> = examples.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(tags, ["manifest", "grpo", "sft", "dpo"]);
    for (tag, body) in &examples {
        let value: Value = serde_json::from_str(body).unwrap();
        let fields: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        match tag.as_str() {
            "manifest" => {
                let m: Manifest = serde_json::from_str(body).unwrap();
                assert_eq!(
                    m.reward_weights,
                    Some(RewardWeights::default()),
                    "documented defaults"
                );
            }
            "grpo" => {
                parse_row::<GrpoRow>(body.trim()).unwrap();
                assert_eq!(fields, GrpoRow::FIELDS);
            }
            "sft" => {
                parse_row::<SftRow>(body.trim()).unwrap();
                assert_eq!(fields, SftRow::FIELDS);
            }
            "dpo" => {
                parse_row::<DpoRow>(body.trim()).unwrap();
                assert_eq!(fields, DpoRow::FIELDS);
            }
            other => panic!("unexpected example {other}"),
        }
    }
    // And the rows we write have the same fields, in the same order.
    let written = serde_json::to_value(grpo_row("s", 0, 1.0)).unwrap();
    let keys: Vec<&str> = written
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, GrpoRow::FIELDS);
}

#[test]
fn a_tampered_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    export(dir.path(), grpo_meta(), &grpo_rows());
    let path = dir.path().join("grpo.jsonl");
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("\"reward\":1.0", "\"reward\":9.0");
    fs::write(&path, text).unwrap();
    let err = read_dataset(dir.path()).unwrap_err();
    assert!(matches!(err, DatasetError::HashMismatch { .. }), "{err}");
    assert!(
        err.to_string().starts_with("grpo.jsonl: sha256 is"),
        "{err}"
    );
}

/// Rewrites one line of the export's JSONL and re-signs the manifest, so the row checks run.
fn rewrite_line(
    dir: &Path,
    file: &str,
    line: usize,
    edit: impl FnOnce(&mut serde_json::Map<String, Value>),
) {
    let path = dir.join(file);
    let mut lines: Vec<String> = fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let mut row: Value = serde_json::from_str(&lines[line - 1]).unwrap();
    edit(row.as_object_mut().unwrap());
    lines[line - 1] = row.to_string();
    let text = lines.join("\n") + "\n";
    fs::write(&path, &text).unwrap();
    let manifest_path = dir.join("manifest.json");
    let mut manifest: Value = serde_json::from_slice(&fs::read(&manifest_path).unwrap()).unwrap();
    manifest["files"][0]["sha256"] = sha256_hex(text.as_bytes()).into();
    fs::write(&manifest_path, manifest.to_string()).unwrap();
}

#[test]
fn a_missing_field_is_refused_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    export(dir.path(), grpo_meta(), &grpo_rows());
    rewrite_line(dir.path(), "grpo.jsonl", 2, |row| {
        row.remove("reward");
    });
    let err = read_dataset(dir.path()).unwrap_err();
    assert_eq!(err.to_string(), "grpo.jsonl:2: field `reward`: missing");

    // `logprobs` must be present even when null.
    let dir = tempfile::tempdir().unwrap();
    export(dir.path(), grpo_meta(), &grpo_rows());
    rewrite_line(dir.path(), "grpo.jsonl", 3, |row| {
        row.remove("logprobs");
    });
    let err = read_dataset(dir.path()).unwrap_err();
    assert_eq!(err.to_string(), "grpo.jsonl:3: field `logprobs`: missing");
}

#[test]
fn wrong_types_unknown_fields_and_broken_rules_name_the_field() {
    let cases: Vec<RowEdit> = vec![
        (
            Box::new(|r| {
                r.insert("reward".into(), "high".into());
            }),
            "grpo.jsonl:1: field `reward`: invalid type",
        ),
        (
            Box::new(|r| {
                r.insert("extra".into(), 1.into());
            }),
            "grpo.jsonl:1: field `extra`: unknown field",
        ),
        (
            Box::new(|r| {
                r.insert("role".into(), "judge".into());
            }),
            "grpo.jsonl:1: field `role`: unknown variant",
        ),
        (
            Box::new(|r| {
                r.insert("group_id".into(), "other#0".into());
            }),
            "grpo.jsonl:1: field `group_id`: must be",
        ),
        (
            Box::new(|r| {
                r["completion"][0]["role"] = "user".into();
            }),
            "grpo.jsonl:1: field `completion`: message 0 must have role `assistant`",
        ),
    ];
    for (edit, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        export(dir.path(), grpo_meta(), &grpo_rows());
        rewrite_line(dir.path(), "grpo.jsonl", 1, edit);
        let err = read_dataset(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with(expected), "{err}\n expected: {expected}");
    }
}

#[test]
fn inconsistent_manifests_are_refused() {
    let edits: Vec<ManifestEdit> = vec![
        (Box::new(|m| m["counts"]["rows"] = 6.into()), "counts.rows"),
        (
            Box::new(|m| m["counts"]["groups"] = 3.into()),
            "counts.groups",
        ),
        (
            Box::new(|m| m["files"][0]["rows"] = 4.into()),
            "grpo.jsonl rows",
        ),
        (
            Box::new(|m| m["source_sessions"] = serde_json::json!(["s-1", "s-2"])),
            "does not list `s-3`",
        ),
        (Box::new(|m| m["version"] = 2.into()), "version 2"),
        (
            Box::new(|m| m["files"][0]["path"] = "../grpo.jsonl".into()),
            "not a plain",
        ),
        (
            Box::new(|m| {
                m.as_object_mut().unwrap().remove("reward_weights");
            }),
            "reward_weights",
        ),
        (Box::new(|m| m["tenant"] = "Acme Corp".into()), "tenant"),
        (
            Box::new(|m| m["created_at"] = "yesterday".into()),
            "created_at",
        ),
    ];
    for (edit, expected) in edits {
        let dir = tempfile::tempdir().unwrap();
        export(dir.path(), grpo_meta(), &grpo_rows());
        let path = dir.path().join("manifest.json");
        let mut manifest: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        edit(&mut manifest);
        fs::write(&path, manifest.to_string()).unwrap();
        let err = read_dataset(dir.path()).unwrap_err().to_string();
        assert!(err.contains(expected), "{err}\n expected: {expected}");
    }
}

#[test]
fn the_writer_refuses_a_non_empty_folder_and_bad_settings() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("notes.txt"), "keep me").unwrap();
    let err = DatasetWriter::<SftRow>::create(dir.path(), ExportMeta::new("acme")).unwrap_err();
    assert!(matches!(err, DatasetError::NotEmpty { .. }), "{err}");
    assert_eq!(
        fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "keep me"
    );

    let fresh = tempfile::tempdir().unwrap();
    let target = fresh.path().join("new");
    let err = DatasetWriter::<GrpoRow>::create(&target, ExportMeta::new("acme")).unwrap_err();
    assert!(err.to_string().contains("reward_weights"), "{err}");
    let err = DatasetWriter::<DpoRow>::create(&target, grpo_meta()).unwrap_err();
    assert!(err.to_string().contains("grpo exports only"), "{err}");

    // A row that breaks a rule is refused at write time, naming its line.
    let mut w = DatasetWriter::<DpoRow>::create(&target, ExportMeta::new("acme")).unwrap();
    w.write(&dpo_row("s-1")).unwrap();
    let mut same = dpo_row("s-2");
    same.rejected = same.chosen.clone();
    let err = w.write(&same).unwrap_err();
    assert_eq!(
        err.to_string(),
        "dpo.jsonl:2: field `rejected`: is the same as `chosen`: no preference"
    );
    // Without finish there is no manifest, and the folder does not read.
    drop(w);
    assert!(read_dataset(&target).is_err());
}

#[test]
fn times_are_rfc3339_utc() {
    assert_eq!(
        rfc3339_utc(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        "2023-11-14T22:13:20Z"
    );
    assert_eq!(
        rfc3339_utc(UNIX_EPOCH + Duration::from_secs(951_782_400)),
        "2000-02-29T00:00:00Z"
    );
}

#[test]
fn an_export_built_in_memory_is_byte_for_byte_the_folder_export() {
    let dir = tempfile::tempdir().unwrap();
    let rows = grpo_rows();
    let meta = grpo_meta();
    let on_disk = export(dir.path(), meta.clone(), &rows);
    let in_memory = aoi_learning::export_in_memory(&rows, meta).unwrap();
    assert_eq!(in_memory.manifest, on_disk);
    for (name, content) in &in_memory.files {
        let written = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert_eq!(&written, content, "{name}");
    }
    assert_eq!(in_memory.files.len(), 2);
    // A row that breaks a rule is refused in memory as on disk, naming the field.
    let mut bad = grpo_rows();
    bad[1].reward = f64::NAN;
    let err = aoi_learning::export_in_memory(&bad, grpo_meta()).unwrap_err();
    assert!(err.to_string().contains("reward"), "{err}");
}
