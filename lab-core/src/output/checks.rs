//! Verify's table as lines: one row per check, ✓ or ✗, with what was expected and seen and what
//! decided it; a disagreement of the endpoint under its row; with `--explain`, its aws command.

use super::Check;
use super::report::Report;

/// Verify's table: one row per check with what decided it; a disagreement under its row; with
/// `--explain`, each row's aws CLI command.
pub fn show_checks(checks: &[Check], report: &dyn Report) {
    let w = checks.iter().map(|c| c.name.chars().count()).max().unwrap_or(0);
    for c in checks {
        let detail = if c.passed {
            c.seen.clone()
        } else {
            format!("expected {}, saw {}", c.expected, c.seen)
        };
        let why = c.why.as_deref().map(|w| format!(" · {w}")).unwrap_or_default();
        report.outcome(c.passed, &format!("{:<w$}  {detail}{why}", c.name));
        if let Some(disagreement) = &c.disagreement {
            report.line(&format!("    ! {disagreement}"));
        }
        if report.explain() && !c.command.is_empty() {
            report.line(&format!("    $ {}", c.command));
        }
    }
}
