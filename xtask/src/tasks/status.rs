//! `cargo xtask status`: what exists of the lab now, as a table, one JSON document (`--json`)
//! or a Mermaid diagram (`--diagram`).

use anyhow::Result;
use lab_core::output::report::Report;

use crate::flags::{Global, StatusArgs};
use crate::ui::Ui;

pub async fn run(global: &Global, args: StatusArgs) -> Result<()> {
    let ui = Ui::new(global.explain, args.json.json || args.diagram);
    let lab = super::connect(global, Default::default(), &ui).await?;
    if args.diagram {
        println!("{}", lab_core::lab::diagram(&lab).await?);
        return Ok(());
    }
    let status = lab_core::lab::status::status(&lab).await?;
    if args.json.json {
        println!("{:#}", lab_core::lab::status::status_json(&status, &lab.names));
    } else {
        for line in lab_core::lab::status::status_lines(&status, &lab.names) {
            ui.line(&line);
        }
    }
    Ok(())
}
