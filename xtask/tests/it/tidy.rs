//! Tidy checks that run under `cargo test`: every Rust and Python file opens with a line that
//! says what it is for. (What the code must never do, unwrap or panic, clippy refuses in CI with
//! the workspace's lints.)

use std::fs;
use std::path::{Path, PathBuf};

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn all_rust_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for krate in ["lab-core", "lab-policy", "xtask"] {
        rust_files(&project_root().join(krate), &mut files);
    }
    assert!(files.len() > 10);
    files
}

#[test]
fn every_rust_file_says_what_it_is_for() {
    for file in all_rust_files() {
        let text = fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("//! "),
            "{} must open with a `//!` line",
            file.display()
        );
    }
}

#[test]
fn every_python_file_says_what_it_is_for() {
    let mut files = Vec::new();
    for dir in ["emulator", "bench"] {
        for entry in fs::read_dir(project_root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "py") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 5);
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("\"\"\"") && text.lines().next().is_some_and(|l| l.len() > 10),
            "{} must open with a docstring line",
            file.display()
        );
    }
}

/// The emulator the lab installs is every module of `emulator/` but the tests and their harness:
/// a module left out of `SERVER_FILES` makes `--local` fail at its first import.
#[test]
fn the_installed_emulator_has_every_module() {
    let mut modules: Vec<String> = fs::read_dir(project_root().join("emulator"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".py") && !n.starts_with("test_") && n != "conftest.py" && n != "harness.py")
        .collect();
    modules.sort();
    let mut installed: Vec<String> = lab_core::emulator::SERVER_FILES
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    installed.sort();
    assert_eq!(installed, modules);
}
