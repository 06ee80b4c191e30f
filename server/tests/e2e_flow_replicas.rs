//! Live events across replicas, black box: two `aoi serve` processes on one fresh PostgreSQL
//! database and one fresh Redis key prefix. Replica 1 runs the only agent worker; a session's
//! SSE stream opened on replica 2 receives the steps replica 1's worker produces (Redis
//! pub/sub fan-out), and neither stream sees an event twice. Fails when PostgreSQL or Redis
//! is down.

use std::time::{Duration, Instant};

use aoi_e2e::{
    Launch, Server, Sse, SseEvent, Tenant, assert_steps_contiguous, create_pg_database,
    delete_redis_prefix, drop_pg_database, pg_url, redis_conn, redis_prefix, step_indices,
};

const AOI: &str = env!("CARGO_BIN_EXE_aoi");

/// Reads `sse` until a final `session_state` arrives.
async fn until_final(sse: &mut Sse, mut seen: Vec<SseEvent>, what: &str) -> Vec<SseEvent> {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if seen.iter().any(|e| {
            e.event == "session_state"
                && ["succeeded", "failed", "cancelled"]
                    .contains(&e.data["status"].as_str().unwrap_or_default())
        }) {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: no final state over SSE: {seen:?}"
        );
        if let Some(e) = sse.next(Duration::from_secs(1)).await {
            seen.push(e);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_on_one_replica_streams_steps_of_another_replica_s_worker() {
    drop(redis_conn().await);
    let db = create_pg_database().await;
    let prefix = redis_prefix();
    let launch = Launch::cluster(pg_url(&db), &prefix);
    let r1 = Server::launch(AOI, &launch.clone().with("AOI__WORKERS__AGENT", "1"));
    let r2 = Server::launch(AOI, &launch.clone().with("AOI__WORKERS__AGENT", "0"));
    let t = Tenant::setup(&r1).await;

    // Alert and session go through replica 2; replica 1's worker runs the session.
    let incident = t.alert(&r2, "fp-replicas").await;
    let session = t.start_session(&r2, &incident).await;
    let approval = t.wait_pending(&r2, &session, Duration::from_secs(60)).await;
    let path = format!("/api/v1/sessions/{session}/events");
    let mut on_r2 = Sse::open(&r2, &path, &t.viewer).await;
    let mut on_r1 = Sse::open(&r1, &path, &t.viewer).await;
    // The replay: what was stored before the streams opened.
    let mut replay = Vec::new();
    while let Some(e) = on_r2.next(Duration::from_millis(700)).await {
        replay.push(e);
    }
    let replayed = step_indices(&replay).len();
    assert!(replayed > 0, "steps before the approval are replayed");

    // Replica 1 hears the approval decided on replica 2 only through Redis too.
    t.decide(&r2, approval["id"].as_str().unwrap(), true).await;
    let seen2 = until_final(&mut on_r2, replay, "replica 2").await;
    let seen1 = until_final(&mut on_r1, Vec::new(), "replica 1").await;
    let done = t.finish(&r1, &session, true, Duration::from_secs(120)).await;
    assert_eq!(done["status"], "succeeded", "{}", done["result"]);
    let n = assert_steps_contiguous(&done);
    assert!(n > replayed, "steps came after the approval");
    let expected: Vec<i64> = (0..i64::try_from(n).unwrap()).collect();
    assert_eq!(
        step_indices(&seen2),
        expected,
        "replica 2: every step once, live after the replay"
    );
    assert_eq!(
        step_indices(&seen1),
        expected,
        "replica 1: every step once (own events not doubled)"
    );
    assert!(
        seen2
            .iter()
            .any(|e| e.event == "approval" && e.data["status"] == "approved"),
        "the decision streams on replica 2"
    );
    assert_eq!(t.incident_state(&r2, &incident).await, "mitigated");

    r2.stop().await;
    r1.stop().await;
    delete_redis_prefix(&prefix).await;
    drop_pg_database(&db).await;
}
