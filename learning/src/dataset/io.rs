//! Writing an export folder (rows streamed into one JSONL file, `manifest.json` last) and reading
//! one back with every check: manifest, hashes, counts, and each row.

use super::{
    Counts, Dataset, DatasetError, DatasetKind, DatasetRow, DatasetRows, DpoRow, FORMAT, FileEntry,
    GrpoRow, Manifest, SftRow, VERSION, parse_row,
};
use crate::rewards::RewardWeights;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

const MANIFEST: &str = "manifest.json";

/// Lowercase hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A time as RFC 3339 in UTC, to the second: `2026-11-26T10:43:59Z`.
pub fn rfc3339_utc(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `YYYY-MM-DDTHH:MM:SS`, optional fraction, then `Z` or `+hh:mm` / `-hh:mm`.
fn looks_like_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    let shape = b.len() >= 20
        && digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && matches!(b.get(10), Some(b'T' | b't'))
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19);
    let mut rest = s.get(19..).unwrap_or("");
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = frac.get(n..).unwrap_or("");
        if n == 0 {
            return false;
        }
    }
    let zone_ok = rest == "Z"
        || rest == "z"
        || (rest.len() == 6
            && matches!(rest.as_bytes().first(), Some(b'+' | b'-'))
            && rest.as_bytes().get(3) == Some(&b':'));
    shape && zone_ok
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
}

/// A plain file name inside the folder: no separator, no leading dot, ends in `.jsonl`.
fn is_plain_jsonl_name(s: &str) -> bool {
    s.ends_with(".jsonl")
        && !s.starts_with('.')
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DatasetError + '_ {
    move |source| DatasetError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What the manifest says about an export beyond its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportMeta {
    /// The tenant's slug (lowercase letters, digits, `-`, `_`).
    pub tenant: String,
    /// RFC 3339.
    pub created_at: String,
    /// `aoi <version>`.
    pub generator: String,
    /// The weights the rewards were computed with; required for GRPO, refused for the others.
    pub reward_weights: Option<RewardWeights>,
}

impl ExportMeta {
    /// Metadata stamped now by this crate's version, without reward weights.
    pub fn new(tenant: impl Into<String>) -> Self {
        ExportMeta {
            tenant: tenant.into(),
            created_at: rfc3339_utc(SystemTime::now()),
            generator: format!("aoi {}", env!("CARGO_PKG_VERSION")),
            reward_weights: None,
        }
    }

    /// The same, with the reward weights a GRPO export used.
    pub fn with_reward_weights(mut self, weights: RewardWeights) -> Self {
        self.reward_weights = Some(weights);
        self
    }
}

/// Checks what the manifest says beyond its rows, for a dataset of `kind`.
fn check_meta(
    kind: DatasetKind,
    tenant: &str,
    created_at: &str,
    generator: &str,
    weights: Option<&RewardWeights>,
) -> Result<(), String> {
    if !is_slug(tenant) {
        return Err(format!(
            "tenant `{tenant}` is not a slug (lowercase letters, digits, `-`, `_`)"
        ));
    }
    if !looks_like_rfc3339(created_at) {
        return Err(format!("created_at `{created_at}` is not an RFC 3339 time"));
    }
    if generator.trim().is_empty() {
        return Err("generator must not be empty".to_string());
    }
    match (kind, weights) {
        (DatasetKind::Grpo, None) => {
            Err("a grpo export must record its reward_weights".to_string())
        }
        (DatasetKind::Grpo, Some(w)) => w.validate(),
        (_, Some(_)) => Err(format!(
            "reward_weights belong to grpo exports only, not {}",
            kind.as_str()
        )),
        (_, None) => Ok(()),
    }
}

/// [`check_meta`] of an export's settings, as a [`DatasetError::Settings`].
fn check_export_meta(kind: DatasetKind, meta: &ExportMeta) -> Result<(), DatasetError> {
    check_meta(
        kind,
        &meta.tenant,
        &meta.created_at,
        &meta.generator,
        meta.reward_weights.as_ref(),
    )
    .map_err(DatasetError::Settings)
}

/// What a manifest counts while rows are written: the file's hash, rows, sessions, groups.
#[derive(Debug)]
struct Tally {
    hasher: Sha256,
    rows: u64,
    sessions: BTreeSet<String>,
    groups: BTreeSet<String>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            hasher: Sha256::new(),
            rows: 0,
            sessions: BTreeSet::new(),
            groups: BTreeSet::new(),
        }
    }

    /// Counts one written line (with its `\n`) of `row`.
    fn add<R: DatasetRow>(&mut self, row: &R, line: &[u8]) {
        self.hasher.update(line);
        self.rows += 1;
        self.sessions.insert(row.session_id().to_string());
        if let Some(group) = row.group_id() {
            self.groups.insert(group.to_string());
        }
    }

    fn manifest(self, kind: DatasetKind, file_name: String, meta: ExportMeta) -> Manifest {
        Manifest {
            format: FORMAT.to_string(),
            version: VERSION,
            kind,
            tenant: meta.tenant,
            created_at: meta.created_at,
            generator: meta.generator,
            files: vec![FileEntry {
                path: file_name,
                rows: self.rows,
                sha256: hex(&self.hasher.finalize()),
            }],
            counts: Counts {
                rows: self.rows,
                groups: (kind == DatasetKind::Grpo).then_some(self.groups.len() as u64),
                sessions: self.sessions.len() as u64,
            },
            source_sessions: self.sessions.into_iter().collect(),
            reward_weights: meta.reward_weights,
        }
    }
}

