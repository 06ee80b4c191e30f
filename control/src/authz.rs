//! Authorization: casbin RBAC with domains (one domain per tenant, `*` for the platform).
//!
//! Every handler calls [`Authorizer::authorize`], which returns an [`Authorized`] proof; the
//! service functions require `&Authorized`, and only this module can build one, so a route
//! cannot forget the check:
//!
//! ```compile_fail
//! use aoi_control::authz::Authorized;
//! // The fields are private and there is no public constructor.
//! let forged = Authorized { principal: todo!(), scope: todo!(), permission: todo!() };
//! ```
//!
//! ```compile_fail
//! use aoi_control::authz::Authorized;
//! let forged: Authorized = Default::default();
//! ```
//!
//! The model is `infra/casbin/model.conf`. Policies live behind the [`PolicyStore`] port (the
//! database in production), reached through a casbin [`Adapter`]; each new tenant is seeded
//! with [`default_tenant_policies`], and tenant admins change them with
//! [`Authorizer::add_rules`] / [`Authorizer::remove_rules`], which require a
//! [`Permission::ManagePolicies`] proof.

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use casbin::error::AdapterError;
use casbin::{Adapter, CoreApi, DefaultModel, Enforcer, Filter, MgmtApi, Model};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

mod decisions;

use crate::auth::PortError;
use crate::error::ApiError;
use crate::principal::{Principal, Role, TenantSlug};

/// The casbin model, embedded from `infra/casbin/model.conf`.
pub const MODEL: &str = include_str!("../../infra/casbin/model.conf");

/// The casbin domain of platform-wide permissions.
pub const PLATFORM_DOMAIN: &str = "*";

