//! A command the tool suggests, as a value: `cargo xtask` and its task's arguments, printed with
//! the flags the user typed (`--local`, `--lab`, `--profile`, `--region`, and for a class
//! command `--class` and `--out`), so that every suggestion can be pasted as printed. The CLI
//! says once what was typed ([`carry`]); a library user who says nothing gets the bare command.

use std::fmt;
use std::sync::OnceLock;

use super::shell::quote;

/// The flags a suggested command carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carried {
    /// Before the task: `--local`, `--lab NAME`, `--profile P`, `--region R`, as typed.
    pub global: Vec<String>,
    /// After a class command's arguments: `--class NAME`, `--out DIR`.
    pub class: Vec<String>,
}

impl Carried {
    /// The flags of a command line: `local`, then each (flag, value) given, quoted for a shell;
    /// a class's name and handout folder.
    pub fn new(local: bool, valued: &[(&str, Option<&str>)], class: Option<&str>, out: Option<&str>) -> Self {
        let mut global = Vec::new();
        if local {
            global.push("--local".to_owned());
        }
        global.extend(
            valued
                .iter()
                .filter_map(|(flag, value)| value.map(|v| format!("{flag} {}", quote(v)))),
        );
        let class = [("--class", class), ("--out", out)]
            .iter()
            .filter_map(|(flag, value)| value.map(|v| format!("{flag} {}", quote(v))))
            .collect();
        Self { global, class }
    }
}

static CARRIED: OnceLock<Carried> = OnceLock::new();

/// Remembers the flags every command suggested after carries (once, by the CLI).
pub fn carry(carried: Carried) {
    let _ = CARRIED.set(carried);
}

/// A suggested `cargo xtask` command: its task and arguments (`setup`, `class lesson mfa --undo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xtask {
    args: String,
}

/// The command `cargo xtask ARGS`, with the user's flags when printed.
pub fn xtask(args: impl Into<String>) -> Xtask {
    Xtask { args: args.into() }
}

impl Xtask {
    /// As printed with `carried`.
    pub fn with(&self, carried: &Carried) -> String {
        let mut out = String::from("cargo xtask");
        for flag in &carried.global {
            out.push(' ');
            out.push_str(flag);
        }
        out.push(' ');
        out.push_str(&self.args);
        if self.args.starts_with("class ") {
            for flag in &carried.class {
                let name = flag.split(' ').next().unwrap_or_default();
                if !self.args.contains(name) {
                    out.push(' ');
                    out.push_str(flag);
                }
            }
        }
        out
    }
}

impl fmt::Display for Xtask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match CARRIED.get() {
            Some(carried) => f.write_str(&self.with(carried)),
            None => write!(f, "cargo xtask {}", self.args),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suggested_command_carries_the_flags_typed() {
        let typed = Carried::new(
            true,
            &[("--lab", Some("team-a")), ("--region", Some("eu-west-1"))],
            None,
            None,
        );
        assert_eq!(
            xtask("setup").with(&typed),
            "cargo xtask --local --lab team-a --region eu-west-1 setup"
        );
        let class = Carried::new(true, &[("--region", Some("eu-west-1"))], Some("t"), Some("/tmp/a b"));
        assert_eq!(
            xtask("class lesson mfa --undo").with(&class),
            "cargo xtask --local --region eu-west-1 class lesson mfa --undo --class t --out '/tmp/a b'"
        );
        assert_eq!(
            xtask("class status --class x").with(&class).matches("--class").count(),
            1
        );
        assert_eq!(xtask("verify").with(&Carried::default()), "cargo xtask verify");
    }
}
