//! Where things are: the project root, the emulator's virtualenv and state folder, and the target
//! (real AWS environment or the local emulator) the global flags select.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use lab_core::emulator::{self, Home, Venv};
use lab_core::model::names::LabNames;

use crate::flags::Global;

/// The workspace root, found from this crate's manifest at compile time.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

pub fn venv() -> Venv {
    Venv {
        dir: project_root().join(".lab").join("venv"),
    }
}

/// The emulator's state folder: STS_LAB_EMULATOR_DIR, or .lab/emulator in the project.
pub fn emulator_home() -> Home {
    let dir = std::env::var_os("STS_LAB_EMULATOR_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| project_root().join(".lab").join("emulator"), PathBuf::from);
    Home { dir }
}

/// `--port`, else STS_LAB_EMULATOR_PORT, else the default.
pub fn emulator_port(flag: Option<u16>) -> Result<u16> {
    if let Some(port) = flag {
        return Ok(port);
    }
    match std::env::var("STS_LAB_EMULATOR_PORT") {
        Ok(p) if !p.is_empty() => p
            .parse()
            .with_context(|| format!("STS_LAB_EMULATOR_PORT={p:?} is not a port number; set it to e.g. 5055")),
        _ => Ok(emulator::DEFAULT_PORT),
    }
}

pub fn lab_names(global: &Global) -> Result<LabNames> {
    LabNames::new(global.lab.as_deref())
}
