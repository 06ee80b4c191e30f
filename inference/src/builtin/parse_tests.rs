//! Tests of the parsers on sample outputs shaped like kubectl's and the exports'.

use super::*;

const PODS: &str = "NAME                           READY   STATUS             RESTARTS      AGE   IP            NODE          NOMINATED NODE   READINESS GATES
geo-84fbc958c7-lxb9r           0/1     CrashLoopBackOff   4 (52s ago)   3m    10.244.1.5    kind-worker   <none>           <none>
user-service-6d8f9c7b5-x2kqz   0/1     Pending            0             2m    <none>        <none>        <none>           <none>
frontend-7d9b8c6f5-abcde       1/1     Running            1 (3h ago)    3d    10.244.1.9    kind-worker   <none>           <none>
";

#[test]
fn pods_table_parses_restarts_and_wide_columns() {
    let t = parse_table(PODS);
    assert_eq!(t.rows.len(), 3);
    let r = &t.rows[0];
    assert_eq!(t.cell(r, "STATUS"), "CrashLoopBackOff");
    assert_eq!(parse_restarts(t.cell(r, "RESTARTS")), (4, Some(52)));
    assert_eq!(t.cell(r, "NODE"), "kind-worker");
    assert_eq!(t.cell(&t.rows[1], "NOMINATED NODE"), "<none>");
    assert_eq!(
        parse_restarts(t.cell(&t.rows[2], "RESTARTS")),
        (1, Some(3 * 3600))
    );
    assert_eq!(parse_age("3m12s"), Some(192));
    assert_eq!(parse_age("2h10m"), Some(7800));
    assert_eq!(parse_age("<invalid>"), None);
}

#[test]
fn ports_and_owners() {
    assert_eq!(parse_svc_ports("5000:30918/TCP"), vec![5000]);
    assert_eq!(parse_svc_ports("8080/TCP,9090/UDP"), vec![8080, 9090]);
    assert_eq!(
        parse_endpoint_ports("10.244.1.23:9999,10.244.1.24:9999 + 1 more..."),
        vec![9999, 9999]
    );
    assert!(parse_endpoint_ports("<none>").is_empty());
    let known = vec!["user".to_string(), "user-service".to_string()];
    assert_eq!(
        owner_of_pod("user-service-6d8f9c7b5-x2kqz", &known),
        "user-service"
    );
    assert_eq!(owner_of_pod("geo-84fbc958c7-lxb9r", &[]), "geo");
    assert_eq!(owner_of_pod("kafka-0", &[]), "kafka");
}

#[test]
fn describe_pod_fields() {
    let text = "Name:             profile-5d8f7c9b6-abcde
Namespace:        test-hotel-reservation
Node:             kind-worker/172.18.0.2
Containers:
  hotel-reserv-profile:
    Container ID:  containerd://abc
    Image:         yinfangchen/hotelreservation:latest
    Port:          8081/TCP
    Host Port:     0/TCP
    Command:
      geo
    State:          Waiting
      Reason:       CrashLoopBackOff
    Last State:     Terminated
      Reason:       Error
      Exit Code:    2
      Started:      Mon, 13 Jan 2026 12:30:06 +0000
    Ready:          False
    Restart Count:  4
    Environment:
      JAEGER_SAMPLE_RATIO:  1
    Mounts:
      /var/run/secrets from kube-api-access (ro)
Conditions:
  Type              Status
  Ready             False
QoS Class:                   Burstable
Node-Selectors:              kubernetes.io/hostname=extra-node
Tolerations:                 node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
Events:
  Type     Reason     Age                From               Message
  ----     ------     ----               ----               -------
  Warning  BackOff    3m (x4 over 5m)    kubelet            Back-off restarting failed container hotel-reserv-profile in pod profile
";
    let d = parse_describe(text);
    assert_eq!(d.node, "kind-worker");
    assert_eq!(d.node_selectors, vec!["kubernetes.io/hostname=extra-node"]);
    let c = &d.containers[0];
    assert_eq!(c.name, "hotel-reserv-profile");
    assert_eq!(c.image, "yinfangchen/hotelreservation:latest");
    assert_eq!(c.ports, vec![8081]);
    assert_eq!(c.command, vec!["geo"]);
    assert_eq!(c.state_reason, "CrashLoopBackOff");
    assert_eq!(c.last_reason, "Error");
    assert_eq!(c.last_exit_code, Some(2));
    assert_eq!(c.ready, Some(false));
    assert_eq!(c.restarts, 4);
    assert_eq!(
        c.env,
        vec![("JAEGER_SAMPLE_RATIO".to_string(), "1".to_string())]
    );
    assert_eq!(d.events[0].1, "BackOff");
    assert!(d.events[0].2.starts_with("Back-off restarting"));
}

#[test]
fn traces_parse_as_csv_and_as_table() {
    let csv = "trace_id,span_id,parent_span,service_name,operation_name,start_time,duration,has_error,response
abc123,s1,ROOT,frontend,HTTP GET /hotels,1700000000000000,1200,False,200
abc123,s2,s1,frontend,/user.User/CheckUser,1700000000000100,10001000,True,Unknown
";
    let s = parse_traces(csv);
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].operation, "HTTP GET /hotels");
    assert!(s[1].error);
    let table = "    trace_id span_id parent_span service_name operation_name start_time duration has_error response
0   abc123  s1  ROOT  frontend  HTTP GET /hotels  1700000000000000  1200  False  200
1   abc123  s2  s1  user  /user.User/CheckUser  1700000000000100  900  True  Unknown
";
    let s = parse_traces(table);
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].operation, "HTTP GET /hotels");
    assert_eq!(s[1].service, "user");
    assert_eq!(s[1].duration_us, 900.0);
    assert!(s[1].error);
}

#[test]
fn metrics_parse_and_cmdb() {
    let table =
        "     timestamp                          cmdb_id                        kpi_name   value
0   1700000000  kind-worker.ad-5d8f7c9b6-abcde  container_cpu_usage_seconds_total  12.500
1   1700000015  kind-worker.ad-5d8f7c9b6-abcde  container_cpu_usage_seconds_total  14.000
";
    let m = parse_metrics(table);
    assert_eq!(m.len(), 2);
    assert_eq!(m[1].value, 14.0);
    assert_eq!(pod_of_cmdb(&m[0].cmdb_id), "ad-5d8f7c9b6-abcde");
    assert_eq!(pod_of_cmdb("kind-worker.geo-1.eth0"), "geo-1");
    let (folder, files) = paths_in(
        "Metrics saved to /tmp/metrics/abc\nFiles:\n  container/kpi_container_cpu_usage_seconds_total.csv",
    );
    assert_eq!(folder.as_deref(), Some("/tmp/metrics/abc"));
    assert_eq!(files.len(), 1);
    assert_eq!(
        word_after(
            "FTL x > not authorized on geo-db to execute",
            "not authorized on"
        ),
        Some("geo-db")
    );
}
