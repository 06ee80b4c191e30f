//! `kubectl apply|create|replace -f -` with a manifest on stdin, in each form a one-command
//! shell sends it, and `kubectl create configmap|deployment`.

use super::run;
use super::tests::{NOW, NS, fail, fixture, ok};
use crate::cluster::*;

const GEO_SVC: &str = "apiVersion: v1
kind: Service
metadata:
  name: mongodb-geo
spec:
  ports:
  - name: \"27017\"
    port: 27017
    targetPort: 27017
  selector:
    io.kompose.service: mongodb-geo
";

fn target_port(c: &Cluster, svc: &str) -> u16 {
    c.namespace(NS)
        .and_then(|n| n.services.get(svc))
        .map_or(0, |s| s.ports[0].target_port)
}

fn geo(c: &Cluster) -> Deployment {
    c.namespace(NS)
        .and_then(|n| n.deployments.get("geo"))
        .cloned()
        .unwrap_or_else(|| panic!("no geo"))
}

#[test]
fn heredoc_forms_configure_then_unchanged() {
    for (i, cmd) in [
        format!("kubectl apply -f - <<EOF\n{GEO_SVC}EOF"),
        format!("kubectl apply -n {NS} -f - <<'EOF'\n{GEO_SVC}EOF\n"),
        format!("kubectl apply --namespace={NS} -f - <<\"YAML\"\n{GEO_SVC}YAML"),
        format!(
            "kubectl apply -f - <<-EOF\n{}\tEOF",
            GEO_SVC
                .lines()
                .map(|l| format!("\t{l}\n"))
                .collect::<String>()
        ),
        format!("cat <<EOF | kubectl apply -f -\n{GEO_SVC}EOF"),
        format!("cat << 'END' | kubectl -n {NS} apply -f -\n{GEO_SVC}END"),
    ]
    .iter()
    .enumerate()
    {
        let mut c = fixture();
        assert_eq!(target_port(&c, "mongodb-geo"), 9999);
        assert_eq!(
            ok(&mut c, cmd),
            "service/mongodb-geo configured\n",
            "form {i}"
        );
        assert_eq!(target_port(&c, "mongodb-geo"), 27017, "form {i}");
        assert_eq!(
            ok(&mut c, cmd),
            "service/mongodb-geo unchanged\n",
            "form {i}"
        );
    }
}

#[test]
fn echo_and_printf_json_and_yaml() {
    let mut c = fixture();
    let json = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg","namespace":"test-hotel-reservation"},"data":{"a":"1"}}"#;
    assert_eq!(
        ok(&mut c, &format!("echo '{json}' | kubectl apply -f -")),
        "configmap/cfg created\n"
    );
    let cm = |c: &Cluster| {
        c.namespace(NS)
            .and_then(|n| n.config_maps.get("cfg"))
            .map(|m| m.data.clone())
            .unwrap_or_default()
    };
    assert_eq!(cm(&c).get("a").map(String::as_str), Some("1"));
    assert_eq!(
        ok(
            &mut c,
            "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: cfg\\ndata:\\n  a: \"2\"\\n' | kubectl apply -n test-hotel-reservation -f -"
        ),
        "configmap/cfg configured\n"
    );
    assert_eq!(cm(&c).get("a").map(String::as_str), Some("2"));
    assert_eq!(
        ok(
            &mut c,
            "echo 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: \"2\"' | kubectl apply -f -"
        ),
        "configmap/cfg unchanged\n"
    );
    assert_eq!(
        ok(
            &mut c,
            "kubectl apply -f - <<< '{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cfg2\"}}'"
        ),
        "configmap/cfg2 created\n"
    );
}