/// Something a principal may do. Each maps to one casbin `(obj, act)` pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// List and read incidents.
    ReadIncidents,
    /// Open and update incidents.
    WriteIncidents,
    /// Read diagnosis sessions and their trajectories.
    ReadSessions,
    /// Start a diagnosis session.
    StartSession,
    /// Read approval requests.
    ReadApprovals,
    /// Approve or deny an approval request.
    DecideApproval,
    /// Run write actions (mitigations) on environments.
    RunWriteActions,
    /// Read environments (clusters, twins).
    ReadEnvironments,
    /// Read installed plugins.
    ReadPlugins,
    /// Install, configure and remove plugins.
    ManagePlugins,
    /// Read models and adapters.
    ReadModels,
    /// Register, promote and roll back the tenant's model adapters.
    ManageModels,
    /// Read benchmark results.
    ReadBenchmarks,
    /// Manage users and their roles.
    ManageUsers,
    /// Create and revoke API keys.
    ManageKeys,
    /// Change guardrails.
    ManageGuardrails,
    /// Review corrective signals from the evolver.
    ReviewSignals,
    /// Read the audit log.
    ReadAudit,
    /// Change the tenant's authorization policies.
    ManagePolicies,
    /// Create, suspend and delete tenants (platform-wide).
    ManageTenants,
    /// Upload plugin packages to the catalog every tenant installs from (platform-wide).
    PublishPlugins,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 21] = [
        Permission::ReadIncidents,
        Permission::WriteIncidents,
        Permission::ReadSessions,
        Permission::StartSession,
        Permission::ReadApprovals,
        Permission::DecideApproval,
        Permission::RunWriteActions,
        Permission::ReadEnvironments,
        Permission::ReadPlugins,
        Permission::ManagePlugins,
        Permission::ReadModels,
        Permission::ManageModels,
        Permission::ReadBenchmarks,
        Permission::ManageUsers,
        Permission::ManageKeys,
        Permission::ManageGuardrails,
        Permission::ReviewSignals,
        Permission::ReadAudit,
        Permission::ManagePolicies,
        Permission::ManageTenants,
        Permission::PublishPlugins,
    ];

    /// The casbin `(obj, act)` this permission is checked as.
    pub fn object_action(&self) -> (&'static str, &'static str) {
        match self {
            Permission::ReadIncidents => ("incidents", "read"),
            Permission::WriteIncidents => ("incidents", "write"),
            Permission::ReadSessions => ("sessions", "read"),
            Permission::StartSession => ("sessions", "start"),
            Permission::ReadApprovals => ("approvals", "read"),
            Permission::DecideApproval => ("approvals", "decide"),
            Permission::RunWriteActions => ("actions", "run"),
            Permission::ReadEnvironments => ("environments", "read"),
            Permission::ReadPlugins => ("plugins", "read"),
            Permission::ManagePlugins => ("plugins", "manage"),
            Permission::ReadModels => ("models", "read"),
            Permission::ManageModels => ("models", "manage"),
            Permission::ReadBenchmarks => ("benchmarks", "read"),
            Permission::ManageUsers => ("users", "manage"),
            Permission::ManageKeys => ("api_keys", "manage"),
            Permission::ManageGuardrails => ("guardrails", "manage"),
            Permission::ReviewSignals => ("signals", "review"),
            Permission::ReadAudit => ("audit", "read"),
            Permission::ManagePolicies => ("policies", "manage"),
            Permission::ManageTenants => ("tenants", "manage"),
            Permission::PublishPlugins => ("plugin_catalog", "publish"),
        }
    }

    /// Whether this permission is checked in the platform domain rather than a tenant's.
    pub fn is_platform_wide(&self) -> bool {
        matches!(self, Permission::ManageTenants | Permission::PublishPlugins)
    }

    /// The least tenant role that has this permission by default (`PlatformAdmin` for the
    /// platform-wide ones).
    pub fn default_role(&self) -> Role {
        match self {
            Permission::ReadIncidents
            | Permission::ReadSessions
            | Permission::ReadApprovals
            | Permission::ReadEnvironments
            | Permission::ReadPlugins
            | Permission::ReadModels
            | Permission::ReadBenchmarks => Role::Viewer,
            Permission::WriteIncidents
            | Permission::StartSession
            | Permission::DecideApproval
            | Permission::RunWriteActions => Role::Operator,
            Permission::ManagePlugins
            | Permission::ManageModels
            | Permission::ManageUsers
            | Permission::ManageKeys
            | Permission::ManageGuardrails
            | Permission::ReviewSignals
            | Permission::ReadAudit
            | Permission::ManagePolicies => Role::Admin,
            Permission::ManageTenants | Permission::PublishPlugins => Role::PlatformAdmin,
        }
    }

    /// The snake_case name (as in errors and the API).
    pub fn name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{self:?}"))
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Where a permission is checked: one tenant, or the platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TenantScope {
    /// Inside one tenant (its casbin domain is the slug).
    Tenant(TenantSlug),
    /// Platform-wide (domain `*`).
    Platform,
}

impl TenantScope {
    /// The casbin domain.
    pub fn domain(&self) -> &str {
        match self {
            TenantScope::Tenant(slug) => slug.as_str(),
            TenantScope::Platform => PLATFORM_DOMAIN,
        }
    }
}

impl fmt::Display for TenantScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.domain())
    }
}

/// Proof that `principal` was allowed `permission` in `scope`. Only [`Authorizer::authorize`]
/// builds one; service functions take `&Authorized` and read who acts and where from it.
#[derive(Debug, Clone)]
pub struct Authorized {
    principal: Principal,
    scope: TenantScope,
    permission: Permission,
}

impl Authorized {
    /// Who was authorized.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Where.
    pub fn scope(&self) -> &TenantScope {
        &self.scope
    }

    /// The tenant, when the scope is a tenant.
    pub fn tenant(&self) -> Option<&TenantSlug> {
        match &self.scope {
            TenantScope::Tenant(t) => Some(t),
            TenantScope::Platform => None,
        }
    }

    /// For what.
    pub fn permission(&self) -> Permission {
        self.permission
    }

    /// Fails unless this proof is for `needed`; a service function starts with this.
    pub fn require(&self, needed: Permission) -> Result<(), AuthzError> {
        if self.permission == needed {
            Ok(())
        } else {
            Err(AuthzError::WrongProof {
                needed,
                held: self.permission,
            })
        }
    }

