//! Infrastructure containers: Redis / Valkey, memcached (silent), Jaeger all-in-one (zap JSON),
//! Consul (dev agent) and Kafka (log4j).

use super::run::{Level, Out, Run};
use crate::suite::schema::{Effect, Runtime};
use crate::telemetry::timefmt::{comma_millis, epoch_millis, redis, rfc3339_millis};

pub(crate) fn render(run: &Run, out: &mut Out) {
    match run.prog.runtime {
        Runtime::Redis | Runtime::Valkey => redis_like(run, out),
        Runtime::Jaeger => jaeger(run, out),
        Runtime::Consul => consul(run, out),
        Runtime::Kafka => kafka(run, out),
        // memcached without -v prints nothing.
        _ => {}
    }
}

fn redis_like(run: &Run, out: &mut Out) {
    let valkey = run.prog.runtime == Runtime::Valkey;
    let (name, ver) = if valkey {
        ("Valkey", "8.0.2")
    } else {
        ("Redis", "6.2.4")
    };
    let port = run.prog.port;
    let mut line = |t: f64, role: char, mark: char, msg: &str| {
        let ts = redis(t);
        out.push(t, &ts, format!("1:{role} {ts} {mark} {msg}"));
    };
    let t = (run.start + 0.01).min(run.end);
    line(
        t,
        'C',
        '#',
        &format!("oO0OoO0OoO0Oo {name} is starting oO0OoO0OoO0Oo"),
    );
    line(
        t,
        'C',
        '#',
        &format!("{name} version={ver}, bits=64, commit=00000000, modified=0, pid=1, just started"),
    );
    line(t, 'C', '#', &format!("Warning: no config file specified, using the default config. In order to specify a config file use {}-server /path/to/{}.conf", name.to_lowercase(), name.to_lowercase()));
    line(t + 0.001, 'M', '*', "monotonic clock: POSIX clock_gettime");
    line(
        t + 0.001,
        'M',
        '*',
        &format!("Running mode=standalone, port={port}."),
    );
    line(t + 0.002, 'M', '#', "Server initialized");
    line(t + 0.002, 'M', '#', "WARNING Memory overcommit must be enabled! Without it, a background save or replication may fail under low memory condition. To fix this issue add 'vm.overcommit_memory = 1' to /etc/sysctl.conf and then reboot or run the command 'sysctl vm.overcommit_memory=1' for this to take effect.");
    line(t + 0.003, 'M', '*', "Ready to accept connections tcp");
    let mut saves = run.every("save", 3600.0, run.steady_from() + 60.0, 6);
    saves.extend(run.noise("save300", 900.0, 6));
    saves.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (t, k) in saves {
        let pid = 20 + k.below(400);
        let changes = 1 + k.n(1).below(200);
        let secs = if changes >= 10 { 300 } else { 3600 };
        line(
            t,
            'M',
            '*',
            &format!("{changes} changes in {secs} seconds. Saving..."),
        );
        line(
            t,
            'M',
            '*',
            &format!("Background saving started by pid {pid}"),
        );
        line(t + 0.02, pid_role(), '*', "DB saved on disk");
        line(
            t + 0.02,
            pid_role(),
            '*',
            &format!(
                "Fork CoW for RDB: current {} MB, peak {} MB, average {} MB",
                k.n(2).below(3),
                1 + k.n(3).below(3),
                k.n(4).below(2)
            ),
        );
        line(
            t + 0.1,
            'M',
            '*',
            "Background saving terminated with success",
        );
    }
}

fn pid_role() -> char {
    'C'
}

fn zap(out: &mut Out, t: f64, level: Level, caller: &str, msg: &str, extra: &str) {
    let ts = format!("{:.6}", epoch_millis(t) as f64 / 1000.0);
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(",{extra}")
    };
    out.push(
        t,
        &ts,
        format!(
            "{{\"level\":\"{}\",\"ts\":{ts},\"caller\":\"{caller}\",\"msg\":\"{msg}\"{extra}}}",
            level.lower()
        ),
    );
}

