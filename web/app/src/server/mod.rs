//! The console's HTTP side: axum routes under `/console` over the platform's service
//! functions, the sign-in cookie, and the static assets and WASM bundle.
//!
//! A signed-in browser holds the JWT that `POST /api/v1/auth/login` would return, in an
//! HttpOnly, SameSite=Strict cookie scoped to `/console`. Every action authorizes the
//! caller's principal exactly as the REST API does ([`aoi_platform::access::authorize`]), so
//! a control hidden from a role is also refused to that role when the request is forged. A
//! POST whose `Origin` is another site is refused before anything runs.

mod admin;
mod benchmarks;
mod incidents;
mod live;
mod models;
mod plugins;
mod review;
mod sign_in;

use std::path::PathBuf;
use std::sync::Arc;

use aoi_control::auth::AuthError;
use aoi_control::{ApiError, Authorized, Permission, Principal};
use aoi_platform::Platform;
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::pages;

/// The sign-in cookie's name.
pub(crate) const COOKIE: &str = "aoi_console";
/// Sent by the islands' `fetch` calls (see `live.rs`).
const INLINE_HEADER: &str = "x-console-inline";

/// State of the console routes.
#[derive(Clone)]
pub struct Console {
    pub platform: Platform,
    /// The folder that holds `pkg/aoi_console.js` and `pkg/aoi_console_bg.wasm`
    /// (scripts/build-console.sh writes it).
    site: Arc<PathBuf>,
    /// `scheme://host[:port]` of `server.public_url`: forms posted from it are accepted even
    /// when a proxy changes the `Host` header.
    public_origin: Option<Arc<str>>,
    /// `server.public_url` is https: the sign-in cookie is `Secure`.
    secure_cookie: bool,
}

impl Console {
    pub fn new(platform: Platform, site: PathBuf) -> Console {
        let public_url = platform.config.server.public_url.clone();
        let public_origin = public_url.as_deref().and_then(origin_of).map(Arc::from);
        let secure_cookie = public_url
            .as_deref()
            .is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"));
        Console {
            platform,
            site: Arc::new(site),
            public_origin,
            secure_cookie,
        }
    }

    /// `; Secure` when the console is reached over https (`server.public_url`).
    pub(crate) fn cookie_flags(&self) -> &'static str {
        if self.secure_cookie { "; Secure" } else { "" }
    }

    /// Whether the WASM bundle is in the site folder.
    pub fn has_bundle(&self) -> bool {
        self.site.join("pkg").join(BUNDLE_JS).is_file()
            && self.site.join("pkg").join(BUNDLE_WASM).is_file()
    }
}

const BUNDLE_JS: &str = "aoi_console.js";
const BUNDLE_WASM: &str = "aoi_console_bg.wasm";

/// The console's routes: `/` and `/console` lead to the incidents.
pub fn router(console: Console) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/incidents") }))
        .route(
            "/console",
            get(|| async { Redirect::to("/console/incidents") }),
        )
        .route(
            "/console/",
            get(|| async { Redirect::to("/console/incidents") }),
        )
        .route("/console/assets/{file}", get(asset))
        .route("/console/pkg/{file}", get(bundle))
        .merge(sign_in::routes())
        .merge(incidents::routes())
        .merge(plugins::routes())
        .merge(review::routes())
        .merge(benchmarks::routes())
        .merge(admin::routes())
        .merge(models::routes())
        .merge(live::routes())
        .with_state(console)
}

const STYLE: &str = include_str!("../../assets/console.css");
const BOOT: &str = include_str!("../../assets/boot.js");

async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "console.css" => (STYLE, "text/css; charset=utf-8"),
        "boot.js" => (BOOT, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The two files of the WASM bundle, read from the site folder (only these names).
async fn bundle(State(console): State<Console>, Path(file): Path<String>) -> Response {
    let kind = match file.as_str() {
        BUNDLE_JS => "text/javascript; charset=utf-8",
        BUNDLE_WASM => "application/wasm",
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let path = console.site.join("pkg").join(&file);
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, kind),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => (
            StatusCode::NOT_FOUND,
            format!("the console bundle {file} is not built: run scripts/build-console.sh"),
        )
            .into_response(),
    }
}

