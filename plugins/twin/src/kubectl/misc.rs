//! Static and refused kubectl commands: version, cluster-info, api-resources, explain, auth,
//! config; interactive or streaming forms; commands that are not kubectl.

use super::parse::{Args, Kind};
use super::{KubectlResult, err};
use crate::cluster::Cluster;

pub fn non_kubectl(words: &[String]) -> KubectlResult {
    let cmd = words.first().map(String::as_str).unwrap_or("");
    match cmd {
        "echo" => KubectlResult::ok(format!("{}\n", words[1..].join(" "))),
        "true" | ":" => KubectlResult::ok(String::new()),
        "sleep" => KubectlResult::ok(String::new()),
        "helm" => {
            err("Error: Kubernetes cluster unreachable: the agent's shell has no helm access")
        }
        _ => err(&format!("/bin/sh: 1: {cmd}: not found")),
    }
}

const API_RESOURCES: &str = "NAME                                SHORTNAMES   APIVERSION                        NAMESPACED   KIND
bindings                                         v1                                true         Binding
componentstatuses                   cs           v1                                false        ComponentStatus
configmaps                          cm           v1                                true         ConfigMap
endpoints                           ep           v1                                true         Endpoints
events                              ev           v1                                true         Event
limitranges                         limits       v1                                true         LimitRange
namespaces                          ns           v1                                false        Namespace
nodes                               no           v1                                false        Node
persistentvolumeclaims              pvc          v1                                true         PersistentVolumeClaim
persistentvolumes                   pv           v1                                false        PersistentVolume
pods                                po           v1                                true         Pod
podtemplates                                     v1                                true         PodTemplate
replicationcontrollers              rc           v1                                true         ReplicationController
resourcequotas                      quota        v1                                true         ResourceQuota
secrets                                          v1                                true         Secret
serviceaccounts                     sa           v1                                true         ServiceAccount
services                            svc          v1                                true         Service
controllerrevisions                              apps/v1                           true         ControllerRevision
daemonsets                          ds           apps/v1                           true         DaemonSet
deployments                         deploy       apps/v1                           true         Deployment
replicasets                         rs           apps/v1                           true         ReplicaSet
statefulsets                        sts          apps/v1                           true         StatefulSet
horizontalpodautoscalers            hpa          autoscaling/v2                    true         HorizontalPodAutoscaler
cronjobs                            cj           batch/v1                          true         CronJob
jobs                                             batch/v1                          true         Job
endpointslices                                   discovery.k8s.io/v1               true         EndpointSlice
events                              ev           events.k8s.io/v1                  true         Event
ingresses                           ing          networking.k8s.io/v1              true         Ingress
networkpolicies                     netpol       networking.k8s.io/v1              true         NetworkPolicy
poddisruptionbudgets                pdb          policy/v1                         true         PodDisruptionBudget
rolebindings                                     rbac.authorization.k8s.io/v1      true         RoleBinding
roles                                            rbac.authorization.k8s.io/v1      true         Role
storageclasses                      sc           storage.k8s.io/v1                 false        StorageClass
";

fn explain(a: &Args) -> KubectlResult {
    let Some(target) = a.positional.get(1) else {
        return err(
            "error: You must specify the type of resource to explain. Use \"kubectl api-resources\" for a complete list of supported resources.",
        );
    };
    let (t, field) = target.split_once('.').unwrap_or((target.as_str(), ""));
    let Some(kind) = Kind::parse(t) else {
        return err(&format!(
            "error: the server doesn't have a resource type \"{t}\""
        ));
    };
    let (k, group, version, desc) = match kind {
        Kind::Pod => (
            "Pod",
            "",
            "v1",
            "Pod is a collection of containers that can run on a host. This resource is\n    created by clients and scheduled onto hosts.",
        ),
        Kind::Deployment => (
            "Deployment",
            "apps",
            "v1",
            "Deployment enables declarative updates for Pods and ReplicaSets.",
        ),
        Kind::Service => (
            "Service",
            "",
            "v1",
            "Service is a named abstraction of software service (for example, mysql)\n    consisting of local port (for example 3306) that the proxy listens on, and the\n    selector that determines which pods will answer requests sent through the\n    proxy.",
        ),
        Kind::ReplicaSet => (
            "ReplicaSet",
            "apps",
            "v1",
            "ReplicaSet ensures that a specified number of pod replicas are running at any\n    given time.",
        ),
        Kind::Pvc => (
            "PersistentVolumeClaim",
            "",
            "v1",
            "PersistentVolumeClaim is a user's request for and claim to a persistent volume",
        ),
        Kind::Pv => (
            "PersistentVolume",
            "",
            "v1",
            "PersistentVolume (PV) is a storage resource provisioned by an administrator.\n    It is analogous to a node.",
        ),
        Kind::ConfigMap => (
            "ConfigMap",
            "",
            "v1",
            "ConfigMap holds configuration data for pods to consume.",
        ),
        _ => ("Object", "", "v1", "<no description>"),
    };
    let mut s = if group.is_empty() {
        format!("KIND:       {k}\nVERSION:    {version}\n\n")
    } else {
        format!("GROUP:      {group}\nKIND:       {k}\nVERSION:    {version}\n\n")
    };
    if !field.is_empty() {
        s.push_str(&format!("FIELD: {} <Object>\n\nDESCRIPTION:\n    See the Kubernetes API reference for {k}.{field}.\n", field.rsplit('.').next().unwrap_or(field)));
    } else {
        s.push_str(&format!("DESCRIPTION:\n    {desc}\n    \nFIELDS:\n  apiVersion\t<string>\n  kind\t<string>\n  metadata\t<ObjectMeta>\n  spec\t<{k}Spec>\n  status\t<{k}Status>\n\n"));
    }
    KubectlResult::ok(s)
}