fn jaeger(run: &Run, out: &mut Out) {
    let t = (run.start + 0.02).min(run.end);
    zap(
        out,
        t,
        Level::Info,
        "flags/service.go:119",
        "Mounting metrics handler on admin server",
        "\"route\":\"/metrics\"",
    );
    zap(
        out,
        t,
        Level::Info,
        "flags/service.go:125",
        "Mounting expvar handler on admin server",
        "\"route\":\"/debug/vars\"",
    );
    zap(
        out,
        t + 0.001,
        Level::Info,
        "flags/admin.go:129",
        "Mounting health check on admin server",
        "\"route\":\"/\"",
    );
    zap(
        out,
        t + 0.001,
        Level::Info,
        "flags/admin.go:143",
        "Starting admin HTTP server",
        "\"http-addr\":\":14269\"",
    );
    zap(
        out,
        t + 0.002,
        Level::Info,
        "memory/factory.go:66",
        "Memory storage initialized",
        "\"configuration\":{\"MaxTraces\":0}",
    );
    zap(
        out,
        t + 0.003,
        Level::Info,
        "server/grpc.go:82",
        "Starting jaeger-collector gRPC server",
        "\"grpc.host-port\":\"[::]:14250\"",
    );
    zap(
        out,
        t + 0.003,
        Level::Info,
        "server/http.go:48",
        "Starting jaeger-collector HTTP server",
        "\"http host-port\":\":14268\"",
    );
    zap(
        out,
        t + 0.004,
        Level::Info,
        "app/agent.go:69",
        "Starting jaeger-agent HTTP server",
        "\"http-port\":5778",
    );
    zap(
        out,
        t + 0.005,
        Level::Info,
        "app/server.go:258",
        "Query server started",
        "\"http_addr\":\"[::]:16686\",\"grpc_addr\":\"[::]:16685\"",
    );
    zap(
        out,
        t + 0.005,
        Level::Info,
        "healthcheck/handler.go:129",
        "Health Check state change",
        "\"status\":\"ready\"",
    );
    for (t, k) in run.noise("udp", 3600.0, 3) {
        zap(
            out,
            t,
            Level::Warn,
            "processors/thrift_processor.go:123",
            "Processor failed",
            &format!(
                "\"error\":\"read udp [::]:6831->{}: i/o timeout\"",
                run.ip_of(run.ns.app.entry.get_ref()) + &format!(":{}", 30000 + k.below(30000))
            ),
        );
    }
}

fn consul(run: &Run, out: &mut Out) {
    let t = (run.start + 0.02).min(run.end);
    let node = run.pod.name.clone();
    let id = run.key.s("node").uuid();
    let banner = format!(
        "==> Starting Consul agent...\n           Version: '1.9.3'\n           Node ID: '{id}'\n         Node name: '{node}'\n        Datacenter: 'dc1' (Segment: '<all>')\n            Server: true (Bootstrap: false)\n       Client Addr: [0.0.0.0] (HTTP: 8500, HTTPS: -1, gRPC: 8502, DNS: 8600)\n      Cluster Addr: 127.0.0.1 (LAN: 8301, WAN: 8302)\n           Encrypt: Gossip: false, TLS-Outgoing: false, TLS-Incoming: false, Auto-Encrypt-TLS: false\n\n==> Log data will now stream in as it occurs:\n"
    );
    out.push(t, "", banner);
    let mut line = |t: f64, level: &str, msg: &str| {
        let ts = rfc3339_millis(t);
        out.push(t, &ts, format!("{ts} [{level}] {msg}"));
    };
    line(t + 0.01, "INFO", &format!(" agent.server.raft: initial configuration: index=1 servers=\"[{{Suffrage:Voter ID:{id} Address:127.0.0.1:8300}}]\""));
    line(t + 0.02, "INFO", " agent.server.raft: entering follower state: follower=\"Node at 127.0.0.1:8300 [Follower]\" leader=");
    line(
        t + 1.5,
        "WARN",
        " agent.server.raft: heartbeat timeout reached, starting election: last-leader=",
    );
    line(
        t + 1.51,
        "INFO",
        " agent.server.raft: entering leader state: leader=\"Node at 127.0.0.1:8300 [Leader]\"",
    );
    line(
        t + 1.52,
        "INFO",
        " agent.server: cluster leadership acquired",
    );
    line(
        t + 1.53,
        "INFO",
        &format!(" agent.server: New leader elected: payload={node}"),
    );
    line(t + 1.6, "INFO", " agent: Synced node info");
    for (tt, k) in run.noise("sync", 1800.0, 4) {
        let svc = run
            .ns
            .app
            .services
            .get(k.below(run.ns.app.services.len()))
            .map(|s| s.name.get_ref().clone())
            .unwrap_or_default();
        line(
            tt,
            "INFO",
            &format!(" agent: Synced service: service=srv-{svc}-{}", k.uuid()),
        );
    }
    for (tt, _) in run.noise("rpc", 5400.0, 2) {
        line(tt, "WARN", " agent: Check socket connection failed: check=serfHealth error=\"dial tcp 127.0.0.1:8301: i/o timeout\"");
    }
}

