//! `aoi plugins`: the plugin store from a terminal, as a client of a running server's REST API
//! (the same permissions, audit and refusals as the console). Secret config values are read
//! from environment variables or files, never from the command line, so they stay out of shell
//! history and process lists.

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value, json};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct PluginsArgs {
    /// The server's base URL.
    #[arg(long, env = "AOI_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An API key or access token (`Authorization: Bearer ...`).
    #[arg(long, env = "AOI_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Print the server's JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub command: PluginsCommand,
}

/// Config values: `--set key=value` (JSON when it parses, else a string), secrets with
/// `--secret-env key=VAR` or `--secret-file key=PATH`.
#[derive(clap::Args, Debug, Default)]
pub struct ConfigFlags {
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    #[arg(long = "secret-env", value_name = "KEY=ENV_VAR")]
    pub secret_env: Vec<String>,
    #[arg(long = "secret-file", value_name = "KEY=PATH")]
    pub secret_file: Vec<String>,
}

#[derive(clap::Subcommand, Debug)]
pub enum PluginsCommand {
    /// The catalog with this tenant's installations.
    List,
    /// Upload a signed package (platform admins).
    Upload { package: PathBuf },
    /// Install a plugin in the tenant.
    Install {
        name: String,
        #[arg(long)]
        version: Option<String>,
        #[command(flatten)]
        config: ConfigFlags,
    },
    /// Change an installation's config (secrets left out keep their values).
    Configure {
        name: String,
        #[command(flatten)]
        config: ConfigFlags,
    },
    Enable { name: String },
    Disable { name: String },
    /// Move to another version (the newest by default).
    Upgrade {
        name: String,
        #[arg(long)]
        version: Option<String>,
        #[command(flatten)]
        config: ConfigFlags,
    },
    /// Go back to the version before the last upgrade.
    Rollback { name: String },
    /// Remove the installation and its secrets.
    Uninstall { name: String },
    /// Run one read tool: `aoi plugins call prometheus prometheus_query --arg query=up`.
    Call {
        name: String,
        tool: String,
        #[arg(long = "arg", value_name = "KEY=VALUE")]
        args: Vec<String>,
    },
}

fn pair(flag: &str, raw: &str) -> Result<(String, String)> {
    let (k, v) = raw
        .split_once('=')
        .ok_or_else(|| anyhow!("{flag} {raw}: use KEY=VALUE"))?;
    if k.trim().is_empty() {
        bail!("{flag} {raw}: the key is empty");
    }
    Ok((k.trim().to_string(), v.to_string()))
}

fn value(raw: String) -> Value {
    serde_json::from_str(&raw).unwrap_or(Value::String(raw))
}

/// The config object the flags describe.
pub fn config_object(flags: &ConfigFlags) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for raw in &flags.set {
        let (k, v) = pair("--set", raw)?;
        out.insert(k, value(v));
    }
    for raw in &flags.secret_env {
        let (k, var) = pair("--secret-env", raw)?;
        let v = std::env::var(&var)
            .with_context(|| format!("--secret-env {k}: environment variable {var} is not set"))?;
        out.insert(k, Value::String(v));
    }
    for raw in &flags.secret_file {
        let (k, path) = pair("--secret-file", raw)?;
        let v = std::fs::read_to_string(&path)
            .with_context(|| format!("--secret-file {k}: cannot read {path}"))?;
        out.insert(k, Value::String(v.trim_end_matches(['\n', '\r']).to_string()));
    }
    Ok(out)
}

