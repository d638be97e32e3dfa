//! ARN patterns as IAM reads them, built on `strings`' automata: a Resource or an Arn condition's
//! value (six parts, wildcards within each of the first five), a variable's literal pieces, the
//! catalog's ARN formats and an instance of one, and the service a pattern names.

use super::strings::{Chars, Elem, Pattern, literal};

/// An ARN pattern ([`arn`]) of pieces, each literal (a policy variable's value: a `*` it gives is
/// the character) or not.
pub fn arn_of_pieces(pieces: &[(String, bool)]) -> Option<Pattern> {
    let joined: String = pieces
        .iter()
        .map(|(t, literal)| match literal {
            true => t.replace('*', "\u{1}").replace('?', "\u{2}"),
            false => t.clone(),
        })
        .collect();
    arn(&joined).map(|p| {
        p.into_iter()
            .map(|e| match e {
                Elem::One(Chars::One('\u{1}')) => Elem::One(Chars::One('*')),
                Elem::One(Chars::One('\u{2}')) => Elem::One(Chars::One('?')),
                other => other,
            })
            .collect()
    })
}

/// An ARN pattern as the Resource element and the Arn condition operators read it: six
/// colon-separated segments, wildcards within each of the first five never crossing a colon,
/// the last (the resource) matched as a glob; a wildcard in the service segment matches
/// nothing (None). A pattern of fewer than six segments is None too.
pub fn arn(text: &str) -> Option<Pattern> {
    if text == "*" {
        return Some(vec![Elem::Many(Chars::Any)]);
    }
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    if parts.len() != 6 || parts[2].contains(['*', '?']) {
        return None;
    }
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(Elem::One(Chars::One(':')));
        }
        let wild = if i < 5 { Chars::NotColon } else { Chars::Any };
        out.extend(part.chars().map(|c| match c {
            '*' => Elem::Many(wild.clone()),
            '?' => Elem::One(wild.clone()),
            c => Elem::One(Chars::One(c)),
        }));
    }
    Some(out)
}

/// An ARN format of the catalog (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`) in
/// `partition`: each placeholder one or more characters of its kind (an account twelve digits).
pub fn arn_format(format: &str, partition: &str) -> Pattern {
    let mut out = Vec::new();
    let mut rest = format;
    let mut segment = 0;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("${")
            && let Some((name, tail)) = after.split_once('}')
        {
            match name {
                "Partition" => out.extend(literal(partition, false)),
                "Account" => out.extend((0..12).map(|_| Elem::One(Chars::Digit))),
                "BucketName" => out.extend([Elem::One(Chars::BucketName), Elem::Many(Chars::BucketName)]),
                _ if segment < 5 => out.extend([Elem::One(Chars::NotColon), Elem::Many(Chars::NotColon)]),
                _ => out.extend([Elem::One(Chars::Any), Elem::Many(Chars::Any)]),
            }
            rest = tail;
            continue;
        }
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { break };
        if c == ':' {
            segment += 1;
        }
        out.push(Elem::One(Chars::One(c)));
        rest = chars.as_str();
    }
    out
}

/// A resource of the ARN format `format` (`arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}`):
/// its placeholders filled with `partition`, `account`, a region and a readable name.
pub fn instance(format: &str, partition: &str, account: &str) -> String {
    let mut out = String::new();
    let mut rest = format;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let Some(end) = rest[at..].find('}') else { break };
        out.push_str(match &rest[at + 2..at + end] {
            "Partition" => partition,
            "Account" => account,
            "Region" => "us-east-1",
            _ => "example",
        });
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    out
}

/// The service segment of an ARN pattern, when it is literal (None: a wildcard before it or in
/// it, `*` say).
pub fn service_of(pattern: &Pattern) -> Option<String> {
    let mut colons = 0;
    let mut service = String::new();
    for elem in pattern {
        match elem {
            Elem::One(Chars::One(':')) if colons == 2 => return Some(service),
            Elem::One(Chars::One(':')) => colons += 1,
            Elem::One(Chars::One(c)) if colons == 2 => service.push(*c),
            Elem::One(Chars::One(_)) => {}
            _ => return None,
        }
    }
    None
}
