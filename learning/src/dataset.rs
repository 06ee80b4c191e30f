//! Training datasets: GRPO, SFT and DPO rows with the field names TRL reads, the manifest, and
//! their validation. The folder format is documented in `docs/datasets.md`; [`io`] writes and
//! reads it.

pub mod io;

use crate::grpo::group_advantages;
use crate::rewards::RewardWeights;
use aoi_core::Role;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub use io::{
    DatasetWriter, ExportMeta, InMemoryExport, export_in_memory, read_dataset, rfc3339_utc,
    sha256_hex,
};

/// `manifest.json`'s `format`.
pub const FORMAT: &str = "aoi-dataset";
/// `manifest.json`'s `version`.
pub const VERSION: u32 = 1;

/// Which dataset a folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetKind {
    Grpo,
    Sft,
    Dpo,
}

impl DatasetKind {
    /// `grpo`, `sft` or `dpo`.
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetKind::Grpo => "grpo",
            DatasetKind::Sft => "sft",
            DatasetKind::Dpo => "dpo",
        }
    }

    /// The JSONL file the writer produces: `grpo.jsonl`, `sft.jsonl`, `dpo.jsonl`.
    pub fn file_name(self) -> String {
        format!("{}.jsonl", self.as_str())
    }
}

/// Who speaks a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageRole {
    System,
    User,
    Assistant,
}

/// An OpenAI/TRL chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub role: MessageRole,
    pub content: String,
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Message {
            role: MessageRole::System,
            content: content.into(),
        }
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: MessageRole::User,
            content: content.into(),
        }
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Message {
            role: MessageRole::Assistant,
            content: content.into(),
        }
    }
}

/// One GRPO completion: a trajectory step's prompt and the completion sampled for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpoRow {
    pub prompt: Vec<Message>,
    /// One assistant message.
    pub completion: Vec<Message>,
    pub reward: f64,
    pub advantage: f64,
    /// `<problem id>#<group n>`.
    pub group_id: String,
    pub problem_id: String,
    pub session_id: String,
    pub step: u32,
    pub role: Role,
    /// Per completion token, from the sampling backend when it gave them; always present, `null`
    /// when absent.
    #[serde(deserialize_with = "present_option")]
    pub logprobs: Option<Vec<f64>>,
}

/// Where an SFT row came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SftSource {
    /// An approved corrective signal.
    Signal,
    /// A successful run.
    Success,
}

/// One SFT conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftRow {
    /// Ends with an assistant message.
    pub messages: Vec<Message>,
    pub source: SftSource,
    pub session_id: String,
    /// Always present, `null` when unknown.
    #[serde(deserialize_with = "present_option")]
    pub problem_id: Option<String>,
}

/// One DPO preference: the repaired answer (chosen) against the failed one (rejected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpoRow {
    pub prompt: Vec<Message>,
    pub chosen: Vec<Message>,
    pub rejected: Vec<Message>,
    pub signal_id: String,
    pub session_id: String,
}

/// A field-level problem in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field, `""` when the row as a whole is wrong.
    pub field: String,
    pub message: String,
}

