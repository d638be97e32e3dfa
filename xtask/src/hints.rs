//! What the command line typed, said once: every command the tool suggests is a value
//! (`lab_core::output::command::Xtask`) that carries the flags typed (`--local`, `--lab`,
//! `--profile`, `--region`, and a class command's `--class` and `--out`) when printed; with
//! `--local` the first aws command suggested is followed by the emulator's environment it needs.

use std::sync::atomic::{AtomicBool, Ordering};

use lab_core::output::command::{self, Carried};

use crate::flags::Global;

static LOCAL: AtomicBool = AtomicBool::new(false);
static ENV_SAID: AtomicBool = AtomicBool::new(false);

/// The flags a suggested command carries, from the command line.
pub fn carried(global: &Global, class: Option<&str>, out: Option<&std::path::Path>) -> Carried {
    let out = out.map(|o| o.display().to_string());
    Carried::new(
        global.local,
        &[
            ("--lab", global.lab.as_deref()),
            ("--profile", global.profile.as_deref()),
            ("--region", global.region.as_deref()),
        ],
        class,
        out.as_deref(),
    )
}

/// Remembers what the user typed, for every command suggested after.
pub fn set(global: &Global, class: Option<&str>, out: Option<&std::path::Path>) {
    LOCAL.store(global.local, Ordering::SeqCst);
    command::carry(carried(global, class, out));
}

/// With `--local`, the note that follows the first aws command suggested: the aws CLI reaches
/// the emulator and its files only with its environment.
pub fn after(text: &str) -> Option<&'static str> {
    let suggests_aws = text.contains("aws sts ") || text.contains("aws s3") || text.contains("aws iam ");
    (LOCAL.load(Ordering::SeqCst)
        && suggests_aws
        && !text.contains("emulator env")
        && !ENV_SAID.swap(true, Ordering::SeqCst))
    .then_some("  (the aws commands need the emulator's environment first: eval \"$(cargo xtask emulator env)\")")
}

#[cfg(test)]
mod tests {
    use lab_core::output::command::xtask;

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
        let typed = carried(&global(true, Some("team-a")), None, None);
        assert_eq!(
            xtask("setup").with(&typed),
            "cargo xtask --local --lab team-a --region eu-west-1 setup"
        );
        let class = carried(&global(true, None), Some("t"), None);
        assert_eq!(
            xtask("class lesson mfa --undo").with(&class),
            "cargo xtask --local --region eu-west-1 class lesson mfa --undo --class t"
        );
    }
}
