//! Every command the tool suggests can be pasted as printed: a `cargo xtask …` in any line or error
//! carries the flags the user typed (`--local`, `--lab`, `--profile`, `--region`, and a class
//! command's `--class` and `--out`), and with `--local` the first aws command suggested is
//! followed by the emulator's environment it needs. Set once from the command line (`set`), used
//! by every printed line (`carry`).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::flags::Global;

/// The flags a suggested command carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carried {
    /// Global flags, as typed: `--local`, `--lab NAME`, `--profile P`, `--region R`.
    global: Vec<String>,
    /// A class command's own: `--class NAME`, `--out DIR`.
    class: Vec<String>,
    local: bool,
}

static CARRIED: OnceLock<Carried> = OnceLock::new();
static ENV_SAID: AtomicBool = AtomicBool::new(false);

impl Carried {
    pub fn new(global: &Global, class: Option<&str>, out: Option<&std::path::Path>) -> Self {
        let mut flags = Vec::new();
        if global.local {
            flags.push("--local".to_owned());
        }
        for (flag, value) in [
            ("--lab", &global.lab),
            ("--profile", &global.profile),
            ("--region", &global.region),
        ] {
            if let Some(v) = value {
                flags.push(format!("{flag} {}", lab_core::output::shell::quote(v)));
            }
        }
        let mut class_flags = Vec::new();
        if let Some(c) = class {
            class_flags.push(format!("--class {}", lab_core::output::shell::quote(c)));
        }
        if let Some(o) = out {
            class_flags.push(format!(
                "--out {}",
                lab_core::output::shell::quote(&o.display().to_string())
            ));
        }
        Self {
            global: flags,
            class: class_flags,
            local: global.local,
        }
    }

    /// `text` with every `cargo xtask TASK …` carrying the flags; the class flags go after a
    /// class command's action (`cargo xtask class lesson X --undo --class t`), at the end of the
    /// command (a backtick or the end of the line).
    pub fn carry(&self, text: &str) -> String {
        const CMD: &str = "cargo xtask ";
        if (self.global.is_empty() && self.class.is_empty()) || !text.contains(CMD) {
            return text.to_owned();
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find(CMD) {
            out.push_str(&rest[..at + CMD.len()]);
            rest = &rest[at + CMD.len()..];
            if rest.starts_with('-') {
                continue; // flags given already
            }
            for flag in &self.global {
                out.push_str(flag);
                out.push(' ');
            }
            if rest.starts_with("class ") && !self.class.is_empty() {
                let end = rest.find(['`', '\n', ';', ')']).unwrap_or(rest.len());
                let command = rest[..end].trim_end();
                out.push_str(command);
                for flag in &self.class {
                    let name = flag.split(' ').next().unwrap_or_default();
                    if !command.contains(name) {
                        out.push(' ');
                        out.push_str(flag);
                    }
                }
                rest = &rest[command.len()..];
            }
        }
        out.push_str(rest);
        out
    }

    /// With `--local`, the note that follows the first aws command suggested: the aws CLI reaches
    /// the emulator and its files only with its environment.
    fn env_note(&self, text: &str) -> Option<&'static str> {
        let suggests_aws = text.contains("aws sts ") || text.contains("aws s3") || text.contains("aws iam ");
        (self.local && suggests_aws && !text.contains("emulator env") && !ENV_SAID.swap(true, Ordering::SeqCst))
            .then_some(
                "  (the aws commands need the emulator's environment first: eval \"$(cargo xtask emulator env)\")",
            )
    }
}

/// Remembers what the user typed, for every line printed after.
pub fn set(carried: Carried) {
    let _ = CARRIED.set(carried);
}

/// `text` as printed: its suggested commands carrying the user's flags.
pub fn carry(text: &str) -> String {
    CARRIED.get().map_or_else(|| text.to_owned(), |c| c.carry(text))
}

/// The line to print after `text`, if any (the emulator's environment, once).
pub fn after(text: &str) -> Option<&'static str> {
    CARRIED.get().and_then(|c| c.env_note(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(local: bool, lab: Option<&str>) -> Global {
        Global {
            local,
            lab: lab.map(str::to_owned),
            profile: None,
            region: Some("eu-west-1".to_owned()),
            force: false,
            explain: false,
            allow_insecure_endpoint: false,
            verbose: false,
        }
    }

    #[test]
    fn suggested_commands_carry_the_flags_typed() {
        let c = Carried::new(&global(true, Some("team-a")), None, None);
        assert_eq!(
            c.carry("run `cargo xtask setup` first"),
            "run `cargo xtask --local --lab team-a --region eu-west-1 setup` first"
        );
        assert_eq!(
            c.carry("next: cargo xtask verify, or cargo xtask cleanup"),
            "next: cargo xtask --local --lab team-a --region eu-west-1 verify, or cargo xtask --local --lab team-a --region eu-west-1 cleanup"
        );
        let class = Carried::new(&global(true, None), Some("t"), None);
        assert_eq!(
            class.carry("run `cargo xtask class lesson mfa --undo` first"),
            "run `cargo xtask --local --region eu-west-1 class lesson mfa --undo --class t` first"
        );
        assert_eq!(class.carry("no command here"), "no command here");
    }
}
