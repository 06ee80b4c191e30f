//! Astronomy Shop (OpenTelemetry demo 2.0): each service logs in its language's usual shape.
//! Start-up lines, sampled request lines, the caller's side of failing calls, the flags'
//! log lines and a little benign noise.

use super::run::{fill, CallFailure, Level, Out, Run};
use crate::cluster::CrashCause;
use crate::suite::schema::{Effect, Runtime};
use crate::telemetry::noise::Key;
use crate::telemetry::timefmt::{
    civil, comma_millis, epoch_millis, rfc3339_millis, rfc3339_nanos, space_millis,
};

/// Writes one entry in the runtime's style.
fn line(run: &Run, out: &mut Out, t: f64, level: Level, msg: &str, k: Key) {
    let svc = run.prog_name();
    let trace = k.s("trace").hex(32);
    let span = k.s("span").hex(16);
    match run.prog.runtime {
        Runtime::Java | Runtime::Kotlin => {
            let c = civil(t);
            let ts = format!(
                "{:02}:{:02}:{:02}.{:03}",
                c.hour,
                c.minute,
                c.second,
                c.micros / 1000
            );
            let (thread, logger) = if run.prog.runtime == Runtime::Java {
                (
                    format!("grpc-default-executor-{}", k.below(4)),
                    "oteldemo.AdService",
                )
            } else {
                ("main".to_string(), "frauddetection")
            };
            let lvl = format!("{:<5}", level.upper());
            out.push(t, &ts, format!("{ts} [{thread}] {lvl} {logger} - {msg} trace_id={trace} span_id={span} trace_flags=01 "));
        }
        Runtime::Dotnet => {
            let lvl = match level {
                Level::Trace => "trce",
                Level::Debug => "dbug",
                Level::Info => "info",
                Level::Warn => "warn",
                Level::Error => "fail",
                Level::Fatal | Level::Panic => "crit",
            };
            let cat = if msg.starts_with("Now listening")
                || msg.starts_with("Application")
                || msg.starts_with("Hosting")
                || msg.starts_with("Content root")
            {
                "Microsoft.Hosting.Lifetime[0]".to_string()
            } else if svc == "cart" {
                "cart.cartstore.ValkeyCartStore[0]".to_string()
            } else {
                format!("{svc}.Consumer[0]")
            };
            out.push(t, "", format!("{lvl}: {cat}\n      {msg}"));
        }
        Runtime::Node => {
            let n = match level {
                Level::Trace => 10,
                Level::Debug => 20,
                Level::Info => 30,
                Level::Warn => 40,
                Level::Error => 50,
                Level::Fatal | Level::Panic => 60,
            };
            let ms = epoch_millis(t).to_string();
            out.push(t, &ms, format!(
                "{{\"level\":{n},\"time\":{ms},\"pid\":1,\"hostname\":\"{}\",\"trace_id\":\"{trace}\",\"span_id\":\"{span}\",\"trace_flags\":\"01\",\"msg\":\"{}\"}}",
                run.pod.name, esc(msg)
            ));
        }
        Runtime::GoLogrus => {
            let ts = rfc3339_nanos(t);
            out.push(
                t,
                &ts,
                format!(
                    "{{\"message\":\"{}\",\"severity\":\"{}\",\"timestamp\":\"{ts}\"}}",
                    esc(msg),
                    level.lower()
                ),
            );
        }
        Runtime::Python => {
            let ts = comma_millis(t);
            out.push(t, &ts, format!(
                "{ts} {} [main] [{svc}_server.py:{}] [trace_id={trace} span_id={span} resource.service.name={svc} trace_sampled=True] - {msg}",
                level.upper(), 40 + k.n(1).below(80)
            ));
        }
        Runtime::Rust => {
            let ts = rfc3339_nanos(t);
            out.push(t, &ts, format!("{ts} {:>5} {svc}: {msg}", level.upper()));
        }
        Runtime::Cpp => {
            let ts = space_millis(t);
            out.push(t, &ts, format!("[{ts}] [{svc}] [{}] {msg}", level.lower()));
        }
        Runtime::Ruby => {
            let c = civil(t);
            let ts = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
                c.year, c.month, c.day, c.hour, c.minute, c.second, c.micros
            );
            let first = level.upper().chars().next().unwrap_or('I');
            out.push(
                t,
                &ts,
                format!("{first}, [{ts} #1] {:>5} -- : {msg}", level.upper()),
            );
        }
        Runtime::Php => {
            let c = civil(t);
            let ts = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00",
                c.year, c.month, c.day, c.hour, c.minute, c.second, c.micros
            );
            out.push(
                t,
                &ts,
                format!("[{ts}] {svc}.{}: {msg} [] []", level.upper()),
            );
        }
        Runtime::Nextjs => {
            let text = match level {
                Level::Error | Level::Fatal | Level::Panic => msg.to_string(),
                Level::Warn => format!(" ⚠ {msg}"),
                _ => msg.to_string(),
            };
            out.push(t, "", text);
        }
        Runtime::Locust => {
            let ts = comma_millis(t);
            out.push(
                t,
                &ts,
                format!(
                    "[{ts}] {}/{}/locust.main: {msg}",
                    run.pod.name,
                    level.upper()
                ),
            );
        }
        Runtime::Flagd => {
            let ts = rfc3339_millis(t);
            out.push(t, &ts, format!("{{\"level\":\"{}\",\"ts\":\"{ts}\",\"caller\":\"flagd/main.go:{}\",\"msg\":\"{}\"}}", level.lower(), 40 + k.below(60), esc(msg)));
        }
        _ => {
            // Envoy's own (non-access) log.
            let ts = space_millis(t);
            out.push(t, &ts, format!("[{ts}][1][{}][main] {msg}", level.lower()));
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Start-up lines by service, else by runtime.
fn startup(run: &Run) -> Vec<String> {
    let port = run.prog.port;
    let lines: Vec<String> = match run.prog_name() {
        "ad" => vec![
            "Ad service starting.".into(),
            format!("Ad service started, listening on {port}"),
        ],
        "cart" => vec![
            format!("Now listening on: http://[::]:{port}"),
            "Application started. Press Ctrl+C to shut down.".into(),
            "Hosting environment: Production".into(),
            "Content root path: /app".into(),
        ],
        "payment" => vec![format!("payment gRPC server started on port {port}")],
        "checkout" => vec![format!("starting to listen on tcp: \"[::]:{port}\"")],
        "product-catalog" => vec![
            "Loaded 10 products".into(),
            format!("Product Catalog gRPC server started on port: {port}"),
        ],
        "recommendation" => vec![format!("Recommendation service started on port {port}")],
        "shipping" => vec![format!("Shipping service listening on 0.0.0.0:{port}")],
        "currency" => vec![format!("Currency service listening on port: {port}")],
        "email" => vec![
            "Puma starting in single mode...".into(),
            format!("* Listening on http://0.0.0.0:{port}"),
        ],
        "quote" => vec![format!("Quote service started on port {port}")],
        "fraud-detection" => vec!["Consumer started, subscribed to topic: orders".into()],
        "accounting" => vec!["Accounting service started".into()],
        _ => match run.prog.runtime {
            Runtime::Nextjs => vec![
                "  ▲ Next.js 14.2.5".into(),
                format!("  - Local:        http://{}:{port}", run.pod.name),
                "".into(),
                " ✓ Starting...".into(),
                format!(" ✓ Ready in {}ms", 300 + run.key.below(500)),
            ],
            Runtime::Envoy => vec![
                "initializing epoch 0 (base id=0, hot restart version=11.104)".into(),
                "statically linked extensions:".into(),
                "all clusters initialized. initializing init manager".into(),
                "all dependencies initialized. starting workers".into(),
            ],
            Runtime::Locust => vec![
                format!("Starting web interface at http://0.0.0.0:{port}"),
                "Starting Locust 2.31.8".into(),
                "Ramping to 10 users at a rate of 1.00 per second".into(),
                "All users spawned: {\"WebsiteUser\": 10} (10 total users)".into(),
            ],
            Runtime::Flagd => vec![
                "watching filepath: /etc/flagd/demo.flagd.json".into(),
                "Flag IResolver listening at [::]:8013".into(),
                "metrics and probes listening at 8014".into(),
            ],
            _ => vec![format!("{} started on port {port}", run.prog_name())],
        },
    };
    lines
}

/// A sampled request line of a healthy service, if the service logs requests.
fn request_line(run: &Run, k: Key) -> Option<String> {
    const PRODUCTS: [&str; 5] = [
        "OLJCESPC7Z",
        "66VCHSJNUP",
        "1YMWWN1N4O",
        "L9ECAV7KIM",
        "2ZYFJ3GM2N",
    ];
    let product = PRODUCTS[k.n(1).below(PRODUCTS.len())];
    let cats = [
        "binoculars",
        "telescopes",
        "accessories",
        "flashlights",
        "books",
    ];
    let user = k.n(2).uuid();
    Some(match run.prog_name() {
        "ad" => {
            if k.chance(0.7) {
                format!(
                    "Targeted ad request received for [{}]",
                    cats[k.n(3).below(cats.len())]
                )
            } else {
                "Non-targeted ad request received, preparing random response.".into()
            }
        }
        "cart" => match k.below(3) {
            0 => format!("GetCartAsync called with userId={user}"),
            1 => format!(
                "AddItemAsync called with userId={user}, productId={product}, quantity={}",
                1 + k.n(4).below(5)
            ),
            _ => format!("EmptyCartAsync called with userId={user}"),
        },
        "payment" => {
            if k.chance(0.5) {
                "Charge request received.".into()
            } else {
                format!(
                    "Transaction complete. transactionId={} cardType=visa lastFourDigits={:04}",
                    k.n(5).uuid(),
                    k.n(6).below(10000)
                )
            }
        }
        "checkout" => match k.below(3) {
            0 => format!("[PlaceOrder] user_id=\"{user}\" user_currency=\"USD\""),
            1 => format!("payment went through (transaction_id: {})", k.n(5).uuid()),
            _ => format!(
                "order confirmation email sent to \"{}@example.com\"",
                &k.n(7).hex(8)
            ),
        },
        "recommendation" => format!(
            "Receive ListRecommendations for product ids:['{product}', '{}']",
            PRODUCTS[k.n(8).below(5)]
        ),
        "shipping" => {
            if k.chance(0.5) {
                format!("Received quote request for {} items", 1 + k.n(4).below(4))
            } else {
                format!("Sending quote: {:.2}", k.n(9).range(5.0, 60.0))
            }
        }
        "currency" => format!(
            "Conversion request successful: USD -> {}",
            ["EUR", "CAD", "JPY", "GBP"][k.n(10).below(4)]
        ),
        "email" => format!(
            "Order confirmation email sent to: {}@example.com",
            &k.n(7).hex(8)
        ),
        "quote" => format!("Calculated quote: {:.2}", k.n(9).range(5.0, 60.0)),
        "fraud-detection" => format!(
            "Consumed record with orderId: {}, and updated total count to: {}",
            k.n(11).uuid(),
            1 + k.n(12).below(5000)
        ),
        "accounting" => format!(
            "Order details: {{\"orderId\":\"{}\",\"items\":{}}}",
            k.n(11).uuid(),
            1 + k.n(4).below(4)
        ),
        _ => return None,
    })
}

/// What the caller logs when a call to `f.callee` fails.
fn failure_line(run: &Run, f: &CallFailure) -> (Level, String) {
    let (code, desc) = run.grpc_status(f);
    let rpc = format!("rpc error: code = {code} desc = {desc}");
    let product = f.key.upper_id(10);
    match (run.prog_name(), f.callee) {
        ("checkout", "payment") => (Level::Error, format!("failed to charge card: could not charge the card: {rpc}")),
        ("checkout", "cart") => (Level::Error, format!("failed to get user cart during checkout: {rpc}")),
        ("checkout", "product-catalog") => (Level::Error, format!("failed to prepare order: failed to get product #\"{product}\": {rpc}")),
        ("checkout", "currency") => (Level::Error, format!("failed to prepare order: failed to convert price of \"{product}\" to USD: {rpc}")),
        ("checkout", "shipping") => (Level::Error, format!("failed to prepare order: shipping quote failure: {rpc}")),
        ("checkout", "email") => (Level::Warn, format!("failed to send order confirmation to \"{}@example.com\": {rpc}", f.key.hex(8))),
        ("checkout", "kafka") => (Level::Error, format!("Failed to write message to kafka: kafka: client has run out of available brokers to talk to: {desc}")),
        ("cart", _) => (Level::Error, format!("Wasn't able to connect to redis \n   at cart.cartstore.ValkeyCartStore.EnsureRedisConnected() in /app/src/cartstore/ValkeyCartStore.cs:line 108: {desc}")),
        ("recommendation", _) => (Level::Error, format!("Failed to get product list: <_InactiveRpcError of RPC that terminated with:\n\tstatus = StatusCode.{}\n\tdetails = \"{desc}\"\n>", upper_snake(code))),
        ("shipping", _) => (Level::Error, format!("Failed to get quote: {desc}")),
        (_, _) if run.prog.runtime == Runtime::Nextjs => (Level::Error, format!("Error: {} {}: {desc}", code_number(code), upper_snake(code))),
        (_, _) if run.prog.runtime == Runtime::Envoy => (Level::Warn, format!("upstream {} reset: {desc}", f.callee)),
        (_, _) => (Level::Error, format!("call to {} failed: {rpc}", f.callee)),
    }
}

fn upper_snake(code: &str) -> String {
    let mut out = String::new();
    for (i, ch) in code.chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

fn code_number(code: &str) -> u8 {
    match code {
        "Canceled" => 1,
        "Unknown" => 2,
        "DeadlineExceeded" => 4,
        "NotFound" => 5,
        "ResourceExhausted" => 8,
        "FailedPrecondition" => 9,
        "Unimplemented" => 12,
        "Internal" => 13,
        "Unavailable" => 14,
        _ => 2,
    }
}

pub(crate) fn render(run: &Run, out: &mut Out) {
    let t0 = (run.start + 0.3).min(run.end);
    for (i, msg) in startup(run).iter().enumerate() {
        line(
            run,
            out,
            t0 + 0.01 * i as f64,
            Level::Info,
            msg,
            run.key.n(i as u64),
        );
    }
    if let Some(CrashCause::MissingEnv { name }) = run.crash() {
        line(
            run,
            out,
            run.end,
            Level::Fatal,
            &format!("environment variable {name} not set"),
            run.key,
        );
        return;
    }
    match run.prog.runtime {
        Runtime::Envoy => envoy_access(run, out),
        Runtime::Flagd => flag_changes(run, out),
        _ => {}
    }
    let chatty = matches!(
        run.prog_name(),
        "cart"
            | "ad"
            | "payment"
            | "checkout"
            | "recommendation"
            | "currency"
            | "shipping"
            | "quote"
            | "email"
            | "fraud-detection"
            | "accounting"
    );
    if chatty {
        let every = if run.prog_name() == "currency" {
            2.0
        } else {
            4.0
        };
        for (t, k) in run.requests("req", every, 45) {
            if let Some(msg) = request_line(run, k) {
                line(run, out, t, Level::Info, &msg, k);
            }
        }
    }
    for f in run.call_failures(40) {
        let (level, msg) = failure_line(run, &f);
        line(run, out, f.t, level, &msg, f.key);
    }
    for (t, level, msg) in run.effect_lines(Level::Info, 40) {
        line(run, out, t, level, &msg, run.key.t(t));
    }
    for e in run.effects() {
        if let Effect::GcPauses { pause_ms } = e {
            for (t, k) in run.every("gc", 10.0, run.fault_from(), 20) {
                line(run, out, t, Level::Info, &format!("Triggering a manual garbage collection, next one in 10 seconds. GC pause {:.0} ms", pause_ms * k.range(0.8, 1.2)), k);
            }
        }
    }
    for (t, k) in run.noise("benign", 3000.0, 3) {
        let msg = match run.prog.runtime {
            Runtime::Java | Runtime::Kotlin => "Exporter failed to export spans, retrying in 1s".to_string(),
            Runtime::Node | Runtime::Nextjs => "OTLPExporterError: Request timeout, retrying".to_string(),
            Runtime::GoLogrus => "traces export: context deadline exceeded, retrying".to_string(),
            Runtime::Python => "Transient error StatusCode.UNAVAILABLE encountered while exporting traces, retrying in 1s.".to_string(),
            _ => "telemetry exporter slow to respond, retrying".to_string(),
        };
        line(run, out, t, Level::Warn, &msg, k);
    }
    if let Some(CrashCause::Panic { message }) = run.crash() {
        line(
            run,
            out,
            run.end,
            Level::Fatal,
            &fill(&message, run.key),
            run.key,
        );
    }
}

/// frontend-proxy: Envoy access log lines for the load generator's requests.
fn envoy_access(run: &Run, out: &mut Out) {
    let frontend = run.health_of("frontend");
    let err = frontend.map(|h| h.error_rate).unwrap_or(0.0);
    let slow_images = frontend
        .into_iter()
        .flat_map(|h| h.active_effects.iter())
        .find_map(|e| match e {
            Effect::RequestLatency { delay_ms, .. } => Some(*delay_ms),
            _ => None,
        });
    const PATHS: [&str; 7] = [
        "/",
        "/api/products/OLJCESPC7Z",
        "/api/recommendations?productIds=66VCHSJNUP",
        "/api/cart",
        "/api/data/",
        "/api/checkout",
        "/images/products/NationalParkFoundationExplorascope.jpg",
    ];
    let ip = run.ip();
    let fe = run.ip_of("frontend");
    for (t, k) in run.requests("access", 0.3, 60) {
        let path = PATHS[k.below(PATHS.len())];
        let method = if path == "/api/checkout" || (path == "/api/cart" && k.chance(0.4)) {
            "POST"
        } else {
            "GET"
        };
        let failed = t >= run.fault_from() && k.n(1).chance(err);
        let benign = !failed && k.n(2).chance(0.001);
        let (status, flags, detail) = if failed {
            (500, "-", "via_upstream")
        } else if benign {
            (
                503,
                "UC",
                "upstream_reset_before_response_started{connection_termination}",
            )
        } else {
            (200, "-", "via_upstream")
        };
        let mut dur = (k.n(3).range(2.0, 40.0)) as u64;
        if path.starts_with("/images/")
            && let Some(d) = slow_images.filter(|_| t >= run.fault_from()) {
                dur += d as u64;
            }
        let bytes = if status == 200 {
            500 + k.n(4).below(20000)
        } else {
            0
        };
        let ts = rfc3339_millis(t);
        out.push(t, &ts, format!(
            "[{ts}] \"{method} {path} HTTP/1.1\" {status} {flags} {detail} - \"-\" 0 {bytes} {dur} {} \"-\" \"python-requests/2.31.0\" \"{}\" \"frontend-proxy:8080\" \"{fe}:8080\" frontend {ip}:{} {ip}:8080 {}:{} - -",
            dur.saturating_sub(1), k.n(5).uuid(), 40000 + k.n(6).below(20000), run.ip_of("load-generator"), 40000 + k.n(7).below(20000)
        ));
    }
}

/// flagd: a configuration change for each flag switched on while it ran.
fn flag_changes(run: &Run, out: &mut Out) {
    for c in &run.ns.conditions {
        let Some(flag) = &c.flag else { continue };
        if c.since < run.start || c.since > run.end {
            continue;
        }
        let k = run.key.s(flag);
        line(
            run,
            out,
            c.since,
            Level::Info,
            "configuration change (write) for flagSource /etc/flagd/demo.flagd.json",
            k,
        );
        line(
            run,
            out,
            c.since + 0.001,
            Level::Info,
            &format!("flag {flag} defaultVariant changed to on"),
            k,
        );
    }
}
