//! get_metrics: raw cumulative Prometheus series (cAdvisor's container metrics plus
//! service-level request series), one point per 15 s over the last N minutes, one CSV per
//! metric with `timestamp,cmdb_id,kpi_name,value`.

use crate::cluster::{Cluster, ContainerState, Namespace, Pod, ProcessState, ServiceHealth};
use crate::suite::schema::{Effect, Runtime, ServiceSpec};
use crate::telemetry::files::Export;
use crate::telemetry::noise::Key;
use crate::telemetry::{baseline_rates, root_key, service_of_pod, Vitals};
use std::collections::BTreeMap;

/// Seconds between two points.
pub const STEP_S: f64 = 15.0;

pub use crate::telemetry::files::MetricsExport;

/// Exports the namespace's metrics over the last `duration_min` minutes.
pub fn export_metrics(
    cluster: &Cluster,
    ns: &str,
    duration_min: u64,
) -> Result<MetricsExport, String> {
    let namespace = cluster
        .namespace(ns)
        .ok_or_else(|| format!("Error: namespace '{ns}' does not exist. Use kubectl to check."))?;
    let unix = cluster.now.floor() as i64;
    let dir = format!("metrics_output/{ns}_{unix}");
    let points = times(cluster.now, duration_min);
    let rates = baseline_rates(&namespace.app);
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut row = |metric: &str, group: &str, t: f64, id: &str, v: f64| {
        files
            .entry(format!("{group}/kpi_{metric}.csv"))
            .or_default()
            .push(format!("{},{id},{metric},{v:.3}", t as i64));
    };
    let key = root_key(cluster).s(ns).s("metrics");
    for pod in namespace.pods.values() {
        let Some(spec) = service_of_pod(namespace, pod) else {
            continue;
        };
        let Some(node) = pod.node.as_deref() else {
            continue;
        };
        let sh = cluster
            .health_of(ns)
            .and_then(|h| h.services.get(spec.name.get_ref()));
        let base = Vitals::baseline(spec, rates.get(spec.name.get_ref()).copied().unwrap_or(0.0));
        let pods_n = crate::telemetry::pods_of(namespace, spec.name.get_ref())
            .len()
            .max(1) as f64;
        let model = PodModel::new(pod, spec, sh, base, pods_n, key.s(&pod.name));
        let id = format!("{node}.{}", pod.name);
        let net = format!("{id}.eth0");
        for &t in &points {
            if t >= pod.created_at {
                row(
                    "container_restarts_total",
                    "container",
                    t,
                    &id,
                    model.restarts(t),
                );
            }
            let Some(start) = model.started(t) else {
                continue;
            };
            for (name, v) in model.container_values(t, start) {
                row(name, "container", t, &id, v);
            }
            for (name, v) in model.network_values(t, start) {
                row(name, "container", t, &net, v);
            }
        }
    }
    service_series(cluster, namespace, &points, &rates, key, &mut row);
    let files = files
        .into_iter()
        .map(|(path, rows)| {
            let mut csv = String::from("timestamp,cmdb_id,kpi_name,value\n");
            for r in rows {
                csv.push_str(&r);
                csv.push('\n');
            }
            (format!("{dir}/{path}"), csv)
        })
        .collect();
    Ok(Export { dir, files })
}

/// Point times, oldest first, aligned to the step.
fn times(now: f64, duration_min: u64) -> Vec<f64> {
    let n = (duration_min.max(1) * 60) as f64 / STEP_S;
    let last = (now / STEP_S).floor() * STEP_S;
    (0..n as i64)
        .rev()
        .map(|j| last - j as f64 * STEP_S)
        .collect()
}

/// `500m` / `1` / `1.5` -> millicores.
pub(crate) fn parse_cpu(s: &str) -> Option<f64> {
    let s = s.trim();
    match s.strip_suffix('m') {
        Some(m) => m.parse().ok(),
        None => s.parse::<f64>().ok().map(|c| c * 1000.0),
    }
}

/// `512Mi` / `1Gi` / `256M` / bytes -> bytes.
pub(crate) fn parse_mem(s: &str) -> Option<f64> {
    let s = s.trim();
    let units: [(&str, f64); 8] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("K", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    for (u, f) in units {
        if let Some(n) = s.strip_suffix(u) {
            return n.parse::<f64>().ok().map(|v| v * f);
        }
    }
    s.parse().ok()
}

struct PodModel<'a> {
    pod: &'a Pod,
    spec: &'a ServiceSpec,
    base: Vitals,
    cur: Vitals,
    onset: f64,
    leak: Option<f64>,
    loss: f64,
    running: Vec<(f64, f64)>,
    cpu_limit: Option<f64>,
    mem_limit: Option<f64>,
    cpu_request: Option<f64>,
    key: Key,
}

