//! `cargo xtask assume`: AssumeRole with the user's profile, the temporary credentials written as
//! the assumed profile.

use anyhow::Result;
use lab_core::output::report::Report;

use crate::flags::{AssumeArgs, Global};
use crate::ui::Ui;

pub async fn run(global: &Global, args: AssumeArgs) -> Result<()> {
    // Bad input is refused before any call.
    lab_core::model::names::validate_session_name(&args.session_name)?;
    lab_core::lab::check_duration(args.duration)?;
    let ui = Ui::new(global.explain, false);
    let names = crate::project::lab_names(global)?;
    let mut target = crate::tasks::target(global).await?;
    // The user profile is called in the lab's region, whatever AWS_REGION says.
    lab_core::lab::settle_region_from_files(&mut target, &names)?;
    // With the role ARN that setup recorded, only the user profile is needed, as in the guide.
    match lab_core::lab::recorded_role_arn(&target, &names)? {
        Some(role_arn) => {
            let expires = lab_core::lab::recorded_expiry(&target, &names)?;
            lab_core::lab::check_not_expired(expires.as_deref(), target.now().await?)?;
            let backoff = lab_core::aws::retry::Backoff::default();
            lab_core::lab::assume_role_as_user(
                &target,
                &names,
                &role_arn,
                &args.session_name,
                args.duration,
                backoff,
                global.force,
                &ui,
            )
            .await?;
        }
        None => {
            let lab = super::connect(global, &ui).await?;
            lab_core::lab::assume(&lab, &args.session_name, args.duration, &ui).await?;
        }
    }
    ui.line(&format!(
        "next: cargo xtask{} verify, or aws s3 ls --profile {}",
        super::setup::lab_flag(global),
        names.assumed_profile
    ));
    Ok(())
}
