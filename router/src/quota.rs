//! Per-tenant quotas: concurrent requests, tokens per minute and tokens per UTC day.
//!
//! [`Quotas`] holds the limits (a default plus per-tenant overrides) and one of two stores:
//!
//! - in-process ([`Quotas::in_process`]): counters in a `Mutex` map, for a single router;
//! - Redis ([`Quotas::connect`] with [`QuotaBackend::Redis`]): counters shared by every router
//!   instance that uses the same Redis and key prefix.
//!
//! The flow for one request is:
//!
//! 1. [`Quotas::acquire`] with the tenant and an estimate of the tokens the request will use. It
//!    checks the day, minute and concurrency limits (in that order, so the answer names the limit
//!    with the longest wait), takes a concurrency slot and reserves the estimate in the current
//!    minute and day windows. Over quota it answers [`QuotaError::Exceeded`], which the server
//!    maps to `429` with `Retry-After: ` [`QuotaExceeded::retry_after_secs`].
//! 2. [`Quotas::record`] with the permit and the tokens actually used so far (a running total; it
//!    may be called several times while a stream goes on). Only the difference from what the
//!    permit has already charged is applied: more tokens are charged to the current windows, fewer
//!    are refunded to the windows of the reservation while they are still current.
//! 3. Dropping the [`QuotaPermit`] (or awaiting [`QuotaPermit::release`]) frees the concurrency
//!    slot.
//!
//! Token windows are fixed: one per epoch minute and one per UTC day. In Redis their keys are
//! `<prefix>:quota:<tenant>:m:<epoch-minute>` and `<prefix>:quota:<tenant>:d:<yyyymmdd>`, written
//! with `INCRBY` and `EXPIRE` (2 minutes and 2 days), so old windows clean themselves up. The
//! concurrency slots of a tenant are the sorted set `<prefix>:quota:<tenant>:c`: one member per
//! permit, scored with the end of its lease. A live permit renews its lease in the background; a
//! crashed holder stops renewing, and its slot frees itself when the lease runs out. The check
//! and the reservation run as one Lua script, so concurrent routers cannot both take the last
//! slot or the last tokens.
//!
//! A request whose estimate alone is above a token limit is refused until the window ends (it
//! can never fit); callers should estimate with the request's `max_tokens` plus its prompt.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::ConnectionManager;

/// How long a caller over its concurrency limit is asked to wait before retrying.
pub const CONCURRENCY_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The default lease of a concurrency slot in Redis; a live permit renews it every third of it.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

const MINUTE_WINDOW_TTL_SECS: i64 = 120;
const DAY_WINDOW_TTL_SECS: i64 = 2 * 86_400;

/// A tenant's limits; `None` means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaLimits {
    pub max_concurrent: Option<u32>,
    pub tokens_per_minute: Option<u64>,
    pub tokens_per_day: Option<u64>,
}

impl QuotaLimits {
    /// No limit at all.
    pub const UNLIMITED: QuotaLimits = QuotaLimits {
        max_concurrent: None,
        tokens_per_minute: None,
        tokens_per_day: None,
    };

    fn counts_tokens(&self) -> bool {
        self.tokens_per_minute.is_some() || self.tokens_per_day.is_some()
    }

    fn is_unlimited(&self) -> bool {
        self.max_concurrent.is_none() && !self.counts_tokens()
    }
}

/// Which limit a request ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaLimit {
    Concurrency,
    TokensPerMinute,
    TokensPerDay,
}

impl fmt::Display for QuotaLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuotaLimit::Concurrency => "concurrent requests",
            QuotaLimit::TokensPerMinute => "tokens per minute",
            QuotaLimit::TokensPerDay => "tokens per day",
        })
    }
}

