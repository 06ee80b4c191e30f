//! Connecting and migrating.

use std::time::Duration;

use aoi_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};

use crate::StoreError;

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The control plane's database: cheap to clone (a shared pool).
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: DatabaseConnection,
}

impl Store {
    /// Connects to `sqlite://PATH?mode=rwc` or `postgres://...`. SQLite files are switched to
    /// WAL so readers never wait for the writer.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(10)
            .connect_timeout(Duration::from_secs(10))
            .sqlx_logging(false);
        let db = Database::connect(options)
            .await
            .map_err(|e| StoreError::Database(format!("cannot connect to the database: {e}")))?;
        if db.get_database_backend() == DbBackend::Sqlite && !url.contains(":memory:") {
            db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
        }
        match db.get_database_backend() {
            DbBackend::Sqlite | DbBackend::Postgres => Ok(Store { db }),
            other => Err(StoreError::Database(format!(
                "unsupported database backend {other:?}: use sqlite:// or postgres://"
            ))),
        }
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self.db.get_database_backend() {
            DbBackend::Postgres => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }

    /// The underlying connection, for migrations and schema checks. Queries on tenant-owned
    /// tables belong in this crate's tenant-scoped functions, not here.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Closes the pool.
    pub async fn close(self) -> Result<(), StoreError> {
        self.db.close().await?;
        Ok(())
    }
}