/// The value of cookie `name` in the request.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// Headers that make [`failed`] answer in plain text (for the event stream).
fn inline_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(INLINE_HEADER, HeaderValue::from_static("1"));
    headers
}

/// Whether the request came from an island's `fetch` (see [`INLINE_HEADER`]).
/// The event stream counts as one: it cannot follow a redirect to the sign-in page.
fn is_inline(headers: &HeaderMap) -> bool {
    headers.contains_key(INLINE_HEADER)
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/event-stream"))
}

/// A signed-in person: the principal of the cookie's token.
pub(crate) struct SignedIn {
    pub principal: Principal,
}

impl FromRequestParts<Console> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Response> {
        let inline = is_inline(&parts.headers);
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/console/incidents".into());
        let why = match cookie(&parts.headers, COOKIE) {
            None => None,
            Some(token) => match console.platform.authenticator.authenticate(&token).await {
                Ok(principal) => return Ok(SignedIn { principal }),
                Err(AuthError::Expired) => Some("expired"),
                Err(e) => {
                    tracing::info!(cause = %e, "console session refused");
                    Some("invalid")
                }
            },
        };
        if inline || parts.method != axum::http::Method::GET {
            let message = match why {
                Some("expired") => "Your session expired: sign in again.",
                _ => "You are not signed in: sign in again.",
            };
            return Err((StatusCode::UNAUTHORIZED, message).into_response());
        }
        let mut target = format!("/console/sign-in?next={}", encode(&next));
        if let Some(why) = why {
            target.push_str("&why=");
            target.push_str(why);
        }
        Err(Redirect::to(&target).into_response())
    }
}

impl SignedIn {
    /// The proof for `permission` (a refused write is audited).
    pub async fn authorize(
        &self,
        console: &Console,
        permission: Permission,
    ) -> Result<Authorized, ApiError> {
        aoi_platform::access::authorize(&console.platform, &self.principal, permission).await
    }

    /// Whether the control for `permission` is shown (nothing audited).
    pub async fn may(&self, console: &Console, permission: Permission) -> bool {
        self.proof_if_held(console, permission).await.is_some()
    }

    /// The proof for `permission` when the person holds it, else `None` (nothing audited: for
    /// sections a page shows only to some roles).
    pub async fn proof_if_held(
        &self,
        console: &Console,
        permission: Permission,
    ) -> Option<Authorized> {
        aoi_platform::access::proof_if_held(&console.platform, &self.principal, permission).await
    }

    /// What the page header shows about the person and which sections they see.
    pub async fn viewer(&self, console: &Console) -> pages::Viewer {
        pages::Viewer {
            name: self.principal.display.clone(),
            tenant: self.principal.tenant.as_str().to_owned(),
            roles: self
                .principal
                .roles
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            may_review: self.may(console, Permission::ReviewSignals).await,
            may_benchmarks: self.may(console, Permission::ReadBenchmarks).await,
            may_models: self.may(console, Permission::ReadModels).await,
            may_admin: self.may(console, Permission::ManageUsers).await
                || self.may(console, Permission::ManageKeys).await
                || self.may(console, Permission::ManageGuardrails).await
                || self.may(console, Permission::ReadAudit).await,
        }
    }
}

/// Percent-encodes a query value.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Where to go after a form: `back` when it is a console page, else `fallback`.
pub(crate) fn back_to(back: Option<&str>, fallback: &str) -> String {
    match back {
        Some(b) if b.starts_with("/console/") && !b.starts_with("//") && !b.contains('\\') => {
            b.to_owned()
        }
        _ => fallback.to_owned(),
    }
}

/// `scheme://host[:port]` of a URL (`None` when it has no scheme).
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    (!host.is_empty()).then(|| format!("{}://{host}", scheme.to_ascii_lowercase()))
}

/// Whether a POST with these headers comes from another site: its `Origin` names neither the
/// host it was sent to nor `public_origin`. Without `Origin` (old browsers, curl) it is not.
fn from_another_site(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(origin);
    origin_host != host && public_origin != Some(origin)
}

