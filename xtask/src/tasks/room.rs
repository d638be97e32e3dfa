//! The class's room on the admin connection, for `class` and its live page (`watch`): the one
//! place both connect it, so that neither task imports the other.

use anyhow::Result;
use lab_core::fleet::class::{Room, RoomOptions};

use crate::flags::{ClassArgs, Global};
use crate::ui::Ui;

/// The class's room on the admin connection, and where its lines go.
pub async fn connect(global: &Global, args: &ClassArgs, json: bool, new_class: bool) -> Result<(Room, Ui)> {
    room(global, args, json, new_class, (1.0, 1.0)).await
}

/// The class's room keeping to a share of the account's IAM and CloudFormation rates, and of
/// CloudTrail's (the live page's).
pub async fn connect_with_share(global: &Global, args: &ClassArgs, shares: (f64, f64)) -> Result<(Room, Ui)> {
    room(global, args, false, false, shares).await
}

async fn room(
    global: &Global,
    args: &ClassArgs,
    json: bool,
    new_class: bool,
    shares: (f64, f64),
) -> Result<(Room, Ui)> {
    let ui = Ui::new(global.explain, json);
    let options = RoomOptions {
        class: args.class.clone(),
        out: args.out.clone(),
        handouts_root: crate::project::project_root().join(".lab").join("class"),
        force: global.force,
        new_class,
        share_of_rates: shares.0,
        share_of_trail: shares.1,
    };
    let target = crate::tasks::target(global).await?;
    let room = Room::connect(target, options, &ui).await?;
    Ok((room, ui))
}