/// A request over one of its tenant's limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "tenant `{tenant}` is over its quota of {limit} ({max}); retry after {} s",
    self.retry_after_secs()
)]
pub struct QuotaExceeded {
    pub tenant: String,
    pub limit: QuotaLimit,
    /// The configured value of that limit.
    pub max: u64,
    /// Until the end of the window (minute, UTC day), or a short wait for concurrency.
    pub retry_after: Duration,
}

impl QuotaExceeded {
    /// The `Retry-After` header value: whole seconds, rounded up, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs();
        let secs = if self.retry_after.subsec_nanos() > 0 {
            secs + 1
        } else {
            secs
        };
        secs.max(1)
    }
}

/// Why [`Quotas::acquire`] or [`Quotas::record`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaError {
    #[error(transparent)]
    Exceeded(#[from] QuotaExceeded),
    /// The shared store (Redis) could not be reached or answered an error.
    #[error("the quota store is unavailable: {0}")]
    Store(String),
}

impl QuotaError {
    /// The HTTP status the server answers with: 429 over quota, 503 when the store is down.
    pub fn http_status(&self) -> u16 {
        match self {
            QuotaError::Exceeded(_) => 429,
            QuotaError::Store(_) => 503,
        }
    }

    /// The `Retry-After` value in seconds, for [`QuotaError::Exceeded`].
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            QuotaError::Exceeded(e) => Some(e.retry_after_secs()),
            QuotaError::Store(_) => None,
        }
    }
}

impl From<redis::RedisError> for QuotaError {
    fn from(e: redis::RedisError) -> Self {
        QuotaError::Store(format!("redis: {e}"))
    }
}

/// Where the counters live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaBackend {
    /// In this process only.
    InProcess,
    /// In Redis, shared by every instance with the same `prefix`.
    Redis { url: String, prefix: String },
}

/// The clock the quotas read; replaceable for tests.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Per-tenant quotas. Cheap to clone; clones share the counters and limits.
#[derive(Clone)]
pub struct Quotas {
    inner: Arc<Inner>,
}

struct Inner {
    default_limits: QuotaLimits,
    tenant_limits: RwLock<HashMap<String, QuotaLimits>>,
    store: Store,
    clock: Clock,
    lease: Duration,
}

enum Store {
    InProcess(Arc<Mutex<HashMap<String, TenantUsage>>>),
    Redis {
        conn: ConnectionManager,
        prefix: String,
    },
}

/// In-process usage of one tenant.
#[derive(Debug, Default)]
struct TenantUsage {
    concurrent: u32,
    minute: Window,
    day: Window,
}

#[derive(Debug, Default, Clone, Copy)]
struct Window {
    index: u64,
    used: u64,
}

impl Window {
    fn used_in(&self, index: u64) -> u64 {
        if self.index == index { self.used } else { 0 }
    }

    fn add(&mut self, index: u64, tokens: u64) {
        if self.index != index {
            *self = Window { index, used: 0 };
        }
        self.used = self.used.saturating_add(tokens);
    }

    fn refund(&mut self, index: u64, tokens: u64) {
        if self.index == index {
            self.used = self.used.saturating_sub(tokens);
        }
    }
}

impl fmt::Debug for Quotas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match &self.inner.store {
            Store::InProcess(_) => "in-process".to_string(),
            Store::Redis { prefix, .. } => format!("redis (prefix `{prefix}`)"),
        };
        f.debug_struct("Quotas")
            .field("backend", &backend)
            .field("default_limits", &self.inner.default_limits)
            .finish_non_exhaustive()
    }
}

fn system_clock() -> Clock {
    Arc::new(SystemTime::now)
}

impl Quotas {
    /// In-process quotas with `default_limits` for every tenant without its own.
    pub fn in_process(default_limits: QuotaLimits) -> Quotas {
        Quotas::with_store(
            default_limits,
            Store::InProcess(Arc::new(Mutex::new(HashMap::new()))),
        )
    }

