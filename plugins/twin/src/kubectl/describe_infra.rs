//! `kubectl describe` for nodes, claims, volumes, config maps and namespaces.

use super::describe::W;
use super::objects::{claim_phase, volume_phase};
use super::readonly;
use super::table::{age, rfc1123z};
use super::view;
use crate::cluster::*;
use std::collections::BTreeMap;

pub fn node(c: &Cluster, nd: &Node) -> String {
    let mut w = W::default();
    w.w(0, &format!("Name:\t{}", nd.name));
    w.w(
        0,
        &format!(
            "Roles:\t{}",
            if nd.control_plane {
                "control-plane"
            } else {
                "<none>"
            }
        ),
    );
    w.labels("", "Labels", &readonly::node_labels(nd));
    w.annotations(
        "",
        "Annotations",
        &BTreeMap::from([
            (
                "kubeadm.alpha.kubernetes.io/cri-socket".to_string(),
                "unix:///run/containerd/containerd.sock".to_string(),
            ),
            ("node.alpha.kubernetes.io/ttl".to_string(), "0".to_string()),
            (
                "volumes.kubernetes.io/controller-managed-attach-detach".to_string(),
                "true".to_string(),
            ),
        ]),
    );
    w.w(
        0,
        &format!("CreationTimestamp:\t{}", rfc1123z(nd.created_at)),
    );
    w.w(
        0,
        &format!(
            "Taints:\t{}",
            if nd.control_plane {
                "node-role.kubernetes.io/control-plane:NoSchedule"
            } else {
                "<none>"
            }
        ),
    );
    w.w(0, "Unschedulable:\tfalse");
    w.w(0, "Lease:");
    w.w(1, &format!("HolderIdentity:\t{}", nd.name));
    w.w(1, "AcquireTime:\t<unset>");
    w.w(1, &format!("RenewTime:\t{}", rfc1123z(c.now - 5.0)));
    w.0.push_str("Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n  ----\t------\t-----------------\t------------------\t------\t-------\n");
    let hb = rfc1123z(c.now - 20.0);
    let tr = rfc1123z(nd.created_at);
    for (t, s, r, m) in [
        (
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        (
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        ),
        (
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
        (
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
        ),
    ] {
        w.w(1, &format!("{t} \t{s} \t{hb} \t{tr} \t{r} \t{m}"));
    }
    w.w(0, "Addresses:");
    w.w(1, &format!("InternalIP:\t{}", nd.internal_ip));
    w.w(1, &format!("Hostname:\t{}", nd.name));
    for title in ["Capacity", "Allocatable"] {
        w.w(0, &format!("{title}:"));
        w.w(1, &format!("cpu:\t{}", nd.cpu_millis / 1000));
        w.w(1, "ephemeral-storage:\t102626232Ki");
        w.w(1, "hugepages-1Gi:\t0");
        w.w(1, "hugepages-2Mi:\t0");
        w.w(1, &format!("memory:\t{}Ki", nd.memory_mib * 1024));
        w.w(1, "pods:\t110");
    }
    w.w(0, "System Info:");
    w.w(
        1,
        &format!(
            "Machine ID:\t{}",
            view::uid_for(&[&nd.name, "machine"]).replace('-', "")
        ),
    );
    w.w(
        1,
        &format!("System UUID:\t{}", view::uid_for(&[&nd.name, "sys"])),
    );
    w.w(
        1,
        &format!("Boot ID:\t{}", view::uid_for(&[&nd.name, "boot"])),
    );
    w.w(1, &format!("Kernel Version:\t{}", readonly::KERNEL));
    w.w(1, &format!("OS Image:\t{}", readonly::OS_IMAGE));
    w.w(1, "Operating System:\tlinux");
    w.w(1, "Architecture:\tamd64");
    w.w(
        1,
        &format!("Container Runtime Version:\t{}", readonly::RUNTIME),
    );
    w.w(1, &format!("Kubelet Version:\t{}", nd.kubelet_version));
    w.w(1, &format!("Kube-Proxy Version:\t{}", nd.kubelet_version));
    w.w(0, &format!("PodCIDR:\t{}.0/24", nd.pod_cidr));
    w.w(0, &format!("PodCIDRs:\t{}.0/24", nd.pod_cidr));
    w.w(0, &format!("ProviderID:\tkind://docker/kind/{}", nd.name));
    let pods: Vec<(&str, &Pod)> = c
        .namespaces
        .values()
        .flat_map(|n| n.pods.values().map(move |p| (n.name.as_str(), p)))
        .filter(|(_, p)| {
            p.node.as_deref() == Some(nd.name.as_str())
                && !matches!(p.phase, PodPhase::Succeeded | PodPhase::Failed)
        })
        .collect();
    w.w(
        0,
        &format!("Non-terminated Pods:\t({} in total)", pods.len()),
    );
    w.w(
        1,
        "Namespace\tName\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge",
    );
    w.w(
        1,
        "---------\t----\t------------\t----------\t---------------\t-------------\t---",
    );
    let cap_m = nd.cpu_millis.max(1) as f64;
    let cap_mi = nd.memory_mib.max(1) as f64;
    let pct = |v: f64, cap: f64| ((v / cap) * 100.0).floor() as i64;
    let mut tot = [0.0f64; 4];
    for (ns, p) in &pods {
        let sum = |f: &dyn Fn(&ContainerSpec) -> Option<&String>, mem: bool| -> f64 {
            p.spec
                .containers
                .iter()
                .filter_map(f)
                .map(|q| {
                    if mem {
                        crate::cluster::reconcile::parse_mib(q)
                    } else {
                        crate::cluster::reconcile::parse_millis(q)
                    }
                })
                .sum()
        };
        let v = [
            sum(&|c| c.cpu_request.as_ref().or(c.cpu_limit.as_ref()), false),
            sum(&|c| c.cpu_limit.as_ref(), false),
            sum(
                &|c| c.memory_request.as_ref().or(c.memory_limit.as_ref()),
                true,
            ),
            sum(&|c| c.memory_limit.as_ref(), true),
        ];
        for i in 0..4 {
            tot[i] += v[i];
        }
        w.w(
            1,
            &format!(
                "{ns}\t{}\t{}\t{}\t{}\t{}\t{}",
                p.name,
                fmt_cpu(v[0], pct(v[0], cap_m)),
                fmt_cpu(v[1], pct(v[1], cap_m)),
                fmt_mem(v[2], pct(v[2], cap_mi)),
                fmt_mem(v[3], pct(v[3], cap_mi)),
                age(c.now, p.created_at)
            ),
        );
    }
    w.w(0, "Allocated resources:");
    w.w(
        1,
        "(Total limits may be over 100 percent, i.e., overcommitted.)",
    );
    w.w(1, "Resource\tRequests\tLimits");
    w.w(1, "--------\t--------\t------");
    w.w(
        1,
        &format!(
            "cpu\t{}\t{}",
            fmt_cpu(tot[0], pct(tot[0], cap_m)),
            fmt_cpu(tot[1], pct(tot[1], cap_m))
        ),
    );
    w.w(
        1,
        &format!(
            "memory\t{}\t{}",
            fmt_mem(tot[2], pct(tot[2], cap_mi)),
            fmt_mem(tot[3], pct(tot[3], cap_mi))
        ),
    );
    w.w(1, "ephemeral-storage\t0 (0%)\t0 (0%)");
    w.w(1, "hugepages-1Gi\t0 (0%)\t0 (0%)");
    w.w(1, "hugepages-2Mi\t0 (0%)\t0 (0%)");
    w.events(c, "default", &format!("node/{}", nd.name));
    w.done()
}

fn fmt_cpu(m: f64, pct: i64) -> String {
    if m == 0.0 {
        "0 (0%)".into()
    } else if (m as i64) % 1000 == 0 {
        format!("{} ({pct}%)", m as i64 / 1000)
    } else {
        format!("{}m ({pct}%)", m as i64)
    }
}

fn fmt_mem(mi: f64, pct: i64) -> String {
    if mi == 0.0 {
        "0 (0%)".into()
    } else {
        format!("{}Mi ({pct}%)", mi as i64)
    }
}

pub fn pvc(c: &Cluster, n: &Namespace, p: &Pvc) -> String {
    let mut w = W::default();
    w.w(0, &format!("Name:\t{}", p.name));
    w.w(0, &format!("Namespace:\t{}", n.name));
    w.w(0, &format!("StorageClass:\t{}", p.storage_class));
    w.w(0, &format!("Status:\t{}", claim_phase(p.phase)));
    w.w(
        0,
        &format!("Volume:\t{}", p.volume.clone().unwrap_or_default()),
    );
    w.labels("", "Labels", &BTreeMap::new());
    let mut ann = BTreeMap::new();
    if p.phase == ClaimPhase::Bound {
        ann.insert(
            "pv.kubernetes.io/bind-completed".to_string(),
            "yes".to_string(),
        );
        ann.insert(
            "pv.kubernetes.io/bound-by-controller".to_string(),
            "yes".to_string(),
        );
    }
    ann.insert(
        "volume.beta.kubernetes.io/storage-provisioner".to_string(),
        "rancher.io/local-path".to_string(),
    );
    ann.insert(
        "volume.kubernetes.io/storage-provisioner".to_string(),
        "rancher.io/local-path".to_string(),
    );
    w.annotations("", "Annotations", &ann);
    w.w(0, "Finalizers:\t[kubernetes.io/pvc-protection]");
    let bound = p.phase == ClaimPhase::Bound;
    w.w(
        0,
        &format!(
            "Capacity:\t{}",
            if bound { p.capacity.as_str() } else { "" }
        ),
    );
    w.w(
        0,
        &format!("Access Modes:\t{}", if bound { "RWO" } else { "" }),
    );
    w.w(0, "VolumeMode:\tFilesystem");
    let users: Vec<String> = n
        .pods
        .values()
        .filter(|pod| {
            pod.spec
                .volumes
                .iter()
                .any(|(_, s)| matches!(s, VolumeSource::Pvc { claim } if claim == &p.name))
        })
        .map(|pod| pod.name.clone())
        .collect();
    w.multiline("", "Used By", &users);
    w.events(c, &n.name, &format!("persistentvolumeclaim/{}", p.name));
    w.done()
}

pub fn pv(c: &Cluster, p: &PersistentVolume) -> String {
    let mut w = W::default();
    w.w(0, &format!("Name:\t{}", p.name));
    w.labels("", "Labels", &BTreeMap::new());
    w.annotations(
        "",
        "Annotations",
        &BTreeMap::from([
            (
                "local.path.provisioner/selected-node".to_string(),
                "kind-worker".to_string(),
            ),
            (
                "pv.kubernetes.io/provisioned-by".to_string(),
                "rancher.io/local-path".to_string(),
            ),
        ]),
    );
    w.w(0, "Finalizers:\t[kubernetes.io/pv-protection]");
    w.w(0, &format!("StorageClass:\t{}", p.storage_class));
    w.w(0, &format!("Status:\t{}", volume_phase(p.phase)));
    w.w(
        0,
        &format!("Claim:\t{}", p.claim_ref.clone().unwrap_or_default()),
    );
    w.w(0, &format!("Reclaim Policy:\t{}", p.reclaim_policy));
    w.w(0, "Access Modes:\tRWO");
    w.w(0, "VolumeMode:\tFilesystem");
    w.w(0, &format!("Capacity:\t{}", p.capacity));
    w.w(0, "Node Affinity:\t");
    w.w(1, "Required Terms:\t");
    w.w(2, "Term 0:\tkubernetes.io/hostname in [kind-worker]");
    w.w(0, "Message:\t");
    w.w(0, "Source:");
    w.w(1, "Type:\tHostPath (bare host directory volume)");
    let claim = p.claim_ref.clone().unwrap_or_default().replace('/', "_");
    w.w(
        1,
        &format!("Path:\t/var/local-path-provisioner/{}_{claim}", p.name),
    );
    w.w(1, "HostPathType:\tDirectoryOrCreate");
    w.events(c, "default", &format!("persistentvolume/{}", p.name));
    w.done()
}

pub fn config_map(c: &Cluster, ns: &str, cm: &ConfigMap) -> String {
    let mut s = format!(
        "Name:         {}\nNamespace:    {ns}\nLabels:       <none>\nAnnotations:  <none>\n\nData\n====\n",
        cm.name
    );
    for (k, v) in &cm.data {
        s.push_str(&format!("{k}:\n----\n{v}\n\n"));
    }
    s.push_str("\nBinaryData\n====\n\n");
    let mut w = W::default();
    w.events(c, ns, &format!("configmap/{}", cm.name));
    s.push_str(&w.done());
    s
}

pub fn namespace(c: &Cluster, name: &str) -> String {
    let mut w = W::default();
    w.w(0, &format!("Name:\t{name}"));
    w.labels(
        "",
        "Labels",
        &BTreeMap::from([("kubernetes.io/metadata.name".to_string(), name.to_string())]),
    );
    w.annotations("", "Annotations", &BTreeMap::new());
    w.w(0, "Status:\tActive");
    w.0.push_str("\nNo resource quota.\n\nNo LimitRange resource.\n");
    let _ = c;
    w.done()
}
