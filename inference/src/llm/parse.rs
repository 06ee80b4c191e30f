//! Turning a model's reply text into a role's typed answer. Errors say what to fix, because the
//! policy sends them back to the model in its one re-ask.

use aoi_core::{NextAction, ObserverDecision, Submission, TaskType, ToolCall, ToolDoc};
use serde_json::{Map, Value};

/// Extracts the JSON object from a reply: drops `<think>` blocks and Markdown fences, then takes
/// the outermost `{...}`.
pub fn extract_json(reply: &str) -> Result<Value, String> {
    let mut text = reply;
    if let Some(end) = text.rfind("</think>") {
        text = &text[end + "</think>".len()..];
    }
    let text = text.trim();
    let text = match text.find("```") {
        Some(start) => {
            let after = &text[start + 3..];
            let after = after.strip_prefix("json").unwrap_or(after);
            match after.find("```") {
                Some(end) => &after[..end],
                None => after,
            }
        }
        None => text,
    };
    let (Some(start), Some(end)) = (text.find('{'), text.rfind('}')) else {
        return Err("the reply holds no JSON object; reply with one JSON object only".to_string());
    };
    if end < start {
        return Err("the reply holds no complete JSON object".to_string());
    }
    serde_json::from_str(&text[start..=end])
        .map_err(|e| format!("the reply is not valid JSON: {e}"))
}

fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    object
        .get(name)
        .ok_or_else(|| format!("missing field `{name}`"))
}

fn string_field(object: &Map<String, Value>, name: &str) -> Result<String, String> {
    match field(object, name)? {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        other => Err(format!("field `{name}` must be a string, got {other}")),
    }
}

fn as_object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{what} must be a JSON object"))
}

/// Parses and checks an Observer decision for a task of `task_type`.
pub fn observer_decision(
    reply: &str,
    task_type: TaskType,
    executor_available: bool,
) -> Result<ObserverDecision, String> {
    let value = extract_json(reply)?;
    let object = as_object(&value, "the reply")?;
    let confidence = match field(object, "confidence")? {
        Value::Number(n) => n
            .as_f64()
            .filter(|c| (0.0..=100.0).contains(c))
            .map(|c| c.round() as u8)
            .ok_or_else(|| format!("`confidence` must be between 0 and 100, got {n}"))?,
        other => {
            return Err(format!(
                "`confidence` must be an integer 0-100, got {other}"
            ));
        }
    };
    let next = as_object(field(object, "next_action")?, "`next_action`")?;
    let kind = string_field(next, "kind")?;
    let instruction = next
        .get("instruction")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let context = next
        .get("context")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let next_action = match kind.as_str() {
        "probe" | "executor" if instruction.trim().is_empty() => {
            return Err(format!(
                "`next_action.instruction` must say what the {kind} should do"
            ));
        }
        "probe" => NextAction::Probe {
            instruction,
            context,
        },
        "executor" if !executor_available => {
            return Err(
                "the executor is not available in this task: choose probe or submit".to_string(),
            );
        }
        "executor" => NextAction::Executor {
            instruction,
            context,
        },
        "submit" => NextAction::Submit {
            submission: submission(next.get("submission").unwrap_or(&Value::Null), task_type)?,
        },
        other => {
            return Err(format!(
                "`next_action.kind` must be probe, executor or submit, got `{other}`"
            ));
        }
    };
    Ok(ObserverDecision {
        previous_iteration_summary: string_field(object, "previous_iteration_summary")?,
        current_phase: string_field(object, "current_phase")?,
        root_cause_analysis: string_field(object, "root_cause_analysis")?,
        confidence,
        next_action,
    })
}

fn submission(value: &Value, task_type: TaskType) -> Result<Submission, String> {
    match task_type {
        TaskType::Mitigation => Ok(Submission::Mitigation),
        TaskType::Detection => {
            let answer = value.get("anomaly").unwrap_or(value);
            let anomaly = match answer {
                Value::Bool(b) => Some(*b),
                Value::String(s) if s.eq_ignore_ascii_case("yes") => Some(true),
                Value::String(s) if s.eq_ignore_ascii_case("no") => Some(false),
                _ => None,
            };
            anomaly
                .map(|anomaly| Submission::Detection { anomaly })
                .ok_or_else(|| {
                    "detection submission must be {\"anomaly\": \"Yes\"} or {\"anomaly\": \"No\"}"
                        .to_string()
                })
        }
        TaskType::Localization => {
            let list = value.get("services").unwrap_or(value);
            let services: Option<Vec<String>> = list.as_array().map(|items| {
                items
                    .iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            });
            match services {
                Some(services) if !services.is_empty() => Ok(Submission::Localization { services }),
                _ => Err("localization submission must be {\"services\": [\"name\", ...]} with at least one name".to_string()),
            }
        }
        TaskType::Analysis => {
            let object = as_object(value, "analysis submission")?;
            let system_level = string_field(object, "system_level")?.parse()?;
            let fault_type = string_field(object, "fault_type")?.parse()?;
            Ok(Submission::Analysis {
                system_level,
                fault_type,
            })
        }
    }
}

