//! The console's islands: the only components the browser hydrates. Everything else on a page
//! is static HTML from the server.

use leptos::prelude::*;

/// A part of a page that stays current: once hydrated it follows the tenant's live events
/// (`GET /console/live`) and, on each, fetches `src` (the same page with `part=live`, rendered
/// by the server with the same components) and swaps its body in. Forms inside it marked
/// `data-inline` are submitted without leaving the page, and their errors are shown beside
/// them. While someone types in one of its fields the swap waits, so nothing typed is lost.
///
/// `data-live` on the region says where it stands: `off` (not hydrated), `connected`,
/// `reconnecting`, `paused` (waiting for typing to end) or `expired` (signed out).
#[island]
pub fn LiveRegion(
    /// The URL that renders this region's body again.
    src: String,
    /// What the region shows, for assistive technology.
    label: String,
    children: Children,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::Section>::new();
    #[cfg(feature = "hydrate")]
    {
        let src = src.clone();
        Effect::new(move |_| {
            if let Some(el) = node.get() {
                crate::live::follow(el, src.clone());
            }
        });
    }
    view! {
        <section class="live-region" node_ref=node data-live="off" data-live-src=src aria-label=label>
            <p class="live-status" role="status">"Live updates start once the page has loaded."</p>
            <div class="live-body">{children()}</div>
        </section>
    }
}
