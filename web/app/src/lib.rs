//! aoi-console: the incident console. Pages are Leptos components rendered on the server
//! (feature `ssr`, served by `aoi serve` on the API's port under `/console`); the parts that
//! change while an engineer looks at them are islands (feature `hydrate`) that the browser
//! hydrates: they follow the tenant's live events and re-render from the server, and submit
//! their forms without leaving the page.
//!
//! Every action goes through the same service functions and authorization as the REST API;
//! the console adds no rights of its own. Without the WASM bundle every page and form still
//! works, only without live updates.

// Leptos views are deeply nested types; the review page needs more than the default depth.
#![recursion_limit = "256"]

pub mod islands;

#[cfg(feature = "hydrate")]
mod live;

#[cfg(feature = "ssr")]
mod pages;
#[cfg(feature = "ssr")]
mod server;
#[cfg(feature = "ssr")]
pub use server::{Console, router};

/// Prepares the browser side: the reactive owner islands hydrate under. Called once by the
/// frontend's `hydrate` export, before `assets/boot.js` hydrates each island.
#[cfg(feature = "hydrate")]
pub fn hydrate() {
    leptos::mount::hydrate_islands();
}
