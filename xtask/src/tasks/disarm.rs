//! `cargo xtask demo --disarm`: the lab disarming itself, shown on the emulator. The lab lives 30
//! minutes; the emulator's clock is moved past its expiry while the assumed session still has time
//! left; then the key is refused AssumeRole and the open session is refused S3, each by the
//! emulator's own evaluation of the lab's `DateLessThan aws:CurrentTime` conditions, with AWS's
//! message and the statement that no longer allows it. The clock is put back afterwards.

use anyhow::{Result, bail};
use lab_core::aws::error::aws_error;
use lab_core::emulator::{Home, Running};
use lab_core::lab::Lab;
use lab_core::model::decide::{Ask, Caller};
use lab_core::output::report::Report;

use crate::ui::Ui;

/// The demo lab's time to live: shorter than the assumed session (an hour), so that the session
/// outlives the lab and loses S3 by the lab's own conditions, not by its own end.
pub const TTL_SECONDS: i64 = 30 * 60;

/// A request that must now be refused: ✓ with the emulator's message and the offline reason.
async fn refused<T>(lab: &Lab, ui: &Ui, what: &str, ask: Option<Ask>, call: Result<T>) -> Result<()> {
    let why = match &ask {
        Some(ask) => lab.predict(ask).await.map(|d| d.why).unwrap_or_default(),
        None => String::new(),
    };
    match call {
        Ok(_) => bail!("{what} was allowed after the lab's expiry"),
        Err(e) => match aws_error(&e) {
            Some(ae) if ae.is_access_denied() => {
                ui.outcome(true, &format!("{what}: AccessDenied · {why}"));
                ui.line(&format!("    the emulator said: {}", ae.message));
                Ok(())
            }
            _ => bail!(
                "{what} failed, but not with AccessDenied: {}",
                lab_core::aws::error::one_line(&e)
            ),
        },
    }
}

pub async fn show(lab: &Lab, ui: &Ui, (home, running): (&Home, Running)) -> Result<()> {
    ui.line("== the lab disarms itself");
    let expires =
        lab_core::lab::recorded_expiry(&lab.target, &lab.names)?.and_then(|at| lab_core::model::expiry::parse_utc(&at));
    let Some(expires) = expires else {
        bail!("the lab recorded no expiry");
    };
    let clock = home.clock(running)?;
    let offset = clock.offset + (expires - clock.epoch as i64 + 60) as f64;
    let moved = home.set_clock(running, offset)?;
    ui.outcome(
        true,
        &format!(
            "moved the emulator's clock to {}, a minute past the lab's expiry",
            moved.now
        ),
    );
    let result = refusals(lab, ui).await;
    home.set_clock(running, 0.0)?;
    ui.outcome(true, "put the emulator's clock back to this machine's time");
    result
}

async fn refusals(lab: &Lab, ui: &Ui) -> Result<()> {
    let role_arn = lab.role_arn().await?;
    let user = lab.target.profile(&lab.names.user_profile).await?;
    let me = Caller::User(lab.names.user.clone());
    let assume = lab_core::ops::sts::assume_role(&user.sts, &role_arn, "after-expiry", None).await;
    let ask = Ask::new(&me, "sts:AssumeRole", role_arn.as_str());
    refused(lab, ui, "the key is refused AssumeRole", Some(ask), assume).await?;
    let session = lab.target.profile(&lab.names.assumed_profile).await?;
    let identity = lab_core::ops::sts::caller_identity(&session.sts).await?;
    let listed = lab_core::ops::s3::list_buckets(&session.s3).await;
    let ask = Caller::of_arn(&identity.arn).map(|c| Ask::new(&c, "s3:ListAllMyBuckets", "*"));
    refused(
        lab,
        ui,
        "the open session (still within its hour) is refused S3",
        ask,
        listed,
    )
    .await
}
