//! The AWS shared credentials and config files on disk: where they are, and safe edits of them
//! (a lock around read-modify-write, a temporary file in the same folder, then a rename; mode 0600).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};

use crate::profiles::credfile::{self, OwnedSection, SectionView};

/// The two files every AWS tool reads profiles from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsFiles {
    /// `~/.aws/credentials` or `$AWS_SHARED_CREDENTIALS_FILE`.
    pub credentials: PathBuf,
    /// `~/.aws/config` or `$AWS_CONFIG_FILE`.
    pub config: PathBuf,
    /// The command that removes what the lab writes here, named in each section it writes.
    pub remover: &'static str,
}

/// What removes a lab's sections: `cleanup`, or for a class's handouts `class cleanup`.
pub const LAB_REMOVER: &str = "cargo xtask cleanup";
pub const CLASS_REMOVER: &str = "cargo xtask class cleanup";

/// A section a lab writes: its profile, the lab it belongs to, the notes above its entries (what
/// it records: an expiry, the role's ARN), the entries.
#[derive(Debug, Clone)]
pub struct Section<'a> {
    pub profile: &'a str,
    pub lab: &'a str,
    pub notes: Vec<String>,
    pub entries: Vec<(&'a str, &'a str)>,
}

/// A [`Section`] that owns its text, to cross to the blocking threads.
struct OwnedText {
    profile: String,
    lab: String,
    notes: Vec<String>,
    entries: Vec<(String, String)>,
}

impl Section<'_> {
    fn owned(&self) -> OwnedText {
        OwnedText {
            profile: self.profile.to_owned(),
            lab: self.lab.to_owned(),
            notes: self.notes.clone(),
            entries: self
                .entries
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }
}

impl OwnedText {
    fn borrowed(&self) -> Section<'_> {
        Section {
            profile: &self.profile,
            lab: &self.lab,
            notes: self.notes.clone(),
            entries: self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
        }
    }
}

/// Which of the two files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Credentials,
    Config,
}

impl AwsFiles {
    /// The files the AWS CLI and SDKs use in this environment.
    pub fn from_env() -> Result<Self> {
        let home = || -> Result<PathBuf> {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(PathBuf::from)
                .ok_or_else(|| anyhow!("HOME is not set; set AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE"))
        };
        let from = |var: &str, default: &str| -> Result<PathBuf> {
            match std::env::var(var).ok().filter(|v| !v.is_empty()) {
                // `~/x` is the home folder's x, as botocore and the Rust SDK read it.
                Some(path) => match expand_home(&path) {
                    Some(rest) => Ok(home()?.join(rest)),
                    None => Ok(PathBuf::from(path)),
                },
                None => Ok(home()?.join(".aws").join(default)),
            }
        };
        Ok(Self {
            credentials: from("AWS_SHARED_CREDENTIALS_FILE", "credentials")?,
            config: from("AWS_CONFIG_FILE", "config")?,
            remover: LAB_REMOVER,
        })
    }

