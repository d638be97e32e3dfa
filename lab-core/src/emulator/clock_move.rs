//! How `cargo xtask emulator clock` moves the emulator's time: forward by a duration, or back to
//! this machine's (the clock itself is asked through the target's `Control`).

use anyhow::{Result, bail};

/// How `emulator clock` moves the emulator's time: forward by a duration, or back to now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockMove {
    Forward(std::time::Duration),
    Now,
}

impl ClockMove {
    /// The clock's new offset from the machine's time, from its offset now.
    pub fn offset_from(self, current: f64) -> f64 {
        match self {
            ClockMove::Forward(by) => current + by.as_secs_f64(),
            ClockMove::Now => 0.0,
        }
    }
}

impl std::str::FromStr for ClockMove {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        let fix = "use +DURATION (e.g. +90m, +2h, +8d) to move it forward, or `now` to put it back";
        if text.trim() == "now" {
            return Ok(ClockMove::Now);
        }
        let Some(span) = text.trim().strip_prefix('+') else {
            bail!("{text:?} is not a move of the clock; {fix}");
        };
        match humantime::parse_duration(span) {
            Ok(by) => Ok(ClockMove::Forward(by)),
            Err(_) => bail!("{text:?} is not a duration; {fix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_forward_or_back_to_now() {
        let two_hours = "+2h".parse::<ClockMove>().unwrap();
        assert_eq!(two_hours.offset_from(60.0), 7260.0);
        assert_eq!("now".parse::<ClockMove>().unwrap().offset_from(7260.0), 0.0);
        for bad in ["2h", "-2h", "+", "+2x", "later"] {
            let err = bad.parse::<ClockMove>().unwrap_err().to_string();
            assert!(err.contains("use +DURATION"), "{bad}: {err}");
        }
    }
}
