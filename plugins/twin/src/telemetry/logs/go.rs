//! HotelReservation's Go services (zerolog): JSON lines at start-up, then console lines
//! `2026-01-13T12:30:06Z INF cmd/geo/main.go:36 > Read database URL: mongodb-geo:27017`.

use super::run::{small, CallFailure, Level, Out, Run};
use crate::cluster::{CallProblem, CrashCause};
use crate::suite::schema::Runtime;
use crate::telemetry::timefmt::rfc3339;

fn abbrev(l: Level) -> &'static str {
    match l {
        Level::Trace => "TRC",
        Level::Debug => "DBG",
        Level::Info => "INF",
        Level::Warn => "WRN",
        Level::Error => "ERR",
        Level::Fatal => "FTL",
        Level::Panic => "PNC",
    }
}

fn console(out: &mut Out, t: f64, level: Level, src: &str, msg: &str) {
    let ts = rfc3339(t);
    out.push(t, &ts, format!("{ts} {} {src} > {msg}", abbrev(level)));
}

fn json(out: &mut Out, t: f64, msg: &str) {
    let ts = rfc3339(t);
    out.push(
        t,
        &ts,
        format!("{{\"level\":\"info\",\"time\":\"{ts}\",\"message\":\"{msg}\"}}"),
    );
}

/// The datastores a program uses: (mongo service, memcached service).
fn stores(run: &Run) -> (Option<String>, Option<String>) {
    let mut mongo = None;
    let mut mc = None;
    for c in &run.prog.calls {
        let name = c.get_ref();
        match run.spec_of(name).map(|s| s.runtime) {
            Some(Runtime::Mongodb) if mongo.is_none() => mongo = Some(name.clone()),
            Some(Runtime::Memcached) if mc.is_none() => mc = Some(name.clone()),
            _ => {}
        }
    }
    (mongo, mc)
}

