//! The terminal side of the lab's output: ✓ and ✗ lines (green and red on a terminal, unless
//! NO_COLOR), a spinner with the time waited during waits on a terminal, plain lines in a pipe,
//! and no escape code ever written to a pipe.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lab_core::report::Report;

const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const CLEAR_LINE: &str = "\r\x1b[2K";

#[derive(Default)]
struct Spin {
    what: Option<String>,
    since: Option<Instant>,
    drawn: bool,
}

/// Where the lines go and how they look.
pub struct Ui {
    to_stderr: bool,
    tty: bool,
    color: bool,
    explain: bool,
    spin: Arc<Mutex<Spin>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Ui {
    /// Lines to stdout, or to stderr when stdout is kept for a JSON document.
    pub fn new(explain: bool, to_stderr: bool) -> Self {
        let tty = if to_stderr {
            std::io::stderr().is_terminal()
        } else {
            std::io::stdout().is_terminal()
        };
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        Self {
            to_stderr,
            tty: tty && !dumb,
            color: tty && !dumb && !no_color,
            explain,
            spin: Arc::default(),
            thread: Mutex::new(None),
        }
    }

    fn colour(&self, text: &str) -> String {
        if !self.color {
            return text.to_owned();
        }
        if let Some(rest) = text.strip_prefix('✓') {
            format!("\x1b[32m✓\x1b[0m{rest}")
        } else if let Some(rest) = text.strip_prefix('✗') {
            format!("\x1b[31m✗\x1b[0m{rest}")
        } else {
            text.to_owned()
        }
    }
}

fn write_to(to_stderr: bool, text: &str) {
    // A closed pipe is not worth a panic; the exit code still tells.
    if to_stderr {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    } else {
        let mut out = std::io::stdout().lock();
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
        write_to(self.to_stderr, &out);
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
            let (state, to_stderr) = (Arc::clone(&self.spin), self.to_stderr);
            *thread = Some(std::thread::spawn(move || {
                for frame in FRAMES.iter().cycle() {
                    std::thread::sleep(Duration::from_millis(100));
                    let Ok(mut spin) = state.lock() else { return };
                    let (Some(what), Some(since)) = (spin.what.clone(), spin.since) else {
                        return;
                    };
                    write_to(
                        to_stderr,
                        &format!("{CLEAR_LINE}{frame} {what} ({:.1} s)", since.elapsed().as_secs_f64()),
                    );
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
                write_to(self.to_stderr, CLEAR_LINE);
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
