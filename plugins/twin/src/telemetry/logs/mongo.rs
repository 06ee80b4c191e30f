//! MongoDB 4.4: one JSON object per line. The server logs its start-up, connections from its
//! callers and what happens to their authentication; a revoked role leaves no line.

use super::run::{Out, Run};
use crate::cluster::{CallProblem, CrashCause, ProcessState};
use crate::telemetry::noise::Key;
use crate::telemetry::timefmt::mongo as mongo_ts;

struct Entry<'a> {
    s: &'a str,
    c: &'a str,
    id: u64,
    ctx: &'a str,
    msg: &'a str,
    attr: Option<String>,
    tags: Option<&'a str>,
}

fn push(out: &mut Out, t: f64, e: Entry) {
    let ts = mongo_ts(t);
    let s = format!("\"s\":\"{}\",", e.s);
    let c = format!("\"c\":\"{}\",", e.c);
    let id = format!("\"id\":{},", e.id);
    let mut line = format!(
        "{{\"t\":{{\"$date\":\"{ts}\"}},{s:<10}{c:<16}{id:<14}\"ctx\":\"{}\",\"msg\":\"{}\"",
        e.ctx, e.msg
    );
    if let Some(a) = e.attr {
        line.push_str(&format!(",\"attr\":{a}"));
    }
    if let Some(tags) = e.tags {
        line.push_str(&format!(",\"tags\":{tags}"));
    }
    line.push('}');
    out.push(t, &ts, line);
}

fn e<'a>(
    s: &'a str,
    c: &'a str,
    id: u64,
    ctx: &'a str,
    msg: &'a str,
    attr: Option<String>,
) -> Entry<'a> {
    Entry {
        s,
        c,
        id,
        ctx,
        msg,
        attr,
        tags: None,
    }
}

