//! Candidate next actions and their features, built only from what the tools returned (the
//! [`Findings`] the Compressor filled) and the task spec.
//!
//! A candidate carries a list of binary feature names; the model scores it by summing their
//! weights. Features are generic (the kind of action, whether its target shows evidence, how
//! far the session is) and crossed with the evidence kinds, so what is learned on some faults
//! can carry over to others.

use crate::builtin::diagnose::{self, Fault};
use crate::builtin::findings::{Findings, Signal, is_read_cmd};
use crate::builtin::{fix, playbook};
use aoi_core::{FaultType, Submission, SystemLevel, TaskSpec, TaskType, ToolCall};
use std::collections::{BTreeMap, BTreeSet};

/// What a candidate does if chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A read through the Probe.
    Probe(ToolCall),
    /// A write through the Executor (mitigation only).
    Execute(ToolCall),
    /// Stop probing and choose an answer (a second decision among [`answers`]).
    SubmitNow,
    /// The final answer.
    Submit(Submission),
}

/// One scored alternative.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub action: Action,
    /// Binary features (present = 1).
    pub features: Vec<String>,
    /// The command text lessons are matched against (empty for answers).
    pub command: String,
}

/// Evidence kinds per service (deployment / Service / pod owner), from the findings alone.
pub fn evidence(kb: &Findings) -> BTreeMap<String, BTreeSet<&'static str>> {
    let mut ev: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    let mut add = |svc: &str, kind: &'static str| {
        ev.entry(svc.to_string()).or_default().insert(kind);
    };
    for owner in diagnose::crashing_owners(kb) {
        add(&owner, "crashing");
    }
    for p in &kb.pods {
        if p.pending() {
            add(&p.owner, "pending");
        }
        if !p.healthy() {
            add(&p.owner, "not_ready");
        }
        if p.restarts > 0 {
            add(&p.owner, "restarts");
        }
    }
    for (svc, _, _) in diagnose::port_mismatches(kb) {
        add(&svc, "port_mismatch");
    }
    for (name, d) in &kb.deployments {
        if d.desired == 0 {
            add(name, "scaled_zero");
        }
    }
    for (svc, ports) in &kb.endpoints {
        if ports.is_empty() {
            add(svc, "no_endpoints");
        }
    }
    for (svc, logs) in &kb.logs {
        if logs.error_lines > 0 {
            add(svc, "log_errors");
        }
        if logs.signals.contains(&Signal::NotAuthorized)
            || logs.signals.contains(&Signal::AuthFailed)
        {
            add(svc, "auth_failure");
        }
        if !logs.signals.is_empty() {
            add(svc, "log_signal");
        }
    }
    if let Some(s) = diagnose::error_hotspot(kb) {
        add(&s, "trace_errors");
    }
    if let Some(s) = diagnose::slow_hotspot(kb) {
        add(&s, "slow");
    }
    if let Some(s) = diagnose::resource_hotspot(kb) {
        add(&s, "resource");
    }
    ev
}

/// A coarse bucket of how many actions ran.
pub fn step_bucket(actions: usize) -> &'static str {
    match actions {
        0 => "0",
        1..=2 => "1-2",
        3..=5 => "3-5",
        6..=10 => "6-10",
        _ => "11+",
    }
}

/// The kind of a read, for features.
pub fn probe_kind(call: &ToolCall) -> String {
    if call.tool != "exec_shell" {
        return call.tool.clone();
    }
    let cmd = call.str_arg("command").unwrap_or("");
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let verb = words.get(1).copied().unwrap_or("");
    let object = words.get(2).copied().unwrap_or("");
    match verb {
        "get" => format!("get_{}", object.trim_end_matches('s')),
        "describe" => format!("describe_{object}"),
        "" => "other".to_string(),
        v => v.to_string(),
    }
}

/// The kind of a write, for features.
pub fn fix_kind(cmd: &str) -> String {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let verb = words.get(1).copied().unwrap_or("other");
    let object = words.get(2).copied().unwrap_or("");
    let object = object.split('/').next().unwrap_or("");
    format!("{verb}_{object}")
}

/// The service a call is about, when it names one the findings know.
fn target_of(call: &ToolCall, kb: &Findings) -> Option<String> {
    if let Some(s) = call.str_arg("service") {
        return Some(s.to_string());
    }
    let cmd = call.str_arg("command")?;
    let known = kb.known_names();
    let pods: Vec<(&str, &str)> = kb
        .pods
        .iter()
        .map(|p| (p.name.as_str(), p.owner.as_str()))
        .collect();
    for word in cmd.split_whitespace() {
        let word = word.rsplit('/').next().unwrap_or(word);
        if let Some((_, owner)) = pods.iter().find(|(name, _)| *name == word) {
            return Some((*owner).to_string());
        }
        if known.iter().any(|k| k == word) {
            return Some(word.to_string());
        }
    }
    None
}

/// Call text used for dedup and lesson matching.
pub fn call_text(call: &ToolCall) -> String {
    call.str_arg("command")
        .map(str::to_string)
        .unwrap_or_else(|| call.to_string())
}