    /// Quotas on `backend`; for Redis, connects (within 5 s) and fails if it can't.
    pub async fn connect(
        backend: &QuotaBackend,
        default_limits: QuotaLimits,
    ) -> Result<Quotas, QuotaError> {
        match backend {
            QuotaBackend::InProcess => Ok(Quotas::in_process(default_limits)),
            QuotaBackend::Redis { url, prefix } => {
                let client = redis::Client::open(url.as_str())
                    .map_err(|e| QuotaError::Store(format!("redis url {url}: {e}")))?;
                let conn =
                    tokio::time::timeout(Duration::from_secs(5), ConnectionManager::new(client))
                        .await
                        .map_err(|_| {
                            QuotaError::Store(format!("redis at {url}: connect timed out"))
                        })?
                        .map_err(|e| QuotaError::Store(format!("redis at {url}: {e}")))?;
                Ok(Quotas::with_store(
                    default_limits,
                    Store::Redis {
                        conn,
                        prefix: prefix.clone(),
                    },
                ))
            }
        }
    }

    fn with_store(default_limits: QuotaLimits, store: Store) -> Quotas {
        Quotas {
            inner: Arc::new(Inner {
                default_limits,
                tenant_limits: RwLock::new(HashMap::new()),
                store,
                clock: system_clock(),
                lease: DEFAULT_LEASE,
            }),
        }
    }

