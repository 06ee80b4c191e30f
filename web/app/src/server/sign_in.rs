//! Sign in and sign out.

use aoi_control::auth::LoginRequest;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{COOKIE, Console, back_to, cross_site, html};
use crate::pages;

pub(super) fn routes() -> axum::Router<Console> {
    axum::Router::new()
        .route("/console/sign-in", get(form).post(sign_in))
        .route("/console/sign-out", post(sign_out))
}

#[derive(Debug, Default, Deserialize)]
struct FormQuery {
    next: Option<String>,
    why: Option<String>,
}

async fn form(Query(query): Query<FormQuery>) -> Response {
    let notice = match query.why.as_deref() {
        Some("expired") => Some("Your session expired. Sign in again to continue where you were."),
        Some("invalid") => Some("Your session is no longer valid. Sign in again."),
        Some("signed-out") => Some("You are signed out."),
        _ => None,
    };
    html(pages::sign_in::page(
        &pages::sign_in::Filled::default(),
        query.next.as_deref(),
        notice,
        None,
    ))
}

#[derive(Debug, Deserialize)]
struct Credentials {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn sign_in(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> Response {
    if let Some(refused) = cross_site(&console, &headers) {
        return refused;
    }
    let filled = pages::sign_in::Filled {
        tenant: form.tenant.trim().to_owned(),
        username: form.username.trim().to_owned(),
    };
    let missing: Vec<&str> = [
        ("tenant", filled.tenant.is_empty()),
        ("username", filled.username.is_empty()),
        ("password", form.password.is_empty()),
    ]
    .into_iter()
    .filter_map(|(name, empty)| empty.then_some(name))
    .collect();
    if !missing.is_empty() {
        let problem = format!("Fill in: {}.", missing.join(", "));
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            html(pages::sign_in::page(
                &filled,
                form.next.as_deref(),
                None,
                Some(&problem),
            )),
        )
            .into_response();
    }
    let request = LoginRequest {
        tenant: filled.tenant.clone(),
        username: filled.username.clone(),
        password: form.password,
    };
    match aoi_platform::tenants::login(&console.platform, &request).await {
        Ok(login) => {
            let ttl = login.expires_in;
            let cookie = format!(
                "{COOKIE}={}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={ttl}{}",
                login.access_token,
                console.cookie_flags()
            );
            let to = back_to(form.next.as_deref(), "/console/incidents");
            let mut response = Redirect::to(&to).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(e) => {
            // The form again with the problem, answered 200 like any page that shows a form:
            // a browser logs every 4xx document as an error, and a mistyped password is not
            // one (the login itself is audited as a failure).
            let problem = if e.http_status() == 401 {
                "The tenant, username or password is not right.".to_owned()
            } else {
                super::human_error(&e)
            };
            html(pages::sign_in::page(
                &filled,
                form.next.as_deref(),
                None,
                Some(&problem),
            ))
        }
    }
}

async fn sign_out(State(console): State<Console>, headers: HeaderMap) -> Response {
    if let Some(refused) = cross_site(&console, &headers) {
        return refused;
    }
    let mut response = Redirect::to("/console/sign-in?why=signed-out").into_response();
    let cookie = format!(
        "{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{}",
        console.cookie_flags()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
