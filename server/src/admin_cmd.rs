//! `aoi admin`: tenants, users and API keys straight on the configured database (no server
//! needed), each change audited with actor `cli`.

use anyhow::{Context, Result, anyhow, bail};
use aoi_control::auth::{generate_api_key, hash_password};
use aoi_control::authz::{PolicyStore, default_tenant_policies};
use aoi_control::{Role, TenantSlug};
use aoi_platform::ports::{StorePolicies, hex};
use aoi_store::{NewApiKey, NewAuditEvent, NewTenant, NewUser, Store, TenantId};
use serde_json::json;

use crate::serve::ConfigArgs;

#[derive(clap::Args, Debug)]
pub struct AdminArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// Tenants.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(clap::Subcommand, Debug)]
pub enum TenantsCommand {
    /// Create a tenant with the default role policies.
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
    },
    /// List tenants.
    List,
}

#[derive(clap::Subcommand, Debug)]
pub enum UsersCommand {
    /// Create a user; the password is read from the environment variable AOI_NEW_PASSWORD.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        username: String,
        /// viewer, operator or admin.
        #[arg(long, default_value = "viewer")]
        role: String,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {
    /// Create an API key and print it once.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// viewer, operator or admin.
        #[arg(long, default_value = "operator")]
        role: String,
    },
}

async fn tenant_id(store: &Store, slug: &str) -> Result<TenantId> {
    store
        .tenant_by_slug(slug)
        .await?
        .map(|t| t.tenant_id())
        .ok_or_else(|| anyhow!("no tenant `{slug}`: list them with `aoi admin tenants list`"))
}

fn tenant_role(role: &str) -> Result<Role> {
    let parsed: Role = role.parse()?;
    if parsed == Role::PlatformAdmin {
        bail!("platform-admin is not a tenant role: use viewer, operator or admin");
    }
    Ok(parsed)
}

async fn audit(
    store: &Store,
    tenant: Option<TenantId>,
    action: &str,
    target: String,
) -> Result<()> {
    store
        .append_audit(NewAuditEvent {
            tenant,
            actor: "cli".into(),
            action: action.into(),
            target,
            decision: Some("allowed".into()),
            details: json!({}),
        })
        .await?;
    Ok(())
}

/// Runs one admin command.
pub async fn run(args: AdminArgs) -> Result<()> {
    let config = args.config.load()?;
    std::fs::create_dir_all(&config.server.data_dir)
        .with_context(|| format!("creating {}", config.server.data_dir.display()))?;
    let store = aoi_platform::context::connect_and_migrate(&config)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    match args.command {
        AdminCommand::Tenants(TenantsCommand::Create { slug, name }) => {
            let slug = TenantSlug::new(&slug)?;
            let tenant = store
                .create_tenant(NewTenant {
                    slug: slug.as_str().into(),
                    name,
                })
                .await?;
            StorePolicies(store.clone())
                .add(&default_tenant_policies(&slug))
                .await
                .map_err(|e| anyhow!("seeding policies: {e}"))?;
            audit(&store, None, "tenant.create", format!("tenant:{slug}")).await?;
            println!(
                "{}",
                serde_json::to_string(&json!({ "id": tenant.id, "slug": tenant.slug }))?
            );
        }
        AdminCommand::Tenants(TenantsCommand::List) => {
            for t in store.tenants().await? {
                println!("{}\t{}\t{}", t.slug, t.id, t.name);
            }
        }
        AdminCommand::Users(UsersCommand::Create {
            tenant,
            username,
            role,
        }) => {
            let role = tenant_role(&role)?;
            let password = std::env::var("AOI_NEW_PASSWORD")
                .context("set AOI_NEW_PASSWORD to the new user's password")?;
            aoi_platform::users::check_credentials(&username, &password)
                .map_err(|e| anyhow!("{e}"))?;
            let id = tenant_id(&store, &tenant).await?;
            let user = store
                .create_user(
                    id,
                    NewUser {
                        username,
                        password_hash: hash_password(&password)?,
                        role: role.as_str().into(),
                    },
                )
                .await?;
            audit(&store, Some(id), "user.create", format!("user:{}", user.id)).await?;
            println!(
                "{}",
                serde_json::to_string(
                    &json!({ "id": user.id, "username": user.username, "role": user.role })
                )?
            );
        }
        AdminCommand::Keys(KeysCommand::Create { tenant, name, role }) => {
            let role = tenant_role(&role)?;
            let slug = TenantSlug::new(&tenant)?;
            let id = tenant_id(&store, &tenant).await?;
            let generated = generate_api_key("", &name, &slug, role);
            let key = store
                .create_api_key(
                    id,
                    NewApiKey {
                        name,
                        prefix: generated.record.prefix.clone(),
                        key_hash: hex(&generated.record.secret_sha256),
                        role: role.as_str().into(),
                    },
                )
                .await?;
            audit(
                &store,
                Some(id),
                "api_key.create",
                format!("key:{}", key.id),
            )
            .await?;
            println!(
                "{}",
                serde_json::to_string(&json!({ "id": key.id, "key": generated.token }))?
            );
        }
    }
    store.close().await.ok();
    Ok(())
}
