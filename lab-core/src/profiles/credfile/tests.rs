//! Tests of the pure editing of AWS files: round trips, ownership, takeovers, what botocore refuses.

use super::*;

fn sts(key: &'static str) -> OwnedSection<'static> {
    OwnedSection {
        name: "sts",
        lab: "default",
        remover: "cargo xtask cleanup",
        notes: vec![],
        entries: vec![("aws_access_key_id", key), ("aws_secret_access_key", "SECRET")],
    }
}

const USER_FILE: &str = "# my keys, do not lose\n[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s3cr3t\n\n; work\n[work]\nregion=eu-west-1\n";

#[test]
fn write_then_remove_gives_back_the_same_bytes() {
    for original in [
        "",
        "\n",
        USER_FILE,
        "[a]\nx = 1",
        "[a]\nx = 1\n\n\n",
        "[a]\r\nx = 1\r\n",
        "[a]\r\nx = 1",
        "  \n# only a comment\n",
    ] {
        let written = upsert(original, &sts("AKIA1"), false).unwrap();
        assert!(written.contains("aws_access_key_id = AKIA1"), "{written:?}");
        let rewritten = upsert(&written, &sts("AKIA2"), false).unwrap();
        assert_eq!(rewritten.matches("[sts]").count(), 1);
        assert!(rewritten.contains("AKIA2") && !rewritten.contains("AKIA1"));
        let (back, removed) = remove(&rewritten, "sts").unwrap();
        assert!(removed);
        assert_eq!(back, original, "from {rewritten:?}");
    }
}

#[test]
fn appended_block_is_separated_and_marked() {
    let out = upsert("[a]\nx = 1\n", &sts("AKIA1"), false).unwrap();
    assert_eq!(
        out,
        "[a]\nx = 1\n\n[sts]\n# sts-lab: managed by sts-lab (lab default); `cargo xtask cleanup` removes this section\naws_access_key_id = AKIA1\naws_secret_access_key = SECRET\n"
    );
}

#[test]
fn other_sections_and_comments_survive_an_update_in_the_middle() {
    let with_ours = upsert(USER_FILE, &sts("AKIA1"), false).unwrap();
    let tail = "\n# after ours\n[later]\nk = v\n";
    let file = format!("{with_ours}{tail}");
    let updated = upsert(&file, &sts("AKIA2"), false).unwrap();
    assert!(updated.starts_with(USER_FILE));
    assert!(updated.ends_with(tail));
    let (removed, _) = remove(&updated, "sts").unwrap();
    assert_eq!(removed, format!("{USER_FILE}{tail}"));
}

#[test]
fn a_section_the_lab_does_not_own_is_left_alone_unless_forced() {
    let file = "[sts]\naws_access_key_id = MINE\n";
    assert_eq!(
        upsert(file, &sts("AKIA1"), false).unwrap_err(),
        EditError::NotOwned("sts".into())
    );
    assert_eq!(remove(file, "sts").unwrap_err(), EditError::NotOwned("sts".into()));
    let forced = upsert(file, &sts("AKIA1"), true).unwrap();
    assert!(forced.contains("AKIA1") && !forced.contains("MINE"));
    assert!(read(&forced, "sts").unwrap().unwrap().owned);
}

#[test]
fn notes_and_entries_read_back() {
    let mut s = sts("AKIA1");
    s.notes = vec!["expires 2026-11-22T13:00:00Z".into()];
    let out = upsert(USER_FILE, &s, false).unwrap();
    let view = read(&out, "sts").unwrap().unwrap();
    assert!(view.owned);
    assert_eq!(view.get("aws_access_key_id"), Some("AKIA1"));
    assert_eq!(view.note("expires"), Some("2026-11-22T13:00:00Z"));
    let theirs = read(USER_FILE, "work").unwrap().unwrap();
    assert!(!theirs.owned);
    assert_eq!(theirs.get("region"), Some("eu-west-1"));
    assert_eq!(read(USER_FILE, "nope").unwrap(), None);
}

#[test]
fn removing_what_is_not_there_changes_nothing() {
    assert_eq!(remove(USER_FILE, "sts").unwrap(), (USER_FILE.to_owned(), false));
}

#[test]
fn malformed_files_are_refused_with_the_line() {
    for (text, line) in [
        ("key = v\n", 1),
        ("[a]\nx = 1\n[broken\n", 3),
        ("[a]\njust words\n", 2),
        ("[]\n", 1),
    ] {
        let err = upsert(text, &sts("AKIA1"), false).unwrap_err();
        assert!(
            matches!(err, EditError::Malformed(Malformed { line: l, .. }) if l == line),
            "{text:?}: {err}"
        );
    }
}

#[test]
fn values_cannot_inject_lines() {
    let bad = OwnedSection {
        entries: vec![("aws_access_key_id", "A\n[default]")],
        ..sts("x")
    };
    assert!(matches!(upsert("", &bad, false), Err(EditError::BadValue(_))));
}

#[test]
fn a_header_may_carry_a_comment() {
    let file = "[default] # my default\naws_access_key_id = A\n[work] ; work\nregion = x\n";
    check(file).unwrap();
    assert_eq!(
        read(file, "default").unwrap().unwrap().get("aws_access_key_id"),
        Some("A")
    );
    let out = upsert(file, &sts("AKIA1"), false).unwrap();
    assert!(out.starts_with(file));
    assert_eq!(remove(&out, "sts").unwrap().0, file);
    assert!(check("[default] not a comment\n").is_err());
}

#[test]
fn a_forced_takeover_replaces_the_whole_section() {
    // The user's [sts], split by a blank line and a comment, then a commented section.
    let file = "[default]\nk = v\n\n[sts]\naws_access_key_id = MINE\n\n# my secret\naws_secret_access_key = OLD\nregion = x\n\n# next\n[next]\nk = v\n";
    let forced = upsert(file, &sts("AKIA1"), true).unwrap();
    check(&forced).unwrap();
    assert_eq!(forced.matches("aws_secret_access_key").count(), 1, "{forced}");
    assert!(!forced.contains("MINE") && !forced.contains("OLD") && !forced.contains("my secret"));
    assert!(forced.starts_with("[default]\nk = v\n\n[sts]\n"), "{forced}");
    assert!(forced.ends_with("\n\n# next\n[next]\nk = v\n"), "{forced}");
    // Removed, nothing of it lands in the section above.
    let (back, _) = remove(&forced, "sts").unwrap();
    assert_eq!(back, "[default]\nk = v\n\n# next\n[next]\nk = v\n");
    assert_eq!(read(&back, "default").unwrap().unwrap().entries.len(), 1);
}

#[test]
fn profile_names_are_compared_word_by_word() {
    let file = "[profile  sts]\nregion = eu-west-1\n";
    let view = read(file, "profile sts").unwrap().unwrap();
    assert_eq!(view.get("region"), Some("eu-west-1"));
    assert_eq!(
        upsert(
            file,
            &OwnedSection {
                name: "profile sts",
                ..sts("A")
            },
            false
        )
        .unwrap_err(),
        EditError::NotOwned("profile sts".into())
    );
    let forced = upsert(
        file,
        &OwnedSection {
            name: "profile sts",
            ..sts("A")
        },
        true,
    )
    .unwrap();
    assert_eq!(forced.matches("profile").count(), 1, "{forced}");
}

#[test]
fn what_botocore_refuses_is_refused_with_the_line() {
    for (text, line) in [("[a]\nx = 1\n[b]\n[a]\n", 4), ("[a]\nx = 1\nX = 2\n", 3)] {
        let err = check(text).unwrap_err();
        assert_eq!(err.line, line, "{text:?}: {err:?}");
    }
    // The same key in two sections is fine.
    check("[a]\nx = 1\n[b]\nx = 1\n").unwrap();
}

#[test]
fn config_continuation_lines_are_kept() {
    let cfg = "[profile x]\ns3 =\n  addressing_style = path\n";
    let out = upsert(
        cfg,
        &OwnedSection {
            name: "profile sts",
            lab: "default",
            remover: "cargo xtask cleanup",
            notes: vec![],
            entries: vec![("region", "us-east-1")],
        },
        false,
    )
    .unwrap();
    assert!(out.starts_with(cfg));
    assert_eq!(remove(&out, "profile sts").unwrap().0, cfg);
}

fn assumed() -> OwnedSection<'static> {
    OwnedSection {
        name: "assumed",
        lab: "default",
        remover: "cargo xtask cleanup",
        notes: vec![],
        entries: vec![("aws_access_key_id", "ASIA1"), ("aws_session_token", "TOKEN")],
    }
}

