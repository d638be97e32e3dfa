//! Every `cargo xtask …` command the README and `docs/` show parses with the CLI's own parser
//! (the built binary, asked for the command's help after it: clap refuses an unknown flag or a
//! bad value before it prints any help), so the docs cannot name a flag that does not exist.
//! Commands written with placeholders (`NAME`, `[--since D]`, `a|b`) are forms, not commands:
//! they are left out.

use std::process::Command;

use crate::common::{project_root, xtask_bin};

/// The `cargo xtask …` commands of `text`: each line of a shell block, and each inline code span.
fn commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            let line = line.split(" #").next().unwrap_or_default();
            for part in line.split("&&") {
                out.push(part.trim().to_owned());
            }
        } else {
            out.extend(line.split('`').skip(1).step_by(2).map(str::to_owned));
        }
    }
    out.into_iter()
        .filter(|c| c.starts_with("cargo xtask "))
        .filter(|c| !placeholder(c))
        .collect()
}

/// Whether a command is a form: a placeholder in capitals, an option in brackets, alternatives.
fn placeholder(command: &str) -> bool {
    command.contains(['[', ']', '|', '…', '<', '$', '*'])
        || command.split_whitespace().any(|word| {
            let word = word.trim_matches(|c: char| !c.is_alphanumeric());
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                && word.chars().any(|c| c.is_ascii_uppercase())
        })
}

#[test]
fn every_command_the_docs_show_parses() {
    let root = project_root();
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    let mut checked = 0;
    let mut refused = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for command in commands(&text) {
            let args: Vec<&str> = command.split_whitespace().skip(2).collect();
            let out = Command::new(xtask_bin())
                .args(&args)
                .arg("--help")
                .env("NO_COLOR", "1")
                .output()
                .unwrap();
            checked += 1;
            if !out.status.success() {
                let why = String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                refused.push(format!("{}: `{command}`: {why}", file.display()));
            }
        }
    }
    assert!(checked >= 30, "only {checked} commands found in the docs");
    assert!(
        refused.is_empty(),
        "{} of {checked} commands do not parse:\n{}",
        refused.len(),
        refused.join("\n")
    );
}