/// The manifest as written: pretty JSON and a final newline.
fn manifest_bytes(manifest: &Manifest) -> Result<Vec<u8>, DatasetError> {
    let mut text = serde_json::to_vec_pretty(manifest)
        .map_err(|e| DatasetError::Manifest(format!("could not serialise: {e}")))?;
    text.push(b'\n');
    Ok(text)
}

/// One row as a JSONL line (checked first); errors name the file, line and field.
fn row_line<R: DatasetRow>(row: &R, file: &str, line_no: u64) -> Result<Vec<u8>, DatasetError> {
    let row_err = |field: String, message: String| DatasetError::Row {
        file: file.to_string(),
        line: usize::try_from(line_no).unwrap_or(usize::MAX),
        field,
        message,
    };
    row.check().map_err(|e| row_err(e.field, e.message))?;
    let mut line = serde_json::to_vec(row).map_err(|e| row_err(String::new(), e.to_string()))?;
    line.push(b'\n');
    Ok(line)
}

/// An export built in memory (to send over HTTP): the same bytes [`DatasetWriter`] writes to
/// a folder, so written out as `files` it reads back with [`read_dataset`].
#[derive(Debug, Clone, PartialEq)]
pub struct InMemoryExport {
    pub manifest: Manifest,
    /// `(file name, content)`: the rows file, then `manifest.json`.
    pub files: Vec<(String, String)>,
}

/// Builds an export of `rows` in memory, with every check [`DatasetWriter`] makes.
pub fn export_in_memory<'a, R: DatasetRow + 'a>(
    rows: impl IntoIterator<Item = &'a R>,
    meta: ExportMeta,
) -> Result<InMemoryExport, DatasetError> {
    check_export_meta(R::KIND, &meta)?;
    let file_name = R::KIND.file_name();
    let mut tally = Tally::new();
    let mut text = Vec::new();
    for row in rows {
        let line = row_line(row, &file_name, tally.rows + 1)?;
        tally.add(row, &line);
        text.extend_from_slice(&line);
    }
    let manifest = tally.manifest(R::KIND, file_name.clone(), meta);
    let as_text = |bytes: Vec<u8>| {
        String::from_utf8(bytes).map_err(|e| DatasetError::Manifest(format!("not UTF-8: {e}")))
    };
    let files = vec![
        (file_name, as_text(text)?),
        (MANIFEST.to_string(), as_text(manifest_bytes(&manifest)?)?),
    ];
    Ok(InMemoryExport { manifest, files })
}

/// Writes one export: rows into `<kind>.jsonl`, then `manifest.json` on [`finish`](Self::finish).
/// A folder without a manifest is an unfinished export and does not read.
#[derive(Debug)]
pub struct DatasetWriter<R: DatasetRow> {
    dir: PathBuf,
    file_name: String,
    out: BufWriter<File>,
    tally: Tally,
    meta: ExportMeta,
    _rows: PhantomData<R>,
}