/// setup writes [sts], assume appends [assumed], cleanup removes both: a file without a final
/// newline (or with CRLF) gets its bytes back, whichever block goes first.
#[test]
fn two_blocks_removed_in_either_order_give_back_the_same_bytes() {
    for original in ["[a]\nx = 1", "[a]\r\nx = 1", USER_FILE, "[a]\nx = 1\n", ""] {
        let two = upsert(&upsert(original, &sts("AKIA1"), false).unwrap(), &assumed(), false).unwrap();
        for order in [["sts", "assumed"], ["assumed", "sts"]] {
            let (one, _) = remove(&two, order[0]).unwrap();
            let (back, _) = remove(&one, order[1]).unwrap();
            assert_eq!(back, original, "removing {order:?} from {two:?}");
        }
    }
}

/// A file the lab made is marked so, in every block written after: emptied, it is removed; an
/// empty file the user had is not.
#[test]
fn only_a_file_the_lab_made_is_its_to_remove() {
    let made = upsert(&upsert_in("", &sts("AKIA1"), false, false).unwrap(), &assumed(), false).unwrap();
    assert!(made_by_lab(&made));
    let (left, _) = remove(&made, "sts").unwrap();
    assert!(made_by_lab(&left), "the mark stays with the block left: {left:?}");
    let users = upsert_in("", &sts("AKIA1"), false, true).unwrap();
    assert!(!made_by_lab(&users));
    assert!(!made_by_lab(USER_FILE));
}
