//! `cargo xtask assume`: AssumeRole with the user's profile, the temporary credentials written as
//! the assumed profile (`lab_core::lab::assume_as_guide` finds the role).

use anyhow::Result;
use lab_core::lab::AssumeOptions;
use lab_core::output::report::Report;

use crate::flags::{AssumeArgs, Global};
use crate::ui::Ui;

pub async fn run(global: &Global, args: AssumeArgs) -> Result<()> {
    let ui = Ui::new(global.explain, false);
    let names = crate::project::lab_names(global)?;
    let target = crate::tasks::target(global).await?;
    let options = AssumeOptions {
        session_name: args.session_name,
        duration: args.duration,
        force: global.force,
    };
    lab_core::lab::assume_as_guide(&target, &names, &options, &ui).await?;
    ui.line(&format!(
        "next: {}, or aws s3 ls --profile {}",
        lab_core::output::command::xtask("verify"),
        names.assumed_profile
    ));
    Ok(())
}
