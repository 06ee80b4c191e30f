//! kubectl write tests: each form changes the model; the mongo shell changes DbState.

use super::run;
use super::tests::{NS, fail, fixture, ok};
use crate::cluster::*;

fn deploy(c: &Cluster, name: &str) -> Deployment {
    c.namespace(NS)
        .and_then(|n| n.deployments.get(name))
        .cloned()
        .unwrap_or_else(|| panic!("no deployment {name}"))
}

fn target_port(c: &Cluster, svc: &str) -> u16 {
    c.namespace(NS)
        .map(|n| n.services[svc].ports[0].target_port)
        .unwrap_or(0)
}

#[test]
fn patch_service_strategic_and_json() {
    let mut c = fixture();
    assert_eq!(
        ok(
            &mut c,
            r#"kubectl patch svc mongodb-geo -n test-hotel-reservation -p '{"spec":{"ports":[{"port":27017,"targetPort":27017}]}}'"#
        ),
        "service/mongodb-geo patched\n"
    );
    assert_eq!(target_port(&c, "mongodb-geo"), 27017);
    assert_eq!(
        c.namespace(NS)
            .map(|n| n.services["mongodb-geo"].ports.len()),
        Some(1)
    );
    assert_eq!(
        ok(
            &mut c,
            r#"kubectl patch svc mongodb-geo -p '{"spec":{"ports":[{"port":27017,"targetPort":27017}]}}'"#
        ),
        "service/mongodb-geo patched (no change)\n"
    );
    ok(
        &mut c,
        r#"kubectl patch service mongodb-geo --type=json -p '[{"op":"replace","path":"/spec/ports/0/targetPort","value":9999}]'"#,
    );
    assert_eq!(target_port(&c, "mongodb-geo"), 9999);
    ok(
        &mut c,
        r#"kubectl patch svc/mongodb-geo --type merge -p '{"spec":{"ports":[{"port":27017,"targetPort":27017,"name":"27017"}]}}'"#,
    );
    assert_eq!(target_port(&c, "mongodb-geo"), 27017);
    assert_eq!(
        fail(
            &mut c,
            r#"kubectl patch svc geo --type=json -p '[{"op":"replace","path":"/spec/ports/3/targetPort","value":1}]'"#
        ),
        "The request is invalid: the server rejected our request due to an error in our request"
    );
    assert_eq!(
        fail(
            &mut c,
            r#"kubectl patch svc geo -p '{"spec":{"ports":[{"port":8083,"targetPort":70000}]}}'"#
        ),
        "The Service \"geo\" is invalid: spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive"
    );
    assert_eq!(
        fail(
            &mut c,
            r#"kubectl patch deployment nope -p '{"spec":{"replicas":1}}'"#
        ),
        "Error from server (NotFound): deployments.apps \"nope\" not found"
    );
}

#[test]
fn patch_deployment_node_selector_and_command() {
    let mut c = fixture();
    if let Some(d) = c
        .namespace_mut(NS)
        .and_then(|n| n.deployments.get_mut("geo"))
    {
        d.template
            .node_selector
            .insert("kubernetes.io/hostname".into(), "extra-node".into());
    }
    ok(
        &mut c,
        r#"kubectl patch deployment geo --type=json -p '[{"op":"remove","path":"/spec/template/spec/nodeSelector"}]'"#,
    );
    assert!(deploy(&c, "geo").template.node_selector.is_empty());
    if let Some(d) = c
        .namespace_mut(NS)
        .and_then(|n| n.deployments.get_mut("geo"))
    {
        d.template
            .node_selector
            .insert("kubernetes.io/hostname".into(), "extra-node".into());
    }
    ok(
        &mut c,
        r#"kubectl patch deployment geo -p '{"spec":{"template":{"spec":{"nodeSelector":null}}}}'"#,
    );
    assert!(deploy(&c, "geo").template.node_selector.is_empty());
    let before = deploy(&c, "geo").revisions.len();
    assert_eq!(
        ok(
            &mut c,
            r#"kubectl patch deployment geo --type=json -p '[{"op":"replace","path":"/spec/template/spec/containers/0/command","value":["profile"]}]'"#
        ),
        "deployment.apps/geo patched\n"
    );
    let d = deploy(&c, "geo");
    assert_eq!(
        d.template.containers[0].command,
        vec!["profile".to_string()]
    );
    assert!(
        d.revisions.len() > before,
        "a template change makes a revision"
    );
    ok(
        &mut c,
        r#"kubectl patch deploy geo -p '{"spec":{"template":{"spec":{"containers":[{"name":"hotel-reserv-geo","image":"geo:v2"}]}}}}'"#,
    );
    assert_eq!(
        deploy(&c, "geo").template.containers.len(),
        1,
        "containers merge by name"
    );
    assert_eq!(deploy(&c, "geo").template.containers[0].image, "geo:v2");
    let e = fail(
        &mut c,
        r#"kubectl patch deploy geo -p '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar"}]}}}}'"#,
    );
    assert_eq!(
        e,
        "The Deployment \"geo\" is invalid: spec.template.spec.containers[1].image: Required value"
    );
}

