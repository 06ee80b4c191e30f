//! N concurrent streaming requests. At most `--open-concurrency` are connecting or waiting for
//! their first byte at once (so a burst of N connects does not overflow the server's accept
//! backlog); once a stream has its first byte it stays open, without a slot, until it ends.
//! Time to first byte runs from the moment a request gets its slot.
//!
//! Over HTTP/1.1 (the default) every stream has its own connection, so the process in front
//! holds a client socket per stream besides its upstream one. `--http2` sends the streams as
//! HTTP/2 with prior knowledge (h2c) over `ceil(count / streams-per-conn)` connections, which
//! keeps 10,000 streams inside a 20,000 open-files limit in the process in front.

use crate::client::{H2Connections, Prepared, RequestArgs, client, error_kind};
use crate::stats::{ms, percentile};
use clap::Args;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// `aoi-loadgen streams`.
#[derive(Debug, Clone, Args)]
pub struct StreamsArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// Concurrent streams to open (the body gets `"stream": true`).
    #[arg(long)]
    pub count: usize,
    /// Streams connecting or waiting for their first byte at once. Keep it under the server's
    /// listen backlog: a dropped SYN costs a 1 s retransmit that shows up as time to first byte.
    #[arg(long, default_value_t = 64)]
    pub open_concurrency: usize,
    /// Send the streams over HTTP/2 with prior knowledge (h2c), several per connection.
    #[arg(long)]
    pub http2: bool,
    /// With `--http2`: streams per connection (keep it under the server's
    /// SETTINGS_MAX_CONCURRENT_STREAMS, 200 for hyper). Streams are spread over
    /// `ceil(count / streams-per-conn)` connections.
    #[arg(long, default_value_t = 100)]
    pub streams_per_conn: usize,
    /// A process whose VmRSS / VmHWM (from /proc/PID/status) to sample while the streams run.
    #[arg(long)]
    pub rss_pid: Option<u32>,
}

#[derive(Default)]
struct Record {
    ttfb: Vec<u64>,
    completed: u64,
    done_marker: u64,
    status: BTreeMap<u16, u64>,
    versions: BTreeMap<String, u64>,
    errors: u64,
    error_kinds: BTreeMap<String, u64>,
}

fn lock(record: &Mutex<Record>) -> MutexGuard<'_, Record> {
    record.lock().unwrap_or_else(|p| p.into_inner())
}