    fn inner_mut(self, f: impl FnOnce(&mut Inner)) -> Quotas {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                f(&mut inner);
                Quotas {
                    inner: Arc::new(inner),
                }
            }
            // Already shared: builders are meant for a fresh value; leave it unchanged.
            Err(inner) => Quotas { inner },
        }
    }

    /// Replaces the clock (tests). Call on a fresh, unshared value.
    pub fn with_clock(self, clock: Clock) -> Quotas {
        self.inner_mut(|i| i.clock = clock)
    }

    /// Sets the lease of a Redis concurrency slot (default [`DEFAULT_LEASE`]): how long a crashed
    /// holder keeps its slot. Call on a fresh, unshared value.
    pub fn with_lease(self, lease: Duration) -> Quotas {
        let lease = lease.max(Duration::from_millis(30));
        self.inner_mut(|i| i.lease = lease)
    }

    /// Sets a tenant's own limits, replacing the default for it. Setting the limits a tenant
    /// already has (as every request does) takes only the read lock.
    pub fn set_limits(&self, tenant: &str, limits: QuotaLimits) {
        let unchanged = self
            .inner
            .tenant_limits
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            == Some(&limits);
        if unchanged {
            return;
        }
        let mut map = self
            .inner
            .tenant_limits
            .write()
            .unwrap_or_else(|p| p.into_inner());
        map.insert(tenant.to_string(), limits);
    }

    /// Removes a tenant's own limits; the default applies again.
    pub fn clear_limits(&self, tenant: &str) {
        let mut map = self
            .inner
            .tenant_limits
            .write()
            .unwrap_or_else(|p| p.into_inner());
        map.remove(tenant);
    }

    /// The limits that apply to `tenant`.
    pub fn limits(&self, tenant: &str) -> QuotaLimits {
        let map = self
            .inner
            .tenant_limits
            .read()
            .unwrap_or_else(|p| p.into_inner());
        map.get(tenant)
            .copied()
            .unwrap_or(self.inner.default_limits)
    }

    /// Admits one request of `tenant` expected to use `estimated_tokens`, or says which limit it
    /// is over and for how long.
    pub async fn acquire(
        &self,
        tenant: &str,
        estimated_tokens: u64,
    ) -> Result<QuotaPermit, QuotaError> {
        let limits = self.limits(tenant);
        let now = Now::from((self.inner.clock)());
        let mut permit = QuotaPermit {
            tenant: tenant.to_string(),
            charged: 0,
            minute: now.minute,
            day: now.day,
            counts_tokens: limits.counts_tokens(),
            release: None,
        };
        if limits.is_unlimited() {
            return Ok(permit);
        }
        let reserve = if limits.counts_tokens() {
            estimated_tokens
        } else {
            0
        };
        match &self.inner.store {
            Store::InProcess(map) => {
                let mut guard = map.lock().unwrap_or_else(|p| p.into_inner());
                let usage = guard.entry(tenant.to_string()).or_default();
                let day_used = usage.day.used_in(now.day);
                let minute_used = usage.minute.used_in(now.minute);
                let over = check_tokens(&limits, reserve, day_used, minute_used).or_else(|| {
                    limits
                        .max_concurrent
                        .filter(|max| usage.concurrent >= *max)
                        .map(|max| (QuotaLimit::Concurrency, u64::from(max)))
                });
                if let Some((limit, max)) = over {
                    return Err(exceeded(tenant, limit, max, &now));
                }
                if limits.max_concurrent.is_some() {
                    usage.concurrent += 1;
                    permit.release = Some(Release::InProcess {
                        map: Arc::clone(map),
                    });
                }
                if reserve > 0 {
                    usage.minute.add(now.minute, reserve);
                    usage.day.add(now.day, reserve);
                }
            }
            Store::Redis { conn, prefix } => {
                let keys = RedisKeys::new(prefix, tenant, &now);
                let member = permit_member();
                let lease_ms = duration_ms(self.inner.lease);
                let mut c = conn.clone();
                let code: i64 = redis::cmd("EVAL")
                    .arg(ACQUIRE_SCRIPT)
                    .arg(3)
                    .arg(&keys.minute)
                    .arg(&keys.day)
                    .arg(&keys.concurrency)
                    .arg(reserve)
                    .arg(limit_arg(limits.tokens_per_minute))
                    .arg(limit_arg(limits.tokens_per_day))
                    .arg(limit_arg(limits.max_concurrent.map(u64::from)))
                    .arg(now.epoch_ms)
                    .arg(now.epoch_ms.saturating_add(lease_ms))
                    .arg(&member)
                    .arg(MINUTE_WINDOW_TTL_SECS)
                    .arg(DAY_WINDOW_TTL_SECS)
                    .arg(lease_ms)
                    .query_async(&mut c)
                    .await?;
                let over = match code {
                    0 => None,
                    1 => Some((QuotaLimit::TokensPerMinute, limits.tokens_per_minute)),
                    2 => Some((QuotaLimit::TokensPerDay, limits.tokens_per_day)),
                    3 => Some((
                        QuotaLimit::Concurrency,
                        limits.max_concurrent.map(u64::from),
                    )),
                    other => {
                        return Err(QuotaError::Store(format!(
                            "unexpected answer {other} from the quota script"
                        )));
                    }
                };
                if let Some((limit, max)) = over {
                    return Err(exceeded(tenant, limit, max.unwrap_or(0), &now));
                }
                if limits.max_concurrent.is_some() {
                    let renewer = tokio::spawn(renew_lease(
                        conn.clone(),
                        keys.concurrency.clone(),
                        member.clone(),
                        self.inner.lease,
                        Arc::clone(&self.inner.clock),
                    ));
                    permit.release = Some(Release::Redis {
                        conn: conn.clone(),
                        key: keys.concurrency,
                        member,
                        renewer,
                    });
                }
            }
        }
        permit.charged = reserve;
        Ok(permit)
    }

    /// Charges the tokens `permit`'s request has actually used so far (a running total): the
    /// difference from what the permit already charged (at first, the estimate) is added to the
    /// current windows, or refunded to the reservation's windows while they are current.
    pub async fn record(
        &self,
        permit: &mut QuotaPermit,
        actual_tokens: u64,
    ) -> Result<(), QuotaError> {
        if !permit.counts_tokens || actual_tokens == permit.charged {
            return Ok(());
        }
        let now = Now::from((self.inner.clock)());
        let tenant = permit.tenant.as_str();
        match &self.inner.store {
            Store::InProcess(map) => {
                let mut guard = map.lock().unwrap_or_else(|p| p.into_inner());
                let usage = guard.entry(tenant.to_string()).or_default();
                if actual_tokens > permit.charged {
                    let more = actual_tokens - permit.charged;
                    usage.minute.add(now.minute, more);
                    usage.day.add(now.day, more);
                } else {
                    let less = permit.charged - actual_tokens;
                    usage.minute.refund(permit.minute, less);
                    usage.day.refund(permit.day, less);
                }
            }
            Store::Redis { conn, prefix } => {
                let mut c = conn.clone();
                let mut pipe = redis::pipe();
                pipe.atomic();
                if actual_tokens > permit.charged {
                    let more = actual_tokens - permit.charged;
                    let keys = RedisKeys::new(prefix, tenant, &now);
                    pipe.cmd("INCRBY").arg(&keys.minute).arg(more).ignore();
                    pipe.cmd("EXPIRE")
                        .arg(&keys.minute)
                        .arg(MINUTE_WINDOW_TTL_SECS)
                        .ignore();
                    pipe.cmd("INCRBY").arg(&keys.day).arg(more).ignore();
                    pipe.cmd("EXPIRE")
                        .arg(&keys.day)
                        .arg(DAY_WINDOW_TTL_SECS)
                        .ignore();
                } else {
                    let less = permit.charged - actual_tokens;
                    // Refund only to windows still current: their keys exist and keep their TTL.
                    if permit.minute == now.minute {
                        let key = window_key(prefix, tenant, "m", permit.minute);
                        pipe.cmd("DECRBY").arg(key).arg(less).ignore();
                    }
                    if permit.day == now.day {
                        let key = window_key(prefix, tenant, "d", permit.day);
                        pipe.cmd("DECRBY").arg(key).arg(less).ignore();
                    }
                }
                pipe.query_async::<()>(&mut c).await?;
            }
        }
        permit.charged = actual_tokens;
        Ok(())
    }

    /// The tokens `tenant` has used in the current minute and UTC day, as `(minute, day)`.
    pub async fn usage(&self, tenant: &str) -> Result<(u64, u64), QuotaError> {
        let now = Now::from((self.inner.clock)());
        match &self.inner.store {
            Store::InProcess(map) => {
                let guard = map.lock().unwrap_or_else(|p| p.into_inner());
                Ok(guard.get(tenant).map_or((0, 0), |u| {
                    (u.minute.used_in(now.minute), u.day.used_in(now.day))
                }))
            }
            Store::Redis { conn, prefix } => {
                let keys = RedisKeys::new(prefix, tenant, &now);
                let mut c = conn.clone();
                let (m, d): (Option<i64>, Option<i64>) = redis::cmd("MGET")
                    .arg(&keys.minute)
                    .arg(&keys.day)
                    .query_async(&mut c)
                    .await?;
                let clamp = |v: Option<i64>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);
                Ok((clamp(m), clamp(d)))
            }
        }
    }

    /// The concurrency slots `tenant` holds now (in Redis: the unexpired leases).
    pub async fn in_flight(&self, tenant: &str) -> Result<u32, QuotaError> {
        match &self.inner.store {
            Store::InProcess(map) => {
                let guard = map.lock().unwrap_or_else(|p| p.into_inner());
                Ok(guard.get(tenant).map_or(0, |u| u.concurrent))
            }
            Store::Redis { conn, prefix } => {
                let now = Now::from((self.inner.clock)());
                let key = format!("{prefix}:quota:{tenant}:c");
                let mut c = conn.clone();
                let n: u64 = redis::cmd("ZCOUNT")
                    .arg(key)
                    .arg(format!("({}", now.epoch_ms))
                    .arg("+inf")
                    .query_async(&mut c)
                    .await?;
                Ok(u32::try_from(n).unwrap_or(u32::MAX))
            }
        }
    }
}

