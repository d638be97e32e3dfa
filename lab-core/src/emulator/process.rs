//! The emulator's process and port: stopping it (SIGTERM, then SIGKILL), whether it lives, and
//! local ports, with rustix (no unsafe code of ours).

use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use rustix::process::{Pid, Signal};

/// Sends SIGTERM, then SIGKILL if the process is still there after five seconds.
pub async fn terminate(pid: u32) -> Result<()> {
    signal(pid, Signal::TERM).with_context(|| format!("cannot stop process {pid}"))?;
    let started = tokio::time::Instant::now();
    while process_alive(pid) {
        if started.elapsed() > Duration::from_secs(5) {
            signal(pid, Signal::KILL).with_context(|| format!("cannot kill process {pid}"))?;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok(())
}

/// The process `pid`, for kill(2) (rustix: no unsafe code of ours).
fn process(pid: u32) -> std::io::Result<Pid> {
    i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| std::io::Error::other("pid out of range"))
}

fn signal(pid: u32, sig: Signal) -> std::io::Result<()> {
    Ok(rustix::process::kill_process(process(pid)?, sig)?)
}

pub(super) fn process_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // A zombie (exited, not yet reaped) counts as gone.
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')),
        // No /proc (not Linux): signal 0 asks whether the process exists.
        Err(_) if !Path::new("/proc/self").exists() => {
            process(pid).is_ok_and(|p| rustix::process::test_kill_process(p).is_ok())
        }
        Err(_) => false,
    }
}

/// Whether something accepts connections on 127.0.0.1:`port`.
pub async fn port_open(port: u16) -> bool {
    let connect = tokio::net::TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port)));
    matches!(
        tokio::time::timeout(Duration::from_millis(200), connect).await,
        Ok(Ok(_))
    )
}

/// A port on 127.0.0.1 that was free a moment ago.
pub async fn free_port() -> Result<u16> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .context("cannot bind a local port")?;
    Ok(listener.local_addr()?.port())
}
