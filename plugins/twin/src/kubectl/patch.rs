//! Patches on JSON views: RFC 7386 merge patch, Kubernetes' strategic merge patch (lists merged
//! by key for the fields that have one) and RFC 6902 JSON patch.

use serde_json::{Map, Value};

/// `kubectl patch --type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Strategic,
    Merge,
    Json,
}

impl PatchType {
    pub fn parse(s: &str) -> Result<PatchType, String> {
        match s {
            "strategic" => Ok(PatchType::Strategic),
            "merge" => Ok(PatchType::Merge),
            "json" => Ok(PatchType::Json),
            other => Err(format!(
                "error: --type must be one of [json merge strategic], not \"{other}\""
            )),
        }
    }
}

/// The server's answer to a JSON patch that does not apply.
pub const JSON_PATCH_INVALID: &str =
    "The request is invalid: the server rejected our request due to an error in our request";

/// Applies `patch` (text as given to `-p`) to `target`.
pub fn apply(target: &Value, patch_type: PatchType, patch: &str) -> Result<Value, String> {
    let p: Value = serde_json::from_str(patch)
        .map_err(|e| format!("error: unable to parse \"{patch}\": {}", json_err(&e)))?;
    match patch_type {
        PatchType::Merge => {
            if !p.is_object() {
                return Err("Error from server (BadRequest): json: cannot unmarshal array into Go value of type map[string]interface {}".into());
            }
            Ok(merge(target, &p, false, ""))
        }
        PatchType::Strategic => {
            if !p.is_object() {
                return Err("Error from server (BadRequest): json: cannot unmarshal array into Go value of type map[string]interface {}".into());
            }
            Ok(merge(target, &p, true, ""))
        }
        PatchType::Json => {
            let ops = p.as_array().ok_or_else(|| {
                "Error from server (BadRequest): json: cannot unmarshal object into Go value of type jsonpatch.Patch".to_string()
            })?;
            json_patch(target, ops)
        }
    }
}

fn json_err(e: &serde_json::Error) -> String {
    format!("yaml: line {}: {}", e.line(), e)
}

/// The key lists are merged by under a strategic merge patch, by the list's path.
fn merge_key(path: &str) -> Option<&'static str> {
    let last = path.rsplit('/').next().unwrap_or("");
    match last {
        "containers" | "initContainers" | "env" | "volumes" | "imagePullSecrets" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "ports" if path.contains("containers") => Some("containerPort"),
        "ports" => Some("port"),
        "tolerations" => None,
        _ => None,
    }
}

fn merge(target: &Value, patch: &Value, strategic: bool, path: &str) -> Value {
    let Value::Object(pm) = patch else {
        return patch.clone();
    };
    let mut out: Map<String, Value> = match target {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    for (k, v) in pm {
        if strategic && k.starts_with('$') {
            continue;
        }
        let sub = format!("{path}/{k}");
        if v.is_null() {
            out.remove(k);
            continue;
        }
        let merged = match (out.get(k), v) {
            (Some(old @ Value::Object(_)), Value::Object(_)) => merge(old, v, strategic, &sub),
            (Some(Value::Array(old)), Value::Array(new)) if strategic => match merge_key(&sub) {
                Some(key) => merge_list(old, new, key, &sub),
                None => Value::Array(new.clone()),
            },
            (_, Value::Object(_)) => merge(&Value::Null, v, strategic, &sub),
            _ => v.clone(),
        };
        out.insert(k.clone(), merged);
    }
    Value::Object(out)
}

fn merge_list(old: &[Value], new: &[Value], key: &str, path: &str) -> Value {
    let mut out: Vec<Value> = old.to_vec();
    for item in new {
        let id = item.get(key);
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match id.and_then(|id| out.iter().position(|o| o.get(key) == Some(id))) {
            Some(i) if delete => {
                out.remove(i);
            }
            Some(i) => {
                let m = merge(&out[i], item, true, path);
                out[i] = m;
            }
            None if delete => {}
            None => out.push(merge(&Value::Null, item, true, path)),
        }
    }
    Value::Array(out)
}

fn unescape(tok: &str) -> String {
    tok.replace("~1", "/").replace("~0", "~")
}

fn pointer_parts(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(vec![]);
    }
    if !path.starts_with('/') {
        return Err(JSON_PATCH_INVALID.into());
    }
    Ok(path[1..].split('/').map(unescape).collect())
}

