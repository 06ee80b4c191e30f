//! Exported telemetry as files: the folder a get_metrics / get_traces call writes, its listing,
//! and CSVs rendered as aligned tables for read_metrics / read_traces.

/// Files one export wrote, with the virtual folder they live in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// Folder path, e.g. `metrics_output/test-hotel-reservation_1768307406`.
    pub dir: String,
    /// (full path, CSV text), sorted by path.
    pub files: Vec<(String, String)>,
}

pub type MetricsExport = Export;
pub type TracesExport = Export;

impl Export {
    /// The CSV at `path` (full path, or relative to `dir`).
    pub fn file(&self, path: &str) -> Option<&str> {
        let rel = format!("{}/{}", self.dir, path.trim_start_matches("./"));
        self.files
            .iter()
            .find(|(p, _)| p == path || *p == rel)
            .map(|(_, c)| c.as_str())
    }
}

/// What the tool returns: where the files went and what is there.
pub fn render_listing(export: &Export) -> String {
    let mut out = format!("Data exported to: {}\nFiles:\n", export.dir);
    for (path, csv) in &export.files {
        let rel = path
            .strip_prefix(&export.dir)
            .map(|r| r.trim_start_matches('/'))
            .unwrap_or(path);
        let rows = csv.lines().count().saturating_sub(1);
        out.push_str(&format!("  {rel} ({rows} rows)\n"));
    }
    out
}

/// A CSV printed as an aligned table (pandas-like: an index column, right-aligned cells).
/// Quoted fields with commas are honoured.
pub fn render_csv_table(csv: &str) -> String {
    let rows: Vec<Vec<String>> = csv
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(split_csv_line)
        .collect();
    let Some(header) = rows.first() else {
        return "Empty DataFrame\nColumns: []\nIndex: []".to_string();
    };
    let body = &rows[1..];
    if body.is_empty() {
        return format!(
            "Empty DataFrame\nColumns: [{}]\nIndex: []",
            header.join(", ")
        );
    }
    let ncol = header.len();
    let index_w = (body.len() - 1).to_string().len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in body {
        for (i, cell) in r.iter().enumerate().take(ncol) {
            widths[i] = widths[i].max(cell.len());
        }
    }
    let mut out = String::new();
    out.push_str(&" ".repeat(index_w));
    for (i, h) in header.iter().enumerate() {
        out.push_str(&format!("  {:>w$}", h, w = widths[i]));
    }
    out.push('\n');
    for (n, r) in body.iter().enumerate() {
        out.push_str(&format!("{:<w$}", n, w = index_w));
        for (i, w) in widths.iter().enumerate() {
            let cell = r.get(i).map(String::as_str).unwrap_or("NaN");
            out.push_str(&format!("  {:>w$}", cell, w = w));
        }
        out.push('\n');
    }
    out.push_str(&format!("\n[{} rows x {} columns]", body.len(), ncol));
    out
}

fn split_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Quotes a CSV field when it needs it.
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_and_counts() {
        let t = render_csv_table("a,bb\n1,\"x,y\"\n22,z\n");
        assert!(t.contains("[2 rows x 2 columns]"), "{t}");
        assert!(t.contains("x,y"));
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0].len(), lines[1].len());
    }

    #[test]
    fn export_finds_relative_paths() {
        let e = Export {
            dir: "d".into(),
            files: vec![("d/container/kpi_x.csv".into(), "h\n1\n".into())],
        };
        assert!(e.file("container/kpi_x.csv").is_some());
        assert!(e.file("d/container/kpi_x.csv").is_some());
        assert!(e.file("nope.csv").is_none());
        assert!(render_listing(&e).contains("container/kpi_x.csv (1 rows)"));
    }
}
