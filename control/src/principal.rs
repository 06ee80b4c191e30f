//! Who is calling: roles, tenants and the authenticated [`Principal`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A built-in role. Tenant roles apply inside one tenant; `platform-admin` applies to the
/// platform (domain `*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Reads incidents, sessions, approvals, environments, plugins, models, benchmarks.
    Viewer,
    /// Viewer, plus approves and runs write actions, starts sessions, opens incidents.
    Operator,
    /// Operator, plus users, API keys, plugins, guardrails, signal review, audit, policies.
    Admin,
    /// Manages tenants across the platform.
    PlatformAdmin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [
        Role::Viewer,
        Role::Operator,
        Role::Admin,
        Role::PlatformAdmin,
    ];

    /// The name used in tokens, API and policies.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::PlatformAdmin => "platform-admin",
        }
    }

    /// The casbin subject for this role: `role:<name>`.
    pub fn subject(&self) -> String {
        format!("role:{}", self.as_str())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`: use viewer, operator, admin or platform-admin")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// A tenant's slug: 1 to 63 characters of `a-z`, `0-9` and `-`, starting with a letter or
/// digit. It is the tenant's casbin domain, so it can never be `*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TenantSlug(String);

/// A string that is not a valid tenant slug.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a tenant slug: use 1 to 63 lowercase letters, digits and dashes, starting with a letter or digit"
)]
pub struct InvalidTenantSlug(pub String);

impl TenantSlug {
    /// Validates `s`.
    pub fn new(s: &str) -> Result<TenantSlug, InvalidTenantSlug> {
        let ok = !s.is_empty()
            && s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-');
        if ok {
            Ok(TenantSlug(s.to_string()))
        } else {
            Err(InvalidTenantSlug(s.to_string()))
        }
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TenantSlug {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        TenantSlug::new(&s).map_err(serde::de::Error::custom)
    }
}

/// How a principal authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// A person: a local login (JWT) or an OIDC token.
    User,
    /// A machine with an API key.
    ApiKey,
}

/// An authenticated caller. Only authentication builds one; authorization turns it into an
/// [`crate::authz::Authorized`] proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// User or API key.
    pub kind: PrincipalKind,
    /// The user id (`oidc:<sub>` for OIDC users) or the API key id.
    pub id: String,
    /// The tenant the credentials belong to.
    pub tenant: TenantSlug,
    /// Roles the credentials carry in that tenant.
    pub roles: Vec<Role>,
    /// A name for logs and the console (username, key name).
    pub display: String,
}

impl Principal {
    /// The casbin subject of this principal itself: `user:<id>` or `key:<id>`.
    pub fn subject(&self) -> String {
        match self.kind {
            PrincipalKind::User => format!("user:{}", self.id),
            PrincipalKind::ApiKey => format!("key:{}", self.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_slugs_validate() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
        assert!(TenantSlug::new("acme-1").is_ok());
        for bad in ["", "*", "Acme", "-a", "a b", &"a".repeat(64)] {
            assert!(TenantSlug::new(bad).is_err(), "{bad}");
        }
    }
}
