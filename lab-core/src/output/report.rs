//! How the lab's steps are shown: one line per finished step (✓ or ✗, what, how long), notes, and
//! the access-key table in the aws CLI's `--output table` style.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ops::iam::NewAccessKey;

/// Where the lab's lines go: the terminal for a person (xtask's `Ui`), a buffer in tests.
pub trait Report: Send + Sync {
    fn line(&self, text: &str);

    /// A step or check that ended: `✓ text` when it passed, `✗ text` when not (a terminal shows
    /// the mark in green or red).
    fn outcome(&self, passed: bool, text: &str) {
        self.line(&format!("{} {text}", mark(passed)));
    }

    /// How far a task over many labs is: `done` of `total` (a terminal shows a progress bar).
    fn progress(&self, _what: &str, _done: usize, _total: usize) {}

    /// A wait began, or what it waits for changed. A terminal shows a spinner with `what` and
    /// the time waited; elsewhere it is a plain line.
    fn waiting(&self, what: &str) {
        self.line(&format!("  {what}"));
    }

    /// The wait ended (the step that waited is about to report).
    fn wait_done(&self) {}

    /// Whether to show, beside each step, the aws CLI command that does the same.
    fn explain(&self) -> bool {
        false
    }
}

/// ✓ for what passed, ✗ for what did not.
pub const fn mark(passed: bool) -> &'static str {
    if passed { "✓" } else { "✗" }
}

/// Keeps the lines, for tests; `explain` turns on the aws CLI commands.
#[derive(Debug, Default)]
pub struct Captured(pub Mutex<Vec<String>>, pub bool);

impl Captured {
    pub fn text(&self) -> String {
        self.0.lock().map(|l| l.join("\n")).unwrap_or_default()
    }
}

impl Report for Captured {
    fn line(&self, text: &str) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push(text.to_owned());
        }
    }

    fn explain(&self) -> bool {
        self.1
    }
}

/// `1.23 s`, or `45 ms` under a second.
pub fn fmt_elapsed(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// Lines for the steps of one task.
#[derive(Clone, Copy)]
pub struct Steps<'a> {
    report: &'a dyn Report,
}

impl<'a> Steps<'a> {
    pub fn new(report: &'a dyn Report) -> Self {
        Self { report }
    }

    pub fn ok(&self, started: Instant, what: impl AsRef<str>) {
        self.report.wait_done();
        self.report
            .outcome(true, &format!("{} ({})", what.as_ref(), fmt_elapsed(started.elapsed())));
    }

    pub fn failed(&self, started: Instant, what: impl AsRef<str>, err: &anyhow::Error) {
        self.report.wait_done();
        self.report.outcome(
            false,
            &format!("{}: {err:#} ({})", what.as_ref(), fmt_elapsed(started.elapsed())),
        );
    }

    /// A wait: a spinner on a terminal, a plain line elsewhere.
    pub fn waiting(&self, what: impl AsRef<str>) {
        self.report.waiting(what.as_ref());
    }

    /// The aws CLI commands that do what the step before did, when the user asked (`--explain`).
    pub fn explain(&self, commands: &[String]) {
        if self.report.explain() {
            for command in commands {
                // A line that is not a command (a `#` remark) is shown as it is.
                let prompt = if command.starts_with('#') { "" } else { "$ " };
                self.report.line(&format!("    {prompt}{command}"));
            }
        }
    }

    /// Whether `--explain` is on.
    pub fn explaining(&self) -> bool {
        self.report.explain()
    }

    /// A check's line: ✓ when it passed, ✗ when not.
    pub fn outcome(&self, passed: bool, text: impl AsRef<str>) {
        self.report.wait_done();
        self.report.outcome(passed, text.as_ref());
    }

    /// An indented line under the step before.
    pub fn note(&self, text: impl AsRef<str>) {
        for line in text.as_ref().lines() {
            self.report.line(&format!("  {line}"));
        }
    }

    pub fn plain(&self, text: impl AsRef<str>) {
        for line in text.as_ref().lines() {
            self.report.line(line);
        }
    }
}

fn center(text: &str, width: usize) -> String {
    let pad = width.saturating_sub(text.chars().count());
    let left = pad / 2;
    format!("{}{text}{}", " ".repeat(left), " ".repeat(pad - left))
}

/// The new key as `aws iam create-access-key --output table` shows it, with the secret masked.
pub fn access_key_table(key: &NewAccessKey) -> String {
    let created = key
        .create_date
        .and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
        .unwrap_or_default();
    let rows = [
        ("AccessKeyId", key.access_key_id.clone()),
        ("CreateDate", created),
        ("SecretAccessKey", key.secret_access_key.masked()),
        ("Status", key.status.as_str().to_owned()),
        ("UserName", key.user_name.clone()),
    ];
    let kw = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 3;
    let vw = rows.iter().map(|(_, v)| v.chars().count()).max().unwrap_or(0).max(40) + 4;
    let width = kw + vw + 5;
    let rule = format!("|+{}+{}+|", "-".repeat(kw), "-".repeat(vw));
    let mut out = vec![
        "-".repeat(width),
        format!("|{}|", center("CreateAccessKey", width - 2)),
        format!("+{}+", "-".repeat(width - 2)),
        format!("||{}||", center("AccessKey", width - 4)),
        rule.clone(),
    ];
    for (k, v) in rows {
        out.push(format!("||  {k:<kw2$}|  {v:<vw2$}||", kw2 = kw - 2, vw2 = vw - 2));
    }
    out.push(rule);
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::secret::Secret;

    #[test]
    fn key_table_looks_like_the_clis_and_masks_the_secret() {
        let key = NewAccessKey {
            user_name: "sts-machine-user".into(),
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            status: "Active".into(),
            create_date: Some(aws_smithy_types::DateTime::from_secs(1_700_000_000)),
        };
        let table = access_key_table(&key);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 11);
        let width = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == width), "{table}");
        assert_eq!(lines[1].trim_matches(|c| c == '|' || c == ' '), "CreateAccessKey");
        assert!(lines[5].starts_with("||  AccessKeyId ") && lines[5].contains("|  AKIAIOSFODNN7EXAMPLE "));
        assert!(table.contains("2023-11-14T22:13:20Z"));
        assert!(table.contains("wJal****************"));
        assert!(!table.contains("rXUtnFEMI"));
        assert!(table.contains("|  sts-machine-user "));
    }

    #[test]
    fn elapsed_reads_well() {
        assert_eq!(fmt_elapsed(Duration::from_millis(45)), "45 ms");
        assert_eq!(fmt_elapsed(Duration::from_millis(1234)), "1.23 s");
    }
}