    /// Whether the holder may hand out `role` (to a user or an API key): tenant roles with a
    /// tenant proof, `platform-admin` only with a platform proof.
    pub fn may_grant(&self, role: Role) -> bool {
        match (&self.scope, role) {
            (TenantScope::Platform, _) => true,
            (TenantScope::Tenant(_), Role::PlatformAdmin) => false,
            (TenantScope::Tenant(_), _) => true,
        }
    }
}

/// One stored policy line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PolicyRule {
    /// `p, subject, domain, object, action`: the subject may act on the object in the domain.
    Allow {
        /// `role:<name>`, `user:<id>` or `key:<id>`.
        subject: String,
        /// Tenant slug or `*`.
        domain: String,
        /// Object (keyMatch pattern).
        object: String,
        /// Action or `*`.
        action: String,
    },
    /// `g, member, role, domain`: the member has the role in the domain.
    Member {
        /// `user:<id>`, `key:<id>` or `role:<name>` (role inheritance).
        member: String,
        /// `role:<name>`.
        role: String,
        /// Tenant slug or `*`.
        domain: String,
    },
}

impl PolicyRule {
    /// A permission rule.
    pub fn allow(subject: &str, domain: &str, object: &str, action: &str) -> PolicyRule {
        PolicyRule::Allow {
            subject: subject.into(),
            domain: domain.into(),
            object: object.into(),
            action: action.into(),
        }
    }

    /// A role assignment.
    pub fn member(member: &str, role: &str, domain: &str) -> PolicyRule {
        PolicyRule::Member {
            member: member.into(),
            role: role.into(),
            domain: domain.into(),
        }
    }

    /// The casbin section and policy type: `p` or `g`.
    pub fn ptype(&self) -> &'static str {
        match self {
            PolicyRule::Allow { .. } => "p",
            PolicyRule::Member { .. } => "g",
        }
    }

    /// The casbin values (`v0..v3`).
    pub fn values(&self) -> Vec<String> {
        match self {
            PolicyRule::Allow {
                subject,
                domain,
                object,
                action,
            } => vec![
                subject.clone(),
                domain.clone(),
                object.clone(),
                action.clone(),
            ],
            PolicyRule::Member {
                member,
                role,
                domain,
            } => vec![member.clone(), role.clone(), domain.clone()],
        }
    }

    /// Back from casbin's form; `None` for another shape.
    pub fn from_casbin(ptype: &str, values: &[String]) -> Option<PolicyRule> {
        match (ptype, values) {
            ("p", [s, d, o, a]) => Some(PolicyRule::allow(s, d, o, a)),
            ("g", [m, r, d]) => Some(PolicyRule::member(m, r, d)),
            _ => None,
        }
    }

    /// The domain the rule applies in.
    pub fn domain(&self) -> &str {
        match self {
            PolicyRule::Allow { domain, .. } | PolicyRule::Member { domain, .. } => domain,
        }
    }
}

/// Where policies are kept. The store crate implements it over the database.
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// Every rule.
    async fn load(&self) -> Result<Vec<PolicyRule>, PortError>;
    /// Adds rules (already present ones are kept once).
    async fn add(&self, rules: &[PolicyRule]) -> Result<(), PortError>;
    /// Removes rules (absent ones are ignored).
    async fn remove(&self, rules: &[PolicyRule]) -> Result<(), PortError>;
}

/// A [`PolicyStore`] in memory, for tests and the embedded mode before the database.
#[derive(Debug, Default)]
pub struct MemoryPolicyStore {
    rules: Mutex<Vec<PolicyRule>>,
}

