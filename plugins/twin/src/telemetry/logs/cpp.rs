//! SocialNetwork: C++ Thrift services (Boost.Log `[2026-Sep-15 12:37:49.366394] <error>: ...`,
//! Thrift's own `Thrift: Tue Sep 15 ... TSocket::open() ...`) and the OpenResty front ends.

use super::run::{small, CallFailure, Level, Out, Run};
use crate::cluster::{CallProblem, CrashCause};
use crate::suite::schema::Runtime;
use crate::telemetry::timefmt::{boost, ctime, nginx_access, nginx_error};

fn boost_line(out: &mut Out, t: f64, level: Level, src: &str, msg: &str) {
    let ts = boost(t);
    let lvl = match level {
        Level::Warn => "warning",
        Level::Fatal | Level::Panic => "fatal",
        other => other.lower(),
    };
    out.push(t, &ts, format!("[{ts}] <{lvl}>: ({src}) {msg}"));
}

fn thrift_line(out: &mut Out, t: f64, msg: &str) {
    let ts = ctime(t);
    out.push(t, &ts, format!("Thrift: {ts} {msg}"));
}

/// `user-service` -> `UserService`.
fn camel(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

fn handler(run: &Run) -> String {
    format!(
        "{}Handler.h",
        camel(run.prog_name()).trim_end_matches("Service")
    )
}

pub(crate) fn render_service(run: &Run, out: &mut Out) {
    let name = run.prog_name().to_string();
    let main_src = format!("{}.cpp", camel(&name));
    let t0 = (run.start + 0.02).min(run.end);
    if let Some(CrashCause::MissingEnv { name: var }) = run.crash() {
        boost_line(
            out,
            run.end,
            Level::Fatal,
            &format!("{main_src}:41:main"),
            &format!("Environment variable {var} is not set"),
        );
        return;
    }
    let mongo = run
        .prog
        .calls
        .iter()
        .map(|c| c.get_ref().clone())
        .find(|c| {
            run.spec_of(c)
                .is_some_and(|s| s.runtime == Runtime::Mongodb)
        });
    // A mongo that refuses the client: createIndexes fails once a second and the server
    // never reports that it started.
    let refusing = mongo.as_ref().and_then(|m| {
        run.bad_edges().into_iter().find(|e| {
            &e.callee == m
                && matches!(
                    e.problem,
                    Some(CallProblem::TlsRequired)
                        | Some(CallProblem::AuthFailed { .. })
                        | Some(CallProblem::NoEndpoints)
                        | Some(CallProblem::DnsFailure { .. })
                )
        })
    });
    let since_fault = run.sh.map(|s| s.changed_at).unwrap_or(run.start);
    let stuck_at_start = refusing.is_some() && since_fault <= run.start + 1.0;
    if !stuck_at_start {
        boost_line(
            out,
            t0,
            Level::Info,
            &format!("{main_src}:{}:main", 60 + run.key.below(40)),
            &format!("Starting the {name} server..."),
        );
    }
    if let (Some(m), Some(edge)) = (&mongo, refusing) {
        let why = match &edge.problem {
            Some(CallProblem::AuthFailed { .. }) => "Authentication failed.".to_string(),
            Some(CallProblem::DnsFailure { host }) => format!("No suitable servers found (`serverSelectionTryOnce` set): [Failed to resolve '{host}']"),
            _ => format!("No suitable servers found (`serverSelectionTryOnce` set): [connection closed calling ismaster on '{m}:27017']"),
        };
        let from = if stuck_at_start {
            run.start
        } else {
            run.fault_from()
        };
        for (t, _) in run.every("index", 1.0, from, 30) {
            boost_line(
                out,
                t,
                Level::Error,
                "utils_mongodb.h:52:CreateIndex",
                &format!("Error in createIndexes: {why}"),
            );
            boost_line(
                out,
                t + 1e-4,
                Level::Error,
                &format!("{main_src}:75:main"),
                "Failed to create mongodb index, try again",
            );
        }
    }
    for f in run.call_failures(50) {
        if Some(f.callee) == mongo.as_deref() && refusing.is_some() {
            continue;
        }
        call_failure(run, out, &f);
    }
    for (t, level, msg) in run.effect_lines(Level::Info, 40) {
        boost_line(out, t, level, &format!("{}:{}", handler(run), 90), &msg);
    }
    for (t, k) in run.noise("warn", 2700.0, 3) {
        let msg = match k.below(3) {
            0 => "Failed to get service from memcached, fall back to MongoDB".to_string(),
            1 => format!(
                "TSocket::peek() recv() <Host: {} Port: {}>: Connection reset by peer",
                run.ip(),
                40000 + k.below(20000)
            ),
            _ => "Unable to flush spans to the jaeger agent, retrying".to_string(),
        };
        boost_line(
            out,
            t,
            Level::Warn,
            &format!("{}:{}", handler(run), 120 + k.n(1).below(80)),
            &msg,
        );
    }
    if let Some(cause) = run.crash() {
        match cause {
            CrashCause::Panic { message } | CrashCause::Storage { message } => {
                boost_line(
                    out,
                    run.end,
                    Level::Fatal,
                    &format!("{main_src}:88:main"),
                    &message,
                );
                out.push(
                    run.end + 1e-6,
                    "",
                    "terminate called after throwing an instance of 'std::runtime_error'"
                        .to_string(),
                );
                out.push(run.end + 2e-6, "", format!("  what():  {message}"));
            }
            CrashCause::Dependency { callee, .. } => {
                boost_line(
                    out,
                    run.end,
                    Level::Fatal,
                    &format!("{main_src}:88:main"),
                    &format!("Failed to connect {callee}"),
                );
            }
            _ => {}
        }
    }
}

fn call_failure(run: &Run, out: &mut Out, f: &CallFailure) {
    let host = f.callee;
    let port = run.port_of(host);
    let client = format!("{host}-client");
    let (thrift, pool) = match &f.edge.problem {
        Some(CallProblem::NoEndpoints) | Some(CallProblem::ConnectionRefused { .. }) => (
            Some(format!(
                "TSocket::open() connect() <Host: {host} Port: {port}>: Connection refused"
            )),
            true,
        ),
        Some(CallProblem::DnsFailure { host: h }) => (
            Some(format!(
                "TSocket::open() getaddrinfo() <Host: {h} Port: {port}>: Name or service not known"
            )),
            true,
        ),
        Some(CallProblem::PacketLoss { .. }) if f.key.chance(0.6) => (
            Some(format!(
                "TSocket::open() connect() <Host: {host} Port: {port}>: Connection timed out"
            )),
            true,
        ),
        Some(CallProblem::PacketLoss { .. }) | Some(CallProblem::Timeout { .. }) => (
            Some("TSocket::read() THRIFT_EAGAIN (timed out)".to_string()),
            false,
        ),
        _ => (None, false),
    };
    if let Some(msg) = thrift {
        thrift_line(out, f.t, &msg);
    }
    if pool {
        boost_line(
            out,
            f.t + 1e-5,
            Level::Error,
            "ClientPool.h:114:Pop",
            &format!("Failed to connect {client}"),
        );
    } else {
        let (_, desc) = run.grpc_status(f);
        let desc = if matches!(
            f.edge.problem,
            Some(CallProblem::Timeout { .. }) | Some(CallProblem::PacketLoss { .. })
        ) {
            "THRIFT_EAGAIN (timed out)".to_string()
        } else {
            desc
        };
        boost_line(
            out,
            f.t + 1e-5,
            Level::Error,
            &format!(
                "{}:{}:{}",
                handler(run),
                100 + f.key.below(200),
                camel(host)
            ),
            &format!("Failed to call {client}: {desc}"),
        );
    }
}

/// OpenResty (nginx-thrift, media-frontend): access log lines, and error log lines from the Lua
/// handlers when an upstream Thrift call fails.
pub(crate) fn render_nginx(run: &Run, out: &mut Out) {
    let t0 = (run.start + 0.01).min(run.end);
    let ts = nginx_error(t0);
    out.push(
        t0,
        &ts,
        format!("{ts} [notice] 1#1: using the \"epoll\" event method"),
    );
    out.push(t0, &ts, format!("{ts} [notice] 1#1: openresty/1.15.8.1rc1"));
    out.push(
        t0,
        &ts,
        format!("{ts} [notice] 1#1: start worker processes"),
    );
    let ops: Vec<&str> = if run.prog.operations.is_empty() {
        vec![
            "/wrk2-api/post/compose",
            "/wrk2-api/home-timeline/read",
            "/wrk2-api/user-timeline/read",
        ]
    } else {
        run.prog.operations.iter().map(String::as_str).collect()
    };
    let failures = run.call_failures(40);
    let mut fail_times: Vec<f64> = failures.iter().map(|f| f.t).collect();
    for f in &failures {
        let op = ops[f.key.below(ops.len())];
        let (_, desc) = run.grpc_status(f);
        let reason = match &f.edge.problem {
            Some(CallProblem::NoEndpoints) | Some(CallProblem::ConnectionRefused { .. }) => {
                format!(
                    "connect() failed: Connection refused ({} {}:{})",
                    f.callee,
                    run.ip_of(f.callee),
                    run.port_of(f.callee)
                )
            }
            Some(CallProblem::Timeout { .. }) | Some(CallProblem::PacketLoss { .. }) => {
                "THRIFT_EAGAIN (timed out)".to_string()
            }
            _ => desc,
        };
        let fname = op.rsplit('/').next().unwrap_or("handler");
        let ts = nginx_error(f.t);
        out.push(f.t, &ts, format!(
            "{ts} [error] 7#7: *{} [lua] {fname}.lua:{}: {}(): {fname} failure: {reason}, client: 10.244.0.1, server: localhost, request: \"{} {op} HTTP/1.1\", host: \"{}:{}\"",
            small(f.key, 1000, 90000), 40 + f.key.n(1).below(60), camel(fname), method(op), run.name(), run.spec.port
        ));
        access(run, out, f.t + 1e-4, op, 500, f.key);
    }
    for (t, k) in run.requests("access", 0.25, 60) {
        if fail_times.iter().any(|ft| (ft - t).abs() < 0.05) {
            continue;
        }
        let op = ops[k.below(ops.len())];
        access(run, out, t, op, 200, k);
    }
    fail_times.clear();
    for (t, k) in run.noise("upstream-reset", 3600.0, 2) {
        let ts = nginx_error(t);
        out.push(t, &ts, format!("{ts} [warn] 7#7: *{} an upstream response is buffered to a temporary file /usr/local/openresty/nginx/proxy_temp/1/00/0000000001 while reading upstream, client: 10.244.0.1, server: localhost", small(k, 1000, 90000)));
    }
}

fn method(op: &str) -> &'static str {
    if op.contains("compose")
        || op.contains("register")
        || op.contains("follow")
        || op.contains("upload")
    {
        "POST"
    } else {
        "GET"
    }
}

fn access(
    run: &Run,
    out: &mut Out,
    t: f64,
    op: &str,
    status: u16,
    k: crate::telemetry::noise::Key,
) {
    let ts = nginx_access(t);
    let bytes = if status == 200 {
        90 + k.n(5).below(900)
    } else {
        177
    };
    let _ = run;
    out.push(
        t,
        &ts,
        format!(
            "10.244.0.1 - - [{ts}] \"{} {op} HTTP/1.1\" {status} {bytes} \"-\" \"wrk2\"",
            method(op)
        ),
    );
}