pub(crate) fn render(run: &Run, out: &mut Out) {
    let prog = run.prog_name().to_string();
    let main = format!("cmd/{prog}/main.go");
    let db_go = format!("cmd/{prog}/db.go");
    let crash = run.crash();
    let (mongo, mc) = stores(run);
    let mut t = run.start + 0.05;
    let mut step = |d: f64| {
        t += d;
        t.min(run.end)
    };
    json(out, step(0.0), "TLS disabled.");
    json(out, step(0.001), "Set global log level: info");
    json(out, step(0.001), "Tune: setGCPercent to 100");
    console(
        out,
        step(0.01),
        Level::Info,
        &format!("{main}:23"),
        "Reading config...",
    );
    if let Some(CrashCause::MissingEnv { name }) = &crash {
        console(
            out,
            run.end,
            Level::Fatal,
            &format!("{main}:30"),
            &format!("{name} is not set"),
        );
        return;
    }
    if let Some(m) = &mongo {
        let host = match &crash {
            Some(CrashCause::Dependency {
                problem: CallProblem::DnsFailure { host },
                ..
            }) => host.clone(),
            _ => format!("{m}:27017"),
        };
        console(
            out,
            step(0.002),
            Level::Info,
            &format!("{main}:36"),
            &format!("Read database URL: {host}"),
        );
        console(
            out,
            step(0.001),
            Level::Info,
            &format!("{main}:37"),
            "Initializing DB connection...",
        );
        if let Some(cause) = &crash
            && db_fatal(run, out, cause, &db_go, &main, &prog) {
                return;
            }
        console(
            out,
            step(0.02),
            Level::Info,
            &format!("{db_go}:29"),
            "New session successfull...",
        );
        console(
            out,
            step(0.001),
            Level::Info,
            &format!("{db_go}:31"),
            "Generating test data...",
        );
        if let Some(CrashCause::Dependency {
            problem: CallProblem::NotAuthorized { db, .. },
            ..
        }) = &crash
        {
            let (coll, field) = collection(&prog);
            let msg = format!(
                "not authorized on {db} to execute command {{ count: \"{coll}\", query: {{ {field}: \"1\" }}, $db: \"{db}\" }}"
            );
            console(out, run.end, Level::Fatal, &format!("{db_go}:35"), &msg);
            return;
        }
        console(
            out,
            step(0.05),
            Level::Info,
            &format!("{main}:40"),
            "Successfull",
        );
    }
    if let Some(c) = &mc {
        console(
            out,
            step(0.001),
            Level::Info,
            &format!("{main}:42"),
            &format!("Read {prog} memcashed address: {c}:11211"),
        );
        console(
            out,
            step(0.001),
            Level::Info,
            &format!("{main}:43"),
            "Initializing Memcashed client...",
        );
        console(
            out,
            step(0.001),
            Level::Info,
            "tune/setting.go:61",
            "Tune: GetMemCTimeout 2",
        );
        console(
            out,
            step(0.001),
            Level::Info,
            &format!("{main}:45"),
            "Successfull",
        );
    }
    let port = run.prog.port;
    console(
        out,
        step(0.001),
        Level::Info,
        &format!("{main}:49"),
        &format!("Read target port: {port}"),
    );
    console(
        out,
        step(0.001),
        Level::Info,
        &format!("{main}:50"),
        "Read consul address: consul:8500",
    );
    console(
        out,
        step(0.001),
        Level::Info,
        &format!("{main}:51"),
        "Read jaeger address: jaeger:6831",
    );
    console(
        out,
        step(0.001),
        Level::Info,
        &format!("{main}:60"),
        &format!("Initializing jaeger agent [service name: {prog} | host: jaeger:6831]..."),
    );
    console(
        out,
        step(0.002),
        Level::Info,
        "tracing/tracer.go:26",
        "Jaeger client: adjusted sample ratio 1.000000",
    );
    console(
        out,
        step(0.001),
        Level::Info,
        &format!("{main}:65"),
        "Jaeger agent initialized",
    );
    console(
        out,
        step(0.001),
        Level::Info,
        &format!("{main}:67"),
        "Initializing consul agent [host: consul:8500]...",
    );
    console(
        out,
        step(0.002),
        Level::Info,
        &format!("{main}:72"),
        "Consul agent initialized",
    );
    if run.prog.calls.iter().any(|c| {
        run.spec_of(c.get_ref())
            .is_some_and(|s| matches!(s.runtime, Runtime::GoZerolog))
    }) {
        console(
            out,
            step(0.001),
            Level::Info,
            &format!("{main}:74"),
            "Initializing gRPC clients...",
        );
    }
    console(
        out,
        step(0.001),
        Level::Info,
        &format!("{main}:83"),
        "Starting server...",
    );
    let ip = run.ip();
    let id = run.key.s("consul-id").uuid();
    console(
        out,
        step(0.005),
        Level::Info,
        "registry/registry.go:91",
        &format!("Trying to register service [ name: srv-{prog}, id: {id}, address: {ip}:{port} ]"),
    );
    console(
        out,
        step(0.01),
        Level::Info,
        &format!("services/{prog}/server.go:97"),
        "Successfully registered in consul",
    );
    if run.prog.runtime == Runtime::GoZerologHttp {
        console(
            out,
            step(0.001),
            Level::Info,
            &format!("services/{prog}/server.go:83"),
            &format!("Start Frontend server. Addr: 0.0.0.0:{port}"),
        );
    }
    steady(run, out, &prog);
    if let Some(cause) = &crash {
        runtime_fatal(run, out, cause, &main, &prog);
    }
}

/// (collection, key field) of a service's test data.
fn collection(prog: &str) -> (String, &'static str) {
    match prog {
        "user" => ("user".to_string(), "username"),
        "reservation" => ("reservation".to_string(), "hotelId"),
        "rate" => ("inventory".to_string(), "hotelId"),
        "recommendation" => ("recommendation".to_string(), "hotelId"),
        "profile" => ("hotels".to_string(), "id"),
        other => (other.to_string(), "hotelId"),
    }
}