impl MemoryPolicyStore {
    /// A snapshot of the rules.
    pub fn snapshot(&self) -> Vec<PolicyRule> {
        self.rules.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl PolicyStore for MemoryPolicyStore {
    async fn load(&self) -> Result<Vec<PolicyRule>, PortError> {
        Ok(self.snapshot())
    }

    async fn add(&self, rules: &[PolicyRule]) -> Result<(), PortError> {
        let mut stored = self
            .rules
            .lock()
            .map_err(|_| PortError("policy store lock poisoned".into()))?;
        for rule in rules {
            if !stored.contains(rule) {
                stored.push(rule.clone());
            }
        }
        Ok(())
    }

    async fn remove(&self, rules: &[PolicyRule]) -> Result<(), PortError> {
        let mut stored = self
            .rules
            .lock()
            .map_err(|_| PortError("policy store lock poisoned".into()))?;
        stored.retain(|r| !rules.contains(r));
        Ok(())
    }
}

/// The casbin [`Adapter`] over a [`PolicyStore`].
pub struct PolicyStoreAdapter {
    store: Arc<dyn PolicyStore>,
}

impl PolicyStoreAdapter {
    /// An adapter over `store`.
    pub fn new(store: Arc<dyn PolicyStore>) -> PolicyStoreAdapter {
        PolicyStoreAdapter { store }
    }
}

fn adapter_error(e: PortError) -> casbin::Error {
    casbin::Error::AdapterError(AdapterError(Box::new(e)))
}

fn to_rules(ptype: &str, rules: Vec<Vec<String>>) -> Vec<PolicyRule> {
    rules
        .iter()
        .filter_map(|r| PolicyRule::from_casbin(ptype, r))
        .collect()
}

#[async_trait]
impl Adapter for PolicyStoreAdapter {
    async fn load_policy(&mut self, m: &mut dyn Model) -> casbin::Result<()> {
        for rule in self.store.load().await.map_err(adapter_error)? {
            let ptype = rule.ptype();
            m.add_policy(ptype, ptype, rule.values());
        }
        Ok(())
    }

    async fn load_filtered_policy<'a>(
        &mut self,
        m: &mut dyn Model,
        f: Filter<'a>,
    ) -> casbin::Result<()> {
        for rule in self.store.load().await.map_err(adapter_error)? {
            let ptype = rule.ptype();
            let filter = if ptype == "p" { &f.p } else { &f.g };
            let values = rule.values();
            let keep = filter.iter().enumerate().all(|(i, want)| {
                want.is_empty() || values.get(i).map(String::as_str) == Some(want)
            });
            if keep {
                m.add_policy(ptype, ptype, values);
            }
        }
        Ok(())
    }

    async fn save_policy(&mut self, m: &mut dyn Model) -> casbin::Result<()> {
        let existing = self.store.load().await.map_err(adapter_error)?;
        self.store.remove(&existing).await.map_err(adapter_error)?;
        let mut rules = to_rules("p", m.get_policy("p", "p"));
        rules.extend(to_rules("g", m.get_policy("g", "g")));
        self.store.add(&rules).await.map_err(adapter_error)
    }

    async fn clear_policy(&mut self) -> casbin::Result<()> {
        let existing = self.store.load().await.map_err(adapter_error)?;
        self.store.remove(&existing).await.map_err(adapter_error)
    }

    fn is_filtered(&self) -> bool {
        false
    }

    async fn add_policy(
        &mut self,
        _sec: &str,
        ptype: &str,
        rule: Vec<String>,
    ) -> casbin::Result<bool> {
        self.add_policies(_sec, ptype, vec![rule]).await
    }

    async fn add_policies(
        &mut self,
        _sec: &str,
        ptype: &str,
        rules: Vec<Vec<String>>,
    ) -> casbin::Result<bool> {
        let rules = to_rules(ptype, rules);
        self.store.add(&rules).await.map_err(adapter_error)?;
        Ok(true)
    }

    async fn remove_policy(
        &mut self,
        _sec: &str,
        ptype: &str,
        rule: Vec<String>,
    ) -> casbin::Result<bool> {
        self.remove_policies(_sec, ptype, vec![rule]).await
    }

    async fn remove_policies(
        &mut self,
        _sec: &str,
        ptype: &str,
        rules: Vec<Vec<String>>,
    ) -> casbin::Result<bool> {
        let rules = to_rules(ptype, rules);
        self.store.remove(&rules).await.map_err(adapter_error)?;
        Ok(true)
    }

    async fn remove_filtered_policy(
        &mut self,
        _sec: &str,
        ptype: &str,
        field_index: usize,
        field_values: Vec<String>,
    ) -> casbin::Result<bool> {
        let matching: Vec<PolicyRule> =
            self.store
                .load()
                .await
                .map_err(adapter_error)?
                .into_iter()
                .filter(|r| r.ptype() == ptype)
                .filter(|r| {
                    let values = r.values();
                    field_values.iter().enumerate().all(|(i, want)| {
                        want.is_empty() || values.get(field_index + i) == Some(want)
                    })
                })
                .collect();
        self.store.remove(&matching).await.map_err(adapter_error)?;
        Ok(!matching.is_empty())
    }
}

/// Why an authorization check or a policy change failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthzError {
    /// The principal lacks the permission in that scope.
    #[error("{principal} lacks {permission} in {scope}")]
    Forbidden {
        /// The principal's subject.
        principal: String,
        /// The permission.
        permission: Permission,
        /// The domain.
        scope: String,
    },
    /// The principal belongs to another tenant.
    #[error("{principal} of tenant {own} cannot act in tenant {requested}")]
    OtherTenant {
        /// The principal's subject.
        principal: String,
        /// Its tenant.
        own: String,
        /// The tenant asked for.
        requested: String,
        /// The permission.
        permission: Permission,
    },
    /// A service function got a proof for another permission (a bug in the handler).
    #[error("this operation needs a {needed} proof, got {held}")]
    WrongProof {
        /// What the function needs.
        needed: Permission,
        /// What it got.
        held: Permission,
    },
    /// A policy change that is not allowed or not well-formed.
    #[error("policy rule refused: {0}")]
    InvalidRule(String),
    /// Bootstrap asked for when policies already exist.
    #[error("policies already exist; bootstrap only runs on an empty policy store")]
    AlreadyBootstrapped,
    /// The policy store failed.
    #[error("policy store: {0}")]
    Store(String),
    /// casbin failed (bad model or policy).
    #[error("authorization engine: {0}")]
    Engine(String),
}