/// The refusal of a POST sent from another site, if it is one.
pub(crate) fn cross_site(console: &Console, headers: &HeaderMap) -> Option<Response> {
    from_another_site(headers, console.public_origin.as_deref()).then(|| {
        (
            StatusCode::FORBIDDEN,
            "refused: this form was sent from another site",
        )
            .into_response()
    })
}

/// Runs a form's action: refused when posted from another site (before `action` starts),
/// else the action's answer ([`done`] then `to`, or [`failed`] with `to` as the way back).
pub(crate) async fn form_action<T>(
    console: &Console,
    headers: &HeaderMap,
    to: &str,
    action: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Response {
    if let Some(refused) = cross_site(console, headers) {
        return refused;
    }
    match action.await {
        Ok(_) => done(headers, to),
        Err(e) => failed(headers, &e, to),
    }
}

/// The answer to a form: 204 for an island, else a redirect to `to`.
pub(crate) fn done(headers: &HeaderMap, to: &str) -> Response {
    if is_inline(headers) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        Redirect::to(to).into_response()
    }
}

/// A failed action: plain text for an island, else a page that says what went wrong, with
/// the API's status code (403 for a refused role, 422 for bad input...).
pub(crate) fn failed(headers: &HeaderMap, error: &ApiError, back: &str) -> Response {
    let status =
        StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = human_error(error);
    if is_inline(headers) {
        return (status, message).into_response();
    }
    (status, pages::problem_page(&message, back)).into_response()
}

/// An error as a sentence for people.
pub(crate) fn human_error(error: &ApiError) -> String {
    match error {
        ApiError::Forbidden { .. } => format!(
            "Your role may not do this ({}). Ask an administrator if you need it.",
            error.message()
        ),
        ApiError::InvalidInput { field, problem } => format!("{field}: {problem}"),
        _ => error.message(),
    }
}

/// A page's HTML response.
pub(crate) fn html(document: String) -> Response {
    let mut response = Html(document).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Answers a page with a live region: what `loaded` failed with, or for `part=live` the
/// region's body alone (`body`), else the whole page (`page`).
pub(crate) async fn live_page<V>(
    console: &Console,
    who: &SignedIn,
    part: &Part,
    loaded: Result<V, ApiError>,
    back: &str,
    body: impl FnOnce(&V) -> String,
    page: impl FnOnce(&pages::Viewer, &V) -> String,
) -> Response {
    let view = match loaded {
        Ok(v) => v,
        Err(e) => return failed(&HeaderMap::new(), &e, back),
    };
    if part.live() {
        return html(body(&view));
    }
    let viewer = who.viewer(console).await;
    html(page(&viewer, &view))
}

/// Whether a GET asks only for a live region's body (`part=live`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Part {
    pub part: Option<String>,
}

impl Part {
    pub fn live(&self) -> bool {
        self.part.as_deref() == Some("live")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_to_stays_inside_the_console() {
        assert_eq!(
            back_to(Some("/console/incidents/1"), "/x"),
            "/console/incidents/1"
        );
        assert_eq!(back_to(Some("https://evil.example/"), "/x"), "/x");
        assert_eq!(back_to(Some("//evil.example/console/"), "/x"), "/x");
        assert_eq!(back_to(None, "/x"), "/x");
    }

    #[test]
    fn encode_escapes_query_characters() {
        assert_eq!(
            encode("/console/incidents?state=open&x=1"),
            "/console/incidents%3Fstate%3Dopen%26x%3D1"
        );
    }

    #[test]
    fn cookie_finds_its_value_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; aoi_console=tok; b=2"),
        );
        assert_eq!(cookie(&headers, COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie(&headers, "c"), None);
    }

    #[test]
    fn same_origin_refuses_another_site() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(!from_another_site(&headers, None), "no Origin: a plain client");
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(!from_another_site(&headers, None));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(from_another_site(&headers, None));
        // Behind a proxy: the public origin is accepted, nothing else.
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://aoi.example.com"));
        assert!(from_another_site(&headers, None));
        let public = origin_of("https://aoi.example.com/console/");
        assert_eq!(public.as_deref(), Some("https://aoi.example.com"));
        assert!(!from_another_site(&headers, public.as_deref()));
    }
}