impl<'a> PodModel<'a> {
    fn new(
        pod: &'a Pod,
        spec: &'a ServiceSpec,
        sh: Option<&ServiceHealth>,
        base: Vitals,
        replicas: f64,
        key: Key,
    ) -> PodModel<'a> {
        let per_pod = |mut v: Vitals| {
            v.request_rate /= replicas;
            v
        };
        let cur = sh.map(Vitals::of).unwrap_or_else(|| base.clone());
        let onset = sh.map(|s| s.changed_at).unwrap_or(f64::INFINITY);
        let effects = sh.map(|s| s.active_effects.as_slice()).unwrap_or(&[]);
        let leak = effects.iter().find_map(|e| match e {
            Effect::MemoryLeak { mib_per_min } => Some(*mib_per_min),
            _ => None,
        });
        let loss = effects
            .iter()
            .find_map(|e| match e {
                Effect::NetworkLoss { percent } => Some(*percent / 100.0),
                _ => None,
            })
            .unwrap_or(0.0);
        let mut running = Vec::new();
        if let Some(c) = pod.containers.first() {
            if let Some(ContainerState::Terminated {
                started_at,
                finished_at,
                ..
            }) = &c.last_state
            {
                running.push((*started_at, *finished_at));
            }
            match &c.state {
                ContainerState::Running { started_at } => {
                    running.push((*started_at, f64::INFINITY))
                }
                ContainerState::Terminated {
                    started_at,
                    finished_at,
                    ..
                } => running.push((*started_at, *finished_at)),
                ContainerState::Waiting { .. } => {}
            }
        }
        let not_running = matches!(
            sh.map(|s| &s.process),
            Some(ProcessState::NotRunning { .. })
        );
        if not_running {
            running.retain(|(s, _)| *s < onset);
        }
        let c0 = pod.spec.containers.first();
        PodModel {
            pod,
            spec,
            base: per_pod(base),
            cur: per_pod(cur),
            onset,
            leak,
            loss,
            running,
            cpu_limit: c0.and_then(|c| c.cpu_limit.as_deref()).and_then(parse_cpu),
            mem_limit: c0
                .and_then(|c| c.memory_limit.as_deref())
                .and_then(parse_mem),
            cpu_request: c0
                .and_then(|c| c.cpu_request.as_deref())
                .and_then(parse_cpu),
            key,
        }
    }

    /// The start of the container run covering `t`.
    fn started(&self, t: f64) -> Option<f64> {
        self.running
            .iter()
            .find(|(s, e)| t >= *s && t <= *e)
            .map(|(s, _)| *s)
    }

    fn vitals_at(&self, t: f64) -> &Vitals {
        if t >= self.onset {
            &self.cur
        } else {
            &self.base
        }
    }

    /// Integral of a rate from `start` to `t`, switching value at the onset, with a small
    /// monotone jitter.
    fn cumulative(&self, tag: &str, t: f64, start: f64, rate: impl Fn(&Vitals) -> f64) -> f64 {
        let before = (self.onset.min(t) - start).max(0.0);
        let after = (t - self.onset.max(start)).max(0.0);
        let r_now = rate(self.vitals_at(t));
        let integral = rate(&self.base) * before + rate(&self.cur) * after;
        let j = self.key.s(tag).t((t / STEP_S).floor()).unit();
        integral + r_now * STEP_S * 0.1 * j
    }

    fn jitter(&self, tag: &str, t: f64, amp: f64) -> f64 {
        1.0 + amp * self.key.s(tag).t((t / STEP_S).floor()).gauss() / 2.0
    }

    fn working_set(&self, t: f64, start: f64) -> f64 {
        let mib = match self.leak {
            Some(per_min) if t >= self.onset => {
                self.base.memory_mib + per_min * (t - self.onset.max(start)).max(0.0) / 60.0
            }
            _ => self.vitals_at(t).memory_mib,
        };
        let mut bytes = mib * 1_048_576.0 * self.jitter("mem", t, 0.01);
        if let Some(limit) = self.mem_limit {
            bytes = bytes.min(limit * 0.995);
        }
        bytes
    }

    fn container_values(&self, t: f64, start: f64) -> Vec<(&'static str, f64)> {
        let cpu_cores = |v: &Vitals| {
            let c = v.cpu_millis / 1000.0;
            match self.cpu_limit {
                Some(l) => c.min(l / 1000.0),
                None => c,
            }
        };
        let cpu = self.cumulative("cpu", t, start, cpu_cores);
        let throttle_rate = |v: &Vitals| match self.cpu_limit {
            Some(l) if v.cpu_millis >= 0.9 * l => (v.cpu_millis / l).min(4.0) * 0.8,
            _ => 0.0005,
        };
        let throttled = self.cumulative("thr", t, start, throttle_rate);
        let ws = self.working_set(t, start);
        let cache = ws * 0.12 + 4_194_304.0;
        let threads = match self.spec.runtime {
            Runtime::Java | Runtime::Kotlin | Runtime::Kafka => 42.0,
            Runtime::Mongodb => 33.0,
            Runtime::GoZerolog | Runtime::GoZerologHttp | Runtime::GoLogrus => 11.0,
            Runtime::Dotnet => 24.0,
            Runtime::Redis | Runtime::Valkey => 5.0,
            _ => 8.0,
        } + self.key.s("thr").below(4) as f64;
        let mut v = vec![
            ("container_cpu_usage_seconds_total", cpu),
            ("container_cpu_user_seconds_total", cpu * 0.78),
            ("container_cpu_system_seconds_total", cpu * 0.22),
            ("container_cpu_cfs_throttled_seconds_total", throttled),
            ("container_memory_usage_bytes", ws + cache),
            ("container_memory_working_set_bytes", ws),
            ("container_memory_rss", ws * 0.86),
            ("container_memory_cache", cache),
            ("container_memory_mapped_file", ws * 0.02 + 1_081_344.0),
            ("container_threads", threads),
            (
                "container_spec_memory_limit_bytes",
                self.mem_limit.unwrap_or(0.0),
            ),
            ("container_spec_cpu_period", 100_000.0),
            (
                "container_spec_cpu_shares",
                self.cpu_request
                    .map(|m| (m * 1024.0 / 1000.0).round())
                    .unwrap_or(2.0),
            ),
        ];
        if let Some(l) = self.cpu_limit {
            v.push(("container_spec_cpu_quota", l * 100.0));
        }
        v
    }

    fn network_values(&self, t: f64, start: f64) -> Vec<(&'static str, f64)> {
        let loss = if t >= self.onset { self.loss } else { 0.0 };
        let rx = self.cumulative("rx", t, start, |v| 180.0 + v.request_rate * 820.0);
        let tx = self.cumulative("tx", t, start, |v| 150.0 + v.request_rate * 1460.0);
        let rxp = self.cumulative("rxp", t, start, |v| 1.5 + v.request_rate * 3.0);
        let txp = self.cumulative("txp", t, start, |v| 1.4 + v.request_rate * 3.2);
        let drop_before = (self.onset.min(t) - start).max(0.0) * 0.0;
        let drops = drop_before
            + (t - self.onset.max(start)).max(0.0) * loss * (1.5 + self.cur.request_rate * 3.0);
        let benign_errs = (t - start).max(0.0) / 86_400.0 * self.key.s("nerr").below(3) as f64;
        vec![
            ("container_network_receive_bytes_total", rx),
            ("container_network_transmit_bytes_total", tx),
            ("container_network_receive_packets_total", rxp),
            ("container_network_transmit_packets_total", txp),
            (
                "container_network_receive_errors_total",
                benign_errs.floor(),
            ),
            ("container_network_transmit_errors_total", 0.0),
            (
                "container_network_receive_packets_dropped_total",
                (drops * 0.5).floor(),
            ),
            (
                "container_network_transmit_packets_dropped_total",
                (drops * 0.5).floor(),
            ),
        ]
    }

    /// Restarts of the pod's containers up to `t`: the last one at `last_restart_at`, earlier
    /// ones spaced by kubelet's back-off.
    fn restarts(&self, t: f64) -> f64 {
        let n = self.pod.restarts();
        let Some(last) = self
            .pod
            .containers
            .iter()
            .filter_map(|c| c.last_restart_at)
            .reduce(f64::max)
        else {
            return f64::from(n);
        };
        let mut at = last;
        let mut count = n;
        let mut i = n;
        while count > 0 && t < at {
            count -= 1;
            i = i.saturating_sub(1);
            let backoff = (10.0 * 2f64.powi(i.saturating_sub(1).min(5) as i32)).min(300.0);
            at -= backoff + 10.0;
        }
        f64::from(count)
    }
}