impl From<AuthzError> for ApiError {
    fn from(e: AuthzError) -> ApiError {
        match e {
            AuthzError::Forbidden {
                permission, scope, ..
            } => ApiError::Forbidden {
                permission: permission.name(),
                tenant: scope,
            },
            AuthzError::OtherTenant {
                requested,
                permission,
                ..
            } => ApiError::Forbidden {
                permission: permission.name(),
                tenant: requested,
            },
            AuthzError::WrongProof { needed, .. } => ApiError::Forbidden {
                permission: needed.name(),
                tenant: "(this request)".into(),
            },
            AuthzError::InvalidRule(problem) => ApiError::invalid_input("rule", problem),
            AuthzError::AlreadyBootstrapped => ApiError::Conflict {
                what: "the platform is already bootstrapped".into(),
            },
            AuthzError::Store(_) => ApiError::Unavailable {
                what: "the policy store".into(),
            },
            AuthzError::Engine(_) => ApiError::Internal {
                reference: "authz-engine".into(),
            },
        }
    }
}

fn engine(e: casbin::Error) -> AuthzError {
    match e {
        casbin::Error::AdapterError(a) => AuthzError::Store(a.to_string()),
        other => AuthzError::Engine(other.to_string()),
    }
}

/// The role permissions and role inheritance every new tenant starts with.
pub fn default_tenant_policies(tenant: &TenantSlug) -> Vec<PolicyRule> {
    let domain = tenant.as_str();
    let mut rules = vec![
        PolicyRule::member(&Role::Operator.subject(), &Role::Viewer.subject(), domain),
        PolicyRule::member(&Role::Admin.subject(), &Role::Operator.subject(), domain),
    ];
    for permission in Permission::ALL {
        if permission.is_platform_wide() {
            continue;
        }
        let (object, action) = permission.object_action();
        rules.push(PolicyRule::allow(
            &permission.default_role().subject(),
            domain,
            object,
            action,
        ));
    }
    rules
}