/// Everything the candidate builder needs to know about the session so far.
pub struct State<'a> {
    pub task: &'a TaskSpec,
    pub kb: &'a Findings,
    /// Calls issued so far (by their `ToolCall` display form).
    pub issued: &'a BTreeSet<String>,
    /// Environment actions taken so far.
    pub actions: usize,
    /// Whether the Executor is available now.
    pub executor: bool,
}

/// The alternatives of one Observer turn: reads, writes (mitigation), and "submit now".
pub fn turn_candidates(st: &State<'_>) -> Vec<Candidate> {
    let ns = st.task.namespace.as_str();
    let ev = evidence(st.kb);
    let step = step_bucket(st.actions);
    let fault = diagnose::classify(st.kb);
    let mut out: Vec<Candidate> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let discovery: BTreeSet<String> = playbook::discovery(ns)
        .iter()
        .map(|w| w.call.to_string())
        .collect();
    let wanted: Vec<ToolCall> = playbook::wanted(st.kb, ns)
        .into_iter()
        .map(|w| w.call)
        .filter(|c| !st.issued.contains(&c.to_string()))
        .collect();
    let mut probes: Vec<(ToolCall, bool, bool)> = wanted
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), true, i == 0))
        .collect();
    // Generic templates over the services that show evidence.
    for svc in ev.keys() {
        if let Some(pod) = st.kb.pods_of(svc).next() {
            probes.push((
                ToolCall::exec_shell(format!("kubectl describe pod {} -n {ns}", pod.name)),
                false,
                false,
            ));
            probes.push((
                ToolCall::exec_shell(format!("kubectl logs {} -n {ns} --previous", pod.name)),
                false,
                false,
            ));
        }
        if st.kb.known_names().iter().any(|k| k == svc) {
            probes.push((ToolCall::get_logs(ns, svc), false, false));
            probes.push((
                ToolCall::exec_shell(format!("kubectl get svc {svc} -n {ns} -o yaml")),
                false,
                false,
            ));
        }
    }
    if !st.kb.writes.is_empty() {
        for cmd in [
            format!("kubectl get pods -n {ns}"),
            format!("kubectl get pods --namespace {ns}"),
        ] {
            probes.push((ToolCall::exec_shell(cmd), false, false));
        }
    }
    let wrote = !st.kb.writes.is_empty();
    for (call, suggested, first) in probes {
        let key = call.to_string();
        if st.issued.contains(&key) || !seen.insert(key.clone()) {
            continue;
        }
        let kind = probe_kind(&call);
        let mut f = vec![
            "probe".to_string(),
            format!("probe&step={step}"),
            format!("probe:kind={kind}"),
        ];
        if suggested {
            f.push("probe:suggested".into());
            f.push(format!("probe:suggested&step={step}"));
        }
        if first {
            f.push("probe:suggested_first".into());
        }
        if discovery.contains(&key) {
            f.push("probe:discovery".into());
        }
        if wrote {
            f.push("probe&after_write".into());
            f.push(format!("probe:kind={kind}&after_write"));
        }
        if let Some(target) = target_of(&call, st.kb) {
            match ev.get(&target) {
                Some(kinds) => {
                    f.push("probe:target_evidence".into());
                    for k in kinds {
                        f.push(format!("probe:kind={kind}&ev={k}"));
                    }
                }
                None => f.push("probe:target_clean".into()),
            }
            if fault.service().as_deref() == Some(target.as_str()) {
                f.push("probe:target_diagnosed".into());
            }
        }
        out.push(Candidate {
            command: call_text(&call),
            action: Action::Probe(call),
            features: f,
        });
    }
    if st.executor {
        out.extend(fix_candidates(st, &ev, &fault, step));
    }
    let mut f = vec!["submit".to_string(), format!("submit&step={step}")];
    f.push(format!("submit&type={}", st.task.task_type.as_str()));
    f.push(if fault.is_fault() {
        "submit&diagnosed".into()
    } else {
        "submit&undiagnosed".into()
    });
    f.push(if wanted.is_empty() {
        "submit&playbook_done".into()
    } else {
        "submit&playbook_left".into()
    });
    if ev.is_empty() {
        f.push("submit&no_evidence".into());
    }
    if st.task.task_type == TaskType::Mitigation {
        f.push(if wrote {
            "submit&wrote".into()
        } else {
            "submit&not_wrote".into()
        });
        let healthy = st.kb.pods.iter().all(|p| p.healthy());
        if wrote && healthy {
            f.push("submit&wrote_healthy".into());
        }
    }
    out.push(Candidate {
        action: Action::SubmitNow,
        features: f,
        command: String::new(),
    });
    out
}