/// Parses a `{"tool": ..., "args": {...}}` reply into a call of one of the offered tools.
pub fn tool_call(reply: &str, tools: &[ToolDoc]) -> Result<ToolCall, String> {
    let value = extract_json(reply)?;
    let object = as_object(&value, "the reply")?;
    let tool = string_field(object, "tool")?;
    if !tools.iter().any(|t| t.name == tool) {
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        return Err(format!(
            "`{tool}` is not one of the tools offered: {}",
            names.join(", ")
        ));
    }
    let args = match object.get("args") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(args)) => args.clone(),
        Some(other) => return Err(format!("`args` must be a JSON object, got {other}")),
    };
    Ok(ToolCall { tool, args })
}

/// Parses a `{"summary": ...}` reply.
pub fn summary(reply: &str) -> Result<String, String> {
    let value = extract_json(reply)?;
    let summary = string_field(as_object(&value, "the reply")?, "summary")?;
    if summary.trim().is_empty() {
        return Err("`summary` is empty".to_string());
    }
    Ok(summary)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use aoi_core::{Access, FaultType, SystemLevel};

    const DECISION: &str = r#"{"previous_iteration_summary":"s","current_phase":"Diagnosis","root_cause_analysis":"r","confidence":70,"next_action":{"kind":"probe","instruction":"get pods","context":"ns x","submission":null}}"#;

    #[test]
    fn fences_and_think_blocks_are_stripped() {
        let fenced = format!("<think>hmm {{</think>\nHere:\n```json\n{DECISION}\n```\n");
        let d = observer_decision(&fenced, TaskType::Detection, false).unwrap();
        assert_eq!(d.confidence, 70);
        assert!(matches!(d.next_action, NextAction::Probe { .. }));
        assert!(extract_json("no json").is_err());
    }

    #[test]
    fn submissions_follow_the_task_type() {
        let submit = |s: &str| {
            format!(
                r#"{{"previous_iteration_summary":"","current_phase":"Verification","root_cause_analysis":"","confidence":90,"next_action":{{"kind":"submit","instruction":"","context":"","submission":{s}}}}}"#
            )
        };
        let d =
            observer_decision(&submit(r#"{"anomaly":"Yes"}"#), TaskType::Detection, false).unwrap();
        assert_eq!(
            d.next_action,
            NextAction::Submit {
                submission: Submission::Detection { anomaly: true }
            }
        );
        let d = observer_decision(
            &submit(r#"{"services":["geo"]}"#),
            TaskType::Localization,
            false,
        )
        .unwrap();
        assert_eq!(
            d.next_action,
            NextAction::Submit {
                submission: Submission::Localization {
                    services: vec!["geo".into()]
                }
            }
        );
        let d = observer_decision(
            &submit(r#"{"system_level":"Application","fault_type":"Misconfiguration"}"#),
            TaskType::Analysis,
            false,
        )
        .unwrap();
        assert_eq!(
            d.next_action,
            NextAction::Submit {
                submission: Submission::Analysis {
                    system_level: SystemLevel::Application,
                    fault_type: FaultType::Misconfiguration
                }
            }
        );
        let d = observer_decision(&submit("null"), TaskType::Mitigation, true).unwrap();
        assert_eq!(
            d.next_action,
            NextAction::Submit {
                submission: Submission::Mitigation
            }
        );
        assert!(
            observer_decision(
                &submit(r#"{"system_level":"Cloud","fault_type":"Misconfiguration"}"#),
                TaskType::Analysis,
                false
            )
            .is_err()
        );
        assert!(observer_decision(&submit("null"), TaskType::Localization, false).is_err());
    }

    #[test]
    fn invalid_decisions_say_what_is_wrong() {
        let bad = DECISION.replace("70", "170");
        assert!(
            observer_decision(&bad, TaskType::Detection, false)
                .unwrap_err()
                .contains("confidence")
        );
        let exec = DECISION.replace("\"probe\"", "\"executor\"");
        assert!(
            observer_decision(&exec, TaskType::Detection, false)
                .unwrap_err()
                .contains("not available")
        );
        assert!(observer_decision(&exec, TaskType::Mitigation, true).is_ok());
        let missing = DECISION.replace("\"current_phase\":\"Diagnosis\",", "");
        assert!(
            observer_decision(&missing, TaskType::Detection, false)
                .unwrap_err()
                .contains("current_phase")
        );
    }

    #[test]
    fn tool_calls_must_name_an_offered_tool() {
        let tools = vec![ToolDoc {
            name: "exec_shell".into(),
            description: String::new(),
            access: Access::Read,
        }];
        let call = tool_call(
            r#"{"tool":"exec_shell","args":{"command":"kubectl get pods"}}"#,
            &tools,
        )
        .unwrap();
        assert_eq!(call, ToolCall::exec_shell("kubectl get pods"));
        assert!(
            tool_call(r#"{"tool":"rm","args":{}}"#, &tools)
                .unwrap_err()
                .contains("not one of the tools")
        );
        assert!(tool_call(r#"{"tool":"exec_shell","args":"x"}"#, &tools).is_err());
        assert_eq!(summary(r#"{"summary":"3 pods"}"#).unwrap(), "3 pods");
    }
}
