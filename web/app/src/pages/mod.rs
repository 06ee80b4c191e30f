//! Pages rendered on the server: Leptos views turned into HTML documents. Shared here: the
//! document shell with its navigation, the problem page, and small formatting helpers.

pub mod admin;
pub mod benchmarks;
pub mod incidents;
pub mod models;
pub mod plugins;
pub mod review;
pub mod sign_in;
pub mod timeline;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hydration_context::SsrSharedContext;
use leptos::prelude::*;

/// The signed-in person as the pages see them.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub name: String,
    pub tenant: String,
    pub roles: Vec<String>,
    /// Holds `review_signals` (the review queue is in the navigation).
    pub may_review: bool,
    /// Holds `read_benchmarks`.
    pub may_benchmarks: bool,
    /// Holds `read_models`.
    pub may_models: bool,
    /// Holds one of the administration permissions (users, keys, guardrails, audit).
    pub may_admin: bool,
}

/// The sections of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Incidents,
    Review,
    Plugins,
    Models,
    Benchmarks,
    Admin,
}

impl Section {
    fn entries(viewer: &Viewer) -> Vec<(Section, &'static str, &'static str)> {
        let mut entries = vec![(Section::Incidents, "Incidents", "/console/incidents")];
        if viewer.may_review {
            entries.push((Section::Review, "Review", "/console/review"));
        }
        entries.push((Section::Plugins, "Plugins", "/console/plugins"));
        if viewer.may_models {
            entries.push((Section::Models, "Models", "/console/models"));
        }
        if viewer.may_benchmarks {
            entries.push((Section::Benchmarks, "Benchmarks", "/console/benchmarks"));
        }
        if viewer.may_admin {
            entries.push((Section::Admin, "Admin", "/console/admin"));
        }
        entries
    }
}

/// A whole page: head (styles, the module that hydrates the islands), skip link, header with
/// navigation and the signed-in person, then `main`.
///
/// The page is built inside a reactive owner with an islands-mode shared context, which the
/// islands' server rendering needs.
pub fn document(
    title: &str,
    chrome: Option<(&Viewer, Section)>,
    main: impl FnOnce() -> AnyView,
) -> String {
    let owner = Owner::new_root(Some(Arc::new(SsrSharedContext::new_islands())));
    owner.with(|| render_document(title, chrome, main()))
}

fn render_document(title: &str, chrome: Option<(&Viewer, Section)>, main: AnyView) -> String {
    let head_title = format!("{title} · AOI console");
    let header = chrome.map(|(viewer, current)| header(viewer, current));
    let html = view! {
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <title>{head_title}</title>
                <link rel="icon" href="data:,"/>
                <link rel="stylesheet" href="/console/assets/console.css"/>
                <script type="module" src="/console/assets/boot.js"></script>
            </head>
            <body>
                <a class="skip-link" href="#main">"Skip to the content"</a>
                {header}
                <main id="main" tabindex="-1">{main}</main>
            </body>
        </html>
    }
    .to_html();
    format!("<!DOCTYPE html>{html}")
}

fn header(viewer: &Viewer, current: Section) -> impl IntoView + use<> {
    let links = Section::entries(viewer)
        .into_iter()
        .map(|(section, label, href)| {
            let here = (section == current).then_some("page");
            view! { <li><a href=href aria-current=here>{label}</a></li> }
        })
        .collect_view();
    let who = format!(
        "{} · {} ({})",
        viewer.name,
        viewer.tenant,
        viewer.roles.join(", ")
    );
    view! {
        <header class="top">
            <a class="brand" href="/console/incidents">"AOI"</a>
            <nav aria-label="Sections"><ul>{links}</ul></nav>
            <div class="who">
                <span class="who-name" data-testid="who">{who}</span>
                <form method="post" action="/console/sign-out">
                    <button type="submit" class="link">"Sign out"</button>
                </form>
            </div>
        </header>
    }
}

/// A page that says what went wrong and leads back.
pub fn problem_page(message: &str, back: &str) -> String {
    let message = message.to_owned();
    let back = back.to_owned();
    document("Problem", None, move || {
        view! {
            <div class="problem" role="alert">
                <h1>"That did not work"</h1>
                <p class="problem-message">{message}</p>
                <p><a href=back>"Go back"</a></p>
            </div>
        }
        .into_any()
    })
}

/// `2026-11-27 02:10:05 UTC`.
pub fn when(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A `<time>` element with the machine-readable instant.
pub fn time(t: &DateTime<Utc>) -> impl IntoView + use<> {
    let iso = t.to_rfc3339();
    let text = when(t);
    view! { <time datetime=iso>{text}</time> }
}

/// A small labelled badge; `kind` picks its colour class.
pub fn badge(kind: &str, text: &str) -> impl IntoView + use<> {
    let class = format!("badge badge-{kind}");
    let text = text.replace('_', " ");
    view! { <span class=class>{text}</span> }
}
