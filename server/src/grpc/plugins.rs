//! `aoi.v1.PluginService`: the same `aoi_platform::plugins` functions as REST /api/v1/plugins.

use aoi_control::{ApiError, Permission as P};
use aoi_core::ToolCall;
use aoi_platform::plugins::{
    self, CatalogEntry, ConfigureRequest, InstallRequest, InstallationView, ToolView,
    UpgradeRequest,
};
use serde_json::{Map, Value};
use tonic::{Request, Response, Status};

use super::services::Api;
use super::{authorize, pb, status};

type Answer<T> = Result<Response<T>, Status>;

fn word<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// A JSON object request field; empty means `{}`.
fn object(field: &str, text: &str) -> Result<Map<String, Value>, ApiError> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid_input(field, "must be a JSON object")),
        Err(e) => Err(ApiError::invalid_input(field, format!("is not JSON: {e}"))),
    }
}

fn tool(t: ToolView) -> pb::PluginTool {
    pb::PluginTool {
        name: t.name,
        description: t.description,
        access: t.access.as_str().to_string(),
        resource: t.resource,
        args_schema_json: t.args_schema.to_string(),
    }
}

fn installation(v: InstallationView) -> pb::PluginInstallation {
    pb::PluginInstallation {
        plugin: v.plugin,
        version: v.version,
        previous_version: v.previous_version,
        enabled: v.enabled,
        config_json: Value::Object(v.config).to_string(),
        secrets_set: v.secrets_set,
        installed_by: v.installed_by,
    }
}

fn entry(e: CatalogEntry) -> pb::Plugin {
    pb::Plugin {
        config_schema_json: serde_json::to_string(&e.config_schema).unwrap_or_default(),
        kind: word(&e.kind),
        name: e.name,
        version: e.version,
        versions: e.versions,
        publisher: e.publisher,
        description: e.description,
        source: e.source.to_string(),
        tools: e.tools.into_iter().map(tool).collect(),
        installation: e.installation.map(installation),
    }
}

fn version(v: String) -> Option<String> {
    let v = v.trim().to_string();
    (!v.is_empty()).then_some(v)
}

#[tonic::async_trait]
impl pb::plugin_service_server::PluginService for Api {
    async fn list(&self, request: Request<pb::ListPluginsRequest>) -> Answer<pb::ListPluginsResponse> {
        let p = &self.platform;
        let proof = authorize(p, &request, P::ReadPlugins, "/aoi.v1.PluginService/List").await?;
        let entries = plugins::catalog(p, &proof).await.map_err(status)?;
        Ok(Response::new(pb::ListPluginsResponse {
            plugins: entries.into_iter().map(entry).collect(),
        }))
    }

    async fn upload(
        &self,
        request: Request<pb::UploadPluginRequest>,
    ) -> Answer<pb::UploadPluginResponse> {
        let p = &self.platform;
        let proof =
            authorize(p, &request, P::PublishPlugins, "/aoi.v1.PluginService/Upload").await?;
        let r = request.into_inner();
        let u = plugins::upload(p, &proof, &r.package).await.map_err(status)?;
        Ok(Response::new(pb::UploadPluginResponse {
            kind: word(&u.kind),
            name: u.name,
            version: u.version,
            publisher: u.publisher,
            key_id: u.key_id,
            payload_sha256: u.payload_sha256,
            tools: u.tools.into_iter().map(tool).collect(),
        }))
    }

    async fn install(
        &self,
        request: Request<pb::InstallPluginRequest>,
    ) -> Answer<pb::PluginInstallation> {
        let p = &self.platform;
        let proof =
            authorize(p, &request, P::ManagePlugins, "/aoi.v1.PluginService/Install").await?;
        let r = request.into_inner();
        let input = InstallRequest {
            version: version(r.version),
            config: object("config_json", &r.config_json).map_err(status)?,
        };
        let view = plugins::install(p, &proof, &r.name, input).await.map_err(status)?;
        Ok(Response::new(installation(view)))
    }

    async fn enable(&self, request: Request<pb::PluginNameRequest>) -> Answer<pb::PluginInstallation> {
        let p = &self.platform;
        let proof =
            authorize(p, &request, P::ManagePlugins, "/aoi.v1.PluginService/Enable").await?;
        let name = request.into_inner().name;
        let view = plugins::set_enabled(p, &proof, &name, true).await.map_err(status)?;
        Ok(Response::new(installation(view)))
    }

    async fn disable(&self, request: Request<pb::PluginNameRequest>) -> Answer<pb::PluginInstallation> {
        let p = &self.platform;
        let proof =
            authorize(p, &request, P::ManagePlugins, "/aoi.v1.PluginService/Disable").await?;
        let name = request.into_inner().name;
        let view = plugins::set_enabled(p, &proof, &name, false).await.map_err(status)?;
        Ok(Response::new(installation(view)))
    }

    async fn configure(
        &self,
        request: Request<pb::ConfigurePluginRequest>,
    ) -> Answer<pb::PluginInstallation> {
        let p = &self.platform;
        let proof =
            authorize(p, &request, P::ManagePlugins, "/aoi.v1.PluginService/Configure").await?;
        let r = request.into_inner();
        let input = ConfigureRequest {
            config: object("config_json", &r.config_json).map_err(status)?,
        };
        let view = plugins::configure(p, &proof, &r.name, input).await.map_err(status)?;
        Ok(Response::new(installation(view)))
    }

    async fn upgrade(
        &self,
        request: Request<pb::InstallPluginRequest>,
    ) -> Answer<pb::PluginInstallation> {
        let p = &self.platform;
        let proof =
            authorize(p, &request, P::ManagePlugins, "/aoi.v1.PluginService/Upgrade").await?;
        let r = request.into_inner();
        let input = UpgradeRequest {
            version: version(r.version),
            config: object("config_json", &r.config_json).map_err(status)?,
        };
        let view = plugins::upgrade(p, &proof, &r.name, input).await.map_err(status)?;
        Ok(Response::new(installation(view)))
    }

    async fn rollback(&self, request: Request<pb::PluginNameRequest>) -> Answer<pb::PluginInstallation> {
        let p = &self.platform;
        let proof =
            authorize(p, &request, P::ManagePlugins, "/aoi.v1.PluginService/Rollback").await?;
        let name = request.into_inner().name;
        let view = plugins::rollback(p, &proof, &name).await.map_err(status)?;
        Ok(Response::new(installation(view)))
    }

    async fn uninstall(
        &self,
        request: Request<pb::PluginNameRequest>,
    ) -> Answer<pb::UninstallPluginResponse> {
        let p = &self.platform;
        let proof =
            authorize(p, &request, P::ManagePlugins, "/aoi.v1.PluginService/Uninstall").await?;
        let name = request.into_inner().name;
        plugins::uninstall(p, &proof, &name).await.map_err(status)?;
        Ok(Response::new(pb::UninstallPluginResponse {}))
    }

    async fn call_tool(
        &self,
        request: Request<pb::CallPluginToolRequest>,
    ) -> Answer<pb::CallPluginToolResponse> {
        let p = &self.platform;
        let proof =
            authorize(p, &request, P::StartSession, "/aoi.v1.PluginService/CallTool").await?;
        let r = request.into_inner();
        let call = ToolCall {
            tool: r.tool,
            args: object("args_json", &r.args_json).map_err(status)?,
        };
        let out = plugins::call_tool(p, &proof, &r.name, call).await.map_err(status)?;
        Ok(Response::new(pb::CallPluginToolResponse {
            tool: out.tool,
            text: out.text,
            is_error: out.is_error,
        }))
    }
}