pub fn misc(c: &mut Cluster, verb: &str, a: &Args) -> KubectlResult {
    let sub = a.positional.get(1).map(String::as_str).unwrap_or("");
    match verb {
        "version" => {
            if a.has("client") {
                return KubectlResult::ok("Client Version: v1.32.0\nKustomize Version: v5.5.0\n".into());
            }
            KubectlResult::ok("Client Version: v1.32.0\nKustomize Version: v5.5.0\nServer Version: v1.32.0\n".into())
        }
        "cluster-info" => {
            if sub == "dump" {
                return err("error: cluster-info dump is too large for this environment; use kubectl get/describe");
            }
            KubectlResult::ok("Kubernetes control plane is running at https://127.0.0.1:36125\nCoreDNS is running at https://127.0.0.1:36125/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy\n\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.\n".into())
        }
        "api-resources" => KubectlResult::ok(API_RESOURCES.to_string()),
        "api-versions" => KubectlResult::ok("admissionregistration.k8s.io/v1\napiextensions.k8s.io/v1\napiregistration.k8s.io/v1\napps/v1\nauthentication.k8s.io/v1\nauthorization.k8s.io/v1\nautoscaling/v1\nautoscaling/v2\nbatch/v1\ncertificates.k8s.io/v1\ncoordination.k8s.io/v1\ndiscovery.k8s.io/v1\nevents.k8s.io/v1\nflowcontrol.apiserver.k8s.io/v1\nnetworking.k8s.io/v1\nnode.k8s.io/v1\npolicy/v1\nrbac.authorization.k8s.io/v1\nscheduling.k8s.io/v1\nstorage.k8s.io/v1\nv1\n".into()),
        "explain" => explain(a),
        "auth" => match sub {
            "can-i" => {
                if a.has("list") {
                    return KubectlResult::ok("Resources   Non-Resource URLs   Resource Names   Verbs\n*.*         []                  []               [*]\n            [*]                 []               [*]\n".into());
                }
                KubectlResult::ok("yes\n".into())
            }
            "whoami" => KubectlResult::ok("ATTRIBUTE   VALUE\nUsername    kubernetes-admin\nGroups      [kubeadm:cluster-admins system:authenticated]\n".into()),
            _ => err(&format!("error: unknown command \"{sub}\" for \"kubectl auth\"")),
        },
        "config" => match sub {
            "current-context" => KubectlResult::ok("kind-kind\n".into()),
            "get-contexts" => KubectlResult::ok("CURRENT   NAME        CLUSTER     AUTHINFO    NAMESPACE\n*         kind-kind   kind-kind   kind-kind   \n".into()),
            "view" => KubectlResult::ok("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: DATA+OMITTED\n    server: https://127.0.0.1:36125\n  name: kind-kind\ncontexts:\n- context:\n    cluster: kind-kind\n    user: kind-kind\n  name: kind-kind\ncurrent-context: kind-kind\nkind: Config\npreferences: {}\nusers:\n- name: kind-kind\n  user:\n    client-certificate-data: DATA+OMITTED\n    client-key-data: DATA+OMITTED\n".into()),
            _ => err("error: changing the kubeconfig is not allowed in this environment"),
        },
        "edit" => err("error: interactive editing (kubectl edit) is not supported; use kubectl patch"),
        "port-forward" | "proxy" | "attach" => err(&format!("error: kubectl {verb} is interactive or long-running and is not supported here")),
        "wait" => {
            let _ = c;
            err("error: timed out waiting for the condition")
        }
        "cp" => err("error: kubectl cp needs a local file system, which this environment does not have"),
        "help" | "options" => KubectlResult::ok("kubectl controls the Kubernetes cluster manager.\n".into()),
        other => err(&format!("error: kubectl {other} is not supported in this environment")),
    }
}