impl<R: DatasetRow> DatasetWriter<R> {
    /// Starts an export into `dir`, created if missing; refuses a folder that holds anything.
    pub fn create(dir: impl AsRef<Path>, meta: ExportMeta) -> Result<Self, DatasetError> {
        let dir = dir.as_ref().to_path_buf();
        check_export_meta(R::KIND, &meta)?;
        if dir.exists() {
            let mut entries = fs::read_dir(&dir).map_err(io_err(&dir))?;
            if entries.next().is_some() {
                return Err(DatasetError::NotEmpty {
                    dir: dir.display().to_string(),
                });
            }
        } else {
            fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        }
        let file_name = R::KIND.file_name();
        let path = dir.join(&file_name);
        let file = File::create_new(&path).map_err(io_err(&path))?;
        Ok(DatasetWriter {
            dir,
            file_name,
            out: BufWriter::new(file),
            tally: Tally::new(),
            meta,
            _rows: PhantomData,
        })
    }

    /// Checks and appends one row.
    pub fn write(&mut self, row: &R) -> Result<(), DatasetError> {
        let line = row_line(row, &self.file_name, self.tally.rows + 1)?;
        let path = self.dir.join(&self.file_name);
        self.out.write_all(&line).map_err(io_err(&path))?;
        self.tally.add(row, &line);
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.tally.rows
    }

