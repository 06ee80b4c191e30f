//! Administration: users, roles (policy lines), API keys, guardrails, and the audit log.

use aoi_control::authz::PolicyRule;
use aoi_store::{ApiKey, AuditEvent, Guardrail, User};
use leptos::prelude::*;

use super::{Section, Viewer, badge, document, time};

/// What the administration page shows; a section is `None` when the person's role lacks its
/// permission.
pub struct AdminView {
    pub users: Option<Vec<User>>,
    pub rules: Option<Vec<PolicyRule>>,
    pub keys: Option<Vec<ApiKey>>,
    pub guardrails: Option<Vec<Guardrail>>,
    /// May read the audit log.
    pub audit: bool,
    /// A key just created: its name and the secret, shown this once.
    pub new_key: Option<(String, String)>,
}

const ROLES: [&str; 3] = ["viewer", "operator", "admin"];

fn role_options() -> impl IntoView + use<> {
    ROLES
        .into_iter()
        .map(|r| {
            let selected = r == "viewer";
            view! { <option value=r selected=selected>{r}</option> }
        })
        .collect_view()
}

fn users_section(users: Vec<User>) -> AnyView {
    let rows = users
        .into_iter()
        .map(|u| {
            let state = if u.disabled { badge("muted", "disabled") } else { badge("ok", "active") };
            view! { <tr data-user=u.username.clone()><td>{u.username.clone()}</td><td>{u.role.clone()}</td><td>{state}</td><td>{time(&u.created_at)}</td></tr> }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="users">
            <h2 id="users">"Users"</h2>
            <table>
                <thead><tr><th scope="col">"Username"</th><th scope="col">"Role"</th><th scope="col">"State"</th><th scope="col">"Created"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <form method="post" action="/console/admin/users" class="inline-form">
                <div class="field"><label for="new-username">"Username"</label><input id="new-username" name="username" type="text" required=true autocomplete="off"/></div>
                <div class="field"><label for="new-password">"Password (8 or more characters)"</label><input id="new-password" name="password" type="password" required=true minlength="8" autocomplete="new-password"/></div>
                <div class="field"><label for="new-role">"Role"</label><select id="new-role" name="role">{role_options()}</select></div>
                <button type="submit" class="primary">"Add user"</button>
            </form>
        </section>
    }
    .into_any()
}

fn rules_section(rules: Vec<PolicyRule>) -> AnyView {
    let rows = rules
        .into_iter()
        .map(|r| match r {
            PolicyRule::Allow { subject, domain, object, action } => {
                view! { <tr><td>{subject}</td><td>"may "{action}" "{object}</td><td>{domain}</td></tr> }.into_any()
            }
            PolicyRule::Member { member, role, domain } => {
                view! { <tr><td>{member}</td><td>"has "{role}</td><td>{domain}</td></tr> }.into_any()
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="roles">
            <h2 id="roles">"Roles"</h2>
            <details>
                <summary>"The tenant's policy lines (change them with POST/DELETE /api/v1/policies)"</summary>
                <table>
                    <thead><tr><th scope="col">"Who"</th><th scope="col">"What"</th><th scope="col">"Where"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </section>
    }
    .into_any()
}

fn keys_section(keys: Vec<ApiKey>, new_key: Option<(String, String)>) -> AnyView {
    let shown = new_key.map(|(name, secret)| {
        view! {
            <div class="notice" role="status" data-testid="new-key">
                <p><strong>"The key "{name}" is shown this once: copy it now."</strong></p>
                <code class="secret" data-testid="new-key-secret">{secret}</code>
            </div>
        }
    });
    let rows = keys
        .into_iter()
        .map(|k| {
            let revoke = format!("/console/admin/api-keys/{}/revoke", k.id);
            let state = match k.revoked_at {
                Some(at) => view! { <span>{badge("muted", "revoked")}" "{time(&at)}</span> }.into_any(),
                None => view! {
                    <form method="post" action=revoke><button type="submit" class="deny">"Revoke"</button></form>
                }
                .into_any(),
            };
            view! { <tr data-key=k.name.clone()><td>{k.name.clone()}</td><td><code>{k.prefix.clone()}"…"</code></td><td>{k.role.clone()}</td><td>{time(&k.created_at)}</td><td>{state}</td></tr> }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="keys">
            <h2 id="keys">"API keys"</h2>
            {shown}
            <table>
                <thead><tr><th scope="col">"Name"</th><th scope="col">"Prefix"</th><th scope="col">"Role"</th><th scope="col">"Created"</th><th scope="col">"State"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <form method="post" action="/console/admin/api-keys" class="inline-form">
                <div class="field"><label for="key-name">"Name"</label><input id="key-name" name="name" type="text" required=true autocomplete="off"/></div>
                <div class="field"><label for="key-role">"Role"</label><select id="key-role" name="role">{role_options()}</select></div>
                <button type="submit" class="primary">"Create key"</button>
            </form>
        </section>
    }
    .into_any()
}

fn guardrails_section(rules: Vec<Guardrail>) -> AnyView {
    let rows = rules
        .into_iter()
        .map(|g| {
            let delete = format!("/console/admin/guardrails/{}/delete", g.id);
            let decision = format!("{:?}", g.decision).to_lowercase();
            let kind = match decision.as_str() {
                "auto" => "ok",
                "ask" => "wait",
                _ => "alert",
            };
            view! {
                <tr>
                    <td><code>{g.action_pattern.clone()}</code></td>
                    <td><code>{g.namespace_pattern.clone()}</code></td>
                    <td><code>{g.service_pattern.clone()}</code></td>
                    <td>{badge(kind, &decision)}</td>
                    <td>{g.priority}</td>
                    <td><form method="post" action=delete><button type="submit">"Delete"</button></form></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="guardrails">
            <h2 id="guardrails">"Guardrails"</h2>
            <p class="meta">"Writes that match no rule follow the server's default decision. Higher priority wins."</p>
            <table>
                <thead><tr><th scope="col">"Action"</th><th scope="col">"Namespace"</th><th scope="col">"Service"</th><th scope="col">"Decision"</th><th scope="col">"Priority"</th><th scope="col"><span class="visually-hidden">"Delete"</span></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <form method="post" action="/console/admin/guardrails" class="inline-form">
                <div class="field"><label for="g-action">"Action pattern"</label><input id="g-action" name="action_pattern" type="text" required=true placeholder="kubectl delete*"/></div>
                <div class="field"><label for="g-ns">"Namespace pattern"</label><input id="g-ns" name="namespace_pattern" type="text" placeholder="*"/></div>
                <div class="field"><label for="g-svc">"Service pattern"</label><input id="g-svc" name="service_pattern" type="text" placeholder="*"/></div>
                <div class="field"><label for="g-decision">"Decision"</label>
                    <select id="g-decision" name="decision"><option value="ask">"ask"</option><option value="auto">"auto"</option><option value="deny">"deny"</option></select>
                </div>
                <div class="field"><label for="g-priority">"Priority"</label><input id="g-priority" name="priority" type="number" value="0"/></div>
                <button type="submit" class="primary">"Save rule"</button>
            </form>
        </section>
    }
    .into_any()
}

pub fn page(viewer: &Viewer, view: &AdminView) -> String {
    let users = view.users.clone().map(users_section);
    let rules = view.rules.clone().map(rules_section);
    let keys = view.keys.clone().map(|k| keys_section(k, view.new_key.clone()));
    let guardrails = view.guardrails.clone().map(guardrails_section);
    let audit = view.audit.then(|| {
        view! {
            <section class="card" aria-labelledby="audit">
                <h2 id="audit">"Audit log"</h2>
                <p><a href="/console/admin/audit">"Search the audit log"</a>" · "<a href="/console/admin/audit.jsonl" download="aoi-audit.jsonl">"Export all as JSON Lines"</a></p>
            </section>
        }
    });
    document("Administration", Some((viewer, Section::Admin)), move || {
        view! {
            <h1>"Administration"</h1>
            {users}
            {rules}
            {keys}
            {guardrails}
            {audit}
        }
        .into_any()
    })
}

/// The audit search as typed.
#[derive(Debug, Clone, Default)]
pub struct AuditSearch {
    pub actor: String,
    pub action: String,
    pub since: String,
}

pub fn audit_page(viewer: &Viewer, search: &AuditSearch, events: &[AuditEvent]) -> String {
    let query = [("actor", &search.actor), ("action", &search.action), ("since", &search.since)]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", crate::server::encode(v.trim())))
        .collect::<Vec<_>>()
        .join("&");
    let export = format!("/console/admin/audit.jsonl?{query}");
    let count = format!("{} records, newest first (at most 1000)", events.len());
    let rows = events
        .iter()
        .map(|e| {
            let details = e.details.to_string();
            view! {
                <tr data-action=e.action.clone()>
                    <td>{time(&e.at)}</td>
                    <td>{e.actor.clone()}</td>
                    <td><code>{e.action.clone()}</code></td>
                    <td>{e.target.clone()}</td>
                    <td>{e.decision.clone().unwrap_or_default()}</td>
                    <td><details><summary>"details"</summary><pre>{details}</pre></details></td>
                </tr>
            }
        })
        .collect_view();
    let (actor, action, since) = (search.actor.clone(), search.action.clone(), search.since.clone());
    document("Audit log", Some((viewer, Section::Admin)), move || {
        view! {
            <p class="crumbs"><a href="/console/admin">"Administration"</a></p>
            <h1>"Audit log"</h1>
            <form method="get" action="/console/admin/audit" class="filters" aria-label="Search the audit log">
                <div class="field"><label for="a-actor">"Actor"</label><input id="a-actor" name="actor" type="search" value=actor placeholder="user:..."/></div>
                <div class="field"><label for="a-action">"Action"</label><input id="a-action" name="action" type="search" value=action placeholder="approval.approve"/></div>
                <div class="field"><label for="a-since">"Since (day)"</label><input id="a-since" name="since" type="date" value=since/></div>
                <button type="submit">"Search"</button>
                <a class="button-link" href=export download="aoi-audit.jsonl" data-testid="export">"Export as JSON Lines"</a>
            </form>
            <p class="meta">{count}</p>
            <table class="audit">
                <thead><tr><th scope="col">"At"</th><th scope="col">"Actor"</th><th scope="col">"Action"</th><th scope="col">"Target"</th><th scope="col">"Decision"</th><th scope="col">"Details"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    })
}