pub(crate) fn render(run: &Run, out: &mut Out) {
    let tls = run
        .ns
        .databases
        .get(run.name())
        .map(|d| d.require_tls)
        .unwrap_or(false);
    let auth = run.prog.database.is_some();
    let mut t = run.start + 0.01;
    let mut step = |d: f64| {
        t += d;
        t.min(run.end)
    };
    push(out, step(0.0), e("I", "CONTROL", 23285, "main", "Automatically disabling TLS 1.0, to force-enable TLS 1.0 specify --sslDisabledProtocols 'none'", None));
    push(
        out,
        step(0.002),
        e(
            "W",
            "ASIO",
            22601,
            "main",
            "No TransportLayer configured during NetworkInterface startup",
            None,
        ),
    );
    push(out, step(0.001), e("I", "NETWORK", 4648601, "main", "Implicit TCP FastOpen unavailable. If TCP FastOpen is required, set tcpFastOpenServer, tcpFastOpenClient, and tcpFastOpenQueueSize.", None));
    push(out, step(0.01), e("I", "STORAGE", 4615611, "initandlisten", "MongoDB starting", Some(format!(
        "{{\"pid\":1,\"port\":27017,\"dbPath\":\"/data/db\",\"architecture\":\"64-bit\",\"host\":\"{}\"}}", run.pod.name))));
    push(out, step(0.001), e("I", "CONTROL", 23403, "initandlisten", "Build Info", Some(
        "{\"buildInfo\":{\"version\":\"4.4.6\",\"gitVersion\":\"72e66213c2c3eab37d9358d5e78ad7f5c1d0d0d7\",\"openSSLVersion\":\"OpenSSL 1.1.1  11 Sep 2018\",\"modules\":[],\"allocator\":\"tcmalloc\",\"environment\":{\"distmod\":\"ubuntu1804\",\"distarch\":\"x86_64\",\"target_arch\":\"x86_64\"}}}".to_string())));
    push(
        out,
        step(0.001),
        e(
            "I",
            "CONTROL",
            51765,
            "initandlisten",
            "Operating System",
            Some("{\"os\":{\"name\":\"Ubuntu\",\"version\":\"18.04\"}}".to_string()),
        ),
    );
    let mut opts = String::from("{\"net\":{\"bindIp\":\"*\"");
    if tls {
        opts.push_str(",\"tls\":{\"CAFile\":\"/etc/tls/ca.crt\",\"certificateKeyFile\":\"/etc/tls/tls.pem\",\"mode\":\"requireTLS\"}");
    }
    opts.push('}');
    if auth {
        opts.push_str(",\"security\":{\"authorization\":\"enabled\"}");
    }
    opts.push('}');
    push(
        out,
        step(0.001),
        e(
            "I",
            "CONTROL",
            21951,
            "initandlisten",
            "Options set by command line",
            Some(format!("{{\"options\":{opts}}}")),
        ),
    );
    if let Some(CrashCause::Storage { message }) = run.crash() {
        push(
            out,
            run.end,
            e(
                "E",
                "STORAGE",
                20557,
                "initandlisten",
                "DBException in initAndListen, terminating",
                Some(format!("{{\"error\":\"{}\"}}", esc(&message))),
            ),
        );
        push(
            out,
            run.end + 1e-4,
            e("I", "CONTROL", 20565, "initandlisten", "Now exiting", None),
        );
        push(
            out,
            run.end + 2e-4,
            e(
                "I",
                "CONTROL",
                23138,
                "initandlisten",
                "Shutting down",
                Some("{\"exitCode\":100}".to_string()),
            ),
        );
        return;
    }
    let wt = step(0.02);
    push(out, wt, Entry { tags: Some("[\"startupWarnings\"]"), ..e("I", "STORAGE", 22297, "initandlisten", "Using the XFS filesystem is strongly recommended with the WiredTiger storage engine. See http://dochub.mongodb.org/core/prodnotes-filesystem", None) });
    push(out, step(0.001), e("I", "STORAGE", 22315, "initandlisten", "Opening WiredTiger", Some("{\"config\":\"create,cache_size=7485M,session_max=33000,eviction=(threads_min=4,threads_max=4),config_base=false,statistics=(fast),log=(enabled=true,archive=true,path=journal,compressor=snappy),file_manager=(close_idle_time=100000,close_scan_interval=10,close_handle_minimum=250),statistics_log=(wait=0),verbose=[recovery_progress,checkpoint_progress,compact_progress],\"}".to_string())));
    let dur = 300 + run.key.s("wt").below(700);
    push(
        out,
        step(dur as f64 / 1000.0),
        e(
            "I",
            "STORAGE",
            4795906,
            "initandlisten",
            "WiredTiger opened",
            Some(format!("{{\"durationMillis\":{dur}}}")),
        ),
    );
    push(
        out,
        step(0.01),
        e(
            "I",
            "FTDC",
            20625,
            "initandlisten",
            "Initializing full-time diagnostic data capture",
            Some("{\"dataDirectory\":\"/data/db/diagnostic.data\"}".to_string()),
        ),
    );
    push(
        out,
        step(0.001),
        e(
            "I",
            "NETWORK",
            23015,
            "listener",
            "Listening on",
            Some("{\"address\":\"/tmp/mongodb-27017.sock\"}".to_string()),
        ),
    );
    push(
        out,
        step(0.001),
        e(
            "I",
            "NETWORK",
            23015,
            "listener",
            "Listening on",
            Some("{\"address\":\"0.0.0.0\"}".to_string()),
        ),
    );
    let ssl = if tls { "on" } else { "off" };
    push(
        out,
        step(0.001),
        e(
            "I",
            "NETWORK",
            23016,
            "listener",
            "Waiting for connections",
            Some(format!("{{\"port\":27017,\"ssl\":\"{ssl}\"}}")),
        ),
    );
    clients(run, out);
    for (t, k) in run.every("checkpoint", 60.0, run.steady_from(), 12) {
        let snap = 40 + k.below(900);
        push(out, t, e("I", "STORAGE", 22430, "WTCheckpointThread", "WiredTiger message", Some(format!(
            "{{\"message\":\"[{}:{}][1:0x7f{}], WT_SESSION.checkpoint: [WT_VERB_CHECKPOINT_PROGRESS] saving checkpoint snapshot min: {snap}, snapshot max: {snap} snapshot count: 0, oldest timestamp: (0, 0) , meta checkpoint timestamp: (0, 0)\"}}",
            t.floor() as i64, k.n(1).below(999_999), k.n(2).hex(10)
        ))));
    }
    for (t, k) in run.noise("slow", 1800.0, 3) {
        let coll = run.name().trim_start_matches("mongodb-").to_string();
        let db = run
            .prog
            .database
            .as_ref()
            .map(|d| d.name.clone())
            .unwrap_or_else(|| format!("{coll}-db"));
        push(out, t, e("I", "COMMAND", 51803, &format!("conn{}", 10 + k.below(200)), "Slow query", Some(format!(
            "{{\"type\":\"command\",\"ns\":\"{db}.{coll}\",\"command\":{{\"find\":\"{coll}\",\"filter\":{{}},\"$db\":\"{db}\"}},\"planSummary\":\"COLLSCAN\",\"keysExamined\":0,\"docsExamined\":{},\"numYields\":0,\"nreturned\":{},\"reslen\":{},\"protocol\":\"op_msg\",\"durationMillis\":{}}}",
            80 + k.n(1).below(2000), 1 + k.n(2).below(80), 200 + k.n(3).below(20000), 100 + k.n(4).below(150)
        ))));
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Connections from the services that call this database, and how their handshakes go.
fn clients(run: &Run, out: &mut Out) {
    let Some(health) = run.health else { return };
    let me = run.name();
    let mut conn_id = 1 + run.key.s("conn").below(5);
    let mut open = 0usize;
    for (caller, sh) in &health.services {
        let Some(edge) = sh.edges.iter().find(|e| e.callee == me) else {
            continue;
        };
        let ip = run.ip_of(caller);
        let user = run
            .spec_of(caller)
            .and_then(|s| s.db_client.as_ref())
            .and_then(|c| c.user.clone());
        let ck = run.key.s("client").s(caller);
        // A caller that keeps restarting reconnects each time; a healthy one connected once.
        let crashing = matches!(sh.process, ProcessState::Crashing { .. });
        let mut times: Vec<(f64, Key)> = if crashing || edge.problem.is_some() {
            let period = if crashing {
                40.0 + ck.below(60) as f64
            } else {
                5.0
            };
            run.every(
                &format!("attempt-{caller}"),
                period,
                sh.changed_at.max(run.steady_from()),
                12,
            )
        } else {
            Vec::new()
        };
        if sh.changed_at > run.steady_from() || times.is_empty() {
            let t = (run.steady_from() + 1.0 + ck.range(0.0, 5.0)).min(run.end);
            times.insert(0, (t, ck.t(t)));
        }
        for (t, k) in times {
            conn_id += 1;
            open += 1;
            let remote = format!("{ip}:{}", 40000 + k.below(25000));
            let ctx = format!("conn{conn_id}");
            push(out, t, e("I", "NETWORK", 22943, "listener", "connection accepted", Some(format!(
                "{{\"remote\":\"{remote}\",\"connectionId\":{conn_id},\"connectionCount\":{open}}}"))));
            let problem = if t >= sh.changed_at {
                edge.problem.as_ref()
            } else {
                None
            };
            match problem {
                Some(CallProblem::TlsRequired) => {
                    push(out, t + 0.001, e("I", "NETWORK", 22988, &ctx, "Error receiving request from client. Ending connection from remote", Some(format!(
                        "{{\"error\":{{\"code\":141,\"codeName\":\"SSLHandshakeFailed\",\"errmsg\":\"The server is configured to only allow SSL connections\"}},\"remote\":\"{remote}\",\"connectionId\":{conn_id}}}"))));
                }
                Some(CallProblem::AuthFailed { user: u, db }) => {
                    push(out, t + 0.002, e("I", "ACCESS", 20249, &ctx, "Authentication failed", Some(format!(
                        "{{\"mechanism\":\"SCRAM-SHA-1\",\"principalName\":\"{u}\",\"authenticationDatabase\":\"{db}\",\"remote\":\"{remote}\",\"error\":\"UserNotFound: Could not find user \\\"{u}\\\" for db \\\"{db}\\\"\"}}"))));
                }
                _ => {
                    push(out, t + 0.001, e("I", "NETWORK", 51800, &ctx, "client metadata", Some(format!(
                        "{{\"remote\":\"{remote}\",\"client\":\"{ctx}\",\"doc\":{{\"driver\":{{\"name\":\"mgo\",\"version\":\"r2018.06.15\"}},\"os\":{{\"type\":\"linux\",\"architecture\":\"amd64\"}}}}}}"))));
                    if let Some(u) = &user {
                        push(out, t + 0.002, e("I", "ACCESS", 20250, &ctx, "Authentication succeeded", Some(format!(
                            "{{\"mechanism\":\"SCRAM-SHA-1\",\"principalName\":\"{u}\",\"authenticationDatabase\":\"admin\",\"remote\":\"{remote}\"}}"))));
                    }
                }
            }
            if problem.is_some() || (crashing && t >= sh.changed_at) {
                open = open.saturating_sub(1);
                push(out, t + 0.003, e("I", "NETWORK", 22944, &ctx, "Connection ended", Some(format!(
                    "{{\"remote\":\"{remote}\",\"connectionId\":{conn_id},\"connectionCount\":{open}}}"))));
            }
        }
    }
}