impl FieldError {
    fn new(field: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// A row of one dataset kind.
pub trait DatasetRow: Serialize + DeserializeOwned + Sized {
    /// The kind of dataset it belongs to.
    const KIND: DatasetKind;
    /// The documented fields, in order; a row has exactly these.
    const FIELDS: &'static [&'static str];
    /// The session it came from.
    fn session_id(&self) -> &str;
    /// Its GRPO group (GRPO rows only).
    fn group_id(&self) -> Option<&str> {
        None
    }
    /// The checks the types do not make (non-empty lists, roles, finite numbers, group ids).
    fn check(&self) -> Result<(), FieldError>;
    /// Parses a JSON object, naming the field of any problem.
    fn from_object(object: &Map<String, Value>) -> Result<Self, FieldError>;
}

/// Parses one JSONL line into a row: exactly the documented fields, each of the right type,
/// then [`DatasetRow::check`].
pub fn parse_row<R: DatasetRow>(line: &str) -> Result<R, FieldError> {
    let value: Value = serde_json::from_str(line)
        .map_err(|e| FieldError::new("", format!("not valid JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(FieldError::new("", "a row must be a JSON object"));
    };
    if let Some(missing) = R::FIELDS.iter().find(|f| !object.contains_key(**f)) {
        return Err(FieldError::new(missing, "missing"));
    }
    if let Some(unknown) = object.keys().find(|k| !R::FIELDS.contains(&k.as_str())) {
        return Err(FieldError::new(
            unknown,
            format!(
                "unknown field; a {} row has {}",
                R::KIND.as_str(),
                R::FIELDS.join(", ")
            ),
        ));
    }
    let row = R::from_object(&object)?;
    row.check()?;
    Ok(row)
}

fn field<T: DeserializeOwned>(object: &Map<String, Value>, name: &str) -> Result<T, FieldError> {
    let value = object
        .get(name)
        .ok_or_else(|| FieldError::new(name, "missing"))?;
    T::deserialize(value).map_err(|e| FieldError::new(name, e.to_string()))
}

fn present_option<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

fn non_empty(field: &str, value: &str) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        Err(FieldError::new(field, "must not be empty"))
    } else {
        Ok(())
    }
}

fn messages(field: &str, list: &[Message]) -> Result<(), FieldError> {
    if list.is_empty() {
        return Err(FieldError::new(field, "must hold at least one message"));
    }
    Ok(())
}

fn assistant_only(field: &str, list: &[Message]) -> Result<(), FieldError> {
    messages(field, list)?;
    match list.iter().position(|m| m.role != MessageRole::Assistant) {
        Some(i) => Err(FieldError::new(
            field,
            format!("message {i} must have role `assistant`"),
        )),
        None => Ok(()),
    }
}

fn finite(field: &str, value: f64) -> Result<(), FieldError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!("must be a finite number, got {value}"),
        ))
    }
}

impl DatasetRow for GrpoRow {
    const KIND: DatasetKind = DatasetKind::Grpo;
    const FIELDS: &'static [&'static str] = &[
        "prompt",
        "completion",
        "reward",
        "advantage",
        "group_id",
        "problem_id",
        "session_id",
        "step",
        "role",
        "logprobs",
    ];

    fn session_id(&self) -> &str {
        &self.session_id
    }

    fn group_id(&self) -> Option<&str> {
        Some(&self.group_id)
    }

    fn check(&self) -> Result<(), FieldError> {
        messages("prompt", &self.prompt)?;
        assistant_only("completion", &self.completion)?;
        finite("reward", self.reward)?;
        finite("advantage", self.advantage)?;
        non_empty("problem_id", &self.problem_id)?;
        non_empty("session_id", &self.session_id)?;
        let group_ok = self
            .group_id
            .rsplit_once('#')
            .is_some_and(|(problem, n)| problem == self.problem_id && n.parse::<u32>().is_ok());
        if !group_ok {
            return Err(FieldError::new(
                "group_id",
                format!(
                    "must be `<problem id>#<group n>` with problem id `{}`, got `{}`",
                    self.problem_id, self.group_id
                ),
            ));
        }
        if let Some(i) = self.logprobs.iter().flatten().position(|l| !l.is_finite()) {
            return Err(FieldError::new(
                "logprobs",
                format!("entry {i} is not a finite number"),
            ));
        }
        Ok(())
    }

    fn from_object(o: &Map<String, Value>) -> Result<Self, FieldError> {
        Ok(GrpoRow {
            prompt: field(o, "prompt")?,
            completion: field(o, "completion")?,
            reward: field(o, "reward")?,
            advantage: field(o, "advantage")?,
            group_id: field(o, "group_id")?,
            problem_id: field(o, "problem_id")?,
            session_id: field(o, "session_id")?,
            step: field(o, "step")?,
            role: field(o, "role")?,
            logprobs: field(o, "logprobs")?,
        })
    }
}

impl DatasetRow for SftRow {
    const KIND: DatasetKind = DatasetKind::Sft;
    const FIELDS: &'static [&'static str] = &["messages", "source", "session_id", "problem_id"];

    fn session_id(&self) -> &str {
        &self.session_id
    }

    fn check(&self) -> Result<(), FieldError> {
        messages("messages", &self.messages)?;
        if self.messages.last().map(|m| m.role) != Some(MessageRole::Assistant) {
            return Err(FieldError::new(
                "messages",
                "the last message must have role `assistant`",
            ));
        }
        non_empty("session_id", &self.session_id)?;
        if let Some(problem) = &self.problem_id {
            non_empty("problem_id", problem)?;
        }
        Ok(())
    }

    fn from_object(o: &Map<String, Value>) -> Result<Self, FieldError> {
        Ok(SftRow {
            messages: field(o, "messages")?,
            source: field(o, "source")?,
            session_id: field(o, "session_id")?,
            problem_id: field(o, "problem_id")?,
        })
    }
}

