//! `cargo xtask status`: what exists of the lab now, as a table or, with `--json`, one JSON
//! document.

use anyhow::Result;
use lab_core::output::report::Report;

use crate::flags::{Global, JsonArgs};
use crate::ui::Ui;

pub async fn run(global: &Global, args: JsonArgs) -> Result<()> {
    let ui = Ui::new(global.explain, args.json);
    let lab = super::connect(global, &ui).await?;
    let status = lab_core::lab::status::status(&lab).await?;
    if args.json {
        println!("{:#}", lab_core::lab::status::status_json(&status, &lab.names));
    } else {
        for line in lab_core::lab::status::status_lines(&status, &lab.names) {
            ui.line(&line);
        }
    }
    Ok(())
}
