//! `cargo xtask why --as PROFILE ACTION [RESOURCE]`: how AWS decides one request of a profile,
//! offline from the documents the admin reads: every policy, statement and condition, and the
//! decision, as lines or one JSON document.

use anyhow::{Context, Result, anyhow};
use lab_core::model::decide::{Ask, Caller};
use lab_core::output::report::Report;

use crate::flags::{Global, WhyArgs};
use crate::ui::Ui;

pub async fn run(global: &Global, args: WhyArgs) -> Result<()> {
    let ui = Ui::new(global.explain, args.json.json);
    let lab = super::connect(global, Default::default(), &ui).await?;
    let clients = lab.target.profile(&args.as_profile).await?;
    let identity = lab_core::ops::sts::caller_identity(&clients.sts)
        .await
        .with_context(|| format!("cannot tell who profile {} is", args.as_profile))?;
    let caller = Caller::of_arn(&identity.arn).ok_or_else(|| {
        anyhow!(
            "profile {} is {}, neither a user nor an assumed role; pass --as sts or --as assumed",
            args.as_profile,
            identity.arn
        )
    })?;
    let ask = Ask::new(&caller, &args.action, args.resource.as_deref().unwrap_or("*"));
    let explained = lab_core::lab::explain_request(&lab, &ask).await?;
    if args.json.json {
        println!("{:#}", serde_json::to_value(&explained)?);
    } else {
        for line in lab_core::lab::why_lines(&explained) {
            match line {
                (Some(passed), text) => ui.outcome(passed, &text),
                (None, text) => ui.line(&text),
            }
        }
    }
    Ok(())
}
