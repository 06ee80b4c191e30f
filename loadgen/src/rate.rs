//! Open-loop constant rate. A scheduler thread (a plain OS thread: its sleeps are finer than
//! tokio's millisecond timer) starts request `i` at `start + i / rate` whatever happened to the
//! earlier ones; at most `--connections` are in flight, and a request waiting for a slot is
//! already late. Latency runs from the intended send time to the end of the response body.

use crate::client::{HttpClient, Prepared, RequestArgs, client, error_kind};
use crate::stats::{ms, percentile};
use clap::Args;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// `aoi-loadgen rate`.
#[derive(Debug, Clone, Args)]
pub struct RateArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// Requests per second.
    #[arg(long)]
    pub rate: f64,
    /// Seconds of load.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Requests in flight at most (each on its own keep-alive connection).
    #[arg(long, default_value_t = 512)]
    pub connections: usize,
}

#[derive(Default)]
struct Record {
    /// Microseconds from intended send to the end of the body, for every answered request.
    latencies: Vec<u64>,
    status: BTreeMap<u16, u64>,
    ok: u64,
    errors: u64,
    error_kinds: BTreeMap<String, u64>,
    /// When the last answer (or error) came.
    last_done: Option<Instant>,
}

fn lock(record: &Mutex<Record>) -> MutexGuard<'_, Record> {
    record.lock().unwrap_or_else(|p| p.into_inner())
}

impl Record {
    fn error(&mut self, kind: String) {
        self.errors += 1;
        *self.error_kinds.entry(kind).or_insert(0) += 1;
        self.last_done = Some(Instant::now());
    }
}

/// Runs the load and answers the JSON report.
pub async fn run(args: RateArgs) -> Result<Value, String> {
    if !(args.rate > 0.0 && args.rate.is_finite()) {
        return Err(format!("--rate must be positive, not {}", args.rate));
    }
    if !(args.duration > 0.0 && args.duration.is_finite()) {
        return Err(format!(
            "--duration must be positive, not {}",
            args.duration
        ));
    }
    if args.connections == 0 {
        return Err("--connections must be at least 1".into());
    }
    let prepared = Arc::new(Prepared::from_args(&args.request, false)?);
    let http = client(args.connections);
    let slots = Arc::new(Semaphore::new(args.connections));
    let record = Arc::new(Mutex::new(Record::default()));
    let timeout = Duration::from_secs_f64(args.request.timeout.max(0.001));
    let total = (args.rate * args.duration).round() as u64;
    let interval = 1.0 / args.rate;
    let handle = tokio::runtime::Handle::current();

    let start = Instant::now() + Duration::from_millis(20);
    let scheduler = {
        let record = Arc::clone(&record);
        std::thread::Builder::new()
            .name("scheduler".into())
            .spawn(move || {
                let mut tasks = Vec::with_capacity(total as usize);
                let mut max_lag = Duration::ZERO;
                for i in 0..total {
                    let intended = start + Duration::from_secs_f64(i as f64 * interval);
                    let now = Instant::now();
                    if intended > now {
                        std::thread::sleep(intended - now);
                    } else {
                        max_lag = max_lag.max(now - intended);
                    }
                    let job = one(
                        http.clone(),
                        Arc::clone(&prepared),
                        Arc::clone(&slots),
                        Arc::clone(&record),
                        intended,
                        timeout,
                    );
                    tasks.push(handle.spawn(job));
                }
                (tasks, max_lag)
            })
            .map_err(|e| format!("cannot start the scheduler thread: {e}"))?
    };
    let (tasks, max_lag) = tokio::task::spawn_blocking(move || scheduler.join())
        .await
        .map_err(|e| format!("the scheduler thread failed: {e}"))?
        .map_err(|_| "the scheduler thread panicked".to_string())?;
    let sent = tasks.len() as u64;
    for task in tasks {
        if task.await.is_err() {
            lock(&record).error("task panicked".into());
        }
    }

    let mut record = std::mem::take(&mut *lock(&record));
    record.latencies.sort_unstable();
    let elapsed = record
        .last_done
        .map_or(args.duration, |t| {
            t.saturating_duration_since(start).as_secs_f64()
        })
        .max(args.duration);
    let lat = &record.latencies;
    let status_counts: BTreeMap<String, u64> = record
        .status
        .iter()
        .map(|(code, n)| (code.to_string(), *n))
        .collect();
    let non_2xx: u64 = record
        .status
        .iter()
        .filter(|(code, _)| !(200..300).contains(*code))
        .map(|(_, n)| *n)
        .sum();
    Ok(json!({
        "url": args.request.url,
        "target_rate": args.rate,
        "achieved_rate": round2(record.ok as f64 / elapsed),
        "duration_s": args.duration,
        "elapsed_s": round2(elapsed),
        "connections": args.connections,
        "sent": sent,
        "ok": record.ok,
        "errors": sent.saturating_sub(record.ok),
        "transport_errors": record.errors,
        "non_2xx": non_2xx,
        "status_counts": status_counts,
        "error_kinds": record.error_kinds,
        "p50_ms": ms(percentile(lat, 0.50)),
        "p90_ms": ms(percentile(lat, 0.90)),
        "p99_ms": ms(percentile(lat, 0.99)),
        "p999_ms": ms(percentile(lat, 0.999)),
        "max_ms": ms(lat.last().copied().unwrap_or(0)),
        "scheduler_max_lag_ms": ms(max_lag.as_micros() as u64),
    }))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One request: waits for a slot, sends, reads the whole body, records.
async fn one(
    http: HttpClient,
    prepared: Arc<Prepared>,
    slots: Arc<Semaphore>,
    record: Arc<Mutex<Record>>,
    intended: Instant,
    timeout: Duration,
) {
    let exchange = async {
        let _slot = slots
            .acquire()
            .await
            .map_err(|_| "connection slots closed".to_string())?;
        let request = prepared.request()?;
        let response = http.request(request).await.map_err(|e| error_kind(&e))?;
        let status = response.status().as_u16();
        response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?;
        Ok::<u16, String>(status)
    };
    let outcome = tokio::time::timeout(timeout, exchange).await;
    let done = Instant::now();
    let mut record = lock(&record);
    match outcome {
        Ok(Ok(status)) => {
            record
                .latencies
                .push(done.saturating_duration_since(intended).as_micros() as u64);
            *record.status.entry(status).or_insert(0) += 1;
            if (200..300).contains(&status) {
                record.ok += 1;
            }
            record.last_done = Some(done);
        }
        Ok(Err(kind)) => record.error(kind),
        Err(_) => record.error("timeout".into()),
    }
}
