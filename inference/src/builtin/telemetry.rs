//! Aggregates of the telemetry exports: where trace errors and latency land (deepest failing span,
//! mapped through gRPC operation names to the callee), and per-owner metric trends.

use super::findings::{MetricTrend, TraceStats};
use super::parse::{self, Span};
use std::collections::{BTreeMap, BTreeSet};

/// The service a gRPC operation calls: `/user.User/CheckUser` -> `user`,
/// `oteldemo.ProductCatalogService/GetProduct` -> `product-catalog`.
pub fn callee_of_operation(op: &str, known: &[String]) -> Option<String> {
    let t = op.trim().trim_start_matches('/');
    let (svc_part, _) = t.split_once('/')?;
    if svc_part.contains(' ') {
        return None;
    }
    let (pkg, class) = svc_part.rsplit_once('.').unwrap_or(("", svc_part));
    let class = class.strip_suffix("Service").unwrap_or(class);
    let mut kebab = String::new();
    for (i, c) in class.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            kebab.push('-');
        }
        kebab.push(c.to_ascii_lowercase());
    }
    [kebab, pkg.to_ascii_lowercase()]
        .into_iter()
        .find(|n| !n.is_empty() && known.iter().any(|k| k == n))
}

/// A span's own time (minus its children's) at or above this is a stall, not noise.
pub const STALL_US: f64 = 1_000_000.0;

/// Aggregates spans: per-service counts, edges, and where the deepest errors / slow spans land.
pub fn trace_stats(spans: &[Span], known: &[String]) -> TraceStats {
    let mut st = TraceStats::default();
    let mut by_id: BTreeMap<(&str, &str), &Span> = BTreeMap::new();
    for s in spans {
        by_id.entry((&s.trace_id, &s.span_id)).or_insert(s);
    }
    let mut children: BTreeMap<(&str, &str), Vec<&Span>> = BTreeMap::new();
    let mut op_durations: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
    let mut traces: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    for s in by_id.values() {
        children
            .entry((&s.trace_id, &s.parent))
            .or_default()
            .push(s);
        op_durations
            .entry((&s.service, &s.operation))
            .or_default()
            .push(s.duration_us);
        traces.entry(&s.service).or_default().insert(&s.trace_id);
        let e = st
            .per_service
            .entry(s.service.clone())
            .or_insert((0, 0, 0.0));
        e.0 += 1;
        e.1 += u32::from(s.error);
        *sums.entry(s.service.clone()).or_default() += s.duration_us;
        if let Some(p) = by_id.get(&(s.trace_id.as_str(), s.parent.as_str()))
            && p.service != s.service
        {
            let e = st
                .edges
                .entry((p.service.clone(), s.service.clone()))
                .or_insert((0, 0));
            e.0 += 1;
            e.1 += u32::from(s.error);
        }
    }
    for (svc, e) in st.per_service.iter_mut() {
        e.2 = sums.get(svc).copied().unwrap_or(0.0) / f64::from(e.0.max(1));
    }
    st.traces_of = traces
        .iter()
        .map(|(k, v)| (k.to_string(), v.len() as u32))
        .collect();
    st.total_traces = traces.values().flatten().collect::<BTreeSet<_>>().len() as u32;
    st.total_spans = by_id.len() as u32;
    let medians: BTreeMap<(&str, &str), f64> = op_durations
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_by(|a, b| a.total_cmp(b));
            (k, v.get(v.len() / 2).copied().unwrap_or(0.0))
        })
        .collect();
    let is_slow = |s: &Span| {
        let med = medians
            .get(&(s.service.as_str(), s.operation.as_str()))
            .copied()
            .unwrap_or(0.0);
        s.duration_us >= 1_000_000.0 || (s.duration_us >= 100_000.0 && s.duration_us >= 5.0 * med)
    };
    let blame = |s: &Span| -> String {
        match callee_of_operation(&s.operation, known) {
            Some(c) if c != s.service && c != "frontend" => {
                let alive = traces.contains_key(c.as_str());
                if alive || !known.iter().any(|k| k == "flagd") {
                    c
                } else {
                    s.service.clone()
                }
            }
            _ => s.service.clone(),
        }
    };
    let exclusive = |s: &Span| {
        let kids = children
            .get(&(s.trace_id.as_str(), s.span_id.as_str()))
            .map(|k| k.iter().map(|c| c.duration_us).sum::<f64>())
            .unwrap_or(0.0);
        s.duration_us - kids
    };
    let mut stall_blame: BTreeSet<(String, &str)> = BTreeSet::new();
    let mut err_blame: BTreeSet<(String, &str)> = BTreeSet::new();
    let mut slow_blame: BTreeSet<(String, &str)> = BTreeSet::new();
    for s in by_id.values() {
        let kids = children.get(&(s.trace_id.as_str(), s.span_id.as_str()));
        if s.error && !kids.is_some_and(|k| k.iter().any(|c| c.error)) {
            err_blame.insert((blame(s), &s.trace_id));
        }
        if is_slow(s) && !kids.is_some_and(|k| k.iter().any(|c| is_slow(c))) {
            slow_blame.insert((blame(s), &s.trace_id));
        }
        if exclusive(s) >= STALL_US {
            stall_blame.insert((blame(s), &s.trace_id));
        }
    }
    for (svc, _) in stall_blame {
        *st.stall_blame.entry(svc).or_default() += 1;
    }
    for (svc, _) in err_blame {
        *st.error_blame.entry(svc).or_default() += 1;
    }
    for (svc, _) in slow_blame {
        *st.slow_blame.entry(svc).or_default() += 1;
    }
    st
}

