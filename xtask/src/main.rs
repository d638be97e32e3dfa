//! `cargo xtask`: the sts-lab command line. This file only parses flags and dispatches to a task.

mod flags;
mod hints;
mod local;
mod project;
mod tasks;
mod ui;

use std::process::ExitCode;

use clap::Parser;

use crate::flags::{Cli, Task};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let verbose = cli.global.verbose;
    let class = cli.task.class_args();
    hints::set(
        &cli.global,
        class.and_then(|c| c.class.as_deref()),
        class.and_then(|c| c.out.as_deref()),
    );
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.task {
            Task::Setup(args) => tasks::setup::run(&cli.global, args).await,
            Task::Assume(args) => tasks::assume::run(&cli.global, args).await,
            Task::Verify(args) => tasks::verify::run(&cli.global, args).await,
            Task::Cleanup(args) => tasks::cleanup::run(&cli.global, args).await,
            Task::Status(args) => tasks::status::run(&cli.global, args).await,
            Task::Sweep(args) => tasks::sweep::run(&cli.global, args).await,
            Task::Why(args) => tasks::why::run(&cli.global, args).await,
            Task::Trail(args) => tasks::trail::run(&cli.global, args).await,
            Task::Lesson(args) => tasks::lesson::run(&cli.global, args).await,
            Task::Challenge(args) => tasks::challenge::run(&cli.global, args).await,
            Task::Class { action } => tasks::class::run(&cli.global, action).await,
            Task::Emulator { action } => tasks::emulator::run(&cli.global, action).await,
            Task::Demo(args) => tasks::demo::run(&cli.global, args).await,
            Task::Bench(args) => tasks::bench::run(&cli.global, args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if verbose {
                eprintln!("error: {e:?}");
            } else {
                eprintln!("error: {}", lab_core::aws::error::one_line(&e));
            }
            ExitCode::FAILURE
        }
    }
}

/// `--help` and `--version` as clap prints them; a bad flag or value as one line that says
/// what to do, like every other error.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.use_stderr() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or("error: bad command line");
    eprintln!("{first} (see `cargo xtask --help`)");
    ExitCode::FAILURE
}