/// Writes for a mitigation turn: the playbook fix plan for the current diagnosis, plus generic
/// restarts / pod deletions of services that show evidence.
fn fix_candidates(
    st: &State<'_>,
    ev: &BTreeMap<String, BTreeSet<&'static str>>,
    fault: &Fault,
    step: &str,
) -> Vec<Candidate> {
    let ns = st.task.namespace.as_str();
    let mut cmds: Vec<(String, Option<usize>)> = fix::plan(st.kb, ns, fault)
        .into_iter()
        .enumerate()
        .map(|(i, c)| (c, Some(i)))
        .collect();
    for (svc, _) in ev.iter().take(3) {
        if st.kb.deployments.contains_key(svc) {
            cmds.push((
                format!("kubectl rollout restart deployment/{svc} -n {ns}"),
                None,
            ));
            cmds.push((
                format!("kubectl rollout undo deployment/{svc} -n {ns}"),
                None,
            ));
        }
        if let Some(p) = st.kb.pods_of(svc).find(|p| !p.healthy()) {
            cmds.push((format!("kubectl delete pod {} -n {ns}", p.name), None));
        }
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut plan_rank = 0usize;
    for (cmd, in_plan) in cmds {
        let call = ToolCall::exec_shell(cmd.clone());
        if is_read_cmd(&cmd) || st.issued.contains(&call.to_string()) || !seen.insert(cmd.clone()) {
            continue;
        }
        let kind = fix_kind(&cmd);
        let mut f = vec![
            "fix".to_string(),
            format!("fix&step={step}"),
            format!("fix:kind={kind}"),
        ];
        if in_plan.is_some() {
            f.push("fix:plan".into());
            if plan_rank == 0 {
                f.push("fix:plan_next".into());
            }
            plan_rank += 1;
        }
        if !st.kb.writes.is_empty() {
            f.push("fix&after_write".into());
        }
        if let Some(target) = target_of(&call, st.kb)
            && let Some(kinds) = ev.get(&target)
        {
            f.push("fix:target_evidence".into());
            for k in kinds {
                f.push(format!("fix:kind={kind}&ev={k}"));
            }
        }
        out.push(Candidate {
            action: Action::Execute(call),
            features: f,
            command: cmd,
        });
    }
    out
}

/// The answers to choose from once the policy decided to submit.
pub fn answers(task: &TaskSpec, kb: &Findings) -> Vec<Candidate> {
    let ev = evidence(kb);
    let fault = diagnose::classify(kb);
    let kinds: BTreeSet<&'static str> = ev.values().flatten().copied().collect();
    // The command is the submission as lessons quote it (`submit(...)`).
    let answer = |submission: Submission, features: Vec<String>| Candidate {
        command: submission.to_call_string(),
        action: Action::Submit(submission),
        features,
    };
    match task.task_type {
        TaskType::Detection => {
            let mut yes = vec!["det:yes".to_string()];
            let mut no = vec!["det:no".to_string()];
            for k in &kinds {
                yes.push(format!("det:yes&ev={k}"));
            }
            if kinds.is_empty() {
                no.push("det:no&no_evidence".into());
            }
            if fault.is_fault() {
                yes.push("det:yes&diagnosed".into());
            } else {
                no.push("det:no&undiagnosed".into());
            }
            vec![
                answer(Submission::Detection { anomaly: true }, yes),
                answer(Submission::Detection { anomaly: false }, no),
            ]
        }
        TaskType::Localization => {
            let diagnosed = fault.service();
            let mut names: Vec<String> = ev.keys().cloned().collect();
            if let Some(d) = &diagnosed
                && !names.contains(d)
            {
                names.push(d.clone());
            }
            if names.is_empty() {
                names = kb.known_names();
            }
            let mut out: Vec<Candidate> = names
                .into_iter()
                .map(|svc| {
                    let mut f = vec!["loc".to_string()];
                    for k in ev.get(&svc).into_iter().flatten() {
                        f.push(format!("loc&ev={k}"));
                    }
                    if diagnosed.as_deref() == Some(svc.as_str()) {
                        f.push("loc&diagnosed".into());
                    }
                    if diagnose::is_entry(&svc) {
                        f.push("loc&entry".into());
                    }
                    answer(
                        Submission::Localization {
                            services: vec![svc],
                        },
                        f,
                    )
                })
                .collect();
            if out.is_empty() {
                out.push(answer(
                    Submission::Localization {
                        services: Vec::new(),
                    },
                    vec!["loc&empty".into()],
                ));
            }
            out
        }
        TaskType::Analysis => {
            let (dl, dt) = fault.analysis();
            let mut out = Vec::new();
            for level in SystemLevel::ALL {
                for ft in FaultType::ALL {
                    let mut f = vec![
                        format!("ana:level={}", level.as_str()),
                        format!("ana:type={}", ft.as_str()),
                    ];
                    if fault.is_fault() {
                        if level == dl {
                            f.push("ana&diag_level".into());
                        }
                        if ft == dt {
                            f.push("ana&diag_type".into());
                        }
                    }
                    for k in &kinds {
                        f.push(format!("ana:type={}&ev={k}", ft.as_str()));
                        f.push(format!("ana:level={}&ev={k}", level.as_str()));
                    }
                    out.push(answer(
                        Submission::Analysis {
                            system_level: level,
                            fault_type: ft,
                        },
                        f,
                    ));
                }
            }
            out
        }
        TaskType::Mitigation => vec![answer(Submission::Mitigation, vec!["mit:submit".into()])],
    }
}
