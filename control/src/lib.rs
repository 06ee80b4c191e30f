//! aoi-control: the control plane's domain, without a transport.
//!
//! It owns configuration ([`config`]), identity ([`auth`]: argon2 passwords, HS256 access
//! tokens, API keys, OIDC), authorization ([`authz`]: casbin RBAC with one domain per tenant,
//! and the [`authz::Authorized`] proof every service function requires) and the error clients
//! see ([`error::ApiError`]). Storage is reached through ports (`UserLookup`, `ApiKeyLookup`,
//! `PolicyStore`) that the store crate implements.
//!
//! It must not depend on sea-orm, axum, tonic, redis or reqwest: the server maps this crate's
//! types onto HTTP and gRPC, and the store crate implements its ports.

pub mod auth;
pub mod authz;
pub mod config;
pub mod error;
pub mod principal;

pub use authz::{Authorized, Authorizer, Permission, TenantScope};
pub use config::Config;
pub use error::ApiError;
pub use principal::{Principal, PrincipalKind, Role, TenantSlug};