pub async fn run(args: PluginsArgs) -> Result<()> {
    let base = args.url.trim_end_matches('/').to_string();
    let client = reqwest::Client::new();
    let post = |path: String, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&args.token)
            .json(&body)
    };
    let request = match &args.command {
        PluginsCommand::List => client
            .get(format!("{base}/api/v1/plugins"))
            .bearer_auth(&args.token),
        PluginsCommand::Upload { package } => {
            let bytes = std::fs::read(package)
                .with_context(|| format!("cannot read the package {}", package.display()))?;
            client
                .post(format!("{base}/api/v1/plugins"))
                .bearer_auth(&args.token)
                .header("content-type", "application/json")
                .body(bytes)
        }
        PluginsCommand::Install {
            name,
            version,
            config,
        } => post(
            format!("/api/v1/plugins/{name}/install"),
            json!({ "version": version, "config": config_object(config)? }),
        ),
        PluginsCommand::Configure { name, config } => post(
            format!("/api/v1/plugins/{name}/configure"),
            json!({ "config": config_object(config)? }),
        ),
        PluginsCommand::Enable { name } => post(format!("/api/v1/plugins/{name}/enable"), json!({})),
        PluginsCommand::Disable { name } => {
            post(format!("/api/v1/plugins/{name}/disable"), json!({}))
        }
        PluginsCommand::Upgrade {
            name,
            version,
            config,
        } => post(
            format!("/api/v1/plugins/{name}/upgrade"),
            json!({ "version": version, "config": config_object(config)? }),
        ),
        PluginsCommand::Rollback { name } => {
            post(format!("/api/v1/plugins/{name}/rollback"), json!({}))
        }
        PluginsCommand::Uninstall { name } => client
            .delete(format!("{base}/api/v1/plugins/{name}/installation"))
            .bearer_auth(&args.token),
        PluginsCommand::Call { name, tool, args: call_args } => {
            let mut map = Map::new();
            for raw in call_args {
                let (k, v) = pair("--arg", raw)?;
                map.insert(k, value(v));
            }
            post(
                format!("/api/v1/plugins/{name}/tools/{tool}/call"),
                json!({ "args": map }),
            )
        }
    };
    let response = request
        .send()
        .await
        .with_context(|| format!("cannot reach {base}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or(text);
        bail!("{status}: {message}");
    }
    let body: Value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).context("the server's answer is not JSON")?
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(());
    }
    print!("{}", summary(&args.command, &body));
    Ok(())
}

/// A short human summary of an answer.
fn summary(command: &PluginsCommand, body: &Value) -> String {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    match command {
        PluginsCommand::List => {
            let mut out = String::new();
            for p in body.as_array().into_iter().flatten() {
                let installed = match p.get("installation") {
                    Some(i) if !i.is_null() => format!(
                        "installed {} ({})",
                        s(i, "version"),
                        if i.get("enabled").and_then(Value::as_bool) == Some(true) { "enabled" } else { "disabled" }
                    ),
                    _ => "not installed".into(),
                };
                out.push_str(&format!(
                    "{} {} [{}, {}] {} — {}\n",
                    s(p, "name"),
                    s(p, "version"),
                    s(p, "kind"),
                    s(p, "publisher"),
                    installed,
                    s(p, "description")
                ));
                for t in p.get("tools").and_then(Value::as_array).into_iter().flatten() {
                    out.push_str(&format!("    {:<5} {} — {}\n", s(t, "access"), s(t, "name"), s(t, "description")));
                }
            }
            out
        }
        PluginsCommand::Upload { .. } => format!(
            "uploaded {} {} (publisher {}, key {}, payload sha256 {})\n",
            s(body, "name"),
            s(body, "version"),
            s(body, "publisher"),
            s(body, "key_id"),
            s(body, "payload_sha256")
        ),
        PluginsCommand::Uninstall { name } => format!("uninstalled {name}\n"),
        PluginsCommand::Call { .. } => {
            let text = s(body, "text");
            if body.get("is_error").and_then(Value::as_bool) == Some(true) {
                format!("[ERROR] {text}\n")
            } else {
                format!("{text}\n")
            }
        }
        _ => format!(
            "{} {} {} (secrets set: {})\n",
            s(body, "plugin"),
            s(body, "version"),
            if body.get("enabled").and_then(Value::as_bool) == Some(true) { "enabled" } else { "disabled" },
            body.get("secrets_set")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        ),
    }
}