/// Admission of one request. Dropping it frees its concurrency slot.
pub struct QuotaPermit {
    tenant: String,
    /// The tokens charged for this request so far (the estimate at first).
    charged: u64,
    minute: u64,
    day: u64,
    counts_tokens: bool,
    release: Option<Release>,
}

enum Release {
    InProcess {
        map: Arc<Mutex<HashMap<String, TenantUsage>>>,
    },
    Redis {
        conn: ConnectionManager,
        key: String,
        member: String,
        renewer: tokio::task::JoinHandle<()>,
    },
}

impl fmt::Debug for QuotaPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuotaPermit")
            .field("tenant", &self.tenant)
            .field("charged", &self.charged)
            .field("holds_slot", &self.release.is_some())
            .finish()
    }
}

impl QuotaPermit {
    /// The tenant the permit is for.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The tokens charged for this request so far.
    pub fn charged_tokens(&self) -> u64 {
        self.charged
    }

    /// Frees the concurrency slot now and waits until the store has it (dropping the permit
    /// frees it too, but in Redis in the background).
    pub async fn release(mut self) -> Result<(), QuotaError> {
        match self.release.take() {
            Some(Release::Redis {
                mut conn,
                key,
                member,
                renewer,
            }) => {
                renewer.abort();
                redis::cmd("ZREM")
                    .arg(key)
                    .arg(member)
                    .query_async::<()>(&mut conn)
                    .await?;
                Ok(())
            }
            Some(r @ Release::InProcess { .. }) => {
                release_in_process(&self.tenant, r);
                Ok(())
            }
            None => Ok(()),
        }
    }
}

