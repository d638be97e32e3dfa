//! The default bench's three ways (sts-lab, the guide's aws CLI script, one boto3 process), the
//! samples each gives, and their summary: each way's median, spread and requests, the ratios, and
//! the targets met or missed.

use anyhow::Result;
use std::time::Duration;

use lab_core::output::report::fmt_elapsed;

use super::median;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Way {
    Xtask,
    Cli,
    Boto3,
}

impl Way {
    pub(super) fn label(self) -> &'static str {
        match self {
            Way::Xtask => "(a) sts-lab: 4 xtask processes",
            Way::Cli => "(b) the guide: aws CLI script",
            Way::Boto3 => "(c) the same calls: one boto3 process",
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Samples {
    pub(super) times: Vec<Duration>,
    pub(super) requests: Vec<usize>,
}

/// Requests of the guide's verify steps (two identities, the user's S3 denial, a bucket made and
/// listed), which `cargo xtask verify` also makes; the rest of verify's requests are its extra
/// checks.
const GUIDE_VERIFY_REQUESTS: usize = 5;

pub(super) fn report(
    ways: &[Way],
    samples: &mut [Samples],
    phase_requests: &mut [Vec<usize>],
    rounds: usize,
) -> Result<()> {
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_header(["way", "median", "min", "max", "requests"]);
    let mut medians = Vec::new();
    let mut requests = Vec::new();
    for (way, s) in ways.iter().zip(samples.iter_mut()) {
        let m = median(&mut s.times);
        let min = s.times.iter().min().copied().unwrap_or_default();
        let max = s.times.iter().max().copied().unwrap_or_default();
        let r = median(&mut s.requests);
        table.add_row([
            way.label().to_owned(),
            fmt_elapsed(m),
            fmt_elapsed(min),
            fmt_elapsed(max),
            r.to_string(),
        ]);
        medians.push(m);
        requests.push(r);
    }
    println!("\n{table}");
    let (a, b, c) = (
        medians[0].as_secs_f64(),
        medians[1].as_secs_f64(),
        medians[2].as_secs_f64(),
    );
    let phases: Vec<usize> = phase_requests.iter_mut().map(|counts| median(counts)).collect();
    let verify_extra = phases[2].saturating_sub(GUIDE_VERIFY_REQUESTS);
    println!();
    println!(
        "a/b = {:.3} (sts-lab is {:.1}x faster than the guide's CLI flow)",
        a / b,
        b / a
    );
    println!(
        "a/c = {:.3} (sts-lab is {:.2}x the speed of one boto3 process)",
        a / c,
        c / a
    );
    println!(
        "(a) requests by process: setup {}, assume {}, verify {} ({verify_extra} beyond the guide's checks), cleanup {}",
        phases[0], phases[1], phases[2], phases[3]
    );
    let mark = lab_core::output::report::mark;
    println!("targets over {rounds} rounds:");
    println!("  {} (a) at least 40x faster than (b)", mark(b / a >= 40.0));
    println!("  {} (a) no slower than (c)", mark(a <= c));
    println!(
        "(a) makes {} requests: the guide's {}, verify's {verify_extra} beyond the guide's checks, and {} for the lab's safety checks (ownership, preflight, what is left)",
        requests[0],
        requests[1],
        requests[0].saturating_sub(requests[1] + verify_extra)
    );
    Ok(())
}