#[test]
fn multi_document_and_list() {
    let mut c = fixture();
    let cmd = format!(
        "kubectl apply -f - <<EOF\n---\n{GEO_SVC}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  k: v\n---\nEOF"
    );
    assert_eq!(
        ok(&mut c, &cmd),
        "service/mongodb-geo configured\nconfigmap/extra created\n"
    );
    let list = r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"extra"},"data":{"k":"v"}},{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-x"},"spec":{"capacity":{"storage":"1Gi"},"storageClassName":"manual","persistentVolumeReclaimPolicy":"Delete"}},{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"claim-x"},"spec":{"storageClassName":"manual","resources":{"requests":{"storage":"1Gi"}}}}]}"#;
    assert_eq!(
        ok(&mut c, &format!("echo '{list}' | kubectl apply -f -")),
        "configmap/extra unchanged\npersistentvolume/pv-x created\npersistentvolumeclaim/claim-x created\n"
    );
    let claim = c.namespace(NS).and_then(|n| n.pvcs.get("claim-x")).cloned();
    assert_eq!(claim.and_then(|p| p.volume), Some("pv-x".to_string()));
    let pvs = ok(&mut c, "kubectl get pv pv-x");
    assert!(pvs.contains("Bound"), "{pvs}");
}

#[test]
fn deployment_command_edit_rolls_a_revision() {
    let mut c = fixture();
    let before = geo(&c);
    let manifest = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: geo
  namespace: test-hotel-reservation
spec:
  replicas: 1
  selector:
    matchLabels:
      io.kompose.service: geo
  template:
    metadata:
      labels:
        io.kompose.service: geo
    spec:
      containers:
      - name: hotel-reserv-geo
        image: yinfangchen/hotelreservation:latest
        command: [\"geo\", \"--fixed\"]
";
    let cmd = format!("kubectl apply -f - <<'EOF'\n{manifest}EOF");
    assert_eq!(ok(&mut c, &cmd), "deployment.apps/geo configured\n");
    let after = geo(&c);
    assert_eq!(after.template.containers[0].command, vec!["geo", "--fixed"]);
    assert_eq!(
        after.template.containers[0].ports,
        before.template.containers[0].ports
    );
    assert_eq!(after.revisions.len(), 2);
    let hash = after.revisions[1].hash.clone();
    assert_ne!(hash, before.revisions[0].hash);
    let pods: Vec<String> = c
        .namespace(NS)
        .map(|n| {
            n.pods
                .values()
                .filter(|p| p.deployment == "geo")
                .map(|p| p.rs_hash.clone())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(pods, vec![hash]);
    assert!(ok(&mut c, "kubectl rollout history deployment/geo").contains("2 "));
    assert_eq!(ok(&mut c, &cmd), "deployment.apps/geo unchanged\n");
    assert_eq!(geo(&c).revisions.len(), 2);
}

#[test]
fn new_deployment_service_and_configmap_run_pods() {
    let mut c = fixture();
    let cmd = "cat <<EOF | kubectl apply -f -
apiVersion: apps/v1
kind: Deployment
metadata:
  name: probe
  labels: {app: probe}
spec:
  replicas: 2
  selector:
    matchLabels: {app: probe}
  template:
    metadata:
      labels: {app: probe}
    spec:
      containers:
      - name: probe
        image: mongo:4.4.6
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: probe
spec:
  selector: {app: probe}
  ports:
  - port: 80
    targetPort: 8080
EOF";
    assert_eq!(
        ok(&mut c, cmd),
        "deployment.apps/probe created\nservice/probe created\n"
    );
    let n = c.namespace(NS).cloned().unwrap_or_else(|| panic!("ns"));
    let d = &n.deployments["probe"];
    assert_eq!((d.replicas, d.revisions.len(), d.generation), (2, 1, 1));
    let pods = n.pods.values().filter(|p| p.deployment == "probe").count();
    assert_eq!(pods, 2);
    let svc = &n.services["probe"];
    assert!(svc.cluster_ip.starts_with("10.96."), "{}", svc.cluster_ip);
    c.advance(60.0);
    let ep = ok(&mut c, "kubectl get endpoints probe");
    assert!(ep.contains(":8080"), "{ep}");
    assert!(ok(&mut c, "kubectl get deploy probe").contains("2/2"));
}

#[test]
fn create_and_replace() {
    let mut c = fixture();
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\ndata:\n  a: b\n";
    assert_eq!(
        ok(&mut c, &format!("kubectl create -f - <<EOF\n{cm}EOF")),
        "configmap/c1 created\n"
    );
    assert_eq!(
        fail(&mut c, &format!("kubectl create -f - <<EOF\n{cm}EOF")),
        "Error from server (AlreadyExists): error when creating \"STDIN\": configmaps \"c1\" already exists"
    );
    assert_eq!(
        ok(&mut c, &format!("kubectl replace -f - <<EOF\n{cm}EOF")),
        "configmap/c1 replaced\n"
    );
    assert_eq!(
        fail(
            &mut c,
            &format!("kubectl replace -f - <<EOF\n{}EOF", cm.replace("c1", "c9"))
        ),
        "Error from server (NotFound): error when replacing \"STDIN\": configmaps \"c9\" not found"
    );
    assert_eq!(
        fail(&mut c, &format!("kubectl create -f - <<EOF\n{GEO_SVC}EOF")),
        "Error from server (AlreadyExists): error when creating \"STDIN\": services \"mongodb-geo\" already exists"
    );
    assert_eq!(
        ok(
            &mut c,
            "kubectl create configmap lit --from-literal=a=1 --from-literal=b=x=y"
        ),
        "configmap/lit created\n"
    );
    let data = c.namespace(NS).map(|n| n.config_maps["lit"].data.clone());
    assert_eq!(
        data.and_then(|d| d.get("b").cloned()).as_deref(),
        Some("x=y")
    );
    assert_eq!(
        fail(&mut c, "kubectl create configmap lit --from-literal=a=1"),
        "error: failed to create configmap: configmaps \"lit\" already exists"
    );
    assert_eq!(
        ok(
            &mut c,
            "kubectl create deployment web --image=mongo:4.4.6 --replicas=2"
        ),
        "deployment.apps/web created\n"
    );
    let web = c.namespace(NS).map(|n| n.deployments["web"].clone());
    assert_eq!(
        web.map(|d| (d.replicas, d.template.containers[0].name.clone())),
        Some((2, "mongo".to_string()))
    );
    assert_eq!(
        ok(
            &mut c,
            "kubectl create deployment dry --image=x --dry-run=client"
        ),
        "deployment.apps/dry created (dry run)\n"
    );
    assert!(
        c.namespace(NS)
            .is_some_and(|n| !n.deployments.contains_key("dry"))
    );
}

#[test]
fn errors_as_kubectl_prints_them() {
    let mut c = fixture();
    let e = fail(
        &mut c,
        "kubectl apply -f - <<EOF\nkind: ConfigMap\nmetadata:\n  name: x\nEOF",
    );
    assert!(
        e.starts_with(
            "error: error validating \"STDIN\": error validating data: apiVersion not set"
        ),
        "{e}"
    );
    let e = fail(
        &mut c,
        "kubectl apply -f - <<EOF\napiVersion: v1\nmetadata:\n  name: x\nEOF",
    );
    assert!(e.contains("error validating data: kind not set"), "{e}");
    let e = fail(
        &mut c,
        "kubectl apply -f - <<EOF\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\nEOF",
    );
    assert!(e.contains("error validating data: ValidationError(ConfigMap.metadata): missing required field \"name\""), "{e}");
    assert_eq!(
        fail(
            &mut c,
            "kubectl apply -f - <<EOF\napiVersion: v1\nkind: Foo\nmetadata:\n  name: x\n  namespace: y\nEOF"
        ),
        "error: resource mapping not found for name: \"x\" namespace: \"y\" from \"STDIN\": no matches for kind \"Foo\" in version \"v1\"\nensure CRDs are installed first"
    );
    assert!(
        fail(
            &mut c,
            "kubectl apply -f - <<EOF\napiVersion: v1\nkind: Deployment\nmetadata:\n  name: x\nEOF"
        )
        .contains("no matches for kind \"Deployment\" in version \"v1\"")
    );
    assert_eq!(
        fail(
            &mut c,
            "kubectl apply -n other -f - <<EOF\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: test-hotel-reservation\nEOF"
        ),
        "error: the namespace from the provided object \"test-hotel-reservation\" does not match the namespace \"other\". You must pass '--namespace=test-hotel-reservation' to perform this operation."
    );
    assert_eq!(
        fail(
            &mut c,
            "kubectl apply -n other -f - <<EOF\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\nEOF"
        ),
        "Error from server (NotFound): error when creating \"STDIN\": namespaces \"other\" not found"
    );
    let e = fail(
        &mut c,
        "kubectl apply -f - <<EOF\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  labels: a: b\nEOF",
    );
    assert!(
        e.starts_with("error: error parsing STDIN: error converting YAML to JSON: yaml: line "),
        "{e}"
    );
    assert_eq!(
        fail(&mut c, "kubectl apply -f -"),
        "error: no objects passed to apply"
    );
    assert_eq!(
        fail(&mut c, "kubectl apply -f - <<EOF\n# nothing\nEOF"),
        "error: no objects passed to apply"
    );
    let e = fail(
        &mut c,
        &format!(
            "kubectl apply -f - <<EOF\n{}EOF",
            GEO_SVC.replace("27017\n  selector", "70000\n  selector")
        ),
    );
    assert!(e.contains("The Service \"mongodb-geo\" is invalid"), "{e}");
    assert_eq!(target_port(&c, "mongodb-geo"), 9999);
    let sel = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: geo\nspec:\n  selector:\n    matchLabels:\n      app: other\n";
    let e = fail(&mut c, &format!("kubectl apply -f - <<EOF\n{sel}EOF"));
    assert!(e.contains("field is immutable"), "{e}");
    let e = fail(
        &mut c,
        "kubectl apply -f - <<EOF\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nEOF",
    );
    assert!(e.contains("not supported in this environment"), "{e}");
}

#[test]
fn corrected_target_port_restores_endpoints() {
    let Some(Ok(suite)) = crate::suite::Suite::builtin("aiopslab") else {
        return;
    };
    let Some(app) = suite.apps.values().find(|a| a.name == "social-network") else {
        return;
    };
    let ns = app.namespace.clone();
    let mut c = Cluster::new(3, &suite.nodes, NOW);
    let _ = c.deploy_app(app.clone(), 900.0);
    c.advance(30.0);
    let r = run(
        &mut c,
        r#"kubectl patch svc user-service -p '{"spec":{"ports":[{"port":9090,"targetPort":9999}]}}'"#,
        &ns,
    );
    assert!(r.ok, "{}", r.stdout);
    let ep = run(&mut c, "kubectl get ep user-service", &ns).stdout;
    assert!(ep.contains(":9999"), "{ep}");
    let cmd = format!(
        "kubectl apply -n {ns} -f - <<'EOF'\napiVersion: v1\nkind: Service\nmetadata:\n  name: user-service\nspec:\n  ports:\n  - name: \"9090\"\n    port: 9090\n    targetPort: 9090\nEOF"
    );
    let r = run(&mut c, &cmd, &ns);
    assert_eq!(r.stdout, "service/user-service configured\n");
    let ep = run(&mut c, "kubectl get ep user-service", &ns).stdout;
    assert!(ep.contains(":9090") && !ep.contains(":9999"), "{ep}");
}

#[test]
fn get_edit_apply_pipeline() {
    let mut c = fixture();
    assert_eq!(
        ok(
            &mut c,
            "kubectl get svc mongodb-geo -o yaml | sed 's/targetPort: 9999/targetPort: 27017/' | kubectl apply -f -"
        ),
        "service/mongodb-geo configured\n"
    );
    assert_eq!(target_port(&c, "mongodb-geo"), 27017);
    assert_eq!(
        ok(
            &mut c,
            "kubectl get deploy geo -o json | kubectl apply -f -"
        ),
        "deployment.apps/geo unchanged\n"
    );
    assert_eq!(
        ok(
            &mut c,
            "kubectl apply -f - <<EOF | grep -c created\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: n\nEOF"
        ),
        "1\n"
    );
}