fn release_in_process(tenant: &str, release: Release) {
    if let Release::InProcess { map } = release {
        let mut guard = map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(usage) = guard.get_mut(tenant) {
            usage.concurrent = usage.concurrent.saturating_sub(1);
        }
    }
}

impl Drop for QuotaPermit {
    fn drop(&mut self) {
        match self.release.take() {
            Some(Release::Redis {
                mut conn,
                key,
                member,
                renewer,
            }) => {
                renewer.abort();
                // Without a runtime the lease frees the slot when it runs out.
                if let Ok(handle) = tokio::runtime::Handle::try_current() {
                    handle.spawn(async move {
                        let freed: redis::RedisResult<()> = redis::cmd("ZREM")
                            .arg(&key)
                            .arg(&member)
                            .query_async(&mut conn)
                            .await;
                        if let Err(e) = freed {
                            tracing::warn!(%key, error = %e, "could not free a quota slot; its lease will");
                        }
                    });
                }
            }
            Some(r @ Release::InProcess { .. }) => release_in_process(&self.tenant, r),
            None => {}
        }
    }
}

/// Keeps a live permit's lease from running out.
async fn renew_lease(
    mut conn: ConnectionManager,
    key: String,
    member: String,
    lease: Duration,
    clock: Clock,
) {
    let every = lease / 3;
    let lease_ms = duration_ms(lease);
    loop {
        tokio::time::sleep(every).await;
        let now = Now::from(clock()).epoch_ms;
        let mut pipe = redis::pipe();
        pipe.cmd("ZADD")
            .arg(&key)
            .arg("XX")
            .arg(now.saturating_add(lease_ms))
            .arg(&member)
            .ignore();
        pipe.cmd("PEXPIRE").arg(&key).arg(lease_ms).ignore();
        let renewed: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
        if let Err(e) = renewed {
            tracing::warn!(%key, error = %e, "could not renew a quota lease");
        }
    }
}

/// Atomic check-and-reserve. Answers 0 (admitted), 1 (tokens per minute), 2 (tokens per day),
/// 3 (concurrency). A limit of -1 means none.
const ACQUIRE_SCRIPT: &str = r"
local reserve = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
local tpd = tonumber(ARGV[3])
local maxc = tonumber(ARGV[4])
if tpd >= 0 then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used + reserve > tpd then return 2 end
end
if tpm >= 0 then
  local used = tonumber(redis.call('GET', KEYS[1]) or '0')
  if used + reserve > tpm then return 1 end
