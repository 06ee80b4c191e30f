//! A small in-memory suite and helpers to edit it and check refusals.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use aoi_twin::suite::{Suite, SuiteError};

pub const SUITE: &str = r#"name = "mini"

[[nodes]]
name = "n1"
internal_ip = "10.0.0.1"
cpu_millis = 4000
memory_mib = 8000
pod_cidr = "10.244.0"
"#;

pub const APP: &str = r#"name = "shop"
display_name = "Shop"
namespace = "shop"
description = "A small shop."
entry = "web"
selector_label = "app"

[[services]]
name = "web"
runtime = "go-zerolog-http"
image = "web:1"
container = "web"
port = 80
calls = ["api"]

[[services]]
name = "api"
runtime = "go-zerolog"
image = "api:1"
container = "api"
port = 8080
calls = ["db"]
hard_dependencies = ["db"]
config_maps = ["api-config"]

[[services]]
name = "db"
runtime = "mongodb"
image = "mongo:4.4.6"
container = "db"
port = 27017
database = { name = "app-db", users = [{ user = "admin", password = "admin", roles = ["readWrite@app-db"] }] }

[[config_maps]]
name = "api-config"
data = { "config.json" = "{}" }

[[flags]]
name = "apiFailure"
service = "api"
effects = [{ kind = "request_errors", rate = 0.5, error = "boom" }]
"#;

pub const FAULT_DOWN: &str = r#"name = "down"
analysis = { system_level = "Virtualization", fault_type = "Operation Error" }
mitigation = ["replicas_restored", "all_pods_healthy"]

[[effects]]
kind = "scale"
replicas = 0
"#;

pub const FAULT_NOANSWER: &str = r#"name = "blip"

[[effects]]
kind = "container_kill"
"#;

pub const PROBLEMS: &str = r#"[[problem]]
id = "down-detection-1"
app = "shop"
task_type = "detection"
fault = "down"
targets = ["api"]

[[problem]]
id = "down-analysis-1"
app = "shop"
task_type = "analysis"
fault = "down"
targets = ["api"]

[[problem]]
id = "noop-1"
app = "shop"
task_type = "detection"
"#;

pub fn files() -> Vec<(String, String)> {
    vec![
        ("suite.toml".into(), SUITE.into()),
        ("apps/shop.toml".into(), APP.into()),
        ("faults/down.toml".into(), FAULT_DOWN.into()),
        ("faults/blip.toml".into(), FAULT_NOANSWER.into()),
        ("problems/p.toml".into(), PROBLEMS.into()),
    ]
}

/// The files with `path` replaced by `content`.
pub fn with(path: &str, content: &str) -> Vec<(String, String)> {
    let mut f: Vec<_> = files().into_iter().filter(|(p, _)| p != path).collect();
    f.push((path.into(), content.into()));
    f
}

/// The files with `path`'s text edited: `from` replaced by `to` (which must occur).
pub fn edit(path: &str, from: &str, to: &str) -> (Vec<(String, String)>, String) {
    let base = files()
        .into_iter()
        .find(|(p, _)| p == path)
        .map(|(_, c)| c)
        .unwrap_or_default();
    assert!(base.contains(from), "{from:?} not in {path}");
    let text = base.replacen(from, to, 1);
    (with(path, &text), text)
}

/// 1-based line of the first line containing `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .expect("needle")
}

pub fn refuse(files: &[(String, String)]) -> SuiteError {
    match Suite::from_files(files, "mem") {
        Ok(_) => panic!("the suite loaded but should have been refused"),
        Err(e) => {
            eprintln!("refused: {e}");
            e
        }
    }
}

/// Asserts file, line and a message fragment.
pub fn assert_refusal(err: &SuiteError, file: &str, line: usize, fragment: &str) {
    assert_eq!(err.file, format!("mem/{file}"), "{err}");
    assert_eq!(err.line, Some(line), "{err}");
    assert!(
        err.message.contains(fragment),
        "message {:?} lacks {fragment:?}",
        err.message
    );
    assert!(err.column.is_some(), "{err}");
}

/// The suite plus a fault file `faults/x.toml` and a problem using it on `target`.
pub fn with_fault(effect: &str, target: &str) -> (Vec<(String, String)>, String) {
    let fault = format!("name = \"x\"\n\n[[effects]]\n{effect}\n");
    let problems = format!(
        "{PROBLEMS}\n[[problem]]\nid = \"x-detection-1\"\napp = \"shop\"\ntask_type = \"detection\"\nfault = \"x\"\ntargets = [\"{target}\"]\n"
    );
    let mut f = with("problems/p.toml", &problems);
    f.push(("faults/x.toml".into(), fault));
    (f, problems)
}
