//! Workers on Redis, black box: `aoi serve` without in-process workers plus two
//! `aoi worker agent` processes on one fresh PostgreSQL database and one fresh Redis key
//! prefix (short leases through AOI__WORKERS__*). A worker killed with SIGKILL mid-session
//! hands the session to the other with no step lost or doubled; a Redis flush mid-run loses
//! nothing once the reconciler runs. Fails (never skips) when PostgreSQL or Redis is down.

use std::time::Duration;

use aoi_e2e::{
    Launch, Server, Tenant, WorkerProc, assert_steps_contiguous, create_pg_database,
    delete_redis_prefix, drop_pg_database, pg_url, redis_conn, redis_prefix,
};

const AOI: &str = env!("CARGO_BIN_EXE_aoi");

struct Cluster {
    server: Server,
    launch: Launch,
    prefix: String,
    db: String,
}

async fn cluster() -> Cluster {
    drop(redis_conn().await); // Fails clearly when Redis is down.
    let db = create_pg_database().await;
    let prefix = redis_prefix();
    let launch = Launch::cluster(pg_url(&db), &prefix);
    let server = Server::launch(AOI, &launch.clone().with("AOI__WORKERS__AGENT", "0"));
    Cluster {
        server,
        launch,
        prefix,
        db,
    }
}

impl Cluster {
    async fn stop(self) {
        self.server.stop().await;
        delete_redis_prefix(&self.prefix).await;
        drop_pg_database(&self.db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_session_finishes_on_the_other_after_a_flush() {
    let c = cluster().await;
    let s = &c.server;
    let t = Tenant::setup(s).await;
    let incident = t.alert(s, "fp-kill").await;

    // Only worker A runs when the session starts, so A takes it.
    let mut a = WorkerProc::start(AOI, &c.launch);
    let session = t.start_session(s, &incident).await;
    // The twin's default guardrail asks: A holds the session, waiting for approval.
    let first = t.wait_pending(s, &session, Duration::from_secs(60)).await;
    let held = t.session(s, &session).await;
    assert_eq!(held["status"], "waiting_approval", "{held}");
    let owner_a = held["lease_owner"]
        .as_str()
        .expect("a lease owner")
        .to_owned();
    let steps_on_a = held["steps"].as_array().unwrap().len();
    assert!(steps_on_a > 0, "A recorded steps before the kill");

    let mut b = WorkerProc::start(AOI, &c.launch);
    a.kill();
    // Redis flushed too: the entry A held is gone; only the reconciler can bring it back.
    assert!(
        delete_redis_prefix(&c.prefix).await > 0,
        "the queue lived under the prefix"
    );
    // A's approval stays unanswered: it belonged to a dead worker.
    drop(first);

    let done = t.finish(s, &session, true, Duration::from_secs(120)).await;
    assert!(b.running(), "worker B still runs");
    assert_eq!(done["status"], "succeeded", "{}", done["result"]);
    let n = assert_steps_contiguous(&done);
    assert!(n > steps_on_a, "the session went on past where A stopped");
    assert!(
        done["attempts"].as_i64().unwrap() >= 2,
        "run again after the kill: {done}"
    );
    assert_eq!(t.incident_state(s, &incident).await, "mitigated");
    let (_, finished) = s
        .call(
            "GET",
            "/api/v1/audit?action=session.finish",
            Some(&t.admin),
            None,
        )
        .await;
    let finisher: Vec<&str> = finished
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.to_string().contains(&session))
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert_eq!(finisher.len(), 1, "finished once: {finished}");
    assert_ne!(
        finisher[0],
        format!("worker:{owner_a}"),
        "B finished it, not A"
    );

    // After the flush the queue works again: a new session runs unattended on B.
    t.auto_writes(s).await;
    let incident2 = t.alert(s, "fp-after-flush").await;
    let session2 = t.start_session(s, &incident2).await;
    let done2 = t.finish(s, &session2, true, Duration::from_secs(60)).await;
    assert_eq!(done2["status"], "succeeded", "{}", done2["result"]);
    assert_steps_contiguous(&done2);
    assert_eq!(t.incident_state(s, &incident2).await, "mitigated");
    drop(b);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_entry_is_taken_over_and_no_step_is_doubled() {
    let c = cluster().await;
    let s = &c.server;
    let t = Tenant::setup(s).await;
    let incident = t.alert(s, "fp-kill-only").await;
    let mut a = WorkerProc::start(AOI, &c.launch);
    let session = t.start_session(s, &incident).await;
    t.wait_pending(s, &session, Duration::from_secs(60)).await;
    let held = t.session(s, &session).await;
    let owner_a = held["lease_owner"]
        .as_str()
        .expect("a lease owner")
        .to_owned();
    let b = WorkerProc::start(AOI, &c.launch);
    a.kill();
    // Wait until another worker holds it, then approve everything it asks.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let now = t.session(s, &session).await;
        let owner = now["lease_owner"].as_str().unwrap_or_default();
        if !owner.is_empty() && owner != owner_a {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nobody took the session over: {now}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let done = t.finish(s, &session, true, Duration::from_secs(120)).await;
    assert_eq!(done["status"], "succeeded", "{}", done["result"]);
    assert_steps_contiguous(&done);
    assert_eq!(t.incident_state(s, &incident).await, "mitigated");
    drop(b);
    c.stop().await;
}