end
if maxc >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[5])
  if redis.call('ZCARD', KEYS[3]) >= maxc then return 3 end
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[7])
  redis.call('PEXPIRE', KEYS[3], ARGV[10])
end
if reserve > 0 then
  redis.call('INCRBY', KEYS[1], reserve)
  redis.call('EXPIRE', KEYS[1], ARGV[8])
  redis.call('INCRBY', KEYS[2], reserve)
  redis.call('EXPIRE', KEYS[2], ARGV[9])
end
return 0
";

fn limit_arg(limit: Option<u64>) -> i64 {
    limit.map_or(-1, |v| i64::try_from(v).unwrap_or(i64::MAX))
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn permit_member() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    format!(
        "{:016x}-{}",
        rand::random::<u64>(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

struct RedisKeys {
    minute: String,
    day: String,
    concurrency: String,
}

impl RedisKeys {
    fn new(prefix: &str, tenant: &str, now: &Now) -> RedisKeys {
        RedisKeys {
            minute: window_key(prefix, tenant, "m", now.minute),
            day: window_key(prefix, tenant, "d", now.day),
            concurrency: format!("{prefix}:quota:{tenant}:c"),
        }
    }
}

/// `<prefix>:quota:<tenant>:m:<epoch-minute>` or `<prefix>:quota:<tenant>:d:<yyyymmdd>`
/// (`day` is the epoch day).
fn window_key(prefix: &str, tenant: &str, kind: &str, index: u64) -> String {
    match kind {
        "d" => format!("{prefix}:quota:{tenant}:d:{}", yyyymmdd(index)),
        _ => format!("{prefix}:quota:{tenant}:{kind}:{index}"),
    }
}

/// The current time split into the windows.
struct Now {
    epoch_ms: u64,
    /// Epoch minute.
    minute: u64,
    /// Epoch day (UTC).
    day: u64,
}

impl From<SystemTime> for Now {
    fn from(t: SystemTime) -> Self {
        let epoch_ms = t.duration_since(UNIX_EPOCH).map_or(0, duration_ms);
        Now {
            epoch_ms,
            minute: epoch_ms / 60_000,
            day: epoch_ms / 86_400_000,
        }
    }
}

fn check_tokens(
    limits: &QuotaLimits,
    reserve: u64,
    day_used: u64,
    minute_used: u64,
) -> Option<(QuotaLimit, u64)> {
    if let Some(max) = limits.tokens_per_day
        && day_used.saturating_add(reserve) > max
    {
        return Some((QuotaLimit::TokensPerDay, max));
    }
    if let Some(max) = limits.tokens_per_minute
        && minute_used.saturating_add(reserve) > max
    {
        return Some((QuotaLimit::TokensPerMinute, max));
    }
    None
}

fn exceeded(tenant: &str, limit: QuotaLimit, max: u64, now: &Now) -> QuotaError {
    let retry_after = match limit {
        QuotaLimit::Concurrency => CONCURRENCY_RETRY_AFTER,
        QuotaLimit::TokensPerMinute => {
            Duration::from_millis((now.minute + 1) * 60_000 - now.epoch_ms)
        }
        QuotaLimit::TokensPerDay => {
            Duration::from_millis((now.day + 1) * 86_400_000 - now.epoch_ms)
        }
    };
    QuotaError::Exceeded(QuotaExceeded {
        tenant: tenant.to_string(),
        limit,
        max,
        retry_after,
    })
}

/// `yyyymmdd` of an epoch day (proleptic Gregorian, UTC).
pub fn yyyymmdd(epoch_day: u64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = i64::try_from(epoch_day).unwrap_or(i64::MAX / 2) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}")
}
