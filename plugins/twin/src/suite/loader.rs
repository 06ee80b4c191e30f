//! Reading suite files and checking every reference between them.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use aoi_core::TaskType;
use serde::de::DeserializeOwned;
use toml::Spanned;

use super::schema::{
    AppSpec, Effect, FaultSpec, ProblemSpec, ProblemsFile, ServiceSpec, SuiteFile,
};
use super::{Problem, Suite, SuiteError};

// Defines `BUILTIN_SUITES: &[(&str, &[(&str, &str)])]`: suite name, then (relative path, content).
include!(concat!(env!("OUT_DIR"), "/builtin_suites.rs"));

pub(super) fn builtin_files(name: &str) -> Option<Vec<(String, String)>> {
    BUILTIN_SUITES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, files)| {
            files
                .iter()
                .map(|(p, c)| ((*p).to_string(), (*c).to_string()))
                .collect()
        })
}

pub(super) fn builtin_names() -> Vec<&'static str> {
    BUILTIN_SUITES.iter().map(|(n, _)| *n).collect()
}

/// Every `.toml` file under `dir` (hidden entries skipped), paths relative with `/`.
pub(super) fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, SuiteError> {
    let shown = dir.display().to_string();
    if !dir.exists() {
        return Err(SuiteError::whole(shown, "no such suite directory"));
    }
    if !dir.is_dir() {
        return Err(SuiteError::whole(shown, "not a directory"));
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, String)>) -> Result<(), SuiteError> {
    let io_err =
        |p: &Path, e: std::io::Error| SuiteError::whole(p.display().to_string(), e.to_string());
    let entries = std::fs::read_dir(dir).map_err(|e| io_err(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if path.is_dir() {
            walk(&path, &child, out)?;
        } else if name.ends_with(".toml") {
            let text = std::fs::read_to_string(&path).map_err(|e| io_err(&path, e))?;
            out.push((child, text));
        }
    }
    Ok(())
}

/// One source file: its name in errors and its text.
struct Src<'a> {
    file: String,
    rel: &'a str,
    text: &'a str,
}

impl Src<'_> {
    fn err(&self, span: Option<Range<usize>>, message: impl Into<String>) -> SuiteError {
        let (line, column) = match span {
            Some(span) => {
                let (l, c) = position(self.text, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        SuiteError {
            file: self.file.clone(),
            line,
            column,
            message: message.into(),
        }
    }

    fn at<T>(&self, spanned: &Spanned<T>, message: impl Into<String>) -> SuiteError {
        self.err(Some(spanned.span()), message)
    }

    fn parse<T: DeserializeOwned>(&self) -> Result<T, SuiteError> {
        toml::from_str(self.text).map_err(|e| {
            let message = e.message().trim().to_string();
            let span = e.span().map(|span| self.refine(span, &message));
            self.err(span, message)
        })
    }

    /// Errors inside tagged tables (effects) span the whole table: point at the unknown key.
    fn refine(&self, span: Range<usize>, message: &str) -> Range<usize> {
        let key = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(key, _)| key);
        let (Some(key), Some(rest)) = (key, self.text.get(span.start..)) else {
            return span;
        };
        let mut offset = span.start;
        for (i, line) in rest.split_inclusive('\n').enumerate() {
            let trimmed = line.trim_start();
            if i > 0 && trimmed.starts_with('[') {
                break;
            }
            if let Some(rest) = trimmed.strip_prefix(key)
                && rest.trim_start().starts_with('=')
            {
                let start = offset + (line.len() - trimmed.len());
                return start..start + key.len();
            }
            offset += line.len();
        }
        span
    }

    /// The span of a line `key = "value"` (for fields the schema does not span).
    fn find(&self, key: &str, value: &str) -> Option<Range<usize>> {
        let mut offset = 0;
        for line in self.text.split_inclusive('\n') {
            let trimmed = line.trim_start();
            if let Some(rest) = trimmed.strip_prefix(key) {
                let rest = rest.trim_start();
                if let Some(v) = rest.strip_prefix('=') {
                    let v = v.trim();
                    if v.trim_matches(|c| c == '"' || c == '\'') == value {
                        let start = offset + (line.len() - trimmed.len());
                        return Some(start..start + trimmed.len());
                    }
                }
            }
            offset += line.len();
        }
        None
    }

    /// `file:line` of a span, for messages that point into another file.
    fn where_is(&self, span: Range<usize>) -> String {
        format!("{}:{}", self.rel, position(self.text, span.start).0)
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

fn display_name(origin: &str, rel: &str) -> String {
    if origin.is_empty() {
        rel.to_string()
    } else {
        format!("{}/{rel}", origin.trim_end_matches('/'))
    }
}

/// A parsed app with its source and lookups.
struct LoadedApp<'a> {
    spec: AppSpec,
    src: Src<'a>,
}

impl LoadedApp<'_> {
    fn service(&self, name: &str) -> Option<&ServiceSpec> {
        self.spec.services.iter().find(|s| s.name.get_ref() == name)
    }
}

struct LoadedFault<'a> {
    spec: FaultSpec,
    src: Src<'a>,
}

