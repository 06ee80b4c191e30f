//! The suite loader: the shipped `aiopslab` suite, and every refusal on a small in-memory suite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use aoi_core::{FaultType, SystemLevel, TaskType};
use aoi_twin::suite::{Suite, SuiteError};

mod suite_fixture;
use suite_fixture::*;

/// AIOpsLab's registry minus the two Docker-only Flower problems and one added later.
const REFERENCE_IDS: &str = include_str!("suite_fixture/aiopslab-86-problem-ids.txt");

// ---------------------------------------------------------------------------------------------
// The shipped suite

fn aiopslab() -> Suite {
    match Suite::builtin("aiopslab") {
        Some(Ok(s)) => s,
        Some(Err(e)) => panic!("the shipped suite does not load: {e}"),
        None => panic!("no builtin suite `aiopslab`"),
    }
}

#[test]
fn shipped_suite_has_exactly_the_86_reference_ids() {
    let suite = aiopslab();
    assert_eq!(suite.name, "aiopslab");
    let want: BTreeSet<&str> = REFERENCE_IDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(want.len(), 86);
    let got: BTreeSet<&str> = suite.problems.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(suite.problems.len(), 86, "no duplicates");
    assert_eq!(got, want);
}

#[test]
fn shipped_suite_counts_by_task_type() {
    let suite = aiopslab();
    let mut counts: BTreeMap<TaskType, usize> = BTreeMap::new();
    for p in &suite.problems {
        *counts.entry(p.task_type).or_default() += 1;
    }
    assert_eq!(counts.get(&TaskType::Detection), Some(&32));
    assert_eq!(counts.get(&TaskType::Localization), Some(&28));
    assert_eq!(counts.get(&TaskType::Analysis), Some(&13));
    assert_eq!(counts.get(&TaskType::Mitigation), Some(&13));
}

#[test]
fn shipped_suite_task_type_matches_id_and_apps_have_their_services() {
    let suite = aiopslab();
    for p in &suite.problems {
        assert!(
            p.id.contains(p.task_type.as_str()),
            "{} is not a {}",
            p.id,
            p.task_type
        );
        let app = suite.app(&p.app).unwrap();
        for t in &p.targets {
            assert!(app.services.iter().any(|s| s.name.get_ref() == t));
        }
        if p.id.starts_with("noop") {
            assert!(p.fault.is_none() && p.targets.is_empty() && p.expected_services.is_empty());
        } else {
            assert!(p.fault.is_some() && !p.targets.is_empty(), "{}", p.id);
        }
    }
    let count = |app: &str| suite.app(app).unwrap().services.len();
    assert_eq!(count("hotel-reservation"), 19);
    assert_eq!(count("social-network"), 27);
    assert!(count("astronomy-shop") >= 18);
    assert_eq!(
        suite.app("hotel-reservation").unwrap().namespace,
        "test-hotel-reservation"
    );
    assert_eq!(
        suite.app("social-network").unwrap().namespace,
        "test-social-network"
    );
    assert_eq!(suite.app("astronomy-shop").unwrap().flags.len(), 11);
    assert_eq!(suite.nodes.len(), 2);
}

#[test]
fn shipped_suite_answers_match_the_reference_table() {
    let suite = aiopslab();
    let p = suite
        .problem("k8s_target_port-misconfig-localization-2")
        .unwrap();
    assert_eq!(p.expected_services, vec!["text-service"]);
    let p = suite.problem("revoke_auth_mongodb-analysis-2").unwrap();
    assert_eq!(p.targets, vec!["mongodb-rate"]);
    let a = p.analysis.unwrap();
    assert_eq!(
        (a.system_level, a.fault_type),
        (SystemLevel::Application, FaultType::AuthenticationIssue)
    );
    let p = suite
        .problem("astronomy_shop_payment_service_unreachable-localization-1")
        .unwrap();
    assert_eq!(p.expected_services, vec!["checkout"]);
    let p = suite
        .problem("assign_to_non_existent_node_social_net-analysis-1")
        .unwrap();
    let a = p.analysis.unwrap();
    assert_eq!(
        (a.system_level, a.fault_type),
        (SystemLevel::Virtualization, FaultType::DependencyProblem)
    );
    let p = suite.problem("wrong_bin_usage-mitigation-1").unwrap();
    assert_eq!(p.targets, vec!["profile"]);
    assert!(!suite.fault_of(p).unwrap().mitigation.is_empty());
    assert!(suite.problem("no-such-problem").is_none());
}

