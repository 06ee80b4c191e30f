//! Extractors whose rejections are [`HttpError`]s: the bearer principal, JSON bodies, query
//! strings and path ids.

use aoi_control::auth::bearer_token;
use aoi_control::authz::Authorized;
use aoi_control::{ApiError, Permission, Principal, PrincipalKind};
use aoi_platform::Platform;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::HttpError;

/// The authenticated caller (`Authorization: Bearer <JWT or API key>`). A request made with
/// an API key is audited as `api_key.use`, except on a route that records its calls with the
/// key itself (`POST /v1/chat/completions`: `inference.chat`).
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

impl FromRequestParts<Platform> for Auth {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, platform: &Platform) -> Result<Self, HttpError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .map(|v| v.to_str().map_err(|_| ApiError::Unauthenticated))
            .transpose()?;
        let principal =
            authenticate(platform, header, parts.method.as_str(), parts.uri.path()).await?;
        Ok(Auth(principal))
    }
}

impl Auth {
    /// Authorizes `permission` in the caller's own tenant (or the platform for platform-wide
    /// permissions). A refused write is audited.
    pub async fn authorize(
        &self,
        platform: &Platform,
        permission: Permission,
    ) -> Result<Authorized, HttpError> {
        Ok(authorize(platform, &self.0, permission).await?)
    }
}

/// Turns an `Authorization` value (`Bearer <JWT or API key>`, from a REST header or gRPC
/// metadata) into the caller. A request made with an API key is audited as `api_key.use`
/// with `method` and `path`, unless that route records every call with the key itself
/// ([`super::openai::records_own_key_use`]). Shared by both transports.
pub async fn authenticate(
    platform: &Platform,
    authorization: Option<&str>,
    method: &str,
    path: &str,
) -> Result<Principal, ApiError> {
    let token = bearer_token(authorization).map_err(ApiError::from)?;
    let principal = platform
        .authenticator
        .authenticate(token)
        .await
        .map_err(|e| {
            tracing::info!(cause = %e, "authentication refused");
            ApiError::from(e)
        })?;
    if principal.kind == PrincipalKind::ApiKey && !super::openai::records_own_key_use(method, path)
    {
        aoi_platform::audit::record_key_use(platform, &principal, method, path).await?;
    }
    Ok(principal)
}

/// Authorizes `permission` for `principal` in its own tenant (or the platform for
/// platform-wide permissions) and returns the proof the service functions require. A refused
/// write is audited. Shared by both transports.
pub async fn authorize(
    platform: &Platform,
    principal: &Principal,
    permission: Permission,
) -> Result<Authorized, ApiError> {
    aoi_platform::access::authorize(platform, principal, permission).await
}

/// A route's own body limit, above `server.body_limit_bytes` (see [`with_body_limit`]).
#[derive(Debug, Clone, Copy)]
pub struct RouteBodyLimit(pub u64);

/// `route` accepting bodies up to `limit` bytes; a larger one answers 413 naming that limit.
pub fn with_body_limit(
    route: axum::routing::MethodRouter<Platform>,
    limit: u64,
) -> axum::routing::MethodRouter<Platform> {
    route
        .layer::<_, std::convert::Infallible>(axum::extract::DefaultBodyLimit::max(
            usize::try_from(limit).unwrap_or(usize::MAX),
        ))
        .layer::<_, std::convert::Infallible>(axum::Extension(RouteBodyLimit(limit)))
}

/// A JSON body. Malformed JSON, wrong types, unknown fields and invalid UTF-8 answer 400
/// `invalid_input` saying what to fix; a body over `server.body_limit_bytes` answers 413.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Platform> for ApiJson<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, platform: &Platform) -> Result<Self, HttpError> {
        let limit_bytes = req
            .extensions()
            .get::<RouteBodyLimit>()
            .map_or(platform.config.server.body_limit_bytes, |l| l.0);
        let bytes = Bytes::from_request(req, platform)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    HttpError::from(ApiError::PayloadTooLarge { limit_bytes })
                } else {
                    HttpError::bad_request("body", rejection.body_text())
                }
            })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body with messages that say what to fix.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, HttpError> {
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(HttpError::bad_request(
            "body",
            format!(
                "is not valid UTF-8 (byte {}): send UTF-8 encoded JSON",
                e.valid_up_to()
            ),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        let problem = match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                format!("is not valid JSON ({e}): send one JSON object")
            }
            Category::Data => format!("does not match the expected shape: {e}"),
        };
        HttpError::bad_request("body", problem)
    })
}

/// A query string; a bad one answers 400 `invalid_input`.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|r| HttpError::bad_request("query", r.body_text()))
    }
}

/// A path id; a malformed one answers 400 `invalid_input`.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| ApiPath(p))
            .map_err(|r| HttpError::bad_request("path", r.body_text()))
    }
}
