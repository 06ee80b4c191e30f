//! Per-tenant quotas, in-process and against the real Redis at 127.0.0.1:6379.
//!
//! Every Redis test uses its own key prefix and deletes its keys at the end. Redis must be
//! running: the tests fail (they never skip) when it is not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aoi_router::quota::{Clock, yyyymmdd};
use aoi_router::{QuotaBackend, QuotaError, QuotaExceeded, QuotaLimit, QuotaLimits, Quotas};

const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// A clock the test moves by hand, in epoch milliseconds.
#[derive(Clone)]
struct TestClock(Arc<AtomicU64>);

impl TestClock {
    fn at(epoch_ms: u64) -> TestClock {
        TestClock(Arc::new(AtomicU64::new(epoch_ms)))
    }
    fn advance(&self, d: Duration) {
        self.0
            .fetch_add(u64::try_from(d.as_millis()).unwrap(), Ordering::SeqCst);
    }
    fn clock(&self) -> Clock {
        let ms = Arc::clone(&self.0);
        Arc::new(move || UNIX_EPOCH + Duration::from_millis(ms.load(Ordering::SeqCst)))
    }
}

/// 2030-01-15 00:00:00 UTC, a day boundary (and so a minute boundary).
const DAY_START_MS: u64 = 1_894_665_600_000;

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn unique_prefix(test: &str) -> String {
    format!(
        "aoi-test-quota-{test}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

async fn raw_redis() -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(REDIS_URL).unwrap();
    match tokio::time::timeout(
        Duration::from_secs(5),
        client.get_multiplexed_async_connection(),
    )
    .await
    {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            panic!("these tests need a Redis at {REDIS_URL} (start one, e.g. `redis-server`): {e}")
        }
        Err(_) => panic!("these tests need a Redis at {REDIS_URL}: connecting timed out"),
    }
}

async fn redis_quotas(prefix: &str, default: QuotaLimits) -> Quotas {
    let backend = QuotaBackend::Redis {
        url: REDIS_URL.to_string(),
        prefix: prefix.to_string(),
    };
    match Quotas::connect(&backend, default).await {
        Ok(q) => q,
        Err(e) => {
            panic!("these tests need a Redis at {REDIS_URL} (start one, e.g. `redis-server`): {e}")
        }
    }
}

async fn keys_of(prefix: &str) -> Vec<String> {
    let mut c = raw_redis().await;
    redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut c)
        .await
        .unwrap()
}

async fn cleanup(prefix: &str) {
    let keys = keys_of(prefix).await;
    if !keys.is_empty() {
        let mut c = raw_redis().await;
        redis::cmd("DEL")
            .arg(&keys)
            .query_async::<()>(&mut c)
            .await
            .unwrap();
    }
    assert!(
        keys_of(prefix).await.is_empty(),
        "keys of {prefix} left behind"
    );
}

fn exceeded(r: Result<aoi_router::QuotaPermit, QuotaError>) -> QuotaExceeded {
    match r {
        Err(QuotaError::Exceeded(e)) => e,
        Err(other) => panic!("expected over quota, got {other}"),
        Ok(p) => panic!("expected over quota, got a permit {p:?}"),
    }
}