fn kafka(run: &Run, out: &mut Out) {
    let mut line = |t: f64, level: &str, msg: &str, class: &str| {
        let ts = comma_millis(t);
        out.push(t, &ts, format!("[{ts}] {level} {msg} ({class})"));
    };
    let t = (run.start + 0.5).min(run.end);
    line(
        t,
        "INFO",
        "Registered kafka:type=kafka.Log4jController MBean",
        "kafka.utils.Log4jControllerRegistration$",
    );
    line(
        t + 0.3,
        "INFO",
        "[KafkaRaftServer nodeId=1] Rewriting /tmp/kafka-logs/meta.properties",
        "kafka.server.KafkaRaftServer",
    );
    line(
        t + 0.8,
        "INFO",
        "Kafka version: 3.7.0",
        "org.apache.kafka.common.utils.AppInfoParser",
    );
    line(
        t + 0.8,
        "INFO",
        "Kafka commitId: 2ae524ed625438c5",
        "org.apache.kafka.common.utils.AppInfoParser",
    );
    line(
        t + 0.9,
        "INFO",
        "[KafkaRaftServer nodeId=1] Kafka Server started",
        "kafka.server.KafkaRaftServer",
    );
    line(t + 4.0, "INFO", "[Partition orders-0 broker=1] Log loaded for partition orders-0 with initial high watermark 0", "kafka.cluster.Partition");
    let lag = run.effects().iter().find_map(|e| match e {
        Effect::QueueLag { messages_per_min } => Some(*messages_per_min),
        _ => None,
    });
    if lag.is_some() {
        for (t, k) in run.every("rebalance", 45.0, run.fault_from(), 20) {
            let generation = 2 + k.below(50);
            line(t, "INFO", &format!("[GroupCoordinator 1]: Preparing to rebalance group fraud-detection in state PreparingRebalance with old generation {generation} (__consumer_offsets-{}) (reason: Leaving group caused by session timeout)", k.n(1).below(50)), "kafka.coordinator.group.GroupCoordinator");
            line(t + 0.01, "INFO", &format!("[GroupCoordinator 1]: Member consumer-fraud-detection-1-{} in group fraud-detection has failed, removing it from the group", k.n(2).uuid()), "kafka.coordinator.group.GroupCoordinator");
        }
    }
    for (t, k) in run.noise("segment", 3600.0, 3) {
        line(t, "INFO", &format!("[LocalLog partition=__consumer_offsets-{}, dir=/tmp/kafka-logs] Rolled new log segment at offset {} in 2 ms.", k.below(50), 1000 + k.n(1).below(90000)), "kafka.log.LocalLog");
    }
    for (t, level, msg) in run.effect_lines(Level::Warn, 40) {
        line(t, level.upper(), &msg, "kafka.server.KafkaApis");
    }
}
