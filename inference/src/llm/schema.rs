//! JSON Schemas of each role's reply, sent as `response_format` (OpenAI structured output) and as
//! vLLM's `guided_json`, so a constrained decoder can only produce parsable replies.

use aoi_core::{FaultType, SystemLevel, TaskType, ToolDoc};
use serde_json::{Value, json};

/// A named schema for one role's reply.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplySchema {
    pub name: &'static str,
    pub schema: Value,
}

fn submission_schema(task_type: TaskType) -> Value {
    let object = |properties: Value, required: &[&str]| {
        json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false
        })
    };
    let answer = match task_type {
        TaskType::Detection => object(
            json!({"anomaly": {"type": "string", "enum": ["Yes", "No"]}}),
            &["anomaly"],
        ),
        TaskType::Localization => object(
            json!({"services": {"type": "array", "items": {"type": "string"}}}),
            &["services"],
        ),
        TaskType::Analysis => object(
            json!({
                "system_level": {"type": "string", "enum": SystemLevel::ALL.iter().map(|l| l.as_str()).collect::<Vec<_>>()},
                "fault_type": {"type": "string", "enum": FaultType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>()}
            }),
            &["system_level", "fault_type"],
        ),
        TaskType::Mitigation => return json!({"type": "null"}),
    };
    json!({"anyOf": [{"type": "null"}, answer]})
}

/// The Observer's decision for a task type; `executor` is offered only when available.
pub fn observer(task_type: TaskType, executor_available: bool) -> ReplySchema {
    let kinds: Vec<&str> = if executor_available {
        vec!["probe", "executor", "submit"]
    } else {
        vec!["probe", "submit"]
    };
    ReplySchema {
        name: "observer_decision",
        schema: json!({
            "type": "object",
            "properties": {
                "previous_iteration_summary": {"type": "string"},
                "current_phase": {"type": "string", "enum": ["Discovery", "Diagnosis", "Resolution", "Verification"]},
                "root_cause_analysis": {"type": "string"},
                "confidence": {"type": "integer", "minimum": 0, "maximum": 100},
                "next_action": {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string", "enum": kinds},
                        "instruction": {"type": "string"},
                        "context": {"type": "string"},
                        "submission": submission_schema(task_type)
                    },
                    "required": ["kind", "instruction", "context", "submission"],
                    "additionalProperties": false
                }
            },
            "required": ["previous_iteration_summary", "current_phase", "root_cause_analysis", "confidence", "next_action"],
            "additionalProperties": false
        }),
    }
}

/// A Probe or Executor tool call, restricted to the tools offered.
pub fn tool_call(name: &'static str, tools: &[ToolDoc]) -> ReplySchema {
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    ReplySchema {
        name,
        schema: json!({
            "type": "object",
            "properties": {
                "tool": {"type": "string", "enum": names},
                "args": {"type": "object"}
            },
            "required": ["tool", "args"],
            "additionalProperties": false
        }),
    }
}

/// The Compressor's summary.
pub fn compressor() -> ReplySchema {
    ReplySchema {
        name: "compressed_observation",
        schema: json!({
            "type": "object",
            "properties": {"summary": {"type": "string"}},
            "required": ["summary"],
            "additionalProperties": false
        }),
    }
}
