//! Tests of the AWS files' safe edits: modes, the user's bytes kept, malformed files named, locks.
use super::*;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sts-lab-awsfiles-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

#[test]
fn write_and_remove_keep_the_users_bytes_and_set_0600() {
    let dir = scratch("roundtrip");
    let files = AwsFiles::in_dir(&dir.join("aws"));
    let original = "# mine\n[default]\naws_access_key_id = A\n";
    fs::create_dir_all(dir.join("aws")).unwrap();
    fs::write(&files.credentials, original).unwrap();
    fs::set_permissions(&files.credentials, fs::Permissions::from_mode(0o644)).unwrap();

    files
        .write_profile_blocking(
            FileKind::Credentials,
            Section {
                profile: "sts",
                lab: "default",
                notes: vec![],
                entries: vec![("aws_access_key_id", "AKIA1")],
            },
            false,
        )
        .unwrap();
    let mode = fs::metadata(&files.credentials).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let view = files.read_profile(FileKind::Credentials, "sts").unwrap().unwrap();
    assert_eq!(view.get("aws_access_key_id"), Some("AKIA1"));
    assert!(files.remove_profile_blocking(FileKind::Credentials, "sts").unwrap());
    assert!(!files.remove_profile_blocking(FileKind::Credentials, "sts").unwrap());
    assert_eq!(fs::read_to_string(&files.credentials).unwrap(), original);
    let leftovers: Vec<_> = fs::read_dir(dir.join("aws")).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_tilde_is_the_home_folder() {
    assert_eq!(expand_home("~/.aws/credentials"), Some(".aws/credentials"));
    assert_eq!(expand_home("~"), Some(""));
    assert_eq!(expand_home("~other/x"), None);
    assert_eq!(expand_home("/abs/~/x"), None);
}

#[test]
fn temp_files_of_a_killed_run_are_removed_by_the_next_edit() {
    let dir = scratch("stale");
    fs::create_dir_all(&dir).unwrap();
    let files = AwsFiles::in_dir(&dir);
    let stale = dir.join(".credentials.sts-lab-999999.tmp");
    fs::write(&stale, "[sts]\naws_secret_access_key = leaked\n").unwrap();
    files.remove_profile_blocking(FileKind::Credentials, "sts").unwrap();
    assert!(!stale.exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_new_folder_is_0700_and_an_emptied_file_is_removed() {
    let dir = scratch("fresh");
    let files = AwsFiles::in_dir(&dir.join("aws"));
    files
        .write_profile_blocking(
            FileKind::Config,
            Section {
                profile: "sts",
                lab: "default",
                notes: vec![],
                entries: vec![("region", "us-east-1")],
            },
            false,
        )
        .unwrap();
    let text = fs::read_to_string(&files.config).unwrap();
    assert!(text.starts_with("[profile sts]\n"), "{text}");
    let mode = fs::metadata(dir.join("aws")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    files.remove_profile_blocking(FileKind::Config, "sts").unwrap();
    assert!(!files.config.exists());
    // An empty file the user had stays, empty.
    fs::write(&files.credentials, "").unwrap();
    files
        .write_profile_blocking(
            FileKind::Credentials,
            Section {
                profile: "sts",
                lab: "default",
                notes: vec![],
                entries: vec![("k", "v")],
            },
            false,
        )
        .unwrap();
    files.remove_profile_blocking(FileKind::Credentials, "sts").unwrap();
    assert_eq!(fs::read_to_string(&files.credentials).unwrap(), "");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_malformed_file_is_named_and_left_untouched() {
    let dir = scratch("malformed");
    fs::create_dir_all(&dir).unwrap();
    let files = AwsFiles::in_dir(&dir);
    fs::write(&files.credentials, "[a]\nbroken line\n").unwrap();
    let err = files
        .write_profile_blocking(
            FileKind::Credentials,
            Section {
                profile: "sts",
                lab: "default",
                notes: vec![],
                entries: vec![("k", "v")],
            },
            false,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("credentials:2") && err.contains("fix that line"), "{err}");
    assert_eq!(fs::read_to_string(&files.credentials).unwrap(), "[a]\nbroken line\n");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn concurrent_writers_do_not_lose_each_others_sections() {
    let dir = scratch("concurrent");
    let files = AwsFiles::in_dir(&dir);
    std::thread::scope(|s| {
        for i in 0..8 {
            let files = files.clone();
            s.spawn(move || {
                let name = format!("p{i}");
                files
                    .write_profile_blocking(
                        FileKind::Credentials,
                        Section {
                            profile: &name,
                            lab: "default",
                            notes: vec![],
                            entries: vec![("k", "v")],
                        },
                        false,
                    )
                    .unwrap();
            });
        }
    });
    let text = fs::read_to_string(&files.credentials).unwrap();
    for i in 0..8 {
        assert!(text.contains(&format!("[p{i}]")), "{text}");
    }
    fs::remove_dir_all(&dir).unwrap();
}