pub(super) fn build(files: &[(String, String)], origin: &str) -> Result<Suite, SuiteError> {
    let mut sorted: Vec<&(String, String)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));

    let mut suite_src = None;
    let (mut app_srcs, mut fault_srcs, mut problem_srcs) = (Vec::new(), Vec::new(), Vec::new());
    for (path, text) in sorted {
        let rel = path.as_str();
        let src = Src {
            file: display_name(origin, rel),
            rel,
            text: text.as_str(),
        };
        let (dir, file) = rel.rsplit_once('/').unwrap_or(("", rel));
        if !file.ends_with(".toml") {
            continue;
        }
        match dir {
            "" if file == "suite.toml" => suite_src = Some(src),
            "apps" => app_srcs.push(src),
            "faults" => fault_srcs.push(src),
            "problems" => problem_srcs.push(src),
            _ => {
                return Err(src.err(
                    None,
                    "unexpected file: a suite holds suite.toml, apps/*.toml, faults/*.toml and problems/*.toml",
                ));
            }
        }
    }
    let suite_src = suite_src.ok_or_else(|| {
        SuiteError::whole(
            display_name(origin, "suite.toml"),
            "missing: every suite needs a suite.toml",
        )
    })?;

    let suite_file: SuiteFile = suite_src.parse()?;
    check_nodes(&suite_file, &suite_src)?;

    let mut apps: BTreeMap<String, LoadedApp> = BTreeMap::new();
    for src in app_srcs {
        let spec: AppSpec = src.parse()?;
        check_app(&spec, &src)?;
        if let Some(prev) = apps.get(&spec.name) {
            return Err(src.err(
                src.find("name", &spec.name),
                format!(
                    "duplicate app `{}` (also defined in {})",
                    spec.name, prev.src.rel
                ),
            ));
        }
        apps.insert(spec.name.clone(), LoadedApp { spec, src });
    }

    let mut faults: BTreeMap<String, LoadedFault> = BTreeMap::new();
    for src in fault_srcs {
        let spec: FaultSpec = src.parse()?;
        check_fault(&spec, &src)?;
        if let Some(prev) = faults.get(&spec.name) {
            return Err(src.err(
                src.find("name", &spec.name),
                format!(
                    "duplicate fault `{}` (also defined in {})",
                    spec.name, prev.src.rel
                ),
            ));
        }
        faults.insert(spec.name.clone(), LoadedFault { spec, src });
    }

    let mut problems = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for src in problem_srcs {
        let file: ProblemsFile = src.parse()?;
        for spec in &file.problems {
            let id = spec.id.get_ref();
            if let Some(prev) = seen.get(id) {
                return Err(src.at(
                    &spec.id,
                    format!("duplicate problem id `{id}` (also in {prev})"),
                ));
            }
            seen.insert(id.clone(), src.where_is(spec.id.span()));
            problems.push(check_problem(spec, &src, &apps, &faults)?);
        }
    }

    Ok(Suite {
        name: suite_file.name,
        description: suite_file.description,
        nodes: suite_file.nodes,
        apps: apps
            .into_iter()
            .map(|(k, v)| (k, Arc::new(v.spec)))
            .collect(),
        faults: faults
            .into_iter()
            .map(|(k, v)| (k, Arc::new(v.spec)))
            .collect(),
        problems,
    })
}

