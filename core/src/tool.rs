//! Tool calls and their results, the shape shared by every plugin and role.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// Whether a tool call can change state. Anything not proven `Read` is `Write`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// One call of a named tool with JSON arguments, e.g. `exec_shell {"command": "kubectl get pods"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub tool: String,
    #[serde(default)]
    pub args: Map<String, Value>,
}

impl ToolCall {
    pub fn new(tool: impl Into<String>) -> Self {
        ToolCall {
            tool: tool.into(),
            args: Map::new(),
        }
    }

    pub fn arg(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.args.insert(key.to_string(), value.into());
        self
    }

    pub fn exec_shell(command: impl Into<String>) -> Self {
        ToolCall::new("exec_shell").arg("command", command.into())
    }

    pub fn get_logs(namespace: &str, service: &str) -> Self {
        ToolCall::new("get_logs")
            .arg("namespace", namespace)
            .arg("service", service)
    }

    pub fn get_metrics(namespace: &str, duration_minutes: u64) -> Self {
        ToolCall::new("get_metrics")
            .arg("namespace", namespace)
            .arg("duration", duration_minutes)
    }

    pub fn read_metrics(path: &str) -> Self {
        ToolCall::new("read_metrics").arg("file_path", path)
    }

    pub fn get_traces(namespace: &str, duration_minutes: u64) -> Self {
        ToolCall::new("get_traces")
            .arg("namespace", namespace)
            .arg("duration", duration_minutes)
    }

    pub fn read_traces(path: &str) -> Self {
        ToolCall::new("read_traces").arg("file_path", path)
    }

    /// A string argument, if present and a string.
    pub fn str_arg(&self, key: &str) -> Option<&str> {
        self.args.get(key).and_then(Value::as_str)
    }

    /// An unsigned integer argument, if present and a non-negative integer.
    pub fn u64_arg(&self, key: &str) -> Option<u64> {
        self.args.get(key).and_then(Value::as_u64)
    }
}

impl fmt::Display for ToolCall {
    /// Python-call form, as AIOpsLab prints actions: `exec_shell("kubectl get pods -n x")`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.tool)?;
        for (i, v) in self.args.values().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match v {
                Value::String(s) => write!(f, "{}", Value::String(s.clone()))?,
                other => write!(f, "{other}")?,
            }
        }
        f.write_str(")")
    }
}

/// What a tool returned. `is_error` marks outputs AIOpsLab would prefix with `[ERROR]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolOutput {
    pub text: String,
    #[serde(default)]
    pub is_error: bool,
}

impl ToolOutput {
    pub fn ok(text: impl Into<String>) -> Self {
        ToolOutput {
            text: text.into(),
            is_error: false,
        }
    }
    pub fn error(text: impl Into<String>) -> Self {
        ToolOutput {
            text: text.into(),
            is_error: true,
        }
    }
}

/// A tool as a role's prompt documents it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolDoc {
    pub name: String,
    pub description: String,
    pub access: Access,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_calls_print_as_python_calls() {
        assert_eq!(
            ToolCall::exec_shell("kubectl get pods -n a").to_string(),
            "exec_shell(\"kubectl get pods -n a\")"
        );
        assert_eq!(
            ToolCall::get_metrics("ns", 5).to_string(),
            "get_metrics(\"ns\", 5)"
        );
    }
}
