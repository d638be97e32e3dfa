//! A classroom's names, pure: its labs `NAME-01` … `NAME-N` (numbers of a fixed width, so that no
//! lab name is a prefix of another), a student's names, and the pairs the isolation check tries.

use anyhow::{Result, bail};

use crate::model::names::{LabNames, MAX_LAB_NAME_LEN, validate_lab_name};

/// The class name when `--class` is not given.
pub const DEFAULT_CLASS: &str = "class";
/// The most students one class may have.
pub const MAX_STUDENTS: usize = 200;

/// The lab names of a class of `students`: `class-01` … `class-12`, zero-padded to the width of
/// the largest number (two digits at least).
pub fn student_labs(class: &str, students: usize) -> Result<Vec<String>> {
    if students == 0 || students > MAX_STUDENTS {
        bail!("--students {students} is out of range: use 1 to {MAX_STUDENTS}");
    }
    let width = students.to_string().len().max(2);
    let labs: Vec<String> = (1..=students).map(|n| format!("{class}-{n:0width$}")).collect();
    let longest = labs.last().map_or(0, String::len);
    if longest > MAX_LAB_NAME_LEN {
        bail!(
            "class name {class:?} is too long for {students} students: lab names must fit {MAX_LAB_NAME_LEN} characters; use a class name of at most {} characters",
            MAX_LAB_NAME_LEN - (longest - class.len())
        );
    }
    validate_lab_name(class).map_err(|e| anyhow::anyhow!("invalid --class: {e}"))?;
    Ok(labs)
}

/// The class a student's lab belongs to: the name before `-NN` (two digits at least).
pub fn class_of(lab: &str) -> Option<&str> {
    let (class, number) = lab.rsplit_once('-')?;
    (number.len() >= 2 && number.bytes().all(|b| b.is_ascii_digit()) && !class.is_empty()).then_some(class)
}

/// Whether `lab` is one of class `class`'s labs: `class-` then digits only.
pub fn is_student_lab(class: &str, lab: &str) -> bool {
    lab.strip_prefix(class)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The names of a student's lab: the lab's own, but the guide's profile names (`sts`, `assumed`),
/// which live in the student's handout, not in the instructor's files.
pub fn student_names(lab: &str) -> Result<LabNames> {
    let mut names = LabNames::new(Some(lab))?;
    names.user_profile = "sts".to_owned();
    names.assumed_profile = "assumed".to_owned();
    names.handout = true;
    Ok(names)
}

/// The (student, other student's lab) pairs the isolation check tries: every pair up to ten
/// students, else each student against the next two (wrapping), so each is tried against two.
pub fn isolation_pairs(students: usize) -> Vec<(usize, usize)> {
    if students <= 10 {
        (0..students)
            .flat_map(|i| (0..students).filter(move |&j| j != i).map(move |j| (i, j)))
            .collect()
    } else {
        (0..students)
            .flat_map(|i| [(i, (i + 1) % students), (i, (i + 2) % students)])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_labs_are_padded_and_none_is_a_prefix_of_another() {
        let labs = student_labs("class", 12).unwrap();
        assert_eq!(labs.first().unwrap(), "class-01");
        assert_eq!(labs.last().unwrap(), "class-12");
        for a in &labs {
            for b in &labs {
                assert!(a == b || !b.starts_with(a.as_str()), "{a} is a prefix of {b}");
            }
        }
        assert_eq!(student_labs("c", 120).unwrap()[0], "c-001");
        assert!(student_labs("class", 0).is_err());
        assert!(student_labs("Bad", 3).unwrap_err().to_string().contains("--class"));
        let long = student_labs("abcdefghijklmnopqr", 12).unwrap_err().to_string();
        assert!(long.contains("at most 17 characters"), "{long}");
        assert!(is_student_lab("class", "class-07"));
        assert!(!is_student_lab("class", "class-07x") && !is_student_lab("class", "classroom-01"));
        assert_eq!(class_of("room-a-07"), Some("room-a"));
        assert_eq!(class_of("default"), None);
        assert_eq!(class_of("team-7"), None);
    }

    #[test]
    fn isolation_pairs_cover_every_pair_up_to_ten_then_two_others_each() {
        let small = isolation_pairs(3);
        assert_eq!(small.len(), 6);
        assert!(small.contains(&(2, 0)) && !small.contains(&(1, 1)));
        let large = isolation_pairs(12);
        assert_eq!(large.len(), 24);
        assert!((0..12).all(|i| large.iter().filter(|(a, b)| *a == i && *b != i).count() == 2));
    }
}
