//! Runs one test body on SQLite (a temp file) and on PostgreSQL (a fresh database per test).
//!
//! PostgreSQL is required: when it is unreachable the test fails with what to do, it is never
//! skipped. `AOI_TEST_POSTGRES_URL` names the admin connection (default
//! `postgres://postgres@127.0.0.1:5432/postgres`).

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aoi_store::{NewTenant, Store, Tenant, TenantId};
use sea_orm::{ConnectOptions, ConnectionTrait, Database};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Runs `body` on `db`'s fresh, migrated store.
pub async fn run<F, Fut>(db: Db, body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_with(db, true, body).await
}

/// Runs `body` on `db`'s fresh store, migrated only when `migrate` is set.
pub async fn run_with<F, Fut>(db: Db, migrate: bool, body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let fresh = Fresh::create(db).await;
    let store = Store::connect(&fresh.url)
        .await
        .expect("connect to the test database");
    if migrate {
        store.migrate().await.expect("migrate the test database");
    }
    // Run the body as its own task so a failing assertion still lets us drop the database.
    let outcome = tokio::spawn(body(store.clone())).await;
    store.close().await.ok();
    fresh.drop().await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

struct Fresh {
    db: Db,
    url: String,
    name: String,
}

fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "aoi_test_{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn admin_url() -> String {
    std::env::var("AOI_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The admin URL with its database replaced by `name`.
fn database_url(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

async fn admin() -> sea_orm::DatabaseConnection {
    let url = admin_url();
    let mut options = ConnectOptions::new(url.clone());
    options
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .max_connections(1)
        .sqlx_logging(false);
    match Database::connect(options).await {
        Ok(conn) => conn,
        Err(err) => panic!(
            "PostgreSQL is not reachable at 127.0.0.1:5432: start it (pg_ctlcluster 15 main start, \
             or point AOI_TEST_POSTGRES_URL at a server; tried {url}): {err}"
        ),
    }
}

impl Fresh {
    async fn create(db: Db) -> Fresh {
        let name = unique_name();
        match db {
            Db::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.sqlite"));
                Fresh {
                    db,
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    name: path.display().to_string(),
                }
            }
            Db::Postgres => {
                let admin = admin().await;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create the test database");
                admin.close().await.ok();
                Fresh {
                    db,
                    url: database_url(&admin_url(), &name),
                    name,
                }
            }
        }
    }

    async fn drop(self) {
        match self.db {
            Db::Sqlite => {
                for suffix in ["", "-wal", "-shm"] {
                    std::fs::remove_file(format!("{}{suffix}", self.name)).ok();
                }
            }
            Db::Postgres => {
                let admin = admin().await;
                admin
                    .execute_unprepared(&format!(
                        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                        self.name
                    ))
                    .await
                    .ok();
                admin.close().await.ok();
            }
        }
    }
}

/// Defines `mod $name { sqlite, postgres }`: the same body on both backends.
#[macro_export]
macro_rules! on_both {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                common::run(common::Db::Sqlite, |$store: Store| async move $body).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                common::run(common::Db::Postgres, |$store: Store| async move $body).await
            }
        }
    };
}

pub async fn tenant(store: &Store, slug: &str) -> (Tenant, TenantId) {
    let t = store
        .create_tenant(NewTenant {
            slug: slug.to_owned(),
            name: format!("Tenant {slug}"),
        })
        .await
        .unwrap();
    let id = t.tenant_id();
    (t, id)
}