#[test]
fn set_scale_rollout_delete() {
    let mut c = fixture();
    assert_eq!(
        ok(
            &mut c,
            "kubectl set image deployment/geo hotel-reserv-geo=yinfangchen/hotelreservation:buggy -n test-hotel-reservation"
        ),
        "deployment.apps/geo image updated\n"
    );
    assert_eq!(
        deploy(&c, "geo").template.containers[0].image,
        "yinfangchen/hotelreservation:buggy"
    );
    assert_eq!(
        fail(&mut c, "kubectl set image deployment/geo nope=x"),
        "error: unable to find container named \"nope\""
    );
    assert_eq!(
        ok(&mut c, "kubectl rollout undo deployment/geo"),
        "deployment.apps/geo rolled back\n"
    );
    assert_eq!(
        deploy(&c, "geo").template.containers[0].image,
        "yinfangchen/hotelreservation:latest"
    );
    ok(
        &mut c,
        "kubectl set image deploy geo hotel-reserv-geo=img:2",
    );
    ok(
        &mut c,
        "kubectl rollout undo deployment geo --to-revision=3",
    );
    assert_eq!(
        deploy(&c, "geo").template.containers[0].image,
        "yinfangchen/hotelreservation:latest"
    );
    assert!(
        fail(
            &mut c,
            "kubectl rollout undo deployment/geo --to-revision=42"
        )
        .contains("unable to find specified revision 42")
    );

    assert_eq!(
        ok(&mut c, "kubectl set env deployment/geo FOO=bar"),
        "deployment.apps/geo env updated\n"
    );
    assert!(
        deploy(&c, "geo").template.containers[0]
            .env
            .iter()
            .any(|e| e.name == "FOO" && e.value == "bar")
    );
    ok(&mut c, "kubectl set env deployment/geo FOO-");
    assert!(
        !deploy(&c, "geo").template.containers[0]
            .env
            .iter()
            .any(|e| e.name == "FOO")
    );

    assert_eq!(
        ok(
            &mut c,
            "kubectl scale deployment geo --replicas=0 -n test-hotel-reservation"
        ),
        "deployment.apps/geo scaled\n"
    );
    assert_eq!(deploy(&c, "geo").replicas, 0);
    assert!(
        c.events
            .iter()
            .any(|e| e.reason == "ScalingReplicaSet" && e.message.contains("from 1 to 0"))
    );
    ok(&mut c, "kubectl scale --replicas=1 deploy/geo");
    assert_eq!(deploy(&c, "geo").replicas, 1);

    let revs = deploy(&c, "geo").revisions.len();
    assert_eq!(
        ok(&mut c, "kubectl rollout restart deployment/geo"),
        "deployment.apps/geo restarted\n"
    );
    assert!(
        deploy(&c, "geo").revisions.len() > revs,
        "restart makes a revision"
    );

    let pod = "mongodb-geo-5d6f7b8c9-x2kqz";
    assert_eq!(
        ok(&mut c, &format!("kubectl delete pod {pod}")),
        format!("pod \"{pod}\" deleted\n")
    );
    assert!(c.namespace(NS).is_some_and(|n| !n.pods.contains_key(pod)));
    assert_eq!(
        fail(&mut c, &format!("kubectl delete pod {pod}")),
        format!("Error from server (NotFound): pods \"{pod}\" not found")
    );
    assert_eq!(
        ok(&mut c, "kubectl delete deployment geo"),
        "deployment.apps \"geo\" deleted\n"
    );
    assert_eq!(
        ok(&mut c, "kubectl delete namespace test-hotel-reservation"),
        "namespace \"test-hotel-reservation\" deleted\n"
    );
    assert!(c.namespace(NS).is_none());
    assert!(fail(&mut c, "kubectl delete ns default").contains("may not be deleted"));
}

