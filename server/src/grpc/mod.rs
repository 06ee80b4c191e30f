//! The gRPC transport (package `aoi.v1`, proto/aoi/v1/*.proto): tonic services over the same
//! `aoi_platform` service functions as the REST routes, served on the same listener (gRPC is
//! HTTP/2; axum serves both). Every method reads `authorization: Bearer ...` metadata,
//! authenticates and authorizes with the REST transport's helpers
//! ([`crate::http::extract::authenticate`], [`crate::http::extract::authorize`]), calls one
//! platform function and maps the answer; an [`ApiError`] becomes a [`Status`] only in
//! [`status`].

mod convert;
mod plugins;
mod services;

use std::convert::Infallible;

use aoi_control::authz::Authorized;
use aoi_control::{ApiError, Permission};
use aoi_platform::Platform;
use axum::Router;
use tonic::server::NamedService;
use tonic::{Code, Request, Status};

/// The code generated from proto/aoi/v1/*.proto (messages, servers and clients).
#[allow(
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    dead_code,
    unreachable_pub
)]
pub mod pb {
    tonic::include_proto!("aoi.v1");
}

/// The one mapping of an [`ApiError`] to a gRPC status: the code is
/// [`ApiError::grpc_code`], the message the REST message, and the REST error code travels in
/// the `aoi-error-code` metadata.
pub fn status(error: ApiError) -> Status {
    let code = match error.grpc_code() {
        "UNAUTHENTICATED" => Code::Unauthenticated,
        "PERMISSION_DENIED" => Code::PermissionDenied,
        "NOT_FOUND" => Code::NotFound,
        "ALREADY_EXISTS" => Code::AlreadyExists,
        "INVALID_ARGUMENT" => Code::InvalidArgument,
        "RESOURCE_EXHAUSTED" => Code::ResourceExhausted,
        "UNAVAILABLE" => Code::Unavailable,
        "INTERNAL" => Code::Internal,
        _ => Code::Unknown,
    };
    let mut status = Status::new(code, error.message());
    if let Ok(value) = error.code().parse() {
        status.metadata_mut().insert("aoi-error-code", value);
    }
    status
}

/// Authenticates the caller of `request` (its `authorization` metadata) and authorizes
/// `permission`, exactly as the REST extractor does. `method` is the full gRPC method path,
/// recorded when an API key is used.
async fn authorize<T>(
    platform: &Platform,
    request: &Request<T>,
    permission: Permission,
    method: &str,
) -> Result<Authorized, Status> {
    let header = request
        .metadata()
        .get("authorization")
        .map(|v| v.to_str().map_err(|_| ApiError::Unauthenticated))
        .transpose()
        .map_err(status)?;
    let principal = crate::http::extract::authenticate(platform, header, "POST", method)
        .await
        .map_err(status)?;
    crate::http::extract::authorize(platform, &principal, permission)
        .await
        .map_err(status)
}

/// The gRPC services as axum routes (`/aoi.v1.<Service>/<Method>`), to merge into the REST
/// router. Unlike `tonic::service::Routes`, no fallback is installed, so unknown REST paths
/// keep answering 404.
pub fn router(platform: Platform) -> Router {
    use pb::approval_service_server::ApprovalServiceServer;
    use pb::auth_service_server::AuthServiceServer;
    use pb::incident_service_server::IncidentServiceServer;
    use pb::plugin_service_server::PluginServiceServer;
    use pb::session_service_server::SessionServiceServer;
    // The REST body limit (`server.body_limit_bytes`) bounds request messages too.
    let limit = usize::try_from(platform.config.server.body_limit_bytes).unwrap_or(usize::MAX);
    let api = services::Api { platform };
    let router = Router::new();
    let router = add(
        router,
        AuthServiceServer::new(api.clone()).max_decoding_message_size(limit),
    );
    let router = add(
        router,
        IncidentServiceServer::new(api.clone()).max_decoding_message_size(limit),
    );
    let router = add(
        router,
        SessionServiceServer::new(api.clone()).max_decoding_message_size(limit),
    );
    // Plugin packages carry a WASM module: uploads get the REST upload limit.
    let router = add(
        router,
        PluginServiceServer::new(api.clone())
            .max_decoding_message_size(limit.max(crate::http::plugins_api::UPLOAD_LIMIT_BYTES)),
    );
    add(
        router,
        ApprovalServiceServer::new(api).max_decoding_message_size(limit),
    )
}

fn add<S>(router: Router, service: S) -> Router
where
    S: tonic::codegen::Service<axum::http::Request<axum::body::Body>, Error = Infallible>
        + NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Response: axum::response::IntoResponse,
    S::Future: Send + 'static,
{
    router.route_service(&format!("/{}/{{*rest}}", S::NAME), service)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_error_maps_to_its_grpc_code() {
        let errors = [
            ApiError::Unauthenticated,
            ApiError::InvalidCredentials,
            ApiError::Forbidden {
                permission: "decide_approval".into(),
                tenant: "default".into(),
            },
            ApiError::NotFound {
                what: "incident".into(),
            },
            ApiError::invalid_input("title", "empty"),
            ApiError::Unavailable {
                what: "the database".into(),
            },
        ];
        for error in errors {
            let expected = error.grpc_code();
            let rest = error.code();
            let status = status(error);
            let name = match status.code() {
                Code::Unauthenticated => "UNAUTHENTICATED",
                Code::PermissionDenied => "PERMISSION_DENIED",
                Code::NotFound => "NOT_FOUND",
                Code::InvalidArgument => "INVALID_ARGUMENT",
                Code::Unavailable => "UNAVAILABLE",
                other => panic!("unexpected {other:?}"),
            };
            assert_eq!(name, expected);
            assert_eq!(
                status
                    .metadata()
                    .get("aoi-error-code")
                    .and_then(|v| v.to_str().ok()),
                Some(rest)
            );
        }
    }
}