#[test]
fn shipped_suite_loads_from_its_directory_and_by_resolve() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/aiopslab");
    let from_dir = Suite::load(&dir).unwrap();
    assert_eq!(from_dir.problems, aiopslab().problems);
    let resolved = Suite::resolve("aiopslab").unwrap();
    assert_eq!(resolved.problems.len(), 86);
    let by_path = Suite::resolve(dir.to_str().unwrap()).unwrap();
    assert_eq!(by_path.problems.len(), 86);
    assert!(Suite::builtin("nope").is_none());
    assert!(Suite::builtin_names().contains(&"aiopslab"));
}

#[test]
fn resolve_names_a_missing_path() {
    let err = Suite::resolve("/no/such/suite-dir").unwrap_err();
    assert_eq!(err.file, "/no/such/suite-dir");
    assert!(err.message.contains("no such suite"), "{err}");
    let err = Suite::load(Path::new("/no/such/suite-dir")).unwrap_err();
    assert!(err.message.contains("no such suite directory"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// A small in-memory suite and its refusals

#[test]
fn mini_suite_loads_and_resolves_answers() {
    let suite = Suite::from_files(&files(), "mem").unwrap();
    assert_eq!(suite.name, "mini");
    assert_eq!(
        suite.ids(),
        vec!["down-detection-1", "down-analysis-1", "noop-1"]
    );
    let p = suite.problem("down-analysis-1").unwrap();
    assert_eq!(p.expected_services, vec!["api"]);
    assert_eq!(p.analysis.unwrap().fault_type, FaultType::OperationError);
    assert_eq!(suite.problem("noop-1").unwrap().fault, None);
    assert_eq!(suite.faults.len(), 2);
}

#[test]
fn problems_keep_file_order_with_files_sorted_by_name() {
    let extra = "[[problem]]\nid = \"a-first\"\napp = \"shop\"\ntask_type = \"detection\"\n";
    let mut f = files();
    f.push(("problems/0-early.toml".into(), extra.into()));
    let suite = Suite::from_files(&f, "mem").unwrap();
    assert_eq!(suite.ids()[0], "a-first");
    assert_eq!(suite.ids()[1], "down-detection-1");
}

#[test]
fn loads_a_directory_like_from_files() {
    let dir = std::env::temp_dir().join(format!("aoi-suite-test-{}", std::process::id()));
    for (path, text) in files() {
        let p = dir.join(&path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    std::fs::write(dir.join("README.md"), "ignored").unwrap();
    let suite = Suite::load(&dir).unwrap();
    assert_eq!(
        suite.ids(),
        vec!["down-detection-1", "down-analysis-1", "noop-1"]
    );
    std::fs::write(
        dir.join("apps/shop.toml"),
        APP.replace("port = 8080", "port = \"x\""),
    )
    .unwrap();
    let err = Suite::load(&dir).unwrap_err();
    assert_eq!(err.file, format!("{}/apps/shop.toml", dir.display()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn error_display_is_file_line_column_message() {
    let err = SuiteError {
        file: "a.toml".into(),
        line: Some(3),
        column: Some(7),
        message: "bad".into(),
    };
    assert_eq!(err.to_string(), "a.toml:3:7: bad");
    let err = SuiteError::whole("a.toml", "bad");
    assert_eq!(err.to_string(), "a.toml: bad");
}

#[test]
fn refuses_toml_syntax_errors() {
    let (f, _) = edit("apps/shop.toml", "port = 8080", "port = 8080 8081");
    let err = refuse(&f);
    assert_refusal(&err, "apps/shop.toml", line_of(APP, "port = 8080"), "");
    let (f, _) = edit("problems/p.toml", "id = \"noop-1\"", "id = \"noop-1");
    assert_refusal(
        &refuse(&f),
        "problems/p.toml",
        line_of(PROBLEMS, "noop-1"),
        "",
    );
}

#[test]
fn refuses_unknown_fields() {
    let (f, text) = edit(
        "apps/shop.toml",
        "port = 8080\n",
        "port = 8080\ncolour = \"red\"\n",
    );
    assert_refusal(
        &refuse(&f),
        "apps/shop.toml",
        line_of(&text, "colour"),
        "unknown field `colour`",
    );
    let (f, text) = edit("suite.toml", "pod_cidr", "zone = \"a\"\npod_cidr");
    assert_refusal(
        &refuse(&f),
        "suite.toml",
        line_of(&text, "zone"),
        "unknown field `zone`",
    );
    let (f, text) = edit(
        "problems/p.toml",
        "task_type = \"analysis\"",
        "task_type = \"analysis\"\nweight = 2",
    );
    assert_refusal(
        &refuse(&f),
        "problems/p.toml",
        line_of(&text, "weight"),
        "unknown field `weight`",
    );
}

#[test]
fn refuses_unknown_effect_kinds_and_fields() {
    let (f, text) = edit(
        "faults/down.toml",
        "replicas = 0",
        "replicas = 0\nforce = true",
    );
    assert_refusal(
        &refuse(&f),
        "faults/down.toml",
        line_of(&text, "force"),
        "unknown field `force`, expected `replicas`",
    );
    let (f, text) = edit(
        "faults/down.toml",
        "kind = \"scale\"",
        "kind = \"scale_up\"",
    );
    let err = refuse(&f);
    assert!(err.line.unwrap() >= line_of(&text, "[[effects]]"), "{err}");
    assert!(err.message.contains("scale_up"), "{err}");
}

#[test]
fn refuses_wrong_types() {
    let (f, _) = edit("apps/shop.toml", "port = 8080", "port = \"eighty\"");
    assert_refusal(
        &refuse(&f),
        "apps/shop.toml",
        line_of(APP, "port = 8080"),
        "invalid type",
    );
    let (f, _) = edit(
        "problems/p.toml",
        "task_type = \"analysis\"",
        "task_type = \"triage\"",
    );
    assert_refusal(
        &refuse(&f),
        "problems/p.toml",
        line_of(PROBLEMS, "task_type = \"analysis\""),
        "triage",
    );
}

#[test]
fn refuses_duplicate_apps() {
    let mut f = files();
    f.push(("apps/shop2.toml".into(), APP.into()));
    assert_refusal(&refuse(&f), "apps/shop2.toml", 1, "duplicate app `shop`");
}

#[test]
fn refuses_duplicate_services() {
    let (f, text) = edit("apps/shop.toml", "name = \"db\"", "name = \"web\"");
    let line = text
        .lines()
        .collect::<Vec<_>>()
        .iter()
        .rposition(|l| l.contains("name = \"web\""))
        .unwrap()
        + 1;
    assert_refusal(
        &refuse(&f),
        "apps/shop.toml",
        line,
        "duplicate service `web` in app `shop`",
    );
}

#[test]
fn refuses_duplicate_faults() {
    let f = with(
        "faults/blip.toml",
        &FAULT_NOANSWER.replace("\"blip\"", "\"down\""),
    );
    assert_refusal(
        &refuse(&f),
        "faults/down.toml",
        1,
        "duplicate fault `down` (also defined in faults/blip.toml)",
    );
}

#[test]
fn refuses_duplicate_problem_ids() {
    let (f, text) = edit(
        "problems/p.toml",
        "id = \"noop-1\"",
        "id = \"down-detection-1\"",
    );
    let line = text
        .lines()
        .collect::<Vec<_>>()
        .iter()
        .rposition(|l| l.contains("down-detection-1"))
        .unwrap()
        + 1;
    assert_refusal(
        &refuse(&f),
        "problems/p.toml",
        line,
        "duplicate problem id `down-detection-1` (also in problems/p.toml:2)",
    );
}

#[test]
fn refuses_calls_to_missing_services() {
    let (f, text) = edit(
        "apps/shop.toml",
        "calls = [\"api\"]",
        "calls = [\"api\", \"cache\"]",
    );
    assert_refusal(
        &refuse(&f),
        "apps/shop.toml",
        line_of(&text, "\"cache\""),
        "service `web` calls `cache`, which is not a service of app `shop`",
    );
}

#[test]
fn refuses_hard_dependencies_missing_or_not_called() {
    let (f, text) = edit(
        "apps/shop.toml",
        "hard_dependencies = [\"db\"]",
        "hard_dependencies = [\"db\", \"ghost\"]",
    );
    assert_refusal(
        &refuse(&f),
        "apps/shop.toml",
        line_of(&text, "ghost"),
        "hard dependency `ghost`, which is not a service",
    );
    let (f, text) = edit(
        "apps/shop.toml",
        "hard_dependencies = [\"db\"]",
        "hard_dependencies = [\"web\"]",
    );
    assert_refusal(
        &refuse(&f),
        "apps/shop.toml",
        line_of(&text, "hard_dependencies"),
        "service `api` has hard dependency `web`, which is not among its calls",
    );
}

#[test]
fn refuses_missing_config_maps_entry_and_flag_service() {
    let (f, text) = edit(
        "apps/shop.toml",
        "config_maps = [\"api-config\"]",
        "config_maps = [\"api-cfg\"]",
    );
    assert_refusal(
        &refuse(&f),
        "apps/shop.toml",
        line_of(&text, "api-cfg"),
        "mounts config map `api-cfg`, which app `shop` does not define",
    );
    let (f, _) = edit("apps/shop.toml", "entry = \"web\"", "entry = \"www\"");
    assert_refusal(
        &refuse(&f),
        "apps/shop.toml",
        5,
        "the entry names service `www`, which is not a service of app `shop`",
    );
    let (f, text) = edit(
        "apps/shop.toml",
        "service = \"api\"",
        "service = \"payments\"",
    );
    assert_refusal(
        &refuse(&f),
        "apps/shop.toml",
        line_of(&text, "payments"),
        "flag `apiFailure` acts on `payments`",
    );
}

#[test]
fn refuses_problems_naming_missing_apps_faults_and_targets() {
    let (f, _) = edit("problems/p.toml", "app = \"shop\"", "app = \"store\"");
    assert_refusal(
        &refuse(&f),
        "problems/p.toml",
        3,
        "problem `down-detection-1` names app `store`, which the suite does not define",
    );
    let (f, _) = edit("problems/p.toml", "fault = \"down\"", "fault = \"outage\"");
    assert_refusal(
        &refuse(&f),
        "problems/p.toml",
        5,
        "names fault `outage`, which the suite does not define",
    );
    let (f, _) = edit(
        "problems/p.toml",
        "targets = [\"api\"]",
        "targets = [\"cart\"]",
    );
    assert_refusal(
        &refuse(&f),
        "problems/p.toml",
        6,
        "fault on a missing target: `cart` is not a service of app `shop`",
    );
}

#[test]
fn refuses_analysis_without_an_answer() {
    let (f, text) = edit(
        "problems/p.toml",
        "task_type = \"analysis\"\nfault = \"down\"",
        "task_type = \"analysis\"\nfault = \"blip\"",
    );
    assert_refusal(
        &refuse(&f),
        "problems/p.toml",
        line_of(&text, "down-analysis-1"),
        "analysis problem `down-analysis-1` has no answer: fault `blip` has no analysis answer",
    );
    // An override on the problem is enough.
    let (f, _) = edit(
        "problems/p.toml",
        "task_type = \"analysis\"\nfault = \"down\"",
        "task_type = \"analysis\"\nfault = \"blip\"\nanalysis = { system_level = \"Application\", fault_type = \"Code Defect\" }",
    );
    let suite = Suite::from_files(&f, "mem").unwrap();
    assert_eq!(
        suite
            .problem("down-analysis-1")
            .unwrap()
            .analysis
            .unwrap()
            .fault_type,
        FaultType::CodeDefect
    );
}

#[test]
fn refuses_mitigation_without_a_fault() {
    let (f, text) = edit(
        "problems/p.toml",
        "id = \"noop-1\"\napp = \"shop\"\ntask_type = \"detection\"",
        "id = \"noop-1\"\napp = \"shop\"\ntask_type = \"mitigation\"",
    );
    assert_refusal(
        &refuse(&f),
        "problems/p.toml",
        line_of(&text, "noop-1"),
        "mitigation problem `noop-1` injects no fault",
    );
}

#[test]
fn refuses_feature_flags_the_app_does_not_define() {
    let (f, text) = with_fault("kind = \"feature_flag\"\nflag = \"webFailure\"", "api");
    assert_refusal(
        &refuse(&f),
        "problems/p.toml",
        line_of(&text, "fault = \"x\""),
        "fault `x` switches flag `webFailure` (faults/x.toml:3), which app `shop` does not define",
    );
    let (f, _) = with_fault("kind = \"feature_flag\"\nflag = \"apiFailure\"", "api");
    assert!(Suite::from_files(&f, "mem").is_ok());
}

#[test]
fn refuses_config_map_set_on_a_missing_config_map() {
    let (f, text) = with_fault(
        "kind = \"config_map_set\"\nconfig_map = \"web-config\"\nkey = \"k\"\nvalue = \"v\"",
        "api",
    );
    assert_refusal(
        &refuse(&f),
        "problems/p.toml",
        line_of(&text, "fault = \"x\""),
        "sets config map `web-config`",
    );
    let (f, _) = with_fault(
        "kind = \"config_map_set\"\nconfig_map = \"api-config\"\nkey = \"k\"\nvalue = \"v\"",
        "api",
    );
    assert!(Suite::from_files(&f, "mem").is_ok());
}

#[test]
fn refuses_database_faults_on_targets_without_a_database() {
    for effect in [
        "kind = \"db_user_drop\"\nuser = \"admin\"",
        "kind = \"db_role_revoke\"\nuser = \"admin\"\nrole = \"readWrite@app-db\"",
        "kind = \"db_require_tls\"",
    ] {
        let (f, text) = with_fault(effect, "api");
        let line = text
            .lines()
            .collect::<Vec<_>>()
            .iter()
            .rposition(|l| l.contains("targets = [\"api\"]"))
            .unwrap()
            + 1;
        assert_refusal(
            &refuse(&f),
            "problems/p.toml",
            line,
            "the target hosts no database",
        );
        let (f, _) = with_fault(effect, "db");
        assert!(Suite::from_files(&f, "mem").is_ok(), "{effect}");
    }
    let (f, _) = with_fault("kind = \"db_user_drop\"\nuser = \"root\"", "db");
    assert!(
        refuse(&f)
            .message
            .contains("database `app-db` has no user `root`")
    );
    let (f, _) = with_fault(
        "kind = \"db_role_revoke\"\nuser = \"admin\"\nrole = \"root@admin\"",
        "db",
    );
    assert!(
        refuse(&f)
            .message
            .contains("user `admin` does not hold role `root@admin`")
    );
}

#[test]
fn refuses_files_in_unexpected_places_and_a_missing_suite_toml() {
    let mut f = files();
    f.push(("problem/q.toml".into(), PROBLEMS.into()));
    let err = refuse(&f);
    assert_eq!(err.file, "mem/problem/q.toml");
    assert!(err.message.contains("unexpected file"));
    let f: Vec<_> = files()
        .into_iter()
        .filter(|(p, _)| p != "suite.toml")
        .collect();
    let err = refuse(&f);
    assert_eq!(err.file, "mem/suite.toml");
    assert!(err.message.contains("missing"));
}
