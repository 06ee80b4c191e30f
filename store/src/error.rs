//! The store's one error type: small and stable, so the server can map every variant.

use sea_orm::{DbErr, SqlErr};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No such row for this tenant (a row of another tenant is reported the same way).
    #[error("not found")]
    NotFound,
    /// The write collides with the current state: a duplicate name, a decision already taken,
    /// a lease held by another worker.
    #[error("conflict: {what}")]
    Conflict { what: String },
    /// A state change the state machine does not allow.
    #[error("invalid transition from {from} to {to}")]
    InvalidTransition { from: String, to: String },
    /// The database failed or is unreachable; the message is for logs, not for clients.
    #[error("database error: {0}")]
    Database(String),
}

impl StoreError {
    pub(crate) fn conflict(what: impl Into<String>) -> Self {
        Self::Conflict { what: what.into() }
    }
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(msg)) => Self::Conflict { what: msg },
            _ => Self::Database(err.to_string()),
        }
    }
}

/// Maps a unique violation to `Conflict { what }`, anything else to `Database`.
pub(crate) fn unique_as(what: &str) -> impl FnOnce(DbErr) -> StoreError + '_ {
    move |err| match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::conflict(what),
        _ => StoreError::Database(err.to_string()),
    }
}
