//! The lab's own profiles in the AWS files: how a lab is built (`LabOptions`), the sections it
//! writes (its profiles' keys in the credentials file, their region and endpoints in the config
//! file, the lessons' profiles) and the writing of them.

use anyhow::Result;

use crate::aws::retry::Backoff;
use crate::aws::target::{Clients, MissingProfile, Target};
use crate::model::names::LabNames;
use crate::profiles::awsfiles::{AwsFiles, FileKind, Section};

/// How a lab works, given whole when it is connected: whether to overwrite profiles it did not
/// write, how long to wait out IAM, its time to live, and a class's shared view of its stacks
/// and of the account's documents.
#[derive(Debug, Clone, Default)]
pub struct LabOptions {
    pub force: bool,
    pub backoff: Backoff,
    pub ttl: crate::model::expiry::Ttl,
    pub stack_board: Option<std::sync::Arc<crate::ops::stack_board::StackBoard>>,
    pub documents: Option<crate::ops::account_documents::SharedReading>,
}

impl LabOptions {
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    pub fn ttl(mut self, ttl: crate::model::expiry::Ttl) -> Self {
        self.ttl = ttl;
        self
    }

    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn stack_board(mut self, board: std::sync::Arc<crate::ops::stack_board::StackBoard>) -> Self {
        self.stack_board = Some(board);
        self
    }

    pub fn documents(mut self, reading: crate::ops::account_documents::SharedReading) -> Self {
        self.documents = Some(reading);
        self
    }
}

/// A lab profile to write: its name, its region, the notes above it, its entries (keys).
pub(crate) struct LabProfile<'a> {
    pub profile: &'a str,
    pub region: &'a str,
    pub notes: Vec<String>,
    pub entries: Vec<(&'a str, &'a str)>,
}

/// Writes a lab profile: its keys in the credentials file, its region in the config file.
pub(super) async fn write_lab_profile(
    target: &Target,
    names: &LabNames,
    profile: LabProfile<'_>,
    force: bool,
) -> Result<()> {
    let files = &target.files;
    let section = Section {
        profile: profile.profile,
        lab: &names.lab,
        notes: profile.notes,
        entries: profile.entries,
    };
    files.write_profile(FileKind::Credentials, section, force).await?;
    // Keep what the config section already notes (the role ARN) when only the keys change.
    let kept = files
        .read_profile(FileKind::Config, profile.profile)?
        .filter(|p| p.owned)
        .map(|p| p.notes)
        .unwrap_or_default();
    let config = LabProfile {
        notes: kept,
        entries: Vec::new(),
        ..profile
    };
    write_lab_config(target, names, config, force).await
}

/// Writes a lab profile's config section: its region, and the admin profile's endpoint settings
/// (`endpoint_url`, `services`), so that the lab's profiles reach the same endpoints as the admin,
/// for sts-lab and the aws CLI alike.
pub(super) async fn write_lab_config(
    target: &Target,
    names: &LabNames,
    profile: LabProfile<'_>,
    force: bool,
) -> Result<()> {
    let endpoints = target.endpoint_settings()?;
    let mut entries = vec![("region", profile.region)];
    entries.extend(endpoints.iter().map(|(k, v)| (*k, v.as_str())));
    let section = Section {
        profile: profile.profile,
        lab: &names.lab,
        notes: profile.notes,
        entries,
    };
    target.files.write_profile(FileKind::Config, section, force).await
}

/// The sections the lab writes, in the order it writes them: each lab profile in the
/// credentials file, then in the config file, then every other section the files say the lab
/// wrote (a lesson's profiles), so that no list of them is kept by hand. In a
/// class's handout the assumed profile's keys are the student's own (the README has them pasted
/// in by hand): not the lab's to write or remove.
pub(crate) fn profile_sections(names: &LabNames, files: &AwsFiles) -> Result<Vec<(FileKind, String)>> {
    let mut sections = setup_sections(names, files);
    for kind in [FileKind::Credentials, FileKind::Config] {
        for profile in files.profiles_of_lab(kind, &names.lab)? {
            // A lesson's (or another) profile the lab wrote; a handout's assumed keys stay the student's.
            let setup_writes = [&names.user_profile, &names.assumed_profile].contains(&&profile);
            if !setup_writes && !sections.contains(&(kind, profile.clone())) {
                sections.push((kind, profile));
            }
        }
    }
    Ok(sections)
}

/// The sections `setup` and `assume` write (the lessons' are theirs to check).
pub(crate) fn setup_sections(names: &LabNames, files: &AwsFiles) -> Vec<(FileKind, String)> {
    let (user, role) = (&names.user_profile, &names.assumed_profile);
    let mut sections = vec![
        (FileKind::Credentials, user.clone()),
        (FileKind::Config, user.clone()),
        (FileKind::Credentials, role.clone()),
        (FileKind::Config, role.clone()),
    ];
    if files.is_handout() {
        sections.retain(|(kind, profile)| !(*kind == FileKind::Credentials && profile == role));
    }
    sections
}

/// The command that makes the lab's profile `profile`, for a hint.
fn maker_of(names: &LabNames, profile: &str) -> String {
    if profile == names.assumed_profile {
        format!("`{}`", crate::output::command::xtask("assume"))
    } else if profile == names.user_profile {
        format!("`{}`", crate::output::command::xtask("setup"))
    } else {
        format!("its lesson (`{}` lists them)", crate::output::command::xtask("lesson"))
    }
}

/// Clients of the lab's profile `profile`; one missing from the files says, in one line, what is
/// missing, where, and the command that makes it.
pub async fn profile_clients(target: &Target, names: &LabNames, profile: &str) -> Result<Clients> {
    target.profile(profile).await.map_err(|e| {
        if e.downcast_ref::<MissingProfile>().is_some() {
            crate::aws::error::hint(e, format!("make it with {}", maker_of(names, profile)))
        } else {
            e
        }
    })
}

impl super::Lab {
    /// Clients of the lab's profile `profile` (see [`profile_clients`]).
    pub async fn profile(&self, profile: &str) -> Result<Clients> {
        profile_clients(&self.target, &self.names, profile).await
    }
}

impl super::Lab {
    pub(super) async fn write_profile(
        &self,
        profile: &str,
        notes: Vec<String>,
        entries: Vec<(&str, &str)>,
    ) -> Result<()> {
        let profile = LabProfile {
            profile,
            region: &self.admin.region,
            notes,
            entries,
        };
        write_lab_profile(&self.target, &self.names, profile, self.force).await
    }

    /// Writes the config section of the assumed profile ahead of `assume` (its region and
    /// endpoints), for a learner who pastes the role's keys into the credentials file by hand: with
    /// no region there, their bucket would go wherever their shell points.
    pub async fn write_assumed_profile_config(&self) -> Result<()> {
        self.write_profile_config(&self.names.assumed_profile, vec![]).await
    }

    pub(super) async fn write_profile_config(&self, profile: &str, notes: Vec<String>) -> Result<()> {
        let profile = LabProfile {
            profile,
            region: &self.admin.region,
            notes,
            entries: Vec::new(),
        };
        write_lab_config(&self.target, &self.names, profile, self.force).await
    }
}
