//! What a task is, as the agent sees it, and the answers it can submit.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The four AIOpsLab task types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskType {
    Detection,
    Localization,
    Analysis,
    Mitigation,
}

impl TaskType {
    pub const ALL: [TaskType; 4] = [
        TaskType::Detection,
        TaskType::Localization,
        TaskType::Analysis,
        TaskType::Mitigation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskType::Detection => "detection",
            TaskType::Localization => "localization",
            TaskType::Analysis => "analysis",
            TaskType::Mitigation => "mitigation",
        }
    }
}

impl fmt::Display for TaskType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "detection" => Ok(TaskType::Detection),
            "localization" => Ok(TaskType::Localization),
            "analysis" => Ok(TaskType::Analysis),
            "mitigation" => Ok(TaskType::Mitigation),
            other => Err(format!(
                "unknown task type `{other}`: expected detection, localization, analysis or mitigation"
            )),
        }
    }
}

/// What an agent is told about its task. It names the application and the namespace, never the
/// problem id (AIOpsLab's ids name the fault) nor anything about the injected fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSpec {
    pub task_type: TaskType,
    /// The application's display name, e.g. "Hotel Reservation".
    pub app_name: String,
    pub namespace: String,
    /// What the application is and does, as the benchmark describes it.
    pub app_description: String,
    /// The full task text, AIOpsLab style ("You are an expert DevOps engineer ...").
    pub instructions: String,
}

/// Analysis answer: the layer the root cause sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SystemLevel {
    Hardware,
    #[serde(rename = "Operating System")]
    OperatingSystem,
    Virtualization,
    Application,
}

impl SystemLevel {
    pub const ALL: [SystemLevel; 4] = [
        SystemLevel::Hardware,
        SystemLevel::OperatingSystem,
        SystemLevel::Virtualization,
        SystemLevel::Application,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            SystemLevel::Hardware => "Hardware",
            SystemLevel::OperatingSystem => "Operating System",
            SystemLevel::Virtualization => "Virtualization",
            SystemLevel::Application => "Application",
        }
    }
}

impl FromStr for SystemLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SystemLevel::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown system level `{s}`: expected Hardware, Operating System, Virtualization or Application"))
    }
}

/// Analysis answer: the kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FaultType {
    Misconfiguration,
    #[serde(rename = "Code Defect")]
    CodeDefect,
    #[serde(rename = "Authentication Issue")]
    AuthenticationIssue,
    #[serde(rename = "Network/Storage Issue")]
    NetworkStorageIssue,
    #[serde(rename = "Operation Error")]
    OperationError,
    #[serde(rename = "Dependency Problem")]
    DependencyProblem,
}

impl FaultType {
    pub const ALL: [FaultType; 6] = [
        FaultType::Misconfiguration,
        FaultType::CodeDefect,
        FaultType::AuthenticationIssue,
        FaultType::NetworkStorageIssue,
        FaultType::OperationError,
        FaultType::DependencyProblem,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            FaultType::Misconfiguration => "Misconfiguration",
            FaultType::CodeDefect => "Code Defect",
            FaultType::AuthenticationIssue => "Authentication Issue",
            FaultType::NetworkStorageIssue => "Network/Storage Issue",
            FaultType::OperationError => "Operation Error",
            FaultType::DependencyProblem => "Dependency Problem",
        }
    }
}

impl FromStr for FaultType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FaultType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown fault type `{s}`: expected one of Misconfiguration, Code Defect, Authentication Issue, Network/Storage Issue, Operation Error, Dependency Problem"))
    }
}

/// A submission, AIOpsLab's `submit(...)` for each task type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Submission {
    /// `submit("Yes")` / `submit("No")`.
    Detection { anomaly: bool },
    /// `submit(["service", ...])`.
    Localization { services: Vec<String> },
    /// `submit({"system_level": ..., "fault_type": ...})`.
    Analysis {
        system_level: SystemLevel,
        fault_type: FaultType,
    },
    /// `submit()`: the cluster state is judged.
    Mitigation,
}

impl Submission {
    pub fn task_type(&self) -> TaskType {
        match self {
            Submission::Detection { .. } => TaskType::Detection,
            Submission::Localization { .. } => TaskType::Localization,
            Submission::Analysis { .. } => TaskType::Analysis,
            Submission::Mitigation => TaskType::Mitigation,
        }
    }

    /// The call as AIOpsLab's orchestrator would read it.
    pub fn to_call_string(&self) -> String {
        match self {
            Submission::Detection { anomaly } => {
                format!("submit(\"{}\")", if *anomaly { "Yes" } else { "No" })
            }
            Submission::Localization { services } => {
                let list: Vec<String> = services.iter().map(|s| format!("\"{s}\"")).collect();
                format!("submit([{}])", list.join(", "))
            }
            Submission::Analysis {
                system_level,
                fault_type,
            } => format!(
                "submit({{\"system_level\": \"{}\", \"fault_type\": \"{}\"}})",
                system_level.as_str(),
                fault_type.as_str()
            ),
            Submission::Mitigation => "submit()".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysis_names_round_trip_through_json_and_text() {
        let s = Submission::Analysis {
            system_level: SystemLevel::OperatingSystem,
            fault_type: FaultType::NetworkStorageIssue,
        };
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"Operating System\""), "{json}");
        assert!(json.contains("\"Network/Storage Issue\""), "{json}");
        let back: Submission = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert_eq!("network/storage issue".parse::<FaultType>(), Ok(FaultType::NetworkStorageIssue));
        assert!("Network".parse::<FaultType>().is_err());
    }

    #[test]
    fn submissions_print_as_aiopslab_calls() {
        assert_eq!(Submission::Detection { anomaly: true }.to_call_string(), "submit(\"Yes\")");
        assert_eq!(
            Submission::Localization { services: vec!["geo".into(), "user".into()] }.to_call_string(),
            "submit([\"geo\", \"user\"])"
        );
        assert_eq!(Submission::Mitigation.to_call_string(), "submit()");
    }
}