fn json_patch(target: &Value, ops: &[Value]) -> Result<Value, String> {
    let mut doc = target.clone();
    for op in ops {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or("");
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| JSON_PATCH_INVALID.to_string())?;
        let parts = pointer_parts(path)?;
        match kind {
            "add" => {
                let v = op
                    .get("value")
                    .cloned()
                    .ok_or_else(|| JSON_PATCH_INVALID.to_string())?;
                add(&mut doc, &parts, v)?;
            }
            "remove" => {
                remove(&mut doc, &parts)?;
            }
            "replace" => {
                let v = op
                    .get("value")
                    .cloned()
                    .ok_or_else(|| JSON_PATCH_INVALID.to_string())?;
                remove(&mut doc, &parts)?;
                add(&mut doc, &parts, v)?;
            }
            "test" => {
                let v = op.get("value").cloned().unwrap_or(Value::Null);
                if get(&doc, &parts) != Some(&v) {
                    return Err(JSON_PATCH_INVALID.into());
                }
            }
            "move" | "copy" => {
                let from = op
                    .get("from")
                    .and_then(Value::as_str)
                    .ok_or_else(|| JSON_PATCH_INVALID.to_string())?;
                let fparts = pointer_parts(from)?;
                let v = get(&doc, &fparts)
                    .cloned()
                    .ok_or_else(|| JSON_PATCH_INVALID.to_string())?;
                if kind == "move" {
                    remove(&mut doc, &fparts)?;
                }
                add(&mut doc, &parts, v)?;
            }
            _ => {
                return Err(format!(
                    "Error from server (BadRequest): Unexpected kind: {kind}"
                ));
            }
        }
    }
    Ok(doc)
}

fn get<'a>(doc: &'a Value, parts: &[String]) -> Option<&'a Value> {
    let mut cur = doc;
    for p in parts {
        cur = match cur {
            Value::Object(m) => m.get(p)?,
            Value::Array(a) => a.get(p.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn parent<'a>(doc: &'a mut Value, parts: &[String]) -> Result<&'a mut Value, String> {
    let mut cur = doc;
    for p in parts {
        cur = match cur {
            Value::Object(m) => m.get_mut(p).ok_or_else(|| JSON_PATCH_INVALID.to_string())?,
            Value::Array(a) => {
                let i: usize = p.parse().map_err(|_| JSON_PATCH_INVALID.to_string())?;
                a.get_mut(i).ok_or_else(|| JSON_PATCH_INVALID.to_string())?
            }
            _ => return Err(JSON_PATCH_INVALID.into()),
        };
    }
    Ok(cur)
}

fn add(doc: &mut Value, parts: &[String], v: Value) -> Result<(), String> {
    let Some((last, init)) = parts.split_last() else {
        *doc = v;
        return Ok(());
    };
    match parent(doc, init)? {
        Value::Object(m) => {
            m.insert(last.clone(), v);
            Ok(())
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(v);
                return Ok(());
            }
            let i: usize = last.parse().map_err(|_| JSON_PATCH_INVALID.to_string())?;
            if i > a.len() {
                return Err(JSON_PATCH_INVALID.into());
            }
            a.insert(i, v);
            Ok(())
        }
        _ => Err(JSON_PATCH_INVALID.into()),
    }
}

fn remove(doc: &mut Value, parts: &[String]) -> Result<Value, String> {
    let (last, init) = parts
        .split_last()
        .ok_or_else(|| JSON_PATCH_INVALID.to_string())?;
    match parent(doc, init)? {
        Value::Object(m) => m.remove(last).ok_or_else(|| JSON_PATCH_INVALID.to_string()),
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| JSON_PATCH_INVALID.to_string())?;
            if i >= a.len() {
                return Err(JSON_PATCH_INVALID.into());
            }
            Ok(a.remove(i))
        }
        _ => Err(JSON_PATCH_INVALID.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merges_ports_by_port() {
        let svc = json!({"spec": {"ports": [{"name": "9090", "port": 9090, "targetPort": 9999, "protocol": "TCP"}]}});
        let out = apply(
            &svc,
            PatchType::Strategic,
            r#"{"spec":{"ports":[{"port":9090,"targetPort":9090}]}}"#,
        );
        assert_eq!(
            out.ok(),
            Some(
                json!({"spec": {"ports": [{"name": "9090", "port": 9090, "targetPort": 9090, "protocol": "TCP"}]}})
            )
        );
        let merged = apply(
            &svc,
            PatchType::Merge,
            r#"{"spec":{"ports":[{"port":9090,"targetPort":9090}]}}"#,
        );
        assert_eq!(
            merged.ok(),
            Some(json!({"spec": {"ports": [{"port": 9090, "targetPort": 9090}]}}))
        );
    }

    #[test]
    fn json_patch_ops() {
        let d = json!({"spec": {"template": {"spec": {"nodeSelector": {"k": "v"}, "containers": [{"command": ["geo"]}]}}}});
        let out = apply(
            &d,
            PatchType::Json,
            r#"[{"op":"remove","path":"/spec/template/spec/nodeSelector"},
            {"op":"replace","path":"/spec/template/spec/containers/0/command","value":["profile"]}]"#,
        );
        assert_eq!(
            out.ok(),
            Some(
                json!({"spec": {"template": {"spec": {"containers": [{"command": ["profile"]}]}}}})
            )
        );
        let bad = apply(
            &d,
            PatchType::Json,
            r#"[{"op":"remove","path":"/spec/nope"}]"#,
        );
        assert_eq!(bad.err().as_deref(), Some(JSON_PATCH_INVALID));
    }
}
