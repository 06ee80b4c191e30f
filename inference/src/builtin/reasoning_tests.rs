//! Unit tests of the log, access-log and trace reasoning (entry errors, stalls, propagated
//! signals).

use super::diagnose::{self, Fault};
use super::findings::{Findings, Signal, envoy_access, has_word, is_error_line, scan_logs};
use super::parse;
use super::telemetry::trace_stats;

fn astronomy() -> Findings {
    let mut f = Findings::default();
    for s in [
        "flagd",
        "frontend",
        "frontend-proxy",
        "cart",
        "checkout",
        "product-catalog",
        "recommendation",
        "valkey-cart",
    ] {
        f.services.insert(s.to_string(), vec![8080]);
    }
    f
}

#[test]
fn lag_is_a_word_not_part_of_trace_flags() {
    let benign = "07:43:12.019 [main] INFO  frauddetection - Consumer started, subscribed to topic: orders trace_id=bb span_id=36 trace_flags=01 ";
    assert!(!scan_logs(benign).signals.contains(&Signal::KafkaLag));
    let lag = "[ReplicaFetcher replicaId=1] Partition orders-0 lag is growing";
    assert!(scan_logs(lag).signals.contains(&Signal::KafkaLag));
    assert!(has_word("a lag b", "lag") && !has_word("flags", "lag"));
}

#[test]
fn error_lines_in_each_runtime_shape() {
    assert!(is_error_line(
        "Error: 13 INTERNAL: Error: Product Catalog Fail Feature Flag Enabled"
    ));
    assert!(is_error_line(
        "{\"message\":\"failed to charge card\",\"severity\":\"error\",\"timestamp\":\"x\"}"
    ));
    assert!(is_error_line("fail: cart.cartstore.ValkeyCartStore[0]"));
    assert!(!is_error_line(
        " ⚠ OTLPExporterError: Request timeout, retrying"
    ));
    assert!(!is_error_line("  - Local:        http://frontend:8080"));
}

#[test]
fn envoy_access_lines_give_duration_and_upstream() {
    let line = "[2026-01-14T08:18:22.154Z] \"GET /images/products/x.jpg HTTP/1.1\" 200 - via_upstream - \"-\" 0 5120 10031 10030 \"-\" \"python-requests/2.31.0\" \"9f0c\" \"frontend-proxy:8080\" \"10.244.1.58:8080\" frontend 10.244.1.12:41000 10.244.1.12:8080 10.244.1.70:45000 - -";
    assert_eq!(envoy_access(line), Some((10031, "frontend".to_string())));
    assert_eq!(
        envoy_access("[2026-01-14 08:18:22.154][1][info][main] starting"),
        None
    );
    let slow: String = (0..3).map(|_| format!("{line}\n")).collect();
    let mut f = astronomy();
    f.logs.insert("frontend-proxy".into(), scan_logs(&slow));
    assert_eq!(
        diagnose::classify(&f),
        Fault::Latency {
            svc: "frontend".into()
        }
    );
    // One slow request alone is noise.
    let mut f = astronomy();
    f.logs.insert("frontend-proxy".into(), scan_logs(line));
    assert_eq!(diagnose::classify(&f), Fault::None);
}

#[test]
fn a_backend_signal_in_the_entry_logs_does_not_blame_the_entry() {
    let mut f = astronomy();
    f.logs.insert(
        "frontend".into(),
        scan_logs("Error: 9 FAILED_PRECONDITION: Can't access cart storage. System.ApplicationException: Wasn't able to connect to redis"),
    );
    assert_eq!(diagnose::log_hotspot(&f), None);
    f.logs.insert(
        "cart".into(),
        scan_logs("fail: cart.cartstore.ValkeyCartStore[0]\n      Wasn't able to connect to redis"),
    );
    assert_eq!(diagnose::log_hotspot(&f), Some("cart".into()));
}

#[test]
fn sustained_entry_errors_name_the_backend() {
    let mut f = astronomy();
    let logs = "  ▲ Next.js 14.2.5\n ✓ Ready in 611ms\nError: 13 INTERNAL: Error: Product Catalog Fail Feature Flag Enabled\nError: 2 UNKNOWN: recommendation: dependency product-catalog failing\nError: 2 UNKNOWN: checkout: dependency product-catalog failing\n";
    f.logs.insert("frontend".into(), scan_logs(logs));
    assert_eq!(diagnose::entry_log_errors(&f), Some("frontend".into()));
    assert_eq!(
        diagnose::classify(&f),
        Fault::Errors {
            svc: "product-catalog".into()
        }
    );
    // A lone error line among start-up lines is background noise.
    let mut f = astronomy();
    f.logs.insert(
        "frontend".into(),
        scan_logs("  ▲ Next.js 14.2.5\n ✓ Ready in 611ms\nError: 14 UNAVAILABLE: x\n"),
    );
    assert_eq!(diagnose::classify(&f), Fault::None);
}

fn span_rows(trace: usize, self_us: u64) -> String {
    format!(
        "t{trace},a{trace},ROOT,frontend-proxy,ingress,1700000000000000,{},False,200\nt{trace},b{trace},a{trace},frontend,GET /_next/image,1700000000000100,{self_us},False,200\n",
        self_us + 2000
    )
}

#[test]
fn repeated_stalls_in_traces_point_at_the_stalling_service() {
    let header = "trace_id,span_id,parent_span,service_name,operation_name,start_time,duration,has_error,response\n";
    let mut f = astronomy();
    let known = f.known_names();
    let csv = format!(
        "{header}{}{}{}",
        span_rows(1, 10_004_000),
        span_rows(2, 10_002_000),
        span_rows(3, 20_000)
    );
    let st = trace_stats(&parse::parse_traces(&csv), &known);
    assert_eq!(st.stall_blame.get("frontend"), Some(&2));
    f.traces = Some(st);
    assert_eq!(diagnose::slow_hotspot(&f), Some("frontend".into()));
    // A single stall is not enough.
    let csv = format!(
        "{header}{}{}",
        span_rows(1, 10_004_000),
        span_rows(3, 20_000)
    );
    f.traces = Some(trace_stats(&parse::parse_traces(&csv), &known));
    assert_eq!(
        f.traces
            .as_ref()
            .and_then(|t| t.stall_blame.get("frontend")),
        Some(&1)
    );
    assert_eq!(
        f.traces
            .as_ref()
            .map(|t| t.stall_blame.values().all(|n| *n < 2)),
        Some(true)
    );
}