/// The crash of a database connection at start-up; true when the run ends there.
fn db_fatal(
    run: &Run,
    out: &mut Out,
    cause: &CrashCause,
    db_go: &str,
    main: &str,
    prog: &str,
) -> bool {
    let CrashCause::Dependency { problem, .. } = cause else {
        return false;
    };
    let msg = match problem {
        CallProblem::AuthFailed { .. } => {
            "server returned error on SASL authentication step: Authentication failed."
        }
        CallProblem::NotAuthorized { .. } => return false,
        _ => "no reachable servers",
    };
    go_panic(
        run,
        out,
        run.end,
        &format!("{db_go}:26"),
        msg,
        main,
        prog,
        "initializeDatabase",
    );
    true
}

#[allow(clippy::too_many_arguments)]
fn go_panic(
    run: &Run,
    out: &mut Out,
    t: f64,
    src: &str,
    msg: &str,
    main: &str,
    prog: &str,
    func: &str,
) {
    console(out, t, Level::Panic, src, msg);
    let k = run.key.s("panic");
    let addr = |i: u64| format!("0xc000{}", k.n(i).hex(6));
    let line = src.rsplit(':').next().unwrap_or("26");
    let file = src.split(':').next().unwrap_or(main);
    let trace = format!(
        "panic: {msg}\n\ngoroutine 1 [running]:\ngithub.com/rs/zerolog.(*Logger).Panic.func1({{{a}, 0x{len:x}}})\n\t/go/pkg/mod/github.com/rs/zerolog@v1.31.0/log.go:405 +0x2d\ngithub.com/rs/zerolog.(*Event).msg({b}, {{{a}, 0x{len:x}}})\n\t/go/pkg/mod/github.com/rs/zerolog@v1.31.0/event.go:158 +0x2b8\ngithub.com/rs/zerolog.(*Event).Msg(...)\n\t/go/pkg/mod/github.com/rs/zerolog@v1.31.0/event.go:110\nmain.{func}({{{c}, 0x{dl:x}}})\n\t/go/src/github.com/harlow/go-micro-services/{file}:{line} +0x{o1:x}\nmain.main()\n\t/go/src/github.com/harlow/go-micro-services/{main}:38 +0x{o2:x}",
        a = addr(1),
        b = addr(2),
        c = addr(3),
        len = msg.len(),
        dl = format!("mongodb-{prog}:27017").len(),
        o1 = 0x100 + k.n(4).below(0x300),
        o2 = 0x400 + k.n(5).below(0x600),
    );
    for (i, l) in trace.lines().enumerate() {
        out.push(t + 1e-6 * (i as f64 + 1.0), "", l.to_string());
    }
}

/// Fatal ends that happen after start-up.
fn runtime_fatal(run: &Run, out: &mut Out, cause: &CrashCause, main: &str, prog: &str) {
    match cause {
        CrashCause::Panic { message } => {
            let t = run.end;
            console(
                out,
                t,
                Level::Error,
                &format!("services/{prog}/server.go:61"),
                message,
            );
            let k = run.key.s("nil");
            let trace = format!(
                "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x{pc}]\n\ngoroutine 1 [running]:\nmain.main()\n\t/go/src/github.com/harlow/go-micro-services/{main}:{line} +0x{o:x}",
                pc = k.hex(6),
                line = 40 + k.n(1).below(40),
                o = 0x200 + k.n(2).below(0x500),
            );
            for (i, l) in trace.lines().enumerate() {
                out.push(t + 1e-6 * (i as f64 + 1.0), "", l.to_string());
            }
        }
        CrashCause::Storage { message } => {
            console(out, run.end, Level::Fatal, &format!("{main}:40"), message);
        }
        CrashCause::LivenessFailed { .. } => {
            console(
                out,
                run.end,
                Level::Info,
                &format!("services/{prog}/server.go:120"),
                "Received signal terminated, shutting down gracefully",
            );
        }
        // OOM and the rest end without a word.
        _ => {}
    }
}

