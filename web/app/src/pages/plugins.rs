//! The plugin store: a card per catalog plugin with its tools (read or write), the tenant's
//! installation, and the forms to install, configure, enable and disable it.

use aoi_core::Access;
use aoi_platform::plugins::CatalogEntry;
use aoi_plugin_package::{ConfigField, ConfigKind};
use leptos::prelude::*;

use super::{Section, Viewer, badge, document};
use crate::islands::LiveRegion;

pub struct StoreView {
    pub entries: Vec<CatalogEntry>,
    pub can_manage: bool,
}

pub fn store_page(viewer: &Viewer, view: &StoreView) -> String {
    let body = store_body_view(view);
    document("Plugins", Some((viewer, Section::Plugins)), move || {
        view! {
            <h1>"Plugin store"</h1>
            <p class="lede">"Plugins give the agent tools. Read tools run whenever a session needs them; write tools run only through the guardrails and, where they ask, a person's approval."</p>
            <LiveRegion src="/console/plugins?part=live".to_owned() label="Plugins".to_owned()>{body}</LiveRegion>
        }
        .into_any()
    })
}

pub fn store_body(view: &StoreView) -> String {
    store_body_view(view).to_html()
}

fn access_badge(access: Access) -> impl IntoView + use<> {
    match access {
        Access::Read => badge("ok", "read"),
        Access::Write => badge("wait", "write"),
    }
}

fn store_body_view(view: &StoreView) -> AnyView {
    let active: Vec<(String, String, Access)> = view
        .entries
        .iter()
        .filter(|e| e.installation.as_ref().is_some_and(|i| i.enabled))
        .flat_map(|e| {
            e.tools
                .iter()
                .map(|t| (e.name.clone(), t.name.clone(), t.access))
        })
        .collect();
    let active_empty = active.is_empty().then(|| {
        view! { <p class="empty">"No plugin is enabled: sessions use only the environment's own tools."</p> }
    });
    let active = active
        .into_iter()
        .map(|(plugin, tool, access)| {
            let key = tool.clone();
            view! { <li data-tool=key><code>{tool}</code>" "{access_badge(access)}" "<span class="meta">{plugin}</span></li> }
        })
        .collect_view();
    let cards = view
        .entries
        .iter()
        .map(|e| card(e, view.can_manage))
        .collect_view();
    view! {
        <section aria-labelledby="active-tools">
            <h2 id="active-tools">"Tools your agent can use"</h2>
            {active_empty}
            <ul class="tools" data-testid="active-tools">{active}</ul>
        </section>
        <h2>"Catalog"</h2>
        <div class="cards">{cards}</div>
    }
    .into_any()
}

fn kind_name(entry: &CatalogEntry) -> String {
    format!("{:?}", entry.kind).to_lowercase()
}

fn card(entry: &CatalogEntry, can_manage: bool) -> impl IntoView + use<> {
    let name = entry.name.clone();
    let heading = format!("{} {}", entry.name, entry.version);
    let meta = format!(
        "{} · {} · {}",
        entry.publisher,
        kind_name(entry),
        entry.source
    );
    let tools = entry
        .tools
        .iter()
        .map(|t| {
            let name = t.name.clone();
            let description = t.description.clone();
            view! { <li><code>{name}</code>" "{access_badge(t.access)}<span class="tool-description">{description}</span></li> }
        })
        .collect_view();
    let status = match &entry.installation {
        Some(i) if i.enabled => {
            badge("ok", &format!("installed {} · enabled", i.version)).into_any()
        }
        Some(i) => badge("muted", &format!("installed {} · disabled", i.version)).into_any(),
        None => badge("muted", "not installed").into_any(),
    };
    let manage = can_manage.then(|| manage_forms(entry));
    view! {
        <article class="card plugin" data-plugin=name>
            <h3>{heading}</h3>
            <p class="meta">{meta}</p>
            <p data-testid="plugin-status">{status}</p>
            <p>{entry.description.clone()}</p>
            <h4>"Tools"</h4>
            <ul class="tools">{tools}</ul>
            {manage}
        </article>
    }
}

fn field_input(
    plugin: &str,
    field: &ConfigField,
    current: Option<&serde_json::Value>,
    installed: bool,
) -> impl IntoView + use<> {
    let id = format!("{plugin}-{}", field.name);
    let name = format!("config.{}", field.name);
    let label = if field.required {
        format!("{} (required)", field.name)
    } else {
        field.name.clone()
    };
    let description = field.description.clone();
    let hint_id = format!("{id}-hint");
    // A required field must be filled to install; when configuring, blank keeps the value.
    let required = field.required && !installed;
    let input = if field.secret {
        let placeholder = if installed {
            "set: leave blank to keep"
        } else {
            "write-only"
        };
        view! { <input id=id.clone() name=name type="password" autocomplete="off" placeholder=placeholder required=required aria-describedby=hint_id.clone()/> }.into_any()
    } else {
        let value = current
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            })
            .unwrap_or_default();
        let kind = match field.kind {
            ConfigKind::Url => "url",
            ConfigKind::Integer => "number",
            ConfigKind::String | ConfigKind::Boolean => "text",
        };
        view! { <input id=id.clone() name=name type=kind value=value required=required aria-describedby=hint_id.clone()/> }.into_any()
    };
    view! {
        <label for=id>{label}</label>
        {input}
        <small id=hint_id>{description}</small>
    }
}

fn manage_forms(entry: &CatalogEntry) -> impl IntoView + use<> {
    let name = entry.name.clone();
    let installed = entry.installation.is_some();
    let config = entry
        .installation
        .as_ref()
        .map(|i| i.config.clone())
        .unwrap_or_default();
    let fields = entry
        .config_schema
        .iter()
        .map(|f| field_input(&name, f, config.get(&f.name), installed))
        .collect_view();
    let (action, submit) = if installed {
        (
            format!("/console/plugins/{name}/configure"),
            "Save settings".to_owned(),
        )
    } else {
        (
            format!("/console/plugins/{name}/install"),
            format!("Install {name}"),
        )
    };
    let toggle = entry.installation.as_ref().map(|i| {
        let (verb, label) = if i.enabled {
            ("disable", "Disable")
        } else {
            ("enable", "Enable")
        };
        let action = format!("/console/plugins/{name}/{verb}");
        view! {
            <form method="post" action=action data-inline="">
                <p class="form-error" role="alert"></p>
                <button type="submit">{label}</button>
            </form>
        }
    });
    view! {
        <form method="post" action=action data-inline="" class="stack">
            {fields}
            <p class="form-error" role="alert"></p>
            <button type="submit" class="primary">{submit}</button>
        </form>
        {toggle}
    }
}
