//! The terminal side of the lab's output: ✓ and ✗ lines (green and red as `anstream` decides from
//! NO_COLOR, CLICOLOR and CLICOLOR_FORCE), and on a terminal `indicatif`'s spinner with the time
//! waited and a class's progress bar (students done / total). A pipe gets plain lines only, and
//! no escape code unless CLICOLOR_FORCE asks for colour.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Style};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use lab_core::output::report::{Report, mark};

const FRAMES: &[&str] = &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏", "⠿"];
const GREEN: Style = AnsiColor::Green.on_default();
const RED: Style = AnsiColor::Red.on_default();

type Sink = Arc<Mutex<Box<dyn Write + Send>>>;

/// The bars a terminal shows: one spinner for the current wait, one bar for a class's progress.
struct Bars {
    multi: MultiProgress,
    /// Redraw on a timer (a real terminal); tests draw on each change only.
    steady: bool,
    spinner: Mutex<Option<ProgressBar>>,
    progress: Mutex<Option<ProgressBar>>,
}

/// Where the lines go and how they look.
pub struct Ui {
    out: Sink,
    bars: Option<Bars>,
    color: bool,
    explain: bool,
}

impl Ui {
    /// Lines to stdout, or to stderr when stdout is kept for a JSON document.
    pub fn new(explain: bool, to_stderr: bool) -> Self {
        let (tty, choice, out, target): (bool, ColorChoice, Box<dyn Write + Send>, _) = if to_stderr {
            let err = std::io::stderr();
            (
                err.is_terminal(),
                AutoStream::choice(&err),
                Box::new(err),
                ProgressDrawTarget::stderr(),
            )
        } else {
            let out = std::io::stdout();
            (
                out.is_terminal(),
                AutoStream::choice(&out),
                Box::new(out),
                ProgressDrawTarget::stdout(),
            )
        };
        let tty = tty && !std::env::var("TERM").is_ok_and(|t| t == "dumb");
        Self::with_target(out, tty.then_some(target), true, choice != ColorChoice::Never, explain)
    }

    /// A Ui writing lines to `out` and bars to `target` (None: no bars, as in a pipe).
    fn with_target(
        out: Box<dyn Write + Send>,
        target: Option<ProgressDrawTarget>,
        steady: bool,
        color: bool,
        explain: bool,
    ) -> Self {
        let bars = target.map(|t| Bars {
            multi: MultiProgress::with_draw_target(t),
            steady,
            spinner: Mutex::new(None),
            progress: Mutex::new(None),
        });
        Self {
            out: Arc::new(Mutex::new(out)),
            bars,
            color,
            explain,
        }
    }

    fn style(template: &str) -> ProgressStyle {
        // The templates are constants; a bad one falls back to indicatif's default look.
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .tick_strings(FRAMES)
    }

    fn new_bar(&self, bars: &Bars, bar: ProgressBar) -> ProgressBar {
        let bar = bars.multi.add(bar);
        if bars.steady {
            bar.enable_steady_tick(Duration::from_millis(100));
        }
        bar
    }
}

