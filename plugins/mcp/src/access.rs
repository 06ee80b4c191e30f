//! How a server's tools map onto tool manifests: names in snake_case, access from the hints
//! (read only when the server says read-only and not destructive), and the signed manifest as
//! the bound of what is offered.

use aoi_core::Access;
use aoi_plugin_sdk::ToolManifest;
use rmcp::model::Tool;
use serde_json::Value;

/// The resource every discovered tool names.
pub const MCP_RESOURCE: &str = "mcp";

/// What the server's hints allow: `read` only for `readOnlyHint: true` without
/// `destructiveHint: true`; no hints mean write.
pub(crate) fn server_access(tool: &Tool) -> Access {
    match &tool.annotations {
        Some(a) if a.read_only_hint == Some(true) && a.destructive_hint != Some(true) => {
            Access::Read
        }
        _ => Access::Write,
    }
}

/// The stricter of two accesses.
pub(crate) fn stricter(a: Access, b: Access) -> Access {
    if a == Access::Read && b == Access::Read {
        Access::Read
    } else {
        Access::Write
    }
}

/// A server tool name in snake_case: `getIssue`, `get-issue` and `Get Issue` all give
/// `get_issue`.
pub fn snake_name(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    let out = out.trim_end_matches('_').to_string();
    match out.chars().next() {
        Some(c) if c.is_ascii_lowercase() => out,
        _ => format!("tool_{out}"),
    }
}

/// A server tool as a manifest entry an author can start from.
pub(crate) fn discovered(tool: &Tool) -> ToolManifest {
    let description = tool
        .description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .or_else(|| tool.title.clone())
        .unwrap_or_else(|| format!("MCP tool {}", tool.name));
    ToolManifest {
        name: snake_name(&tool.name),
        description,
        args_schema: Value::Object((*tool.input_schema).clone()),
        access: server_access(tool),
        classifier: None,
        resource: MCP_RESOURCE.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_snake_case() {
        assert_eq!(snake_name("getIssue"), "get_issue");
        assert_eq!(snake_name("get-issue"), "get_issue");
        assert_eq!(snake_name("Get Issue!"), "get_issue");
        assert_eq!(snake_name("list_pods"), "list_pods");
        assert_eq!(snake_name("v2Search"), "v2_search");
        assert_eq!(snake_name("3d"), "tool_3d");
    }

    #[test]
    fn the_stricter_access_wins() {
        assert_eq!(stricter(Access::Read, Access::Read), Access::Read);
        assert_eq!(stricter(Access::Read, Access::Write), Access::Write);
        assert_eq!(stricter(Access::Write, Access::Read), Access::Write);
    }
}