    /// Files in `dir`, named as in `~/.aws`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            credentials: dir.join("credentials"),
            config: dir.join("config"),
            remover: LAB_REMOVER,
        }
    }

    /// A student's handout files in `dir`: the instructor's `class cleanup` removes them.
    pub fn handout(dir: &Path) -> Self {
        Self {
            remover: CLASS_REMOVER,
            ..Self::in_dir(dir)
        }
    }

    /// Whether these are a student's handout files (a class's), not a user's own.
    pub fn is_handout(&self) -> bool {
        self.remover == CLASS_REMOVER
    }

    pub fn path(&self, kind: FileKind) -> &Path {
        match kind {
            FileKind::Credentials => &self.credentials,
            FileKind::Config => &self.config,
        }
    }

    /// The header name of `profile` in that file: `[sts]` in credentials, `[profile sts]` in config.
    pub fn section_name(kind: FileKind, profile: &str) -> String {
        match kind {
            FileKind::Credentials => profile.to_owned(),
            FileKind::Config if profile == "default" => profile.to_owned(),
            FileKind::Config => format!("profile {profile}"),
        }
    }

    /// The profiles of the sections the lab `lab` wrote in that file (its own, its lessons').
    pub fn profiles_of_lab(&self, kind: FileKind, lab: &str) -> Result<Vec<String>> {
        let path = self.path(kind);
        let text = read_or_empty(path)?;
        let names = credfile::sections_of_lab(&text, lab).map_err(|m| malformed(path, m.line, m.reason))?;
        Ok(names
            .into_iter()
            .map(|name| match kind {
                FileKind::Config => name.strip_prefix("profile ").map_or(name.clone(), str::to_owned),
                FileKind::Credentials => name,
            })
            .collect())
    }

    /// What the file says of `profile`, if anything.
    pub fn read_profile(&self, kind: FileKind, profile: &str) -> Result<Option<SectionView>> {
        let path = self.path(kind);
        let text = read_or_empty(path)?;
        credfile::read(&text, &Self::section_name(kind, profile)).map_err(|m| malformed(path, m.line, m.reason))
    }

    /// Writes the lab's section of `section.profile` (see [`credfile::upsert`]), on the runtime's
    /// blocking threads: the edit waits for the folder's lock, which another process may hold.
    pub async fn write_profile(&self, kind: FileKind, section: Section<'_>, force: bool) -> Result<()> {
        let files = self.clone();
        let owned = section.owned();
        tokio::task::spawn_blocking(move || files.write_profile_blocking(kind, owned.borrowed(), force))
            .await
            .context("the file edit stopped")?
    }

    /// Removes the lab's section for `profile` (`Ok(false)` when it was not there), on the
    /// runtime's blocking threads (see [`AwsFiles::write_profile`]).
    pub async fn remove_profile(&self, kind: FileKind, profile: &str) -> Result<bool> {
        let (files, profile) = (self.clone(), profile.to_owned());
        tokio::task::spawn_blocking(move || files.remove_profile_blocking(kind, &profile))
            .await
            .context("the file edit stopped")?
    }

    /// [`AwsFiles::write_profile`], on this thread.
    pub fn write_profile_blocking(&self, kind: FileKind, section: Section<'_>, force: bool) -> Result<()> {
        let name = Self::section_name(kind, section.profile);
        let owned = OwnedSection {
            name: &name,
            lab: section.lab,
            remover: self.remover,
            notes: section.notes,
            entries: section.entries,
        };
        edit(self.path(kind), |text, existed| {
            credfile::upsert_in(text, &owned, force, existed).map(Some)
        })
    }

    /// [`AwsFiles::remove_profile`], on this thread.
    pub fn remove_profile_blocking(&self, kind: FileKind, profile: &str) -> Result<bool> {
        let name = Self::section_name(kind, profile);
        let mut removed = false;
        edit(self.path(kind), |text, _| {
            let (out, was_there) = credfile::remove(text, &name)?;
            removed = was_there;
            Ok(was_there.then_some(out))
        })?;
        Ok(removed)
    }
}

/// The rest of `path` after a leading `~` (`~` alone or `~/…`), which stands for the home folder.
fn expand_home(path: &str) -> Option<&str> {
    match path.strip_prefix('~')? {
        "" => Some(""),
        rest => rest.strip_prefix('/').map(|r| r.trim_start_matches('/')),
    }
}

fn malformed(path: &Path, line: usize, reason: &str) -> anyhow::Error {
    anyhow!("{}:{line}: {reason}; fix that line, then run again", path.display())
}

fn read_or_empty(path: &Path) -> Result<String> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Read-modify-write of `path` under an exclusive lock on its folder; `change` returns the new
/// text, or None to leave the file as it is. The new text goes to a temporary file (0600) in the
/// same folder and replaces the file by a rename, so a crash leaves either the old or the new file.
fn edit(path: &Path, change: impl FnOnce(&str, bool) -> Result<Option<String>, credfile::EditError>) -> Result<()> {
    // Edit the file a symlink points to, not the link.
    let path = match fs::canonicalize(path) {
        Ok(real) => real,
        Err(_) => path.to_owned(),
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // Locking the folder (not the file, which the rename replaces) serialises concurrent runs
    // without leaving a lock file behind.
    let lock = File::open(dir).with_context(|| format!("cannot open {}", dir.display()))?;
    lock.lock().with_context(|| format!("cannot lock {}", dir.display()))?;

    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    remove_stale_temp_files(dir, &file_name);
    let existed = path.exists();
    let text = read_or_empty(&path)?;
    let new_text = match change(&text, existed) {
        Ok(Some(new_text)) if new_text != text => new_text,
        Ok(_) => return Ok(()),
        Err(credfile::EditError::Malformed(m)) => return Err(malformed(&path, m.line, m.reason)),
        Err(e) => return Err(anyhow!("{}: {e}", path.display())),
    };
    if new_text.is_empty() && credfile::made_by_lab(&text) {
        // The lab made the file and what it added is all it held: leave no empty file behind
        // (an empty file the user had stays).
        return fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()));
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.sts-lab-{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        f.write_all(new_text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, &path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        anyhow!("cannot write {}: {e}; the file was left as it was", path.display())
    })?;
    drop(lock);
    Ok(())
}

/// Removes temporary files a killed run left beside `file_name`: under the folder's lock no other
/// run is writing one, so every one found is stale (and may hold a secret).
fn remove_stale_temp_files(dir: &Path, file_name: &str) {
    let prefix = format!(".{file_name}.sts-lab-");
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) && name.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests;
