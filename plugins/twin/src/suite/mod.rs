//! Suites as data: apps, faults and problems read from TOML files.
//!
//! A suite is a directory holding `suite.toml` ([`schema::SuiteFile`]), `apps/*.toml`
//! ([`schema::AppSpec`] each), `faults/*.toml` ([`schema::FaultSpec`] each) and
//! `problems/*.toml` ([`schema::ProblemsFile`] each). [`Suite::load`] reads such a directory,
//! [`Suite::builtin`] returns a suite shipped inside the binary (`aiopslab`), and
//! [`Suite::resolve`] accepts either. Every reference between files is checked on load; a
//! refusal is a [`SuiteError`] naming the file, line and column of what is wrong.
//! `docs/suite-format.md` documents the format for users.

mod loader;
pub mod schema;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use aoi_core::TaskType;

/// A loaded, validated suite.
#[derive(Debug, Clone)]
pub struct Suite {
    pub name: String,
    pub description: String,
    pub nodes: Vec<schema::NodeSpec>,
    /// Apps by their short name (`hotel-reservation`).
    pub apps: BTreeMap<String, Arc<schema::AppSpec>>,
    /// Faults by name (`k8s_target_port-misconfig`).
    pub faults: BTreeMap<String, Arc<schema::FaultSpec>>,
    /// Problems in file order, files sorted by name.
    pub problems: Vec<Problem>,
}

/// One problem (task) of a suite, with its references resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub id: String,
    pub app: String,
    pub task_type: TaskType,
    /// The injected fault's name; `None` for no-op problems.
    pub fault: Option<String>,
    /// Services the fault acts on.
    pub targets: Vec<String>,
    /// The localization answer: the problem's explicit `expected_services`, else its targets.
    pub expected_services: Vec<String>,
    /// The analysis answer: the problem's override, else the fault's.
    pub analysis: Option<schema::AnalysisAnswer>,
    pub detect_after_s: Option<u64>,
}

/// A refused suite: where and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SuiteError {
    /// The file, as `<origin>/<relative path>` (or the relative path alone for an empty origin).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for SuiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(col)) => write!(f, "{}:{line}:{col}: {}", self.file, self.message),
            (Some(line), None) => write!(f, "{}:{line}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl SuiteError {
    /// An error about a whole file or directory, with no position.
    pub fn whole(file: impl Into<String>, message: impl Into<String>) -> SuiteError {
        SuiteError {
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

impl Suite {
    /// Reads and validates the suite in directory `dir`.
    pub fn load(dir: &Path) -> Result<Suite, SuiteError> {
        let files = loader::read_dir(dir)?;
        Suite::from_files(&files, &dir.display().to_string())
    }

    /// Validates a suite given as `(relative path, content)` pairs; `origin` prefixes file
    /// names in errors (a directory path, or `builtin:<name>`).
    pub fn from_files(files: &[(String, String)], origin: &str) -> Result<Suite, SuiteError> {
        loader::build(files, origin)
    }

    /// The suite shipped in the binary under `name` (`aiopslab`), or `None` if there is none.
    pub fn builtin(name: &str) -> Option<Result<Suite, SuiteError>> {
        let files = loader::builtin_files(name)?;
        Some(Suite::from_files(&files, &format!("builtin:{name}")))
    }

    /// Names of the suites shipped in the binary.
    pub fn builtin_names() -> Vec<&'static str> {
        loader::builtin_names()
    }

    /// A builtin suite's name, else a directory path.
    pub fn resolve(name_or_path: &str) -> Result<Suite, SuiteError> {
        if let Some(suite) = Suite::builtin(name_or_path) {
            return suite;
        }
        let path = Path::new(name_or_path);
        if !path.exists() {
            return Err(SuiteError::whole(
                name_or_path,
                format!(
                    "no such suite: not a builtin suite ({}) and no directory at this path",
                    Suite::builtin_names().join(", ")
                ),
            ));
        }
        if !path.is_dir() {
            return Err(SuiteError::whole(
                name_or_path,
                "not a directory: a suite is a directory holding suite.toml, apps/, faults/ and problems/",
            ));
        }
        Suite::load(path)
    }

    pub fn problem(&self, id: &str) -> Option<&Problem> {
        self.problems.iter().find(|p| p.id == id)
    }

    pub fn app(&self, name: &str) -> Option<&Arc<schema::AppSpec>> {
        self.apps.get(name)
    }

    pub fn fault(&self, name: &str) -> Option<&Arc<schema::FaultSpec>> {
        self.faults.get(name)
    }

    /// The fault a problem injects, if any.
    pub fn fault_of(&self, problem: &Problem) -> Option<&Arc<schema::FaultSpec>> {
        problem.fault.as_deref().and_then(|f| self.faults.get(f))
    }

    /// Problem ids in suite order.
    pub fn ids(&self) -> Vec<&str> {
        self.problems.iter().map(|p| p.id.as_str()).collect()
    }
}
