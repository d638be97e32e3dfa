//! The terminal side of the lab's output: ✓ and ✗ lines (green and red on a terminal, as
//! `anstream` decides from NO_COLOR, CLICOLOR and CLICOLOR_FORCE), a spinner with the time waited
//! during waits on a terminal, plain lines in a pipe, and no escape code written to a pipe unless
//! CLICOLOR_FORCE asks for colour.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Style};
use lab_core::output::report::Report;

const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const CLEAR_LINE: &str = "\r\x1b[2K";
const GREEN: Style = AnsiColor::Green.on_default();
const RED: Style = AnsiColor::Red.on_default();

type Sink = Arc<Mutex<Box<dyn Write + Send>>>;

#[derive(Default)]
struct Spin {
    what: Option<String>,
    since: Option<Instant>,
    drawn: bool,
}

/// Where the lines go and how they look.
pub struct Ui {
    out: Sink,
    tty: bool,
    color: bool,
    explain: bool,
    spin: Arc<Mutex<Spin>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Ui {
    /// Lines to stdout, or to stderr when stdout is kept for a JSON document.
    pub fn new(explain: bool, to_stderr: bool) -> Self {
        let (tty, choice, out): (bool, ColorChoice, Box<dyn Write + Send>) = if to_stderr {
            let err = std::io::stderr();
            (err.is_terminal(), AutoStream::choice(&err), Box::new(err))
        } else {
            let out = std::io::stdout();
            (out.is_terminal(), AutoStream::choice(&out), Box::new(out))
        };
        let tty = tty && !std::env::var("TERM").is_ok_and(|t| t == "dumb");
        Self::with_sink(out, tty, choice != ColorChoice::Never, explain)
    }

    /// A Ui writing to `out`, with the terminal and colour decided by the caller.
    fn with_sink(out: Box<dyn Write + Send>, tty: bool, color: bool, explain: bool) -> Self {
        Self {
            out: Arc::new(Mutex::new(out)),
            tty,
            color,
            explain,
            spin: Arc::default(),
            thread: Mutex::new(None),
        }
    }

    fn colour(&self, text: &str) -> String {
        match (self.color, text.strip_prefix('✓'), text.strip_prefix('✗')) {
            (true, Some(rest), _) => format!("{GREEN}✓{GREEN:#}{rest}"),
            (true, _, Some(rest)) => format!("{RED}✗{RED:#}{rest}"),
            _ => text.to_owned(),
        }
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
        let Ok(mut spin) = self.spin.lock() else { return };
        let mut out = String::new();
        if spin.drawn {
            out.push_str(CLEAR_LINE);
            spin.drawn = false;
        }
        out.push_str(&self.colour(text));
        out.push('\n');
        write_to(&self.out, &out);
    }

    fn waiting(&self, what: &str) {
        if !self.tty {
            self.line(&format!("  {what}"));
            return;
        }
        let Ok(mut spin) = self.spin.lock() else { return };
        spin.what = Some(what.to_owned());
        spin.since.get_or_insert_with(Instant::now);
        drop(spin);
        let Ok(mut thread) = self.thread.lock() else { return };
        if thread.is_none() {
            let (state, out) = (Arc::clone(&self.spin), Arc::clone(&self.out));
            *thread = Some(std::thread::spawn(move || {
                for frame in FRAMES.iter().cycle() {
                    std::thread::sleep(Duration::from_millis(100));
                    let Ok(mut spin) = state.lock() else { return };
                    let (Some(what), Some(since)) = (spin.what.clone(), spin.since) else {
                        return;
                    };
                    let waited = since.elapsed().as_secs_f64();
                    write_to(&out, &format!("{CLEAR_LINE}{frame} {what} ({waited:.1} s)"));
                    spin.drawn = true;
                }
            }));
        }
    }

    fn wait_done(&self) {
        if let Ok(mut spin) = self.spin.lock() {
            spin.what = None;
            spin.since = None;
            if spin.drawn {
                write_to(&self.out, CLEAR_LINE);
                spin.drawn = false;
            }
        }
        if let Some(handle) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = handle.join();
        }
    }

    fn explain(&self) -> bool {
        self.explain
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        self.wait_done();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test can read back.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    #[test]
    fn a_terminal_gets_a_spinner_with_the_time_and_colour() {
        let buf = Buffer::default();
        let ui = Ui::with_sink(Box::new(buf.clone()), true, true, false);
        ui.waiting("stack s: CREATE_IN_PROGRESS");
        std::thread::sleep(Duration::from_millis(350));
        ui.wait_done();
        ui.line("✓ stack s ready (350 ms)");
        let text = buf.text();
        assert!(text.contains("⠋ stack s: CREATE_IN_PROGRESS (0."), "{text:?}");
        assert!(text.contains(CLEAR_LINE), "{text:?}");
        assert!(text.ends_with("\x1b[32m✓\x1b[0m stack s ready (350 ms)\n"), "{text:?}");
    }

    #[test]
    fn a_pipe_gets_plain_lines_only() {
        let buf = Buffer::default();
        let ui = Ui::with_sink(Box::new(buf.clone()), false, false, true);
        ui.waiting("stack s: CREATE_IN_PROGRESS");
        ui.wait_done();
        ui.line("✓ done (1 ms)");
        ui.line("✗ failed: x (1 ms)");
        assert_eq!(
            buf.text(),
            "  stack s: CREATE_IN_PROGRESS\n✓ done (1 ms)\n✗ failed: x (1 ms)\n"
        );
        assert!(ui.explain());
    }
}