/// VmRSS and VmHWM of a process, in KiB.
fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Runs the streams and answers the JSON report.
pub async fn run(args: StreamsArgs) -> Result<Value, String> {
    if args.count == 0 || args.open_concurrency == 0 || args.streams_per_conn == 0 {
        return Err("--count, --open-concurrency and --streams-per-conn must be at least 1".into());
    }
    let prepared = Arc::new(Prepared::from_args(&args.request, true)?);
    let h2 = if args.http2 {
        let connections = args.count.div_ceil(args.streams_per_conn);
        Some(Arc::new(H2Connections::new(&prepared.uri, connections)?))
    } else {
        None
    };
    let rss_start = match args.rss_pid {
        Some(pid) => Some(
            memory_kib(pid).ok_or_else(|| format!("cannot read /proc/{pid}/status (--rss-pid)"))?,
        ),
        None => None,
    };
    // No idle connections kept: a finished stream gives its socket back at once.
    let http = client(0);
    let slots = Arc::new(Semaphore::new(args.open_concurrency));
    let record = Arc::new(Mutex::new(Record::default()));
    let open = Arc::new(AtomicUsize::new(0));
    let open_peak = Arc::new(AtomicUsize::new(0));
    let timeout = Duration::from_secs_f64(args.request.timeout.max(0.001));
    let finished = Arc::new(AtomicBool::new(false));

    // Sampler: the largest VmRSS seen, and the VmRSS when the most streams were open.
    let sampler = args.rss_pid.map(|pid| {
        let open = Arc::clone(&open);
        let finished = Arc::clone(&finished);
        tokio::spawn(async move {
            let (mut peak_rss, mut at_most_open, mut most_open) = (0u64, 0u64, 0usize);
            while !finished.load(Ordering::Relaxed) {
                let now_open = open.load(Ordering::Relaxed);
                if let Some((rss, _)) = memory_kib(pid) {
                    peak_rss = peak_rss.max(rss);
                    if now_open >= most_open {
                        most_open = now_open;
                        at_most_open = rss;
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (peak_rss, at_most_open, most_open)
        })
    });

    let start = Instant::now();
    let mut tasks = Vec::with_capacity(args.count);
    for index in 0..args.count {
        let (http, h2, prepared, slots, record) = (
            http.clone(),
            h2.clone(),
            Arc::clone(&prepared),
            Arc::clone(&slots),
            Arc::clone(&record),
        );
        let (open, open_peak) = (Arc::clone(&open), Arc::clone(&open_peak));
        tasks.push(tokio::spawn(async move {
            let exchange = async {
                let mut slot = Some(
                    slots
                        .acquire()
                        .await
                        .map_err(|_| "open slots closed".to_string())?,
                );
                let sent = Instant::now();
                let request = prepared.request()?;
                let response = match &h2 {
                    Some(h2) => h2.send(index, request).await?,
                    None => http.request(request).await.map_err(|e| error_kind(&e))?,
                };
                let status = response.status().as_u16();
                let version = format!("{:?}", response.version());
                let mut body = response.into_body();
                let mut first = true;
                let mut opened = false;
                let mut tail: Vec<u8> = Vec::new();
                while let Some(frame) = body.frame().await {
                    let frame = frame.map_err(|e| format!("body: {e}"))?;
                    let Some(data) = frame.data_ref() else {
                        continue;
                    };
                    if first {
                        first = false;
                        lock(&record).ttfb.push(sent.elapsed().as_micros() as u64);
                        let now_open = open.fetch_add(1, Ordering::Relaxed) + 1;
                        open_peak.fetch_max(now_open, Ordering::Relaxed);
                        opened = true;
                        // Open now: the slot goes to the next stream.
                        slot.take();
                    }
                    tail.extend_from_slice(data);
                    if tail.len() > 64 {
                        tail.drain(..tail.len() - 64);
                    }
                }
                if opened {
                    open.fetch_sub(1, Ordering::Relaxed);
                }
                let done = tail.windows(6).any(|w| w == b"[DONE]");
                Ok::<(u16, String, bool), String>((status, version, done))
            };
            let outcome = tokio::time::timeout(timeout, exchange).await;
            let mut record = lock(&record);
            match outcome {
                Ok(Ok((status, version, done))) => {
                    *record.status.entry(status).or_insert(0) += 1;
                    *record.versions.entry(version).or_insert(0) += 1;
                    if (200..300).contains(&status) {
                        record.completed += 1;
                        record.done_marker += u64::from(done);
                    } else {
                        record.errors += 1;
                        *record
                            .error_kinds
                            .entry(format!("status {status}"))
                            .or_insert(0) += 1;
                    }
                }
                Ok(Err(kind)) => {
                    record.errors += 1;
                    *record.error_kinds.entry(kind).or_insert(0) += 1;
                }
                Err(_) => {
                    record.errors += 1;
                    *record.error_kinds.entry("timeout".into()).or_insert(0) += 1;
                }
            }
        }));
    }
    for task in tasks {
        if task.await.is_err() {
            let mut record = lock(&record);
            record.errors += 1;
            *record
                .error_kinds
                .entry("task panicked".into())
                .or_insert(0) += 1;
        }
    }
    let elapsed = start.elapsed();
    finished.store(true, Ordering::Relaxed);
    let sampled = match sampler {
        Some(task) => task.await.ok(),
        None => None,
    };
    let rss_end = args.rss_pid.and_then(memory_kib);

    let mut record = std::mem::take(&mut *lock(&record));
    record.ttfb.sort_unstable();
    let mut report = json!({
        "url": args.request.url,
        "count": args.count,
        "open_concurrency": args.open_concurrency,
        "http2": args.http2,
        "connections": h2.as_ref().map_or(args.count, |h2| h2.len()),
        "connections_opened": h2.as_ref().map(|h2| h2.opened()),
        "completed": record.completed,
        "completed_with_done": record.done_marker,
        "errors": record.errors,
        "error_kinds": record.error_kinds,
        "status_counts": record.status.iter().map(|(c, n)| (c.to_string(), *n)).collect::<BTreeMap<_, _>>(),
        "http_versions": record.versions,
        "open_peak": open_peak.load(Ordering::Relaxed),
        "elapsed_s": (elapsed.as_secs_f64() * 100.0).round() / 100.0,
        "ttfb_p50_ms": ms(percentile(&record.ttfb, 0.50)),
        "ttfb_p99_ms": ms(percentile(&record.ttfb, 0.99)),
        "ttfb_max_ms": ms(record.ttfb.last().copied().unwrap_or(0)),
    });
    if let (Some(pid), Some(object)) = (args.rss_pid, report.as_object_mut()) {
        let (peak, at_open, most_open) = sampled.unwrap_or((0, 0, 0));
        object.insert(
            "rss".into(),
            json!({
                "pid": pid,
                "start_kib": rss_start.map(|(rss, _)| rss),
                "peak_sampled_kib": peak,
                "at_most_open_kib": at_open,
                "most_open_sampled": most_open,
                "end_kib": rss_end.map(|(rss, _)| rss),
                "hwm_end_kib": rss_end.map(|(_, hwm)| hwm),
            }),
        );
    }
    Ok(report)
}
