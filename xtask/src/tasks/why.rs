//! `cargo xtask why --as PROFILE ACTION [RESOURCE]`: how AWS decides one request of a profile,
//! offline from the documents the admin reads (`lab_core::lab::why`): every policy, statement and
//! condition, and the decision, as lines or one JSON document. ACTION may be the API operation an
//! error named (`s3:ListBuckets`); RESOURCE a bare bucket name, or none for the lab's role.

use anyhow::Result;
use lab_core::output::report::Report;

use crate::flags::{Global, WhyArgs};
use crate::ui::Ui;

pub async fn run(global: &Global, args: WhyArgs) -> Result<()> {
    let ui = Ui::new(global.explain, args.json.json);
    let lab = super::connect(global, Default::default(), &ui).await?;
    let goals = Some(lab_core::challenges::goals as lab_core::lab::GoalsOf);
    let explained = lab_core::lab::why(&lab, &args.as_profile, &args.action, args.resource.as_deref(), goals).await?;
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