/// The platform-wide rules: `platform-admin` manages tenants.
pub fn platform_policies() -> Vec<PolicyRule> {
    Permission::ALL
        .iter()
        .filter(|p| p.is_platform_wide())
        .map(|p| {
            let (object, action) = p.object_action();
            PolicyRule::allow(
                &Role::PlatformAdmin.subject(),
                PLATFORM_DOMAIN,
                object,
                action,
            )
        })
        .collect()
}

/// Decides permissions with casbin and hands out [`Authorized`] proofs. casbin's answers are
/// cached until the policies change (see `authz/decisions.rs`).
pub struct Authorizer {
    enforcer: RwLock<Enforcer>,
    decisions: decisions::DecisionCache,
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorizer").finish_non_exhaustive()
    }
}

impl Authorizer {
    /// An authorizer with the embedded model and the policies in `store`.
    pub async fn new(store: Arc<dyn PolicyStore>) -> Result<Authorizer, AuthzError> {
        Authorizer::with_model(MODEL, store).await
    }

    /// An authorizer with another model text (same request shape).
    pub async fn with_model(
        model: &str,
        store: Arc<dyn PolicyStore>,
    ) -> Result<Authorizer, AuthzError> {
        let model = DefaultModel::from_str(model).await.map_err(engine)?;
        let mut enforcer = Enforcer::new(model, PolicyStoreAdapter::new(store))
            .await
            .map_err(engine)?;
        enforcer.enable_auto_save(true);
        Ok(Authorizer {
            enforcer: RwLock::new(enforcer),
            decisions: decisions::DecisionCache::default(),
        })
    }

    /// Re-reads every policy from the store (after another replica changed them).
    pub async fn reload(&self) -> Result<(), AuthzError> {
        let mut enforcer = self.enforcer.write().await;
        let loaded = enforcer.load_policy().await.map_err(engine);
        self.decisions.clear();
        loaded
    }

    /// The one check every handler makes. Refuses a principal of another tenant outright,
    /// a tenant permission in the platform scope and a platform permission in a tenant, then
    /// asks casbin for each of the principal's roles and for the principal itself.
    pub async fn authorize(
        &self,
        principal: &Principal,
        scope: &TenantScope,
        permission: Permission,
    ) -> Result<Authorized, AuthzError> {
        let forbidden = || AuthzError::Forbidden {
            principal: principal.subject(),
            permission,
            scope: scope.domain().to_string(),
        };
        match scope {
            TenantScope::Tenant(tenant) => {
                if &principal.tenant != tenant {
                    return Err(AuthzError::OtherTenant {
                        principal: principal.subject(),
                        own: principal.tenant.to_string(),
                        requested: tenant.to_string(),
                        permission,
                    });
                }
                if permission.is_platform_wide() {
                    return Err(forbidden());
                }
            }
            TenantScope::Platform => {
                if !permission.is_platform_wide() {
                    return Err(forbidden());
                }
            }
        }
        let (object, action) = permission.object_action();
        let domain = scope.domain();
        let mut subjects: Vec<String> = principal.roles.iter().map(Role::subject).collect();
        subjects.push(principal.subject());
        let enforcer = self.enforcer.read().await;
        for subject in &subjects {
            let allowed = match self.decisions.get(subject, domain, object, action) {
                Some(allowed) => allowed,
                None => {
                    let allowed = enforcer
                        .enforce((subject.as_str(), domain, object, action))
                        .map_err(engine)?;
                    self.decisions.put(subject, domain, object, action, allowed);
                    allowed
                }
            };
            if allowed {
                return Ok(Authorized {
                    principal: principal.clone(),
                    scope: scope.clone(),
                    permission,
                });
            }
        }
        Err(forbidden())
    }

    /// First run only: seeds the platform rules and `tenant`'s defaults into an empty store.
    pub async fn bootstrap(&self, tenant: &TenantSlug) -> Result<(), AuthzError> {
        let mut enforcer = self.enforcer.write().await;
        if !enforcer.get_all_policy().is_empty() || !enforcer.get_grouping_policy().is_empty() {
            return Err(AuthzError::AlreadyBootstrapped);
        }
        let mut rules = platform_policies();
        rules.extend(default_tenant_policies(tenant));
        let applied = apply(&mut enforcer, rules, true).await;
        self.decisions.clear();
        applied
    }