    /// Flushes the rows and writes `manifest.json` (through a temporary file, so a manifest
    /// exists only once complete). Returns the manifest.
    pub fn finish(self) -> Result<Manifest, DatasetError> {
        let path = self.dir.join(&self.file_name);
        let file = self.out.into_inner().map_err(|e| DatasetError::Io {
            path: path.display().to_string(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(io_err(&path))?;
        let manifest = self.tally.manifest(R::KIND, self.file_name, self.meta);
        let text = manifest_bytes(&manifest)?;
        let tmp = self.dir.join(".manifest.json.tmp");
        fs::write(&tmp, &text).map_err(io_err(&tmp))?;
        let final_path = self.dir.join(MANIFEST);
        fs::rename(&tmp, &final_path).map_err(io_err(&final_path))?;
        Ok(manifest)
    }
}

/// Reads and validates an export folder: the manifest (format, version, kind, tenant, time,
/// files, counts, weights), each file's SHA-256 and row count, and every row (exactly the
/// documented fields, each of the right type, plus the row checks). Errors name the file and
/// line, and the field when one is at fault.
pub fn read_dataset(dir: impl AsRef<Path>) -> Result<Dataset, DatasetError> {
    let dir = dir.as_ref();
    let manifest_path = dir.join(MANIFEST);
    let text = fs::read_to_string(&manifest_path).map_err(io_err(&manifest_path))?;
    let manifest: Manifest =
        serde_json::from_str(&text).map_err(|e| DatasetError::Manifest(e.to_string()))?;
    check_manifest(&manifest)?;
    let rows = match manifest.kind {
        DatasetKind::Grpo => DatasetRows::Grpo(read_rows::<GrpoRow>(dir, &manifest)?),
        DatasetKind::Sft => DatasetRows::Sft(read_rows::<SftRow>(dir, &manifest)?),
        DatasetKind::Dpo => DatasetRows::Dpo(read_rows::<DpoRow>(dir, &manifest)?),
    };
    Ok(Dataset { manifest, rows })
}

fn check_manifest(m: &Manifest) -> Result<(), DatasetError> {
    let bad = |s: String| Err(DatasetError::Manifest(s));
    if m.format != FORMAT {
        return bad(format!("format is `{}`, expected `{FORMAT}`", m.format));
    }
    if m.version != VERSION {
        return bad(format!(
            "version {} is not supported (this reader knows {VERSION})",
            m.version
        ));
    }
    check_meta(
        m.kind,
        &m.tenant,
        &m.created_at,
        &m.generator,
        m.reward_weights.as_ref(),
    )
    .or_else(bad)?;
    if m.files.is_empty() {
        return bad("files is empty: an export has at least one JSONL file".to_string());
    }
    let mut seen = BTreeSet::new();
    for f in &m.files {
        if !is_plain_jsonl_name(&f.path) {
            return bad(format!(
                "file `{}` is not a plain `.jsonl` file name inside the folder",
                f.path
            ));
        }
        if !seen.insert(f.path.as_str()) {
            return bad(format!("file `{}` is listed twice", f.path));
        }
        if f.sha256.len() != 64
            || !f
                .sha256
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        {
            return bad(format!(
                "file `{}`: sha256 must be 64 lowercase hex digits",
                f.path
            ));
        }
    }
    match (m.kind, m.counts.groups) {
        (DatasetKind::Grpo, None) => bad("counts.groups is required for a grpo export".to_string()),
        (DatasetKind::Sft | DatasetKind::Dpo, Some(_)) => bad(format!(
            "counts.groups belongs to grpo exports only, not {}",
            m.kind.as_str()
        )),
        _ => Ok(()),
    }
}

fn read_rows<R: DatasetRow>(dir: &Path, manifest: &Manifest) -> Result<Vec<R>, DatasetError> {
    let mut rows = Vec::new();
    let mut sessions = BTreeSet::new();
    let mut groups = BTreeSet::new();
    for entry in &manifest.files {
        let path = dir.join(&entry.path);
        let bytes = fs::read(&path).map_err(io_err(&path))?;
        let actual = sha256_hex(&bytes);
        if actual != entry.sha256 {
            return Err(DatasetError::HashMismatch {
                file: entry.path.clone(),
                expected: entry.sha256.clone(),
                actual,
            });
        }
        let text = String::from_utf8(bytes).map_err(|e| DatasetError::Row {
            file: entry.path.clone(),
            line: 0,
            field: String::new(),
            message: format!("not UTF-8: {e}"),
        })?;
        let body = text.strip_suffix('\n').unwrap_or(&text);
        let mut count = 0u64;
        if !body.is_empty() {
            for (i, line) in body.split('\n').enumerate() {
                let row_err = |field: String, message: String| DatasetError::Row {
                    file: entry.path.clone(),
                    line: i + 1,
                    field,
                    message,
                };
                if line.trim().is_empty() {
                    return Err(row_err(String::new(), "empty line".to_string()));
                }
                let row: R = parse_row(line).map_err(|e| row_err(e.field, e.message))?;
                sessions.insert(row.session_id().to_string());
                if let Some(g) = row.group_id() {
                    groups.insert(g.to_string());
                }
                rows.push(row);
                count += 1;
            }
        }
        if count != entry.rows {
            return Err(DatasetError::CountMismatch {
                what: format!("{} rows", entry.path),
                expected: entry.rows,
                actual: count,
            });
        }
    }
    let counts = &manifest.counts;
    let total = rows.len() as u64;
    let mismatch = |what: &str, expected: u64, actual: u64| {
        Err(DatasetError::CountMismatch {
            what: what.to_string(),
            expected,
            actual,
        })
    };
    if counts.rows != total {
        return mismatch("counts.rows", counts.rows, total);
    }
    if counts.sessions != sessions.len() as u64 {
        return mismatch("counts.sessions", counts.sessions, sessions.len() as u64);
    }
    if let Some(g) = counts.groups
        && g != groups.len() as u64
    {
        return mismatch("counts.groups", g, groups.len() as u64);
    }
    let listed: BTreeSet<&str> = manifest
        .source_sessions
        .iter()
        .map(String::as_str)
        .collect();
    if listed.len() != manifest.source_sessions.len() {
        return Err(DatasetError::Manifest(
            "source_sessions lists a session twice".to_string(),
        ));
    }
    if let Some(missing) = sessions.iter().find(|s| !listed.contains(s.as_str())) {
        return Err(DatasetError::Manifest(format!(
            "source_sessions does not list `{missing}`, which rows come from"
        )));
    }
    if let Some(extra) = listed.iter().find(|s| !sessions.contains(**s)) {
        return Err(DatasetError::Manifest(format!(
            "source_sessions lists `{extra}`, which no row comes from"
        )));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_shapes() {
        for ok in [
            "2026-11-26T10:43:59Z",
            "2026-11-26T10:43:59.123Z",
            "2026-11-26T10:43:59+02:00",
        ] {
            assert!(looks_like_rfc3339(ok), "{ok}");
        }
        for bad in [
            "2026-11-26",
            "2026-11-26 10:43:59Z",
            "2026-11-26T10:43:59",
            "2026-11-26T10:43:59.Z",
            "yesterday",
        ] {
            assert!(!looks_like_rfc3339(bad), "{bad}");
        }
        assert!(looks_like_rfc3339(&rfc3339_utc(SystemTime::now())));
    }

    #[test]
    fn file_names_stay_inside_the_folder() {
        assert!(is_plain_jsonl_name("grpo.jsonl"));
        assert!(is_plain_jsonl_name("grpo-part_2.jsonl"));
        for bad in [
            "../grpo.jsonl",
            "sub/grpo.jsonl",
            ".jsonl",
            "grpo.json",
            "/etc/x.jsonl",
        ] {
            assert!(!is_plain_jsonl_name(bad), "{bad}");
        }
    }
}
