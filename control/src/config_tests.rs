//! Tests of configuration loading, refusals and the doc's sync (kept beside config.rs).

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_without_file_or_env() {
    let c = Config::load(None, Vec::new()).unwrap();
    assert_eq!(c, Config::default());
    assert_eq!(c.server.listen, "127.0.0.1:8080");
    assert_eq!(c.server.body_limit_bytes, 1024 * 1024);
    assert_eq!(c.guardrails.default_real, GuardrailMode::Ask);
    assert_eq!(c.guardrails.default_twin, GuardrailMode::Auto);
    assert_eq!(c.database_url(), "sqlite://data/aoi.db?mode=rwc");
    assert_eq!(c.signing_key_path(), PathBuf::from("data/jwt.key"));
}

#[test]
fn file_then_env_override_in_order() {
    let file = r#"
        [server]
        listen = "0.0.0.0:9000"
        data_dir = "/var/lib/aoi"
        [workers]
        agent = 4
        [[inference.backends]]
        name = "vllm-a"
        url = "http://vllm-a:8000/v1"
        models = ["qwen"]
    "#;
    let c = Config::load_str(
        Some((file, "aoi.toml")),
        env(&[
            ("AOI__SERVER__LISTEN", "127.0.0.1:7000"),
            ("AOI__WORKERS__EVOLVER", "3"),
            ("DATABASE_URL", "postgres://alias/db"),
            ("REDIS_URL", "redis://r:6379"),
            ("AOI__AUTH__OIDC__ISSUER", "https://idp"),
            ("AOI__AUTH__OIDC__AUDIENCE", "aoi"),
            ("AOI__AUTH__OIDC__JWKS_URL", "https://idp/jwks"),
            ("HOME", "/root"),
        ]),
    )
    .unwrap();
    assert_eq!(c.server.listen, "127.0.0.1:7000");
    assert_eq!(c.server.data_dir, PathBuf::from("/var/lib/aoi"));
    assert_eq!(c.workers.agent, 4);
    assert_eq!(c.workers.evolver, 3);
    assert_eq!(c.database.url.as_deref(), Some("postgres://alias/db"));
    assert_eq!(c.redis.url.as_deref(), Some("redis://r:6379"));
    assert_eq!(c.inference.backends.len(), 1);
    assert_eq!(c.inference.backends[0].weight, 1);
    assert_eq!(c.inference.backends[0].trust, "local");
    assert_eq!(c.auth.oidc.as_ref().unwrap().jwks_url, "https://idp/jwks");
}

#[test]
fn explicit_aoi_variable_beats_alias() {
    let c = Config::load_str(
        None,
        env(&[
            ("DATABASE_URL", "postgres://alias/db"),
            ("AOI__DATABASE__URL", "postgres://explicit/db"),
        ]),
    )
    .unwrap();
    assert_eq!(c.database.url.as_deref(), Some("postgres://explicit/db"));
}

#[test]
fn unknown_key_in_file_is_named() {
    let err =
        Config::load_str(Some(("[server]\nlisen = \"x\"\n", "aoi.toml")), Vec::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown configuration key server.lisen in aoi.toml: see docs/configuration.md for the keys"
    );
    let err =
        Config::load_str(Some(("[servre]\nlisten = \"x\"\n", "aoi.toml")), Vec::new()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unknown configuration key servre in aoi.toml")
    );
    let err = Config::load_str(
        Some((
            "[[inference.backends]]\nname = \"a\"\nurl = \"u\"\nmodel = \"m\"\n",
            "aoi.toml",
        )),
        Vec::new(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unknown configuration key inference.backends[0].model in aoi.toml"),
        "{err}"
    );
}

#[test]
fn unknown_env_variable_is_named() {
    let err = Config::load_str(None, env(&[("AOI__SERVER__LISEN", "x")])).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "unknown configuration key server.lisen in environment variable AOI__SERVER__LISEN"
        ),
        "{err}"
    );
}

#[test]
fn wrong_type_names_key_and_expected_type() {
    let err = Config::load_str(
        Some(("[server]\nbody_limit_bytes = \"big\"\n", "aoi.toml")),
        Vec::new(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "configuration key server.body_limit_bytes in aoi.toml must be a non-negative integer, found the string \"big\""
    );
    let err = Config::load_str(None, env(&[("AOI__WORKERS__AGENT", "many")])).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "configuration key workers.agent in environment variable AOI__WORKERS__AGENT must be a non-negative integer"
        ),
        "{err}"
    );
    let err =
        Config::load_str(None, env(&[("AOI__GUARDRAILS__DEFAULT_REAL", "sometimes")])).unwrap_err();
    assert!(
        err.to_string().contains("must be one of auto, ask, deny"),
        "{err}"
    );
}

#[test]
fn bad_listen_and_short_key_are_refused() {
    let err = Config::load_str(None, env(&[("AOI__SERVER__LISTEN", "localhost")])).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("configuration key server.listen:")
    );
    let err = Config::load_str(None, env(&[("AOI__AUTH__SIGNING_KEY", "short")])).unwrap_err();
    assert!(err.to_string().contains("auth.signing_key"));
    let err =
        Config::load_str(None, env(&[("AOI__AUTH__OIDC__ISSUER", "https://idp")])).unwrap_err();
    assert!(err.to_string().contains("auth.oidc.audience"), "{err}");
}

#[test]
fn exposure_checks_only_bite_off_loopback() {
    let c = Config::default();
    assert!(c.exposure_problems().unwrap().is_empty());
    let mut c = Config::default();
    c.server.listen = "0.0.0.0:8080".into();
    assert_eq!(c.exposure_problems().unwrap().len(), 2);
    c.auth.admin_password = "a-long-operator-chosen-password".into();
    c.auth.signing_key_file = Some("/run/secrets/jwt.key".into());
    assert!(c.exposure_problems().unwrap().is_empty());
}