fn check_nodes(suite: &SuiteFile, src: &Src) -> Result<(), SuiteError> {
    if suite.nodes.is_empty() {
        return Err(src.err(None, "the suite lists no nodes (`[[nodes]]`)"));
    }
    let mut names = BTreeSet::new();
    for node in &suite.nodes {
        if !names.insert(node.name.as_str()) {
            return Err(src.err(
                src.find("name", &node.name),
                format!("duplicate node `{}`", node.name),
            ));
        }
    }
    Ok(())
}

fn check_app(app: &AppSpec, src: &Src) -> Result<(), SuiteError> {
    let mut services = BTreeSet::new();
    for s in &app.services {
        if !services.insert(s.name.get_ref().as_str()) {
            return Err(src.at(
                &s.name,
                format!(
                    "duplicate service `{}` in app `{}`",
                    s.name.get_ref(),
                    app.name
                ),
            ));
        }
    }
    let mut config_maps = BTreeSet::new();
    for cm in &app.config_maps {
        if !config_maps.insert(cm.name.as_str()) {
            return Err(src.err(
                src.find("name", &cm.name),
                format!("duplicate config map `{}`", cm.name),
            ));
        }
    }
    // The flag config map exists even when `config_maps` does not list it (deploy creates it).
    if let Some(cm) = &app.flag_config_map {
        config_maps.insert(cm.as_str());
    }
    let missing = |name: &Spanned<String>, what: &str| {
        src.at(
            name,
            format!(
                "{what} `{}`, which is not a service of app `{}`",
                name.get_ref(),
                app.name
            ),
        )
    };
    if !services.contains(app.entry.get_ref().as_str()) {
        return Err(missing(&app.entry, "the entry names service"));
    }
    for s in &app.services {
        let me = s.name.get_ref();
        for call in &s.calls {
            if !services.contains(call.get_ref().as_str()) {
                return Err(missing(call, &format!("service `{me}` calls")));
            }
        }
        for dep in &s.hard_dependencies {
            if !services.contains(dep.get_ref().as_str()) {
                return Err(missing(dep, &format!("service `{me}` has hard dependency")));
            }
            if !s.calls.iter().any(|c| c.get_ref() == dep.get_ref()) {
                return Err(src.at(
                    dep,
                    format!(
                        "service `{me}` has hard dependency `{}`, which is not among its calls",
                        dep.get_ref()
                    ),
                ));
            }
        }
        for cm in &s.config_maps {
            if !config_maps.contains(cm.get_ref().as_str()) {
                return Err(src.at(
                    cm,
                    format!(
                        "service `{me}` mounts config map `{}`, which app `{}` does not define",
                        cm.get_ref(),
                        app.name
                    ),
                ));
            }
        }
        if let Some(db) = &s.database {
            let mut users = BTreeSet::new();
            for u in &db.users {
                if !users.insert(u.user.as_str()) {
                    return Err(src.err(
                        src.find("user", &u.user),
                        format!("duplicate database user `{}` on `{me}`", u.user),
                    ));
                }
            }
        }
    }
    let mut flags = BTreeSet::new();
    for flag in &app.flags {
        if !flags.insert(flag.name.as_str()) {
            return Err(src.err(
                src.find("name", &flag.name),
                format!("duplicate flag `{}`", flag.name),
            ));
        }
        if !services.contains(flag.service.get_ref().as_str()) {
            return Err(missing(
                &flag.service,
                &format!("flag `{}` acts on", flag.name),
            ));
        }
        for effect in &flag.effects {
            check_effect(effect)
                .map_err(|m| src.at(&flag.service, format!("flag `{}`: {m}", flag.name)))?;
            if let Effect::DependencyUnreachable { service } = effect
                && !services.contains(service.as_str())
            {
                return Err(src.at(
                    &flag.service,
                    format!(
                        "flag `{}` makes `{service}` unreachable, which is not a service of app `{}`",
                        flag.name, app.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// App-independent sanity of one effect.
fn check_effect(effect: &Effect) -> Result<(), String> {
    let rate_ok = |r: f64| (0.0..=1.0).contains(&r);
    match effect {
        Effect::ProbeMisconfig { probe, .. } if probe != "liveness" && probe != "readiness" => Err(
            format!("probe_misconfig: `probe` must be `liveness` or `readiness`, not `{probe}`"),
        ),
        Effect::NetworkLoss { percent } if !(0.0..=100.0).contains(percent) => Err(format!(
            "network_loss: `percent` must lie in 0..=100, not {percent}"
        )),
        Effect::RequestErrors { rate, .. } | Effect::RequestLatency { rate, .. }
            if !rate_ok(*rate) =>
        {
            Err(format!("`rate` must lie in 0..=1, not {rate}"))
        }
        Effect::LogLines { lines, .. } if lines.is_empty() => {
            Err("log_lines: `lines` is empty".to_string())
        }
        Effect::Command { command } if command.is_empty() => {
            Err("command: `command` is empty".to_string())
        }
        _ => Ok(()),
    }
}

fn check_fault(fault: &FaultSpec, src: &Src) -> Result<(), SuiteError> {
    if fault.effects.is_empty() {
        return Err(src.err(
            src.find("name", &fault.name),
            format!("fault `{}` has no effects", fault.name),
        ));
    }
    for effect in &fault.effects {
        check_effect(effect.get_ref()).map_err(|m| src.at(effect, m))?;
    }
    Ok(())
}

fn check_problem(
    spec: &ProblemSpec,
    src: &Src,
    apps: &BTreeMap<String, LoadedApp>,
    faults: &BTreeMap<String, LoadedFault>,
) -> Result<Problem, SuiteError> {
    let id = spec.id.get_ref();
    let app_name = spec.app.get_ref();
    let app = apps.get(app_name).ok_or_else(|| {
        src.at(
            &spec.app,
            format!("problem `{id}` names app `{app_name}`, which the suite does not define"),
        )
    })?;
    let fault = match &spec.fault {
        Some(f) => Some(faults.get(f.get_ref()).ok_or_else(|| {
            src.at(
                f,
                format!(
                    "problem `{id}` names fault `{}`, which the suite does not define",
                    f.get_ref()
                ),
            )
        })?),
        None => None,
    };
    let mut targets = Vec::new();
    for t in &spec.targets {
        if app.service(t.get_ref()).is_none() {
            return Err(src.at(
                t,
                format!(
                    "fault on a missing target: `{}` is not a service of app `{app_name}`",
                    t.get_ref()
                ),
            ));
        }
        targets.push(t.get_ref().clone());
    }
    match (&spec.fault, fault) {
        (Some(f), Some(fault)) => {
            if targets.is_empty() {
                return Err(src.at(
                    f,
                    format!(
                        "problem `{id}` injects fault `{}` but names no targets",
                        fault.spec.name
                    ),
                ));
            }
            check_fault_fits(spec, f, fault, app, src)?;
        }
        _ => {
            if let Some(t) = spec.targets.first() {
                return Err(src.at(
                    t,
                    format!("problem `{id}` names targets but injects no fault"),
                ));
            }
            if spec.task_type == TaskType::Mitigation {
                return Err(src.at(
                    &spec.id,
                    format!("mitigation problem `{id}` injects no fault"),
                ));
            }
        }
    }
    let analysis = spec
        .analysis
        .or_else(|| fault.and_then(|f| f.spec.analysis));
    if spec.task_type == TaskType::Analysis && analysis.is_none() {
        let why = match fault {
            Some(f) => format!("fault `{}` has no analysis answer", f.spec.name),
            None => "it injects no fault".to_string(),
        };
        return Err(src.at(
            &spec.id,
            format!(
                "analysis problem `{id}` has no answer: {why} and the problem sets no `analysis`"
            ),
        ));
    }
    let expected_services = match &spec.expected_services {
        Some(list) => {
            for s in list {
                if app.service(s).is_none() {
                    return Err(src.at(
                        &spec.id,
                        format!("problem `{id}` expects service `{s}`, which is not a service of app `{app_name}`"),
                    ));
                }
            }
            list.clone()
        }
        None => targets.clone(),
    };
    Ok(Problem {
        id: id.clone(),
        app: app_name.clone(),
        task_type: spec.task_type,
        fault: spec.fault.as_ref().map(|f| f.get_ref().clone()),
        targets,
        expected_services,
        analysis,
        detect_after_s: spec.detect_after_s,
    })
}

/// The fault's effects make sense on this app and these targets.
fn check_fault_fits(
    spec: &ProblemSpec,
    fault_ref: &Spanned<String>,
    fault: &LoadedFault,
    app: &LoadedApp,
    src: &Src,
) -> Result<(), SuiteError> {
    let app_name = &app.spec.name;
    let fname = &fault.spec.name;
    for effect in &fault.spec.effects {
        let at = fault.src.where_is(effect.span());
        match effect.get_ref() {
            Effect::FeatureFlag { flag } if !app.spec.flags.iter().any(|f| &f.name == flag) => {
                return Err(src.at(
                    fault_ref,
                    format!("fault `{fname}` switches flag `{flag}` ({at}), which app `{app_name}` does not define"),
                ));
            }
            Effect::ConfigMapSet { config_map, .. }
                if !app.spec.config_maps.iter().any(|c| &c.name == config_map)
                    && app.spec.flag_config_map.as_ref() != Some(config_map) =>
            {
                return Err(src.at(
                    fault_ref,
                    format!("fault `{fname}` sets config map `{config_map}` ({at}), which app `{app_name}` does not have"),
                ));
            }
            Effect::DependencyUnreachable { service } if app.service(service).is_none() => {
                return Err(src.at(
                    fault_ref,
                    format!("fault `{fname}` makes `{service}` unreachable ({at}), which is not a service of app `{app_name}`"),
                ));
            }
            _ => {}
        }
        for t in &spec.targets {
            let Some(target) = app.service(t.get_ref()) else {
                continue;
            };
            check_effect_on_target(effect.get_ref(), target).map_err(|m| {
                src.at(
                    t,
                    format!("fault `{fname}` ({at}) on target `{}`: {m}", t.get_ref()),
                )
            })?;
        }
    }
    Ok(())
}

fn check_effect_on_target(effect: &Effect, target: &ServiceSpec) -> Result<(), String> {
    let db = || {
        target
            .database
            .as_ref()
            .ok_or_else(|| "the target hosts no database".to_string())
    };
    match effect {
        Effect::DbRequireTls => db().map(|_| ()),
        Effect::DbUserDrop { user } => {
            let db = db()?;
            if db.users.iter().any(|u| &u.user == user) {
                Ok(())
            } else {
                Err(format!("database `{}` has no user `{user}`", db.name))
            }
        }
        Effect::DbRoleRevoke { user, role } => {
            let db = db()?;
            match db.users.iter().find(|u| &u.user == user) {
                None => Err(format!("database `{}` has no user `{user}`", db.name)),
                Some(u) if !u.roles.contains(role) => {
                    Err(format!("user `{user}` does not hold role `{role}`"))
                }
                Some(_) => Ok(()),
            }
        }
        Effect::ProbeMisconfig { probe, .. } => {
            let has = if probe == "liveness" {
                target.liveness.is_some()
            } else {
                target.readiness.is_some()
            };
            if has {
                Ok(())
            } else {
                Err(format!("the target has no {probe} probe"))
            }
        }
        Effect::RedeployWithoutPv if target.volume.is_none() => {
            Err("the target mounts no volume".to_string())
        }
        _ => Ok(()),
    }
}