/// Retries `acquire` for up to 2 s: a dropped Redis permit frees its slot in the background.
async fn acquire_soon(q: &Quotas, tenant: &str, tokens: u64) -> aoi_router::QuotaPermit {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        match q.acquire(tenant, tokens).await {
            Ok(p) => return p,
            Err(e) if tokio::time::Instant::now() < deadline => {
                assert!(matches!(e, QuotaError::Exceeded(_)), "{e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("the slot was not freed within 2 s: {e}"),
        }
    }
}

const CONCURRENCY_2: QuotaLimits = QuotaLimits {
    max_concurrent: Some(2),
    tokens_per_minute: None,
    tokens_per_day: None,
};

const TPM_100: QuotaLimits = QuotaLimits {
    max_concurrent: None,
    tokens_per_minute: Some(100),
    tokens_per_day: None,
};

const TPD_1000: QuotaLimits = QuotaLimits {
    max_concurrent: None,
    tokens_per_minute: Some(10_000),
    tokens_per_day: Some(1000),
};

// ---- shared scenarios, run on both stores ----

async fn concurrency_scenario(q: &Quotas) {
    let a = q.acquire("acme", 0).await.unwrap();
    let b = q.acquire("acme", 0).await.unwrap();
    assert_eq!(q.in_flight("acme").await.unwrap(), 2);
    let e = exceeded(q.acquire("acme", 0).await);
    assert_eq!(e.limit, QuotaLimit::Concurrency);
    assert_eq!(e.max, 2);
    assert_eq!(e.tenant, "acme");
    assert_eq!(e.retry_after_secs(), 1);
    let err = QuotaError::Exceeded(e);
    assert_eq!(err.http_status(), 429);
    assert_eq!(err.retry_after_secs(), Some(1));

    drop(a);
    let c = acquire_soon(q, "acme", 0).await;
    exceeded(q.acquire("acme", 0).await);

    b.release().await.unwrap();
    c.release().await.unwrap();
    assert_eq!(q.in_flight("acme").await.unwrap(), 0);
    let d = q.acquire("acme", 0).await.unwrap();
    let e = q.acquire("acme", 0).await.unwrap();
    drop((d, e));
    acquire_soon(q, "acme", 0).await.release().await.unwrap();
}

async fn tokens_per_minute_scenario(q: &Quotas, clock: &TestClock) {
    // 15 s into a minute.
    let mut p = q.acquire("acme", 60).await.unwrap();
    assert_eq!(p.charged_tokens(), 60);
    assert_eq!(q.usage("acme").await.unwrap(), (60, 60));
    // The reply was shorter than estimated: the difference comes back.
    q.record(&mut p, 40).await.unwrap();
    assert_eq!(q.usage("acme").await.unwrap(), (40, 40));
    drop(p);

    let mut p = q.acquire("acme", 50).await.unwrap();
    q.record(&mut p, 55).await.unwrap(); // 95 used
    assert_eq!(q.usage("acme").await.unwrap(), (95, 95));
    drop(p);

    let e = exceeded(q.acquire("acme", 10).await);
    assert_eq!(e.limit, QuotaLimit::TokensPerMinute);
    assert_eq!(e.max, 100);
    assert!(
        e.retry_after <= Duration::from_secs(60),
        "{:?}",
        e.retry_after
    );
    assert_eq!(e.retry_after, Duration::from_secs(45));
    assert_eq!(e.retry_after_secs(), 45);
    // A request that still fits is admitted.
    q.acquire("acme", 5).await.unwrap();

    // Part way into a second, Retry-After rounds up.
    clock.advance(Duration::from_millis(30_500));
    let e = exceeded(q.acquire("acme", 10).await);
    assert_eq!(e.retry_after_secs(), 15);

    // The next minute is a fresh window.
    clock.advance(Duration::from_millis(14_500));
    assert_eq!(q.usage("acme").await.unwrap().0, 0);
    let mut p = q.acquire("acme", 100).await.unwrap();
    // Running totals while a stream goes on: only the differences are charged.
    q.record(&mut p, 100).await.unwrap();
    q.record(&mut p, 100).await.unwrap();
    assert_eq!(q.usage("acme").await.unwrap().0, 100);
    exceeded(q.acquire("acme", 1).await);
}

async fn tokens_per_day_scenario(q: &Quotas, clock: &TestClock) {
    // One hour into the UTC day.
    let mut p = q.acquire("acme", 600).await.unwrap();
    q.record(&mut p, 600).await.unwrap();
    drop(p);
    // A later minute: the minute window is fresh, the day is not.
    clock.advance(Duration::from_secs(120));
    let mut p = q.acquire("acme", 300).await.unwrap();
    q.record(&mut p, 350).await.unwrap();
    drop(p);
    assert_eq!(q.usage("acme").await.unwrap(), (350, 950));

    clock.advance(Duration::from_secs(120));
    let e = exceeded(q.acquire("acme", 100).await);
    assert_eq!(e.limit, QuotaLimit::TokensPerDay);
    assert_eq!(e.max, 1000);
    // 01:04 -> midnight.
    assert_eq!(e.retry_after, Duration::from_secs(86_400 - 3600 - 240));
    assert_eq!(e.retry_after_secs(), 86_400 - 3600 - 240);
    q.acquire("acme", 50).await.unwrap();

    // Tomorrow.
    clock.advance(Duration::from_secs(86_400 - 3600 - 240));
    assert_eq!(q.usage("acme").await.unwrap(), (0, 0));
    q.acquire("acme", 1000).await.unwrap();
}

async fn tenants_scenario(q: &Quotas) {
    q.set_limits(
        "big",
        QuotaLimits {
            max_concurrent: Some(3),
            tokens_per_minute: Some(1000),
            tokens_per_day: None,
        },
    );
    q.set_limits("free", QuotaLimits::UNLIMITED);

    // "small" exhausts its own limits (default: 1 concurrent, 100 tokens a minute)...
    let mut s = q.acquire("small", 100).await.unwrap();
    q.record(&mut s, 100).await.unwrap();
    assert_eq!(
        exceeded(q.acquire("small", 0).await).limit,
        QuotaLimit::Concurrency
    );
    // ...which does not affect another tenant on the same default, nor the overridden ones.
    let o = q.acquire("other", 100).await.unwrap();
    let b: Vec<_> = [
        q.acquire("big", 300).await.unwrap(),
        q.acquire("big", 300).await.unwrap(),
        q.acquire("big", 300).await.unwrap(),
    ]
    .into();
    assert_eq!(
        exceeded(q.acquire("big", 0).await).limit,
        QuotaLimit::Concurrency
    );
    let f: Vec<_> = futures_util::future::join_all((0..10).map(|_| q.acquire("free", 1_000_000)))
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(q.in_flight("free").await.unwrap(), 0);
    drop(f);

    drop(s);
    let e = exceeded(q.acquire("small", 1).await);
    assert_eq!(e.limit, QuotaLimit::TokensPerMinute);
    assert_eq!(e.tenant, "small");
    assert_eq!(q.usage("other").await.unwrap().0, 100);
    assert_eq!(q.usage("big").await.unwrap().0, 900);
    drop((o, b));

    // Removing the override brings the default back.
    q.clear_limits("big");
    assert_eq!(q.limits("big").tokens_per_minute, Some(100));
}

const TENANT_DEFAULT: QuotaLimits = QuotaLimits {
    max_concurrent: Some(1),
    tokens_per_minute: Some(100),
    tokens_per_day: None,
};

// ---- in-process ----

#[tokio::test]
async fn in_process_concurrency_limit_and_release_on_drop() {
    let q = Quotas::in_process(CONCURRENCY_2);
    concurrency_scenario(&q).await;
}

#[tokio::test]
async fn in_process_tokens_per_minute() {
    let clock = TestClock::at(DAY_START_MS + 15_000);
    let q = Quotas::in_process(TPM_100).with_clock(clock.clock());
    tokens_per_minute_scenario(&q, &clock).await;
}

#[tokio::test]
async fn in_process_tokens_per_day() {
    let clock = TestClock::at(DAY_START_MS + 3_600_000);
    let q = Quotas::in_process(TPD_1000).with_clock(clock.clock());
    tokens_per_day_scenario(&q, &clock).await;
}

#[tokio::test]
async fn in_process_tenants_are_independent() {
    let clock = TestClock::at(DAY_START_MS);
    let q = Quotas::in_process(TENANT_DEFAULT).with_clock(clock.clock());
    tenants_scenario(&q).await;
}

#[tokio::test]
async fn in_process_instances_do_not_share() {
    let a = Quotas::in_process(CONCURRENCY_2);
    let b = Quotas::connect(&QuotaBackend::InProcess, CONCURRENCY_2)
        .await
        .unwrap();
    let _held = (
        a.acquire("t", 0).await.unwrap(),
        a.acquire("t", 0).await.unwrap(),
    );
    b.acquire("t", 0).await.unwrap();
    // Clones do share.
    exceeded(a.clone().acquire("t", 0).await);
}

#[tokio::test]
async fn unlimited_tenants_are_not_counted() {
    let q = Quotas::in_process(QuotaLimits::UNLIMITED);
    let mut p = q.acquire("t", 10).await.unwrap();
    q.record(&mut p, 1_000_000).await.unwrap();
    assert_eq!(q.usage("t").await.unwrap(), (0, 0));
}

#[test]
fn retry_after_rounds_up_to_whole_seconds() {
    let e = |ms| QuotaExceeded {
        tenant: "t".into(),
        limit: QuotaLimit::TokensPerMinute,
        max: 1,
        retry_after: Duration::from_millis(ms),
    };
    assert_eq!(e(0).retry_after_secs(), 1);
    assert_eq!(e(1).retry_after_secs(), 1);
    assert_eq!(e(1000).retry_after_secs(), 1);
    assert_eq!(e(1001).retry_after_secs(), 2);
    assert_eq!(e(59_999).retry_after_secs(), 60);
    assert!(
        e(2000).to_string().contains("tokens per minute"),
        "{}",
        e(2000)
    );
    let store = QuotaError::Store("down".into());
    assert_eq!(store.http_status(), 503);
    assert_eq!(store.retry_after_secs(), None);
}

#[test]
fn utc_day_keys() {
    assert_eq!(yyyymmdd(0), "19700101");
    assert_eq!(yyyymmdd(19_782), "20240229");
    assert_eq!(yyyymmdd(47_541), "21000301");
    assert_eq!(yyyymmdd(DAY_START_MS / 86_400_000), "20300115");
}

// ---- Redis ----

#[tokio::test]
async fn redis_concurrency_limit_and_release_on_drop() {
    let prefix = unique_prefix("conc");
    let q = redis_quotas(&prefix, CONCURRENCY_2).await;
    concurrency_scenario(&q).await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn redis_tokens_per_minute() {
    let prefix = unique_prefix("tpm");
    let clock = TestClock::at(DAY_START_MS + 15_000);
    let q = redis_quotas(&prefix, TPM_100)
        .await
        .with_clock(clock.clock());
    tokens_per_minute_scenario(&q, &clock).await;

    // The window keys are where the issue says, with a TTL.
    let keys = keys_of(&prefix).await;
    let minute = format!("{prefix}:quota:acme:m:{}", (DAY_START_MS + 60_000) / 60_000);
    let day = format!("{prefix}:quota:acme:d:20300115");
    assert!(keys.contains(&minute), "{minute} not in {keys:?}");
    assert!(keys.contains(&day), "{day} not in {keys:?}");
    let mut c = raw_redis().await;
    let ttl: i64 = redis::cmd("TTL")
        .arg(&minute)
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 120, "minute ttl {ttl}");
    let ttl: i64 = redis::cmd("TTL")
        .arg(&day)
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(ttl > 86_400 && ttl <= 2 * 86_400, "day ttl {ttl}");
    cleanup(&prefix).await;
}

#[tokio::test]
async fn redis_tokens_per_day() {
    let prefix = unique_prefix("tpd");
    let clock = TestClock::at(DAY_START_MS + 3_600_000);
    let q = redis_quotas(&prefix, TPD_1000)
        .await
        .with_clock(clock.clock());
    tokens_per_day_scenario(&q, &clock).await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn redis_tenants_are_independent() {
    let prefix = unique_prefix("tenants");
    let clock = TestClock::at(DAY_START_MS);
    let q = redis_quotas(&prefix, TENANT_DEFAULT)
        .await
        .with_clock(clock.clock());
    tenants_scenario(&q).await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn redis_instances_on_one_prefix_share_counts() {
    let prefix = unique_prefix("shared");
    let limits = QuotaLimits {
        max_concurrent: Some(1),
        tokens_per_minute: Some(100),
        tokens_per_day: Some(150),
    };
    let clock = TestClock::at(DAY_START_MS + 1000);
    let a = redis_quotas(&prefix, limits)
        .await
        .with_clock(clock.clock());
    let b = redis_quotas(&prefix, limits)
        .await
        .with_clock(clock.clock());

    // One slot between the two routers.
    let mut p = a.acquire("acme", 30).await.unwrap();
    assert_eq!(
        exceeded(b.acquire("acme", 0).await).limit,
        QuotaLimit::Concurrency
    );
    a.record(&mut p, 80).await.unwrap();
    p.release().await.unwrap();

    // Tokens charged through `a` count in `b`.
    assert_eq!(b.usage("acme").await.unwrap(), (80, 80));
    let e = exceeded(b.acquire("acme", 30).await);
    assert_eq!(e.limit, QuotaLimit::TokensPerMinute);
    let mut p = b.acquire("acme", 20).await.unwrap();
    b.record(&mut p, 20).await.unwrap();
    drop(p);
    assert_eq!(a.usage("acme").await.unwrap(), (100, 100));

    // Next minute, the day limit (150) seen from `a` includes `b`'s tokens.
    clock.advance(Duration::from_secs(60));
    let e = exceeded(acquire_err_soon(&a, "acme", 60).await);
    assert_eq!(e.limit, QuotaLimit::TokensPerDay);
    acquire_soon(&a, "acme", 50).await.release().await.unwrap();

    // A different prefix is a different Redis namespace.
    let other_prefix = unique_prefix("shared-other");
    let c = redis_quotas(&other_prefix, limits)
        .await
        .with_clock(clock.clock());
    assert_eq!(c.usage("acme").await.unwrap(), (0, 0));
    c.acquire("acme", 100)
        .await
        .unwrap()
        .release()
        .await
        .unwrap();

    cleanup(&prefix).await;
    cleanup(&other_prefix).await;
}

/// `acquire` that is expected to fail on tokens; retried while a dropped permit's slot frees.
async fn acquire_err_soon(
    q: &Quotas,
    tenant: &str,
    tokens: u64,
) -> Result<aoi_router::QuotaPermit, QuotaError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let r = q.acquire(tenant, tokens).await;
        match &r {
            Err(QuotaError::Exceeded(e))
                if e.limit == QuotaLimit::Concurrency && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            _ => return r,
        }
    }
}

#[tokio::test]
async fn redis_crashed_holder_slot_frees_itself() {
    let prefix = unique_prefix("lease");
    let limits = QuotaLimits {
        max_concurrent: Some(1),
        ..QuotaLimits::UNLIMITED
    };
    let q = redis_quotas(&prefix, limits)
        .await
        .with_lease(Duration::from_millis(300));

    // A holder that crashed: its lease is in the set, nobody renews it.
    let mut c = raw_redis().await;
    redis::cmd("ZADD")
        .arg(format!("{prefix}:quota:acme:c"))
        .arg(now_ms() + 300)
        .arg("crashed-holder")
        .query_async::<()>(&mut c)
        .await
        .unwrap();
    assert_eq!(
        exceeded(q.acquire("acme", 0).await).limit,
        QuotaLimit::Concurrency
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let p = q.acquire("acme", 0).await.unwrap();

    // A live holder renews its lease well past the lease length.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        exceeded(q.acquire("acme", 0).await).limit,
        QuotaLimit::Concurrency
    );
    assert_eq!(q.in_flight("acme").await.unwrap(), 1);
    drop(p);
    acquire_soon(&q, "acme", 0).await.release().await.unwrap();
    cleanup(&prefix).await;
}

#[tokio::test]
async fn redis_unreachable_is_a_store_error() {
    let backend = QuotaBackend::Redis {
        url: "redis://127.0.0.1:1".to_string(),
        prefix: "x".to_string(),
    };
    let err = Quotas::connect(&backend, CONCURRENCY_2).await.unwrap_err();
    assert_eq!(err.http_status(), 503, "{err}");
}
