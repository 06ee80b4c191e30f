//! Real Prometheus and Alertmanager servers for the plugin tests, from the Debian packages that
//! scripts/setup.sh installs. Each runs on a free 127.0.0.1 port with its own temp dir (config,
//! storage, log) and is killed when its guard drops. Prometheus scrapes itself every second and
//! evaluates one always-firing alert (`AoiAlwaysFiring`, `vector(1)`, for: 0s), sent to the
//! Alertmanager under test when one is given. Shared by the prometheus and alertmanager tests.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to become ready, and a condition to come true.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running server; killed (and reaped) on drop.
pub struct Server {
    child: Child,
    pub base_url: String,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The end of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let start = log.len().saturating_sub(3000);
        let start = (start..log.len())
            .find(|i| log.is_char_boundary(*i))
            .unwrap_or(log.len());
        log[start..].to_string()
    }
}

/// The installed binary, or a failure that says how to install it (never a skip).
pub fn binary(name: &str, package: &str) -> PathBuf {
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not installed: run scripts/setup.sh (it installs the Debian package `{package}`); these tests need the real server"
            )
        })
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

fn spawn(name: &str, package: &str, dir: tempfile::TempDir, port: u16, args: &[String]) -> Server {
    let log = std::fs::File::create(dir.path().join("server.log")).expect("create server.log");
    let child = Command::new(binary(name, package))
        .args(args)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone log handle"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    Server {
        child,
        base_url: format!("http://127.0.0.1:{port}"),
        port,
        dir,
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path.display().to_string()
}

/// Waits for `GET /-/ready` to answer 200, failing with the server's log when it exits or the
/// timeout passes.
async fn wait_ready(server: &mut Server, what: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!(
                "{what} exited ({status}) before it was ready; log:\n{}",
                server.log_tail()
            );
        }
        let ready = client
            .get(format!("{}/-/ready", server.base_url))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "{what} was not ready within {READY_TIMEOUT:?}; log:\n{}",
                server.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn start_alertmanager() -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let config = write(
        dir.path(),
        "alertmanager.yml",
        "route:\n  receiver: blackhole\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: blackhole\n",
    );
    let storage = dir.path().join("data").display().to_string();
    let args = vec![
        format!("--config.file={config}"),
        format!("--storage.path={storage}"),
        format!("--web.listen-address=127.0.0.1:{port}"),
        "--cluster.listen-address=".to_string(),
        "--log.level=warn".to_string(),
    ];
    let mut server = spawn(
        "prometheus-alertmanager",
        "prometheus-alertmanager",
        dir,
        port,
        &args,
    );
    wait_ready(&mut server, "alertmanager").await;
    server
}

pub async fn start_prometheus(alertmanager: Option<&Server>) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    write(
        dir.path(),
        "rules.yml",
        "groups:\n  - name: aoi-test\n    rules:\n      - alert: AoiAlwaysFiring\n        expr: vector(1)\n        for: 0s\n        labels:\n          severity: page\n        annotations:\n          summary: always firing, for the plugin tests\n",
    );
    let mut config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - rules.yml\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    );
    if let Some(am) = alertmanager {
        config.push_str(&format!(
            "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{}']\n",
            am.port
        ));
    }
    let config = write(dir.path(), "prometheus.yml", &config);
    let storage = dir.path().join("data").display().to_string();
    let args = vec![
        format!("--config.file={config}"),
        format!("--storage.tsdb.path={storage}"),
        format!("--web.listen-address=127.0.0.1:{port}"),
        // The first notification can go out before the Alertmanager is discovered and be
        // dropped; resend every second instead of the default minute.
        "--rules.alert.resend-delay=1s".to_string(),
        "--log.level=warn".to_string(),
    ];
    let mut server = spawn("prometheus", "prometheus", dir, port, &args);
    wait_ready(&mut server, "prometheus").await;
    server
}

/// Calls `check` every 500 ms until it returns `Some`, failing with `what` and the last value
/// seen after [`READY_TIMEOUT`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if Instant::now() > deadline => {
                panic!("{what} did not happen within {READY_TIMEOUT:?}; last seen:\n{last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// Makes a tool call until its text passes `done`, as [`eventually`]; that text. An error text
/// counts as not done yet.
pub async fn until_text<F, Fut>(what: &str, mut call: F, done: impl Fn(&str) -> bool) -> String
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<String, String>>,
{
    let done = &done;
    eventually(what, || {
        let out = call();
        async move {
            let text = out.await?;
            if done(&text) { Ok(text) } else { Err(text) }
        }
    })
    .await
}
