//! `POST /api/v1/datasets/export` over real HTTP, on SQLite and on PostgreSQL: two finished
//! twin sessions (one fixed, one whose fix was denied) and the approved signal drafted from the
//! failed one become GRPO, SFT and DPO exports whose returned files, written to a folder, read
//! back with `read_dataset`; only admins export (viewers and operators get 403); a bad kind is
//! a 400 naming the kinds; every export is audited with its kind and row count.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use aoi_e2e::{Launch, Server, Tenant, create_pg_database, drop_pg_database, pg_url};
use aoi_learning::{DatasetRows, SftSource, read_dataset};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_aoi");
const SESSION_WAIT: Duration = Duration::from_secs(120);

async fn finished_session(s: &Server, t: &Tenant, approve: bool) -> String {
    let incident = t
        .alert(s, &format!("fp-datasets-{}", uuid::Uuid::new_v4().simple()))
        .await;
    let session = t.start_session(s, &incident).await;
    let done = t.finish(s, &session, approve, SESSION_WAIT).await;
    done["id"].as_str().unwrap().to_owned()
}

/// Waits until the evolver drafted a signal from `session`; its id.
async fn wait_signal(s: &Server, admin: &str, session: &str) -> String {
    let deadline = Instant::now() + SESSION_WAIT;
    loop {
        let (status, body) = s.call("GET", "/api/v1/signals", Some(admin), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if let Some(signal) = body
            .as_array()
            .unwrap()
            .iter()
            .find(|sig| sig["source_session_id"].as_str() == Some(session))
        {
            return signal["id"].as_str().unwrap().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no signal drafted from session {session} within {SESSION_WAIT:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Exports `body` as the admin, writes the returned files into a fresh folder and reads it back.
async fn export(s: &Server, admin: &str, body: Value) -> (Value, aoi_learning::Dataset) {
    let (status, export) = s
        .call("POST", "/api/v1/datasets/export", Some(admin), Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{export}");
    let dir = tempfile::tempdir().unwrap();
    let files = export["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{export}");
    for file in files {
        std::fs::write(
            dir.path().join(file["path"].as_str().unwrap()),
            file["content"].as_str().unwrap(),
        )
        .unwrap();
    }
    let dataset = read_dataset(dir.path()).unwrap_or_else(|e| panic!("{e}: {export}"));
    assert_eq!(
        serde_json::to_value(&dataset.manifest).unwrap(),
        export["manifest"],
        "the returned manifest is the one in the files"
    );
    (export, dataset)
}

async fn scenario(s: &Server) {
    let t = Tenant::setup(s).await;
    let fixed = finished_session(s, &t, true).await;
    let failed = finished_session(s, &t, false).await;
    let signal = wait_signal(s, &t.admin, &failed).await;
    let (status, body) = s
        .call(
            "POST",
            &format!("/api/v1/signals/{signal}/approve"),
            Some(&t.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // GRPO: both runs in one group of the problem, the fixed one ahead.
    let (grpo, dataset) = export(s, &t.admin, json!({"kind": "grpo"})).await;
    assert_eq!(grpo["manifest"]["kind"], "grpo");
    assert_eq!(grpo["manifest"]["tenant"], "default");
    assert_eq!(
        grpo["manifest"]["counts"]["groups"], 1,
        "{}",
        grpo["manifest"]
    );
    let mut both = vec![fixed.clone(), failed.clone()];
    both.sort();
    assert_eq!(grpo["manifest"]["source_sessions"], json!(both));
    assert_eq!(
        grpo["skipped"]["steps_without_exchange"], 0,
        "{}",
        grpo["skipped"]
    );
    let DatasetRows::Grpo(rows) = &dataset.rows else {
        panic!("not grpo rows")
    };
    let group = format!("{}#0", aoi_e2e::MITIGATION_PROBLEM);
    assert!(rows.iter().all(|r| r.group_id == group));
    let advantage = |session: &str| {
        rows.iter()
            .find(|r| r.session_id == session)
            .map(|r| r.advantage)
            .unwrap()
    };
    assert!(advantage(&fixed) > 0.0 && advantage(&failed) < 0.0);

    // A GRPO group compares at least two runs.
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/datasets/export",
            Some(&t.admin),
            Some(json!({"kind": "grpo", "group_size": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("group_size"),
        "{body}"
    );

    // SFT: the signal's repaired answer and every recorded step of the fixed run.
    let (sft, dataset) = export(s, &t.admin, json!({"kind": "sft"})).await;
    let DatasetRows::Sft(rows) = &dataset.rows else {
        panic!("not sft rows")
    };
    let from_signal: Vec<_> = rows
        .iter()
        .filter(|r| r.source == SftSource::Signal)
        .collect();
    assert_eq!(from_signal.len(), 1, "{}", sft["skipped"]);
    assert_eq!(from_signal[0].session_id, failed);
    assert!(
        rows.iter()
            .any(|r| r.source == SftSource::Success && r.session_id == fixed)
    );
    assert!(
        !rows
            .iter()
            .any(|r| r.source == SftSource::Success && r.session_id == failed)
    );

    // DPO: the repaired answer over the failed one.
    let (dpo, dataset) = export(s, &t.admin, json!({"kind": "dpo"})).await;
    let DatasetRows::Dpo(rows) = &dataset.rows else {
        panic!("not dpo rows")
    };
    assert_eq!(rows.len(), 1, "{}", dpo["skipped"]);
    assert_eq!(rows[0].signal_id, signal);
    assert_eq!(rows[0].session_id, failed);
    assert_ne!(rows[0].chosen, rows[0].rejected);

    // A time range with nothing in it exports nothing, and still reads.
    let (empty, dataset) = export(
        s,
        &t.admin,
        json!({"kind": "dpo", "until": "2000-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(empty["manifest"]["counts"]["rows"], 0);
    assert!(dataset.rows.is_empty());

    // A bad kind names the kinds; only admins export.
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/datasets/export",
            Some(&t.admin),
            Some(json!({"kind": "ppo"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    for kind in ["grpo", "sft", "dpo"] {
        assert!(message.contains(kind), "{body}");
    }
    for token in [&t.viewer, &t.operator] {
        let (status, body) = s
            .call(
                "POST",
                "/api/v1/datasets/export",
                Some(token),
                Some(json!({"kind": "sft"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }

    // Documented in the OpenAPI document, with the permission it needs.
    let (status, doc) = s.call("GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["paths"]["/api/v1/datasets/export"]["post"].is_object(),
        "{}",
        doc["paths"]
    );

    // Audited with kind and counts.
    let (status, audit) = s
        .call(
            "GET",
            "/api/v1/audit?action=dataset.export",
            Some(&t.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let records = audit.as_array().unwrap();
    assert_eq!(records.len(), 4, "{audit}");
    let dpo_record = records
        .iter()
        .find(|r| r["details"]["kind"] == "dpo" && r["details"]["rows"] == 1)
        .unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(dpo_record["target"], "dataset:dpo");
    assert!(
        dpo_record["actor"].as_str().unwrap().starts_with("user:"),
        "{dpo_record}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dataset_export_over_http_on_sqlite() {
    let server = Server::launch(BIN, &Launch::default());
    scenario(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dataset_export_over_http_on_postgres() {
    let name = create_pg_database().await;
    let server = Server::launch(
        BIN,
        &Launch {
            database_url: Some(pg_url(&name)),
            ..Launch::default()
        },
    );
    scenario(&server).await;
    server.stop().await;
    drop_pg_database(&name).await;
}
