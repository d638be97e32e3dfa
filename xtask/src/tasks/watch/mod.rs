//! `cargo xtask class watch`: the instructor's live page of a class, served by this binary on the
//! loopback address (another only with `--public`, and a warning) until Ctrl-C. One task reads
//! the class again and again (`lab_core::fleet::class::snapshot`, on a quarter of the account's
//! IAM rate, three quarters of CloudTrail's: the students keep the rest), the page asks this server for the last reading
//! every two seconds and never AWS. Three routes: the page, its script, the reading.

mod serve;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use lab_core::fleet::class::{self, Room};
use lab_core::output::report::Report;

use crate::flags::{ClassArgs, Global, WatchArgs};
use crate::ui::Ui;

/// The share of the account's IAM and CloudFormation rates the page's readings keep to (the
/// students' requests have the rest), and of CloudTrail's LookupEvents, which no student calls
/// (the instructor's own `class trail` keeps the rest).
pub const SHARE_OF_RATES: (f64, f64) = (0.25, 0.75);
/// The shortest pause between two readings (the plain emulator has no rates to keep to).
const PAUSE: Duration = Duration::from_secs(2);

/// The last reading, as the page gets it: the JSON document, or why there is none yet.
pub type Latest = Arc<RwLock<String>>;

pub async fn run(global: &Global, class: ClassArgs, args: WatchArgs) -> Result<()> {
    let ip: IpAddr = args.address;
    if !ip.is_loopback() && !args.public {
        bail!(
            "{ip} is not a loopback address: anyone who reaches it would see the class; serve it on 127.0.0.1 (the default), or pass --public to serve it there anyway"
        );
    }
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, args.port))
        .await
        .with_context(|| format!("cannot listen on {ip}:{}; pick another --port", args.port))?;
    let address = listener.local_addr()?;
    let (room, ui) = super::room::connect_with_share(global, &class, SHARE_OF_RATES).await?;
    if !ip.is_loopback() {
        ui.outcome(
            false,
            &format!("warning: serving on {ip}, not the loopback address: anyone who reaches it sees the class (no secret is on the page)"),
        );
    }
    let latest: Latest = Arc::new(RwLock::new(r#"{"waiting": "reading the class"}"#.to_owned()));
    ui.line(&format!(
        "watching class {} at http://{address}/ (Ctrl-C to stop)",
        room.name
    ));
    tokio::select! {
        () = read_again_and_again(&room, &latest, &ui) => Ok(()),
        served = serve::serve(listener, address, latest.clone()) => served,
        _ = tokio::signal::ctrl_c() => {
            ui.line("stopped");
            Ok(())
        }
    }
}

/// Reads the class, keeps the reading for the page, pauses, again; a failed reading is kept as
/// the error the page shows beside the last rows.
async fn read_again_and_again(room: &Room, latest: &Latest, ui: &Ui) {
    let mut first = true;
    loop {
        let json = match class::snapshot(room).await {
            Ok(mut doc) => {
                doc.next_in_seconds = PAUSE.as_secs_f64();
                if first {
                    ui.line(&format!(
                        "read the class's {} students in {:.1} s; again every {} s after each reading",
                        doc.students.len(),
                        doc.read_seconds,
                        PAUSE.as_secs()
                    ));
                    first = false;
                }
                serde_json::to_string(&doc).unwrap_or_else(|e| error_json(&e.to_string()))
            }
            Err(e) => error_json(&lab_core::aws::error::one_line(&e)),
        };
        if let Ok(mut slot) = latest.write() {
            *slot = json;
        }
        tokio::time::sleep(PAUSE).await;
    }
}

fn error_json(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}