/// Service-level series: requests, errors, latency percentiles (cmdb_id = service name).
fn service_series(
    cluster: &Cluster,
    ns: &Namespace,
    points: &[f64],
    rates: &BTreeMap<String, f64>,
    key: Key,
    row: &mut impl FnMut(&str, &str, f64, &str, f64),
) {
    let health = cluster.health_of(&ns.name);
    for spec in &ns.app.services {
        let name = spec.name.get_ref();
        let sh = health.and_then(|h| h.services.get(name));
        let base = Vitals::baseline(spec, rates.get(name).copied().unwrap_or(0.0));
        let cur = sh.map(Vitals::of).unwrap_or_else(|| base.clone());
        let onset = sh.map(|s| s.changed_at).unwrap_or(f64::INFINITY);
        let down = matches!(
            sh.map(|s| &s.process),
            Some(ProcessState::NotRunning { .. })
        );
        let origin = ns.created_at;
        let k = key.s("svc").s(name);
        let integral = |t: f64, f: &dyn Fn(&Vitals) -> f64| {
            (onset.min(t) - origin).max(0.0) * f(&base) + (t - onset.max(origin)).max(0.0) * f(&cur)
        };
        for &t in points {
            if down && t >= onset {
                continue;
            }
            let v = if t >= onset { &cur } else { &base };
            let b = (t / STEP_S).floor();
            let j = |tag: &str| 1.0 + 0.06 * k.s(tag).t(b).gauss();
            // A tiny benign error count in healthy services: a request now and then.
            let benign = ((t - origin).max(0.0) * v.request_rate * 0.0004).floor();
            let req = integral(t, &|v: &Vitals| v.request_rate)
                + v.request_rate * STEP_S * 0.1 * k.s("r").t(b).unit();
            let err = integral(t, &|v: &Vitals| v.request_rate * v.error_rate) + benign;
            row("request_total", "service", t, name, req.floor());
            row("request_errors_total", "service", t, name, err.floor());
            let spike = if k.s("spike").t(b).chance(0.03) {
                3.0
            } else {
                1.0
            };
            row(
                "latency_p50_ms",
                "service",
                t,
                name,
                (v.p50_ms * j("p50")).max(0.05),
            );
            row(
                "latency_p99_ms",
                "service",
                t,
                name,
                (v.p99_ms * j("p99") * spike).max(0.1),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::testkit::{geo_crashing, healthy, sh, NOW, NS};

    #[test]
    fn csv_shape_and_cmdb_ids() {
        let c = healthy(1);
        let e = export_metrics(&c, NS, 5).unwrap_or_else(|e| panic!("{e}"));
        assert!(e.dir.starts_with("metrics_output/test-hotel-reservation_"));
        let cpu = e
            .file("container/kpi_container_cpu_usage_seconds_total.csv")
            .unwrap_or_default();
        let mut lines = cpu.lines();
        assert_eq!(lines.next(), Some("timestamp,cmdb_id,kpi_name,value"));
        let row: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
        assert_eq!(row.len(), 4);
        assert!(
            row[1].starts_with("kind-worker.") && row[1].ends_with("-x2kqz"),
            "{row:?}"
        );
        assert_eq!(row[2], "container_cpu_usage_seconds_total");
        assert!(row[3].split('.').nth(1).is_some_and(|d| d.len() == 3));
        let net = e
            .file("container/kpi_container_network_receive_bytes_total.csv")
            .unwrap_or_default();
        assert!(net
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains("-x2kqz.eth0,")));
        assert!(e.file("service/kpi_request_total.csv").is_some());
        assert!(e.file("service/kpi_latency_p99_ms.csv").is_some());
        // 5 minutes, one point per 15 s, per pod.
        assert_eq!(cpu.lines().count() - 1, 20 * 6);
        assert_eq!(
            export_metrics(&c, NS, 5),
            export_metrics(&healthy(1), NS, 5)
        );
        assert_ne!(
            export_metrics(&c, NS, 5),
            export_metrics(&healthy(2), NS, 5)
        );
    }

    #[test]
    fn counters_rise_leaks_climb_and_dead_pods_have_no_points() {
        let mut c = healthy(1);
        {
            let s = sh(&mut c, "geo");
            s.active_effects = vec![Effect::MemoryLeak { mib_per_min: 50.0 }];
            s.changed_at = NOW - 400.0;
        }
        let e = export_metrics(&c, NS, 5).unwrap_or_else(|e| panic!("{e}"));
        let series = |file: &str, id: &str| -> Vec<f64> {
            e.file(file)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains(id))
                .filter_map(|l| l.rsplit(',').next().and_then(|v| v.parse().ok()))
                .collect()
        };
        let cpu = series(
            "container/kpi_container_cpu_usage_seconds_total.csv",
            "worker.geo-",
        );
        assert!(cpu.windows(2).all(|w| w[1] >= w[0]), "{cpu:?}");
        let ws = series(
            "container/kpi_container_memory_working_set_bytes.csv",
            "worker.geo-",
        );
        assert!(ws.last().copied().unwrap_or(0.0) > ws[0] * 1.5, "{ws:?}");
        let c = geo_crashing(1, crate::cluster::CallProblem::NoEndpoints, 2);
        let e = export_metrics(&c, NS, 5).unwrap_or_else(|e| panic!("{e}"));
        let geo_cpu = e
            .file("container/kpi_container_cpu_usage_seconds_total.csv")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("worker.geo-84"))
            .count();
        assert!(geo_cpu <= 1, "a crash-looping pod has a short series");
        let restarts = e
            .file("container/kpi_container_restarts_total.csv")
            .unwrap_or_default();
        assert!(restarts
            .lines()
            .any(|l| l.contains("worker.geo-84") && l.ends_with(",5.000")));
    }
}