fn write_to(out: &Sink, text: &str) {
    // A closed pipe is not worth a panic; the exit code still tells.
    if let Ok(mut out) = out.lock() {
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

impl Report for Ui {
    fn line(&self, text: &str) {
        // Every command suggested carries the user's flags already (`hints`); the aws CLI's
        // first needs the emulator's environment.
        let mut text = text.to_owned();
        if let Some(note) = crate::hints::after(&text) {
            text = format!("{text}\n{note}");
        }
        let write = || write_to(&self.out, &format!("{text}\n"));
        match &self.bars {
            // The bars step aside for the line, then are drawn again below it.
            Some(bars) => bars.multi.suspend(write),
            None => write(),
        }
    }

    fn outcome(&self, passed: bool, text: &str) {
        let style = if passed { GREEN } else { RED };
        match self.color {
            true => self.line(&format!("{style}{}{style:#} {text}", mark(passed))),
            false => self.line(&format!("{} {text}", mark(passed))),
        }
    }

    fn waiting(&self, what: &str) {
        let Some(bars) = &self.bars else {
            return self.line(&format!("  {what}"));
        };
        let Ok(mut spinner) = bars.spinner.lock() else { return };
        let bar = spinner.get_or_insert_with(|| {
            let bar = ProgressBar::new_spinner().with_style(Self::style("{spinner} {msg} ({elapsed})"));
            self.new_bar(bars, bar)
        });
        bar.set_message(what.to_owned());
    }

    fn wait_done(&self) {
        if let Some(bar) = self.bars.as_ref().and_then(|b| b.spinner.lock().ok()?.take()) {
            bar.finish_and_clear();
        }
    }

    fn progress(&self, what: &str, done: usize, total: usize) {
        let Some(bars) = &self.bars else { return };
        let Ok(mut progress) = bars.progress.lock() else { return };
        if done >= total {
            if let Some(bar) = progress.take() {
                bar.finish_and_clear();
            }
            return;
        }
        let bar = progress.get_or_insert_with(|| {
            let bar = ProgressBar::new(total as u64).with_style(Self::style("{msg} {pos}/{len} ({elapsed})"));
            self.new_bar(bars, bar)
        });
        bar.set_message(what.to_owned());
        bar.set_position(done as u64);
    }

    fn explain(&self) -> bool {
        self.explain
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        self.wait_done();
        if let Some(bar) = self.bars.as_ref().and_then(|b| b.progress.lock().ok()?.take()) {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use indicatif::TermLike;

    use super::*;

    /// A terminal the test can read back: what indicatif draws and the lines, in order.
    #[derive(Clone, Default, Debug)]
    struct Screen(Arc<Mutex<String>>);

    impl Screen {
        fn push(&self, s: &str) {
            self.0.lock().unwrap().push_str(s);
        }
        fn text(&self) -> String {
            self.0.lock().unwrap().clone()
        }
    }

    impl Write for Screen {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.push(&String::from_utf8_lossy(buf));
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            120
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.push(&format!("{s}\n"));
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.push(s);
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            self.push("<clear>");
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn terminal() -> (Screen, Ui) {
        let screen = Screen::default();
        let target = ProgressDrawTarget::term_like(Box::new(screen.clone()));
        // No timer: each change is drawn at once, so nothing here depends on a sleep.
        let ui = Ui::with_target(Box::new(screen.clone()), Some(target), false, true, false);
        (screen, ui)
    }

    #[test]
    fn a_terminal_gets_a_spinner_with_the_time_and_colour() {
        let (screen, ui) = terminal();
        ui.waiting("stack s: CREATE_IN_PROGRESS");
        assert!(
            screen.text().contains("⠋ stack s: CREATE_IN_PROGRESS (0s)"),
            "{:?}",
            screen.text()
        );
        ui.wait_done();
        ui.outcome(true, "stack s ready (350 ms)");
        ui.outcome(false, "bucket b: AccessDenied (2 ms)");
        let text = screen.text();
        assert!(text.contains("<clear>"), "the spinner is cleared: {text:?}");
        assert!(text.contains("\x1b[32m✓\x1b[0m stack s ready (350 ms)\n"), "{text:?}");
        assert!(
            text.ends_with("\x1b[31m✗\x1b[0m bucket b: AccessDenied (2 ms)\n"),
            "{text:?}"
        );
    }

    #[test]
    fn a_terminal_shows_a_class_progress_until_it_is_done() {
        let (screen, ui) = terminal();
        ui.progress("students", 0, 3);
        ui.progress("students", 2, 3);
        assert!(screen.text().contains("students 2/3 (0s)"), "{:?}", screen.text());
        let before = screen.text().len();
        ui.progress("students", 3, 3);
        ui.line("class done");
        let after = &screen.text()[before..];
        assert!(!after.contains("3/3"), "a finished class leaves no bar: {after:?}");
        assert!(after.ends_with("class done\n"), "{after:?}");
    }

    #[test]
    fn a_pipe_gets_plain_lines_only() {
        let screen = Screen::default();
        let ui = Ui::with_target(Box::new(screen.clone()), None, false, false, true);
        ui.waiting("stack s: CREATE_IN_PROGRESS");
        ui.progress("students", 1, 3);
        ui.wait_done();
        ui.outcome(true, "done (1 ms)");
        ui.outcome(false, "failed: x (1 ms)");
        assert_eq!(
            screen.text(),
            "  stack s: CREATE_IN_PROGRESS\n✓ done (1 ms)\n✗ failed: x (1 ms)\n"
        );
        assert!(ui.explain());
    }
}