/// Running: failing calls, effects' lines and benign noise.
fn steady(run: &Run, out: &mut Out, prog: &str) {
    let http = run.prog.runtime == Runtime::GoZerologHttp;
    for f in run.call_failures(80) {
        let err = run.grpc_error(&f);
        if http {
            let (method, path) = frontend_route(&f);
            console(
                out,
                f.t,
                Level::Error,
                "services/frontend/server.go:271",
                &format!("HTTP 500 {method} {path}: {err}"),
            );
        } else {
            let op = rpc_name(f.callee);
            console(
                out,
                f.t,
                Level::Error,
                &format!("services/{prog}/server.go:{}", 140 + f.key.below(60)),
                &format!("{op} error: {err}"),
            );
        }
    }
    for (t, level, msg) in run.effect_lines(Level::Info, 60) {
        console(
            out,
            t,
            level,
            &format!("services/{prog}/server.go:88"),
            &msg,
        );
    }
    // Benign noise: slow consul registration, memcached misses, jaeger reporter hiccups, a
    // client that went away.
    for (t, k) in run.noise("consul", 3600.0, 3) {
        console(
            out,
            t,
            Level::Warn,
            "registry/registry.go:104",
            &format!(
                "Consul health check for srv-{prog} slow ({}ms), retrying",
                900 + k.below(1500)
            ),
        );
    }
    if stores(run).1.is_some() {
        for (t, k) in run.noise("memc", 2400.0, 3) {
            console(
                out,
                t,
                Level::Warn,
                &format!("services/{prog}/server.go:{}", 150 + k.below(40)),
                "memcached Get timeout, falling back to MongoDB",
            );
        }
    }
    for (t, _) in run.noise("jaeger", 5400.0, 2) {
        let ts = crate::telemetry::timefmt::civil(t);
        let stamp = format!(
            "{:04}/{:02}/{:02} {:02}:{:02}:{:02}",
            ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second
        );
        out.push(t, &stamp, format!("{stamp} ERROR: error when flushing the buffer: write udp {}:{}->10.96.{}.{}:6831: write: connection refused", run.ip(), 40000 + small(run.key.t(t), 0, 20000), 10 + run.key.below(200), 5 + run.key.n(1).below(200)));
    }
    if http {
        for (t, k) in run.noise("canceled", 7200.0, 2) {
            let f_path = if k.chance(0.5) {
                "/hotels?inDate=2015-04-09&outDate=2015-04-10&lat=37.7749&lon=-122.4194"
            } else {
                "/recommendations?require=rate&lat=37.804&lon=-122.099"
            };
            console(
                out,
                t,
                Level::Error,
                "services/frontend/server.go:271",
                &format!(
                    "HTTP 500 GET {f_path}: rpc error: code = Canceled desc = context canceled"
                ),
            );
        }
    }
}

fn rpc_name(callee: &str) -> String {
    match callee {
        "geo" => "Nearby".to_string(),
        "rate" => "GetRates".to_string(),
        "profile" => "GetProfiles".to_string(),
        "search" => "Nearby".to_string(),
        "recommendation" => "GetRecommendations".to_string(),
        "user" => "CheckUser".to_string(),
        "reservation" => "MakeReservation".to_string(),
        other if other.starts_with("mongodb") => "Mongo query".to_string(),
        other if other.starts_with("memcached") => "Memcached get".to_string(),
        other => format!("{other} call"),
    }
}

fn frontend_route(f: &CallFailure) -> (&'static str, String) {
    let lat = 37.7 + f.key.n(1).below(300) as f64 / 1000.0;
    let lon = -122.4 + f.key.n(2).below(300) as f64 / 1000.0;
    match f.callee {
        "user" if f.key.chance(0.5) => ("POST", "/user?username=Cornell_1&password=1111111111".to_string()),
        "user" | "reservation" => ("POST", format!("/reservation?inDate=2015-04-12&outDate=2015-04-15&lat={lat:.3}&lon={lon:.3}&hotelId={}&customerName=Cornell_1&username=Cornell_1&password=1111111111&number=1", 1 + f.key.below(80))),
        "recommendation" => ("GET", format!("/recommendations?require=rate&lat={lat:.3}&lon={lon:.3}")),
        _ => ("GET", format!("/hotels?inDate=2015-04-{:02}&outDate=2015-04-{:02}&lat={lat:.3}&lon={lon:.3}", 9 + f.key.below(5), 15 + f.key.n(3).below(5))),
    }
}
