//! `aoi serve`, `aoi migrate`: configuration layering, the data folder, migrations, the
//! first-start bootstrap, and the HTTP server with graceful shutdown.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use aoi_control::Config;
use aoi_control::config::DEFAULT_ADMIN_PASSWORD;
use aoi_platform::Platform;

/// Where the configuration comes from; shared by `serve`, `migrate` and `admin`.
#[derive(clap::Args, Debug, Clone)]
pub struct ConfigArgs {
    /// A TOML file layered over the built-in defaults (environment AOI__SECTION__KEY wins).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The data folder (SQLite database, signing key); overrides server.data_dir.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl ConfigArgs {
    /// Defaults, then the file, then the environment, then these flags.
    pub fn load(&self) -> Result<Config> {
        let mut config = Config::load(self.config.as_deref(), std::env::vars())
            .context("loading the configuration")?;
        if let Some(dir) = &self.data_dir {
            config.server.data_dir = dir.clone();
        }
        // AOI_ADMIN_PASSWORD is the documented shorthand for auth.admin_password.
        if let Ok(password) = std::env::var("AOI_ADMIN_PASSWORD")
            && !password.is_empty()
        {
            config.auth.admin_password = password;
        }
        config.validate().context("checking the configuration")?;
        Ok(config)
    }
}

/// `aoi serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// host:port to listen on (default 127.0.0.1:8080); overrides server.listen.
    #[arg(long)]
    pub listen: Option<String>,
}

/// Logs to stderr, filtered by RUST_LOG (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the control plane until SIGINT or SIGTERM.
pub async fn run(args: ServeArgs) -> Result<()> {
    init_tracing();
    let mut config = args.config.load()?;
    if let Some(listen) = &args.listen {
        config.server.listen = listen.clone();
        config.validate().context("checking --listen")?;
    }
    let problems = config.exposure_problems()?;
    if !problems.is_empty() {
        bail!(
            "refusing to listen on {} (not a loopback address) while:\n  - {}\nfix these, or listen on 127.0.0.1",
            config.server.listen,
            problems.join("\n  - ")
        );
    }
    let addr = config.listen_addr()?;
    let admin_password = (config.auth.admin_password != DEFAULT_ADMIN_PASSWORD)
        .then(|| config.auth.admin_password.clone());
    let jwks = match &config.auth.oidc {
        Some(oidc) => Some(fetch_jwks(&oidc.jwks_url).await?),
        None => None,
    };
    let platform = Platform::open_with_jwks(config, jwks)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(report) = aoi_platform::tenants::bootstrap(&platform, admin_password)
        .await
        .map_err(|e| anyhow::anyhow!("bootstrap: {e}"))?
    {
        match report.generated_password {
            Some(password) => println!(
                "created tenant `default` with user `admin`; its password (shown once): {password}"
            ),
            None => println!(
                "created tenant `default` with user `admin` (password from AOI_ADMIN_PASSWORD)"
            ),
        }
    }
    let workers = aoi_platform::worker::spawn_in_process(&platform);
    let evolver = aoi_platform::evolver::spawn_in_process(&platform);
    let console = aoi_console::Console::new(platform.clone(), console_site());
    let bundle = console.has_bundle();
    let app = crate::http::router(platform.clone()).merge(aoi_console::router(console));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    println!("listening on http://{local}");
    if bundle {
        println!("console: http://{local}/console/");
    } else {
        println!(
            "console: http://{local}/console/ (live updates off: no browser bundle in {}; run scripts/build-console.sh)",
            console_site().display()
        );
    }
    tracing::info!(%local, "listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;
    workers.abort();
    evolver.abort();
    // Usage records queued behind the last answers.
    platform.audit_sink.flush().await;
    tracing::info!("stopped");
    Ok(())
}

/// Fetches the OIDC issuer's key set once at start.
async fn fetch_jwks(url: &str) -> Result<String> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let response =
        client.get(url).send().await.with_context(|| {
            format!("fetching the OIDC key set from {url} (auth.oidc.jwks_url)")
        })?;
    if !response.status().is_success() {
        bail!(
            "fetching the OIDC key set from {url} answered {}: check auth.oidc.jwks_url",
            response.status()
        );
    }
    Ok(response.text().await?)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

/// `aoi migrate`: applies pending migrations to the configured database.
pub async fn migrate(args: ConfigArgs) -> Result<()> {
    init_tracing();
    let config = args.load()?;
    std::fs::create_dir_all(&config.server.data_dir)
        .with_context(|| format!("creating {}", config.server.data_dir.display()))?;
    let store = aoi_platform::context::connect_and_migrate(&config)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    store.close().await.ok();
    println!("migrated {}", redact(&config.database_url()));
    Ok(())
}

/// A database URL without its password.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Where the console's browser bundle is: `AOI_CONSOLE_SITE`, else `console-site` in the
/// cargo target folder this binary was built in (scripts/build-console.sh writes it there).
fn console_site() -> std::path::PathBuf {
    if let Some(site) = std::env::var_os("AOI_CONSOLE_SITE") {
        return site.into();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            let profile = exe.parent()?;
            // target/<profile>/aoi, or target/<profile>/deps/<test> for test binaries.
            let target = if profile.ends_with("deps") {
                profile.parent()?.parent()?
            } else {
                profile.parent()?
            };
            Some(target.join("console-site"))
        })
        .unwrap_or_else(|| std::path::PathBuf::from("target/console-site"))
}