#[test]
fn secrets_are_not_in_debug_output() {
    let mut c = Config::default();
    c.auth.signing_key = Some("k".repeat(40));
    let text = format!("{c:?}");
    assert!(!text.contains(&"k".repeat(40)));
    assert!(!text.contains("admin_password: \"admin\""));
}

/// The schema's defaults are the code's defaults, and every default key is in the schema.
#[test]
fn key_table_matches_code_defaults() {
    let flat = flatten(&Config::default());
    for (path, value) in &flat {
        let doc = find_key(path).unwrap_or_else(|| panic!("{path} missing from KEYS"));
        assert_eq!(doc.default, value.to_string(), "default of {path}");
    }
    for doc in KEYS {
        if doc.key.contains("[]") {
            continue;
        }
        let in_code = flat.iter().any(|(p, _)| p == doc.key);
        assert_eq!(
            in_code,
            !doc.default.starts_with('('),
            "{}: a default in parentheses means unset in code",
            doc.key
        );
    }
    // Every backend field is in the schema, and only those.
    let backend = BackendConfig {
        name: "n".into(),
        url: "u".into(),
        models: vec![],
        weight: default_weight(),
        max_in_flight: default_max_in_flight(),
        trust: default_trust(),
        api_key_env: Some("E".into()),
        load_adapters: false,
    };
    let Ok(Value::Table(t)) = Value::try_from(&backend) else {
        panic!("backend is a table")
    };
    let mut fields: Vec<String> = t
        .keys()
        .map(|k| format!("inference.backends[].{k}"))
        .collect();
    fields.sort();
    let mut schema: Vec<String> = KEYS
        .iter()
        .filter(|k| k.key.starts_with("inference.backends[]."))
        .map(|k| k.key.to_string())
        .collect();
    schema.sort();
    assert_eq!(fields, schema);
    for (k, v) in &t {
        let doc = find_key(&format!("inference.backends[].{k}")).unwrap();
        if !doc.default.starts_with('(') {
            assert_eq!(doc.default, v.to_string(), "default of backend {k}");
        }
    }
}

/// `docs/configuration.md` lists exactly the keys the code knows, with their types,
/// defaults and environment variables.
#[test]
fn configuration_doc_is_in_sync() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let strip = |cell: &str| cell.trim().trim_matches('`').to_string();
    let mut rows = Vec::new();
    for line in doc.lines() {
        let line = line.trim();
        if !line.starts_with("| `") {
            continue;
        }
        let cells: Vec<String> = line
            .replace("\\|", "\u{0}")
            .split('|')
            .map(|c| c.replace('\u{0}', "|"))
            .collect();
        // ["", key, type, default, env, description, ""]
        assert!(cells.len() >= 6, "table row with too few cells: {line}");
        let env: Vec<String> = cells[4]
            .split(',')
            .map(strip)
            .filter(|e| !e.is_empty() && e != "-")
            .collect();
        rows.push((
            strip(&cells[1]),
            cells[2].trim().to_string(),
            strip(&cells[3]),
            env,
        ));
    }
    let expected: Vec<(String, String, String, Vec<String>)> = KEYS
        .iter()
        .map(|k| {
            let mut env: Vec<String> = k.env_var().into_iter().collect();
            env.extend(k.aliases.iter().map(|a| a.to_string()));
            (
                k.key.to_string(),
                k.ty.name().replace("\\|", "|"),
                k.default.to_string(),
                env,
            )
        })
        .collect();
    assert_eq!(
        rows,
        expected,
        "docs/configuration.md is out of date; its key table should be:\n{}",
        doc_table()
    );
}

#[test]
fn trusted_publishers_load_and_bad_keys_are_refused_by_name() {
    let key = aoi_plugin_package::generate_signing_key();
    use base64::Engine;
    let public = base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes());
    let file = format!(
        "[plugins.trusted_publishers]\nacme = [{{ key_id = \"acme-2026\", public_key = \"{public}\" }}]\n"
    );
    let c = Config::load_str(Some((&file, "aoi.toml")), Vec::new()).unwrap();
    assert_eq!(c.plugins.trusted_publishers["acme"][0].key_id, "acme-2026");
    assert!(c.plugins.trusted_keys().is_ok());
    assert_eq!(c.plugin_secret_key_path(), PathBuf::from("data/plugins.key"));

    let bad = "[plugins.trusted_publishers]\nacme = [{ key_id = \"k1\", public_key = \"bm90IGEga2V5\" }]\n";
    let err = Config::load_str(Some((bad, "aoi.toml")), Vec::new()).unwrap_err().to_string();
    assert!(err.contains("plugins.trusted_publishers") && err.contains("acme") && err.contains("k1"), "{err}");

    let typo = "[plugins.trusted_publishers]\nacme = [{ key = \"k1\", public_key = \"x\" }]\n";
    let err = Config::load_str(Some((typo, "aoi.toml")), Vec::new()).unwrap_err().to_string();
    assert!(err.contains("plugins.trusted_publishers.acme[0].key"), "{err}");

    let env_list = env(&[(
        "AOI__PLUGINS__TRUSTED_PUBLISHERS",
        &format!("{{ acme = [{{ key_id = \"a\", public_key = \"{public}\" }}] }}"),
    )]);
    let c = Config::load(None, env_list).unwrap();
    assert_eq!(c.plugins.trusted_publishers["acme"][0].key_id, "a");
}