    /// Seeds a new tenant's default policies; needs a [`Permission::ManageTenants`] proof.
    pub async fn seed_tenant(
        &self,
        proof: &Authorized,
        tenant: &TenantSlug,
    ) -> Result<(), AuthzError> {
        proof.require(Permission::ManageTenants)?;
        let mut enforcer = self.enforcer.write().await;
        let applied = apply(&mut enforcer, default_tenant_policies(tenant), true).await;
        self.decisions.clear();
        applied
    }

    /// The rules of the proof's tenant; needs a [`Permission::ManagePolicies`] proof.
    pub async fn rules(&self, proof: &Authorized) -> Result<Vec<PolicyRule>, AuthzError> {
        proof.require(Permission::ManagePolicies)?;
        let domain = proof.scope().domain().to_string();
        let enforcer = self.enforcer.read().await;
        let mut rules = to_rules("p", enforcer.get_policy());
        rules.extend(to_rules("g", enforcer.get_grouping_policy()));
        rules.retain(|r| r.domain() == domain);
        Ok(rules)
    }

    /// Adds rules to the proof's tenant; needs [`Permission::ManagePolicies`]. Rules for
    /// another domain, and any rule that names `platform-admin`, are refused.
    pub async fn add_rules(
        &self,
        proof: &Authorized,
        rules: Vec<PolicyRule>,
    ) -> Result<(), AuthzError> {
        check_change(proof, &rules)?;
        let mut enforcer = self.enforcer.write().await;
        let applied = apply(&mut enforcer, rules, true).await;
        self.decisions.clear();
        applied
    }

    /// Removes rules from the proof's tenant; same checks as [`Authorizer::add_rules`].
    pub async fn remove_rules(
        &self,
        proof: &Authorized,
        rules: Vec<PolicyRule>,
    ) -> Result<(), AuthzError> {
        check_change(proof, &rules)?;
        let mut enforcer = self.enforcer.write().await;
        let applied = apply(&mut enforcer, rules, false).await;
        self.decisions.clear();
        applied
    }
}

fn check_change(proof: &Authorized, rules: &[PolicyRule]) -> Result<(), AuthzError> {
    proof.require(Permission::ManagePolicies)?;
    let Some(tenant) = proof.tenant() else {
        return Err(AuthzError::InvalidRule(
            "policies are changed inside a tenant".into(),
        ));
    };
    let platform_role = Role::PlatformAdmin.subject();
    for rule in rules {
        if rule.domain() != tenant.as_str() {
            return Err(AuthzError::InvalidRule(format!(
                "the rule's domain must be your tenant {tenant}, not {}",
                rule.domain()
            )));
        }
        if rule.values().iter().any(|v| v == &platform_role) {
            return Err(AuthzError::InvalidRule(
                "platform-admin is granted by platform admins only".into(),
            ));
        }
        if rule.values().iter().any(|v| v.trim().is_empty()) {
            return Err(AuthzError::InvalidRule("no field may be empty".into()));
        }
        if let PolicyRule::Member { role, .. } = rule
            && !role.starts_with("role:")
        {
            return Err(AuthzError::InvalidRule(format!(
                "a membership names a role (`role:<name>`), not `{role}`"
            )));
        }
    }
    Ok(())
}

async fn apply(
    enforcer: &mut Enforcer,
    rules: Vec<PolicyRule>,
    add: bool,
) -> Result<(), AuthzError> {
    for rule in rules {
        let values = rule.values();
        match (&rule, add) {
            (PolicyRule::Allow { .. }, true) => enforcer.add_policy(values).await,
            (PolicyRule::Allow { .. }, false) => enforcer.remove_policy(values).await,
            (PolicyRule::Member { .. }, true) => enforcer.add_grouping_policy(values).await,
            (PolicyRule::Member { .. }, false) => enforcer.remove_grouping_policy(values).await,
        }
        .map_err(engine)?;
    }
    Ok(())
}
