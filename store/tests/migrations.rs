//! Every migration runs up, down and up again on both backends, and the schema after the second
//! up equals the first (tables, columns with type and nullability, indexes).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use aoi_migrations::{Migrator, MigratorTrait, TABLES};
use aoi_store::{Backend, Store};
use sea_orm::{ConnectionTrait, Statement};

/// table -> sorted "column type null" lines and sorted index names.
type Schema = BTreeMap<String, (Vec<String>, Vec<String>)>;

async fn rows(store: &Store, sql: &str) -> Vec<Vec<String>> {
    let db = store.connection();
    let out = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap();
    out.iter()
        .map(|row| {
            (0..row.column_names().len())
                .map(|i| {
                    row.try_get_by::<Option<String>, _>(i)
                        .ok()
                        .flatten()
                        .or_else(|| {
                            row.try_get_by::<Option<i32>, _>(i)
                                .ok()
                                .flatten()
                                .map(|v| v.to_string())
                        })
                        .or_else(|| {
                            row.try_get_by::<Option<i64>, _>(i)
                                .ok()
                                .flatten()
                                .map(|v| v.to_string())
                        })
                        .or_else(|| {
                            row.try_get_by::<Option<bool>, _>(i)
                                .ok()
                                .flatten()
                                .map(|v| v.to_string())
                        })
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect()
}

async fn schema(store: &Store) -> Schema {
    let mut out = Schema::new();
    let tables = match store.backend() {
        Backend::Sqlite => {
            rows(store, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").await
        }
        Backend::Postgres => {
            rows(store, "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()").await
        }
    };
    for table in tables.into_iter().map(|r| r[0].clone()) {
        let (columns, indexes) = match store.backend() {
            Backend::Sqlite => (
                rows(store, &format!("SELECT name, type, \"notnull\" FROM pragma_table_info('{table}')")).await,
                rows(store, &format!("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}'")).await,
            ),
            Backend::Postgres => (
                rows(store, &format!(
                    "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = '{table}'"
                ))
                .await,
                rows(store, &format!(
                    "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND tablename = '{table}'"
                ))
                .await,
            ),
        };
        let mut columns: Vec<String> = columns.into_iter().map(|c| c.join(" ")).collect();
        let mut indexes: Vec<String> = indexes.into_iter().map(|c| c.join(" ")).collect();
        columns.sort();
        indexes.sort();
        out.insert(table, (columns, indexes));
    }
    out
}

async fn up_down_up(store: Store) {
    let db = store.connection();
    Migrator::up(db, None).await.unwrap();
    let first = schema(&store).await;
    for table in TABLES {
        let (columns, _) = first
            .get(*table)
            .unwrap_or_else(|| panic!("{table} was not created"));
        assert!(!columns.is_empty(), "{table} has columns");
    }
    let (incident_columns, incident_indexes) = &first["incidents"];
    assert!(
        incident_columns.iter().any(|c| c.starts_with("tenant_id ")),
        "{incident_columns:?}"
    );
    assert!(
        incident_indexes
            .iter()
            .any(|i| i == "ux_incidents_tenant_dedup"),
        "{incident_indexes:?}"
    );
    assert_eq!(
        first.len(),
        TABLES.len() + 1,
        "the tables plus seaql_migrations: {:?}",
        first.keys()
    );
    let pending = Migrator::get_pending_migrations(db).await.unwrap();
    assert!(pending.is_empty());

    Migrator::down(db, None).await.unwrap();
    let empty = schema(&store).await;
    assert_eq!(
        empty.keys().collect::<Vec<_>>(),
        ["seaql_migrations"],
        "down() drops every table"
    );

    Migrator::up(db, None).await.unwrap();
    let second = schema(&store).await;
    assert_eq!(
        first, second,
        "the schema after up, down, up equals the first"
    );

    // One step at a time as well: each down() undoes exactly its own up().
    let total = Migrator::migrations().len() as u32;
    for _ in 0..total {
        Migrator::down(db, Some(1)).await.unwrap();
    }
    Migrator::up(db, None).await.unwrap();
    assert_eq!(schema(&store).await, first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_up_down_up_sqlite() {
    common::run_with(common::Db::Sqlite, false, up_down_up).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_up_down_up_postgres() {
    common::run_with(common::Db::Postgres, false, up_down_up).await;
}