pub fn summarize_traces(st: &TraceStats) -> String {
    let mut s = format!("{} traces, {} spans", st.total_traces, st.total_spans);
    let mut errs: Vec<(&String, &(u32, u32, f64))> =
        st.per_service.iter().filter(|(_, v)| v.1 > 0).collect();
    errs.sort_by_key(|e| std::cmp::Reverse(e.1.1));
    for (svc, v) in errs.iter().take(5) {
        s.push_str(&format!(
            "\n  {svc}: {} spans, {} errors, mean {:.0}us",
            v.0, v.1, v.2
        ));
    }
    if !st.error_blame.is_empty() {
        s.push_str(&format!("\n  deepest errors: {:?}", st.error_blame));
    }
    if !st.stall_blame.is_empty() {
        s.push_str(&format!("\n  stalls of 1s or more: {:?}", st.stall_blame));
    }
    if !st.slow_blame.is_empty() {
        s.push_str(&format!("\n  deepest slow spans: {:?}", st.slow_blame));
    }
    s
}

/// Per-owner trends of one metric: a counter (`_total`, cpu seconds) as rates over the first and
/// second halves of the window; a gauge as its first and last values.
pub fn metric_trends(samples: &[parse::Sample], known: &[String]) -> BTreeMap<String, MetricTrend> {
    let mut series: BTreeMap<(&str, &str), Vec<(f64, f64)>> = BTreeMap::new();
    for s in samples {
        series
            .entry((parse::pod_of_cmdb(&s.cmdb_id), &s.kpi))
            .or_default()
            .push((s.ts, s.value));
    }
    let mut out: BTreeMap<String, MetricTrend> = BTreeMap::new();
    for ((pod, kpi), mut pts) in series {
        if pts.len() < 2 {
            continue;
        }
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let counter = kpi.ends_with("_total") || kpi.contains("seconds");
        let n = pts.len();
        let (a, m, z) = (pts[0], pts[n / 2], pts[n - 1]);
        let rate = |p: (f64, f64), q: (f64, f64)| {
            if q.0 > p.0 {
                ((q.1 - p.1) / (q.0 - p.0)).max(0.0)
            } else {
                0.0
            }
        };
        let t = if counter {
            let (r1, r2) = (rate(a, m), rate(m, z));
            MetricTrend {
                first: r1,
                last: r2,
                max: r1.max(r2),
            }
        } else {
            let max = pts.iter().map(|p| p.1).fold(f64::MIN, f64::max);
            MetricTrend {
                first: a.1,
                last: z.1,
                max,
            }
        };
        let owner = parse::owner_of_pod(pod, known);
        let e = out.entry(owner).or_insert(MetricTrend {
            first: 0.0,
            last: 0.0,
            max: 0.0,
        });
        if t.max >= e.max {
            *e = t;
        }
    }
    out
}

pub fn summarize_metrics(path: &str, trends: &BTreeMap<String, MetricTrend>) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut top: Vec<(&String, &MetricTrend)> = trends.iter().collect();
    top.sort_by(|a, b| b.1.max.total_cmp(&a.1.max));
    let mut s = format!("{name}: {} owners", trends.len());
    for (o, t) in top.iter().take(4) {
        s.push_str(&format!(
            "\n  {o}: {:.3} -> {:.3} (max {:.3})",
            t.first, t.last, t.max
        ));
    }
    s
}
