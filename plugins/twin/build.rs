//! Embeds every suite under `suites/<name>/` into the binary: generates
//! `$OUT_DIR/builtin_suites.rs` with one `include_str!` per `.toml` file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()));
    let root = manifest.join("suites");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", root.display());

    let mut out =
        String::from("pub(super) static BUILTIN_SUITES: &[(&str, &[(&str, &str)])] = &[\n");
    let mut suites: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    suites.sort();
    for suite in suites {
        let Some(name) = suite.file_name().map(|n| n.to_string_lossy().to_string()) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let mut files = Vec::new();
        collect(&suite, "", &mut files);
        files.sort();
        let _ = writeln!(out, "    ({name:?}, &[");
        for (rel, abs) in files {
            println!("cargo:rerun-if-changed={}", abs.display());
            let _ = writeln!(
                out,
                "        ({rel:?}, include_str!({:?})),",
                abs.display().to_string()
            );
        }
        out.push_str("    ]),\n");
    }
    out.push_str("];\n");

    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
    if let Err(e) = std::fs::write(out_dir.join("builtin_suites.rs"), out) {
        panic!("writing builtin_suites.rs: {e}");
    }
}

fn collect(dir: &Path, rel: &str, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, &child, out);
        } else if name.ends_with(".toml") {
            out.push((child, path));
        }
    }
}
