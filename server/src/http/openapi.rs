//! The OpenAPI 3 document, generated from the route table ([`super::api::ROUTES`]) the
//! router itself is built from, plus [`SESSION_ROUTES`], the routes of `sessions.rs`. A test
//! (http/api.rs) checks that the full router serves every documented route.

use aoi_control::Permission;
use serde_json::{Map, Value, json};

use super::api::ROUTES;

/// The routes of `sessions.rs`: method, path, summary, permission, JSON body. A test checks this
/// list against `sessions::SERVED`, which the same macro call as the router produces.
pub const SESSION_ROUTES: &[(&str, &str, &str, Permission, bool)] = &[
    (
        "POST",
        "/api/v1/incidents/{id}/sessions",
        "Start a diagnosis session",
        Permission::StartSession,
        true,
    ),
    (
        "GET",
        "/api/v1/sessions",
        "List sessions",
        Permission::ReadSessions,
        false,
    ),
    (
        "GET",
        "/api/v1/sessions/{id}",
        "One session with its trajectory",
        Permission::ReadSessions,
        false,
    ),
    (
        "GET",
        "/api/v1/sessions/{id}/events",
        "Live steps as server-sent events",
        Permission::ReadSessions,
        false,
    ),
    (
        "GET",
        "/api/v1/approvals",
        "List approvals (status=pending...)",
        Permission::ReadApprovals,
        false,
    ),
    (
        "GET",
        "/api/v1/approvals/{id}",
        "One approval",
        Permission::ReadApprovals,
        false,
    ),
    (
        "POST",
        "/api/v1/approvals/{id}/approve",
        "Approve a pending write",
        Permission::DecideApproval,
        true,
    ),
    (
        "POST",
        "/api/v1/approvals/{id}/deny",
        "Deny a pending write",
        Permission::DecideApproval,
        true,
    ),
];

/// One documented operation.
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub auth: bool,
    pub permission: Option<Permission>,
    pub body: bool,
}

/// Every documented operation: this module's table and the sessions routes.
pub fn operations() -> Vec<Operation> {
    let own = ROUTES.iter().map(|r| Operation {
        method: r.method,
        path: r.path,
        summary: r.summary,
        auth: r.auth,
        permission: r.permission,
        body: r.body,
    });
    let sessions = SESSION_ROUTES
        .iter()
        .map(|&(method, path, summary, permission, body)| Operation {
            method,
            path,
            summary,
            auth: true,
            permission: Some(permission),
            body,
        });
    own.chain(sessions).collect()
}

fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            json!({
                "name": name, "in": "path", "required": true,
                "schema": { "type": "string", "format": "uuid" }
            })
        })
        .collect()
}

/// The document served at /api/openapi.json.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in operations() {
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        let mut op = json!({
            "operationId": format!("{}_{}", route.method.to_lowercase(),
                route
                    .path
                    .trim_start_matches('/').replace(['/', '{', '}', '-', '.'], "_")),
            "summary": route.summary,
            "responses": {
                "200": { "description": "success" },
                "4XX": { "description": "client error", "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/Error" } } } },
                "5XX": { "description": "server error", "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        });
        if route.auth {
            op["security"] = json!([{ "bearer": [] }]);
        }
        if let Some(permission) = route.permission {
            op["x-permission"] = json!(permission.name());
        }
        let params = path_params(route.path);
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if route.body {
            op["requestBody"] = json!({ "required": true, "content": {
                "application/json": { "schema": { "type": "object" } } } });
        }
        if let Value::Object(methods) = entry {
            methods.insert(route.method.to_lowercase(), op);
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": { "title": "AOI control plane", "version": env!("CARGO_PKG_VERSION") },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer",
                "description": "An access token from POST /api/v1/auth/login, or an API key (aoi_...)" } },
            "schemas": { "Error": { "type": "object", "required": ["error"], "properties": {
                "error": { "type": "object", "required": ["code", "message"], "properties": {
                    "code": { "type": "string", "enum": aoi_control::ApiError::CODES },
                    "message": { "type": "string" } } } } } }
        }
    })
}

#[cfg(test)]
mod served_routes_are_documented {
    use super::SESSION_ROUTES;

    #[test]
    fn every_session_route_is_documented_and_every_documented_one_served() {
        let served: Vec<(String, &str)> = crate::http::sessions::SERVED
            .iter()
            .map(|(m, p)| (m.to_ascii_uppercase(), *p))
            .collect();
        let documented: Vec<(String, &str)> = SESSION_ROUTES
            .iter()
            .map(|(m, p, ..)| (m.to_string(), *p))
            .collect();
        for route in &served {
            assert!(documented.contains(route), "served but not in the OpenAPI document: {route:?}");
        }
        for route in &documented {
            assert!(served.contains(route), "documented but not served: {route:?}");
        }
    }
}
