//! Retrieving the approved lessons most similar to a new session: keyword sets compared with
//! the Jaccard index.

use aoi_core::TaskSpec;
use std::collections::BTreeSet;

/// Words that say nothing about an incident (English glue and the task text's boilerplate).
const STOPWORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "are",
    "you",
    "your",
    "with",
    "that",
    "this",
    "from",
    "will",
    "use",
    "below",
    "into",
    "its",
    "has",
    "have",
    "was",
    "were",
    "not",
    "any",
    "all",
    "can",
    "may",
    "must",
    "each",
    "one",
    "there",
    "their",
    "them",
    "then",
    "than",
    "which",
    "what",
    "when",
    "where",
    "who",
    "how",
    "but",
    "also",
    "only",
    "about",
    "over",
    "under",
    "such",
    "these",
    "those",
    "other",
    "been",
    "being",
    "does",
    "did",
    "done",
    "should",
    "would",
    "could",
    "more",
    "most",
    "some",
    "very",
    "via",
    "per",
    "out",
    "off",
    "our",
    "his",
    "her",
    "they",
    "she",
    "him",
    "it's",
    "expert",
    "devops",
    "engineer",
    "assigned",
    "deployed",
    "service",
    "services",
    "name",
    "namespace",
    "description",
    "apis",
    "interact",
    "cluster",
    "api",
    "submit",
    "get_logs",
    "get_metrics",
    "read_metrics",
    "get_traces",
    "read_traces",
    "exec_shell",
    "task",
    "answer",
    "following",
    "format",
    "return",
    "call",
    "calls",
    "using",
    "used",
    "make",
    "sure",
    "like",
];

/// Lower-case keywords: words of three or more characters (letters, digits, `-`, `_`), no
/// stop words, first appearance order, no repeats.
pub(crate) fn keywords(text: &str, out: &mut Vec<String>, seen: &mut BTreeSet<String>) {
    for raw in text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_')) {
        let word = raw
            .trim_matches(|c: char| c == '-' || c == '_')
            .to_lowercase();
        if word.chars().count() < 3 || word.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if STOPWORDS.contains(&word.as_str()) {
            continue;
        }
        if seen.insert(word.clone()) {
            out.push(word);
        }
    }
}

/// The symptoms of a session as lower-case keywords: the task type, the app's name (whole and
/// by word), the namespace, and the words of the task's instructions and of the incident text.
pub fn symptoms_of(task: &TaskSpec, incident_text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let push = |w: String, out: &mut Vec<String>, seen: &mut BTreeSet<String>| {
        if !w.is_empty() && seen.insert(w.clone()) {
            out.push(w);
        }
    };
    push(task.task_type.as_str().to_lowercase(), &mut out, &mut seen);
    push(
        task.app_name.trim().to_lowercase().replace(' ', "-"),
        &mut out,
        &mut seen,
    );
    push(task.namespace.trim().to_lowercase(), &mut out, &mut seen);
    keywords(&task.app_name, &mut out, &mut seen);
    keywords(&task.instructions, &mut out, &mut seen);
    keywords(incident_text, &mut out, &mut seen);
    out
}

fn jaccard(a: &BTreeSet<&str>, b: &BTreeSet<&str>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

/// The `k` lessons whose symptoms are most similar (Jaccard index of the keyword sets) to the
/// session's symptoms ([`symptoms_of`] of `task` and `incident_text`), best first; ties keep the
/// candidates' order; a lesson sharing no keyword is never chosen.
pub fn select_lessons<'a>(
    candidates: &'a [(Vec<String>, String)],
    task: &TaskSpec,
    incident_text: &str,
    k: usize,
) -> Vec<&'a str> {
    let wanted = symptoms_of(task, incident_text);
    let wanted: BTreeSet<&str> = wanted.iter().map(String::as_str).collect();
    let mut scored: Vec<(f64, usize, &'a str)> = candidates
        .iter()
        .enumerate()
        .filter_map(|(i, (symptoms, lesson))| {
            let have: BTreeSet<&str> = symptoms.iter().map(String::as_str).collect();
            let score = jaccard(&wanted, &have);
            (score > 0.0).then_some((score, i, lesson.as_str()))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .take(k)
        .map(|(_, _, lesson)| lesson)
        .collect()
}