impl DatasetRow for DpoRow {
    const KIND: DatasetKind = DatasetKind::Dpo;
    const FIELDS: &'static [&'static str] =
        &["prompt", "chosen", "rejected", "signal_id", "session_id"];

    fn session_id(&self) -> &str {
        &self.session_id
    }

    fn check(&self) -> Result<(), FieldError> {
        messages("prompt", &self.prompt)?;
        assistant_only("chosen", &self.chosen)?;
        assistant_only("rejected", &self.rejected)?;
        if self.chosen == self.rejected {
            return Err(FieldError::new(
                "rejected",
                "is the same as `chosen`: no preference",
            ));
        }
        non_empty("signal_id", &self.signal_id)?;
        non_empty("session_id", &self.session_id)
    }

    fn from_object(o: &Map<String, Value>) -> Result<Self, FieldError> {
        Ok(DpoRow {
            prompt: field(o, "prompt")?,
            chosen: field(o, "chosen")?,
            rejected: field(o, "rejected")?,
            signal_id: field(o, "signal_id")?,
            session_id: field(o, "session_id")?,
        })
    }
}

/// Sets every row's `advantage` to its group-relative advantage
/// ([`group_advantages`] over the rewards of the rows sharing its `group_id`).
pub fn assign_group_advantages(rows: &mut [GrpoRow]) {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        groups.entry(row.group_id.clone()).or_default().push(i);
    }
    for members in groups.values() {
        let rewards: Vec<f64> = members
            .iter()
            .filter_map(|&i| rows.get(i).map(|r| r.reward))
            .collect();
        for (&i, advantage) in members.iter().zip(group_advantages(&rewards)) {
            if let Some(row) = rows.get_mut(i) {
                row.advantage = advantage;
            }
        }
    }
}

/// One JSONL file of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// A plain file name inside the folder.
    pub path: String,
    pub rows: u64,
    /// Lowercase hex SHA-256 of the file's bytes.
    pub sha256: String,
}

/// The manifest's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub rows: u64,
    /// Distinct `group_id`s (GRPO only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<u64>,
    /// Distinct source sessions.
    pub sessions: u64,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always `aoi-dataset`.
    pub format: String,
    /// Always 1.
    pub version: u32,
    pub kind: DatasetKind,
    /// The tenant's slug.
    pub tenant: String,
    /// RFC 3339.
    pub created_at: String,
    /// `aoi <version>`.
    pub generator: String,
    pub files: Vec<FileEntry>,
    pub counts: Counts,
    /// The sessions the rows came from, sorted, each once.
    pub source_sessions: Vec<String>,
    /// The reward weights used (GRPO only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward_weights: Option<RewardWeights>,
}

/// The rows of a read dataset.
#[derive(Debug, Clone, PartialEq)]
pub enum DatasetRows {
    Grpo(Vec<GrpoRow>),
    Sft(Vec<SftRow>),
    Dpo(Vec<DpoRow>),
}

impl DatasetRows {
    /// How many rows.
    pub fn len(&self) -> usize {
        match self {
            DatasetRows::Grpo(r) => r.len(),
            DatasetRows::Sft(r) => r.len(),
            DatasetRows::Dpo(r) => r.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A validated export.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub manifest: Manifest,
    pub rows: DatasetRows,
}

/// Why an export could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("refusing to export into {dir}: the folder is not empty; choose a new or empty folder")]
    NotEmpty { dir: String },
    #[error("manifest.json: {0}")]
    Manifest(String),
    #[error(
        "{file}: sha256 is {actual} but the manifest says {expected}: the file changed after export"
    )]
    HashMismatch {
        file: String,
        expected: String,
        actual: String,
    },
    #[error("{what}: the manifest says {expected}, the files hold {actual}")]
    CountMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },
    #[error("{file}:{line}: {}", describe_field(.field, .message))]
    Row {
        file: String,
        line: usize,
        field: String,
        message: String,
    },
    #[error("invalid export settings: {0}")]
    Settings(String),
}

fn describe_field(field: &str, message: &str) -> String {
    if field.is_empty() {
        message.to_string()
    } else {
        format!("field `{field}`: {message}")
    }
}