#[test]
fn mongo_shell_changes_users() {
    let mut c = fixture();
    let pod = "mongodb-geo-5d6f7b8c9-x2kqz";
    let root = format!(
        "kubectl exec -it {pod} -n test-hotel-reservation -- mongo admin -u root -p root --authenticationDatabase admin --quiet --eval"
    );
    let db = |c: &Cluster| {
        c.namespace(NS)
            .map(|n| n.databases["mongodb-geo"].clone())
            .unwrap_or_else(|| panic!("db"))
    };
    ok(
        &mut c,
        &format!(
            "{root} \"db.revokeRolesFromUser('admin', [{{role: 'readWrite', db: 'geo-db'}}])\""
        ),
    );
    assert!(db(&c).users["admin"].roles.is_empty());
    ok(
        &mut c,
        &format!("{root} \"db.grantRolesToUser('admin', [{{role:'readWrite', db:'geo-db'}}])\""),
    );
    assert!(db(&c).users["admin"].roles.contains("readWrite@geo-db"));
    assert_eq!(
        ok(&mut c, &format!("{root} 'db.dropUser(\"admin\")'")),
        "true\n"
    );
    assert!(!db(&c).users.contains_key("admin"));
    let out = ok(
        &mut c,
        &format!(
            "{root} 'db.createUser({{user: \"admin\", pwd: \"admin\", roles: [{{role: \"readWrite\", db: \"geo-db\"}}]}})'"
        ),
    );
    assert_eq!(
        out,
        "Successfully added user: {\n\t\"user\" : \"admin\",\n\t\"roles\" : [\n\t\t{\n\t\t\t\"role\" : \"readWrite\",\n\t\t\t\"db\" : \"geo-db\"\n\t\t}\n\t]\n}\n"
    );
    assert_eq!(db(&c).users["admin"].password, "admin");
    let users = ok(
        &mut c,
        &format!("{root} 'db.getSiblingDB(\"admin\").getUsers()'"),
    );
    assert!(
        users.contains("\"_id\" : \"admin.admin\"") && users.contains("\"role\" : \"root\""),
        "{users}"
    );
    let e = fail(
        &mut c,
        &format!(
            "kubectl exec {pod} -- mongo admin -u root -p wrong --authenticationDatabase admin --eval 'db.getUsers()'"
        ),
    );
    assert!(
        e.contains("Error: Authentication failed.")
            && e.ends_with("command terminated with exit code 1"),
        "{e}"
    );
    let e = fail(
        &mut c,
        &format!(
            "kubectl exec {pod} -- mongo admin --quiet --eval 'db.createUser({{user:\"x\", pwd:\"y\", roles:[\"root\"]}})'"
        ),
    );
    assert!(e.contains("requires authentication"), "{e}");
    // with no user left, the localhost exception lets the first one be created
    if let Some(d) = c.namespace_mut(NS).and_then(|n| n.databases.get_mut("mongodb-geo")) {
        d.users.clear()
    }
    ok(
        &mut c,
        &format!(
            "kubectl exec {pod} -- mongo admin --quiet --eval 'db.createUser({{user:\"root\", pwd:\"root\", roles:[\"root\"]}})'"
        ),
    );
    assert!(db(&c).users["root"].roles.contains("root@admin"));
    let shown = ok(
        &mut c,
        &format!("kubectl exec {pod} -- mongo admin -u root -p root --eval 'show dbs'"),
    );
    assert!(shown.starts_with("MongoDB shell version v4.4.6\nconnecting to: mongodb://127.0.0.1:27017/admin?authSource=admin"), "{shown}");
    assert!(
        shown.ends_with("admin   0.000GB\nconfig  0.000GB\ngeo-db  0.000GB\nlocal   0.000GB\n"),
        "{shown}"
    );
}

#[test]
fn exec_elsewhere() {
    let mut c = fixture();
    let geo = "geo-84fbc958c7-lxb9r";
    assert_eq!(
        fail(
            &mut c,
            &format!("kubectl exec {geo} -- mongo --eval 'db.getUsers()'")
        ),
        "error: unable to upgrade connection: container not found (\"hotel-reserv-geo\")"
    );
    if let Some(p) = c.namespace_mut(NS).and_then(|n| n.pods.get_mut(geo)) {
        p.containers[0].state = ContainerState::Running {
            started_at: p.created_at,
        };
    }
    assert_eq!(
        fail(
            &mut c,
            &format!("kubectl exec {geo} -- mongo --eval 'db.getUsers()'")
        ),
        "OCI runtime exec failed: exec failed: unable to start container process: exec: \"mongo\": executable file not found in $PATH: unknown\ncommand terminated with exit code 126"
    );
    let env = ok(&mut c, &format!("kubectl exec {geo} -- env"));
    assert!(
        env.contains("JAEGER_SAMPLE_RATIO=1\n")
            && env.contains("MONGODB_GEO_SERVICE_HOST=10.96.7.200\n"),
        "{env}"
    );
    assert_eq!(
        ok(
            &mut c,
            &format!("kubectl exec {geo} -- printenv JAEGER_SAMPLE_RATIO")
        ),
        "1\n"
    );
    assert!(
        fail(
            &mut c,
            &format!("kubectl exec {geo} -- sh -c 'curl localhost:8083'")
        )
        .starts_with("sh: 1: curl: not found")
    );
    let r = run(&mut c, "kubectl apply -f -", NS);
    assert!(!r.ok && r.stdout == "error: no objects passed to apply");
}
