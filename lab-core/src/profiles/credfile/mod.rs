//! Pure editing of AWS credentials and config files (INI): insert, replace and remove the sections
//! the lab owns, keeping every other byte (comments, other profiles, order, spacing, line endings).
//!
//! A section the lab writes is a header, a marker comment saying the lab owns it, optional
//! `# sts-lab:` notes and `key = value` lines. A section the lab writes or removes is the whole
//! section, every line up to the next header but the blank lines and comments right before that
//! header; nothing else is ever touched. Appending puts one blank line before the block, and
//! removing takes that blank line away again, so that write-then-remove gives back the same bytes.

/// Every comment line the lab writes starts with this.
pub const NOTE_PREFIX: &str = "# sts-lab:";
/// The marker comment right below a header that says the lab owns the section.
const MARKER_PREFIX: &str = "# sts-lab: managed";
/// Added to the marker when the file had no final newline before the section was appended.
const NO_FINAL_NEWLINE: &str = "(file had no final newline)";
/// Added to the marker when the lab made the file for the section.
const CREATED_FILE: &str = "(sts-lab created this file)";

/// What a section's marker remembers of the file before the lab first wrote to it. Every block
/// appended later carries the marks of the blocks already there, so whichever block is removed
/// last gives the file back as it was: without a final newline, or not there at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Marks {
    no_final_newline: bool,
    created_file: bool,
}

impl Marks {
    fn of_marker(marker: &str) -> Self {
        Self {
            no_final_newline: marker.contains(NO_FINAL_NEWLINE),
            created_file: marker.contains(CREATED_FILE),
        }
    }

    /// The marks of every block the lab owns in the file.
    fn of_file(lines: &[(&str, Line<'_>)]) -> Self {
        let mut marks = Self::default();
        for header in (0..lines.len()).filter(|&i| matches!(lines[i].1, Line::Header(_)) && is_owned(lines, i)) {
            let m = Self::of_marker(lines[header + 1].0);
            marks.no_final_newline |= m.no_final_newline;
            marks.created_file |= m.created_file;
        }
        marks
    }
}

/// Whether the lab made the file (a block of it says so): emptied, it is removed, not kept empty.
pub fn made_by_lab(text: &str) -> bool {
    lines(text).is_ok_and(|l| Marks::of_file(&l).created_file)
}

/// A section for the lab to write.
#[derive(Debug, Clone)]
pub struct OwnedSection<'a> {
    /// The header's name: `sts` in a credentials file, `profile sts` in a config file.
    pub name: &'a str,
    /// The lab that owns it, named in the marker.
    pub lab: &'a str,
    /// The command that removes it, named in the marker (`cargo xtask cleanup`).
    pub remover: &'a str,
    /// Notes written as `# sts-lab: <note>` lines, e.g. an expiration time.
    pub notes: Vec<String>,
    /// The `key = value` lines, in order.
    pub entries: Vec<(&'a str, &'a str)>,
}

/// What a file says of one section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SectionView {
    /// Whether the lab's marker is there.
    pub owned: bool,
    /// The `key = value` lines of the section, values trimmed.
    pub entries: Vec<(String, String)>,
    /// The text of the `# sts-lab:` notes (without the prefix), marker excluded.
    pub notes: Vec<String>,
}

impl SectionView {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The value of a `# sts-lab: <key> <value>` note.
    pub fn note(&self, key: &str) -> Option<&str> {
        self.notes
            .iter()
            .find_map(|n| n.strip_prefix(key).and_then(|rest| rest.strip_prefix(' ')))
    }
}

/// The error of a file that no AWS tool can read, with the line to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub line: usize,
    pub reason: &'static str,
}

#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    Blank,
    Comment,
    Header(&'a str),
    Entry(&'a str, &'a str),
    Continuation,
}

fn classify(line: &str) -> Result<Line<'_>, &'static str> {
    let content = line.trim_end_matches(['\n', '\r']);
    let trimmed = content.trim();
    if trimmed.is_empty() {
        return Ok(Line::Blank);
    }
    if trimmed.starts_with('#') || trimmed.starts_with(';') {
        return Ok(Line::Comment);
    }
    if content.starts_with([' ', '\t']) {
        // Nested settings in a config file, e.g. the lines under `s3 =`.
        return Ok(Line::Continuation);
    }
    if let Some(rest) = trimmed.strip_prefix('[') {
        // `[default] # mine`: botocore and the Rust SDK both allow a comment after the header.
        let header = rest.split_once(']').and_then(|(name, after)| {
            let after = after.trim_start();
            (after.is_empty() || after.starts_with(['#', ';'])).then_some(name.trim())
        });
        return match header {
            Some(name) if !name.is_empty() => Ok(Line::Header(name)),
            _ => Err("a section header must look like [name]"),
        };
    }
    match trimmed.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok(Line::Entry(key.trim(), value.trim())),
        _ => Err("expected `key = value`, a [section] header or a # comment"),
    }
}

/// Whether two header names name the same section: `profile  sts` is `profile sts`, as the SDKs
/// split the words.
fn same_name(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

/// The file's lines with their endings, each classified; the first malformed line is an error,
/// and so is what botocore refuses to parse: a section twice, or a key twice in one section.
fn lines(text: &str) -> Result<Vec<(&str, Line<'_>)>, Malformed> {
    let mut out = Vec::new();
    let mut sections: Vec<&str> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line = i + 1;
        let kind = classify(raw).map_err(|reason| Malformed { line, reason })?;
        match kind {
            Line::Header(name) => {
                if sections.contains(&name) {
                    return Err(Malformed {
                        line,
                        reason: "a second section of the same name, which botocore refuses; merge the two",
                    });
                }
                sections.push(name);
                keys.clear();
            }
            Line::Entry(..) | Line::Continuation if sections.is_empty() => {
                return Err(Malformed {
                    line,
                    reason: "a setting before the first [section] header",
                });
            }
            Line::Entry(key, _) => {
                // botocore (configparser) compares keys without case.
                let key = key.to_ascii_lowercase();
                if keys.contains(&key) {
                    return Err(Malformed {
                        line,
                        reason: "a key set twice in one section, which botocore refuses; keep one",
                    });
                }
                keys.push(key);
            }
            _ => {}
        }
        out.push((raw, kind));
    }
    Ok(out)
}

/// Checks that the file parses the way the AWS tools read it.
pub fn check(text: &str) -> Result<(), Malformed> {
    lines(text).map(|_| ())
}

/// The end (exclusive) of the section at `header`: every line up to the next header, but for the
/// blank lines and comments right before that header, which belong to it. A section the lab
/// takes over is the whole section, so no line of a former owner is left inside it.
fn section_end(lines: &[(&str, Line<'_>)], header: usize) -> usize {
    let mut end = header + 1;
    for (i, (raw, kind)) in lines.iter().enumerate().skip(header + 1) {
        match kind {
            Line::Header(_) => break,
            Line::Entry(..) | Line::Continuation => end = i + 1,
            Line::Comment if raw.trim_start().starts_with(NOTE_PREFIX) => end = i + 1,
            _ => {}
        }
    }
    end
}

fn find_header(lines: &[(&str, Line<'_>)], name: &str) -> Option<usize> {
    lines
        .iter()
        .position(|(_, kind)| matches!(kind, Line::Header(h) if same_name(h, name)))
}

fn is_owned(lines: &[(&str, Line<'_>)], header: usize) -> bool {
    lines
        .get(header + 1)
        .is_some_and(|(raw, _)| raw.trim_start().starts_with(MARKER_PREFIX))
}

/// The names of the sections the lab `lab` wrote (its marker names it), in the file's order.
pub fn sections_of_lab(text: &str, lab: &str) -> Result<Vec<String>, Malformed> {
    let lines = lines(text)?;
    let own = format!("(lab {lab})");
    Ok((0..lines.len())
        .filter_map(|i| match lines[i].1 {
            Line::Header(name) if is_owned(&lines, i) && lines[i + 1].0.contains(&own) => Some(name.to_owned()),
            _ => None,
        })
        .collect())
}

/// What the file says of section `name`, if it is there.
pub fn read(text: &str, name: &str) -> Result<Option<SectionView>, Malformed> {
    let lines = lines(text)?;
    let Some(header) = find_header(&lines, name) else {
        return Ok(None);
    };
    let mut view = SectionView {
        owned: is_owned(&lines, header),
        ..SectionView::default()
    };
    for (raw, kind) in &lines[header + 1..] {
        match kind {
            Line::Header(_) => break,
            Line::Entry(k, v) => view.entries.push(((*k).to_owned(), (*v).to_owned())),
            Line::Comment => {
                let trimmed = raw.trim();
                if let Some(note) = trimmed.strip_prefix(NOTE_PREFIX)
                    && !trimmed.starts_with(MARKER_PREFIX)
                {
                    view.notes.push(note.trim().to_owned());
                }
            }
            _ => {}
        }
    }
    Ok(Some(view))
}

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    Malformed(Malformed),
    /// A section of that name exists and the lab did not write it.
    NotOwned(String),
    /// A value with a line break, which would inject lines into the file.
    BadValue(String),
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EditError::Malformed(m) => write!(f, "line {}: {}", m.line, m.reason),
            EditError::NotOwned(name) => write!(
                f,
                "a section [{name}] exists that sts-lab did not write; rename it, or pass --force to overwrite it"
            ),
            EditError::BadValue(key) => write!(f, "the value of {key} contains a line break"),
        }
    }
}

impl std::error::Error for EditError {}

impl From<Malformed> for EditError {
    fn from(m: Malformed) -> Self {
        EditError::Malformed(m)
    }
}

fn render_block(section: &OwnedSection<'_>, eol: &str, marks: Marks) -> Result<String, EditError> {
    let mut marker = format!(
        "{MARKER_PREFIX} by sts-lab (lab {}); `{}` removes this section",
        section.lab, section.remover
    );
    if marks.no_final_newline {
        marker = format!("{marker} {NO_FINAL_NEWLINE}");
    }
    if marks.created_file {
        marker = format!("{marker} {CREATED_FILE}");
    }
    let mut out = format!("[{}]{eol}{marker}{eol}", section.name);
    for note in &section.notes {
        if note.contains(['\n', '\r']) {
            return Err(EditError::BadValue("a note".to_owned()));
        }
        out.push_str(&format!("{NOTE_PREFIX} {note}{eol}"));
    }
    for (key, value) in &section.entries {
        if value.contains(['\n', '\r']) || key.contains(['\n', '\r', '=']) {
            return Err(EditError::BadValue((*key).to_owned()));
        }
        out.push_str(&format!("{key} = {value}{eol}"));
    }
    Ok(out)
}

/// Writes `section`: replaces the lab's block in place when the lab owns it, appends it otherwise.
/// A section of that name the lab does not own is an error unless `force`.
pub fn upsert(text: &str, section: &OwnedSection<'_>, force: bool) -> Result<String, EditError> {
    upsert_in(text, section, force, true)
}

/// [`upsert`] into a file that `existed` or not (then the lab made it, and removes it emptied).
pub fn upsert_in(text: &str, section: &OwnedSection<'_>, force: bool, existed: bool) -> Result<String, EditError> {
    let lines = lines(text)?;
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    match find_header(&lines, section.name) {
        Some(header) => {
            let owned = is_owned(&lines, header);
            if !owned && !force {
                return Err(EditError::NotOwned(section.name.to_owned()));
            }
            let marks = if owned {
                Marks::of_marker(lines[header + 1].0)
            } else {
                Marks::default()
            };
            let end = section_end(&lines, header);
            let mut out = String::with_capacity(text.len() + 256);
            lines[..header].iter().for_each(|(raw, _)| out.push_str(raw));
            out.push_str(&render_block(section, eol, marks)?);
            lines[end..].iter().for_each(|(raw, _)| out.push_str(raw));
            Ok(out)
        }
        None => {
            let mut out = text.to_owned();
            let mut marks = Marks::of_file(&lines);
            if !text.is_empty() && !text.ends_with('\n') {
                marks.no_final_newline = true;
                out.push_str(eol);
            }
            if text.is_empty() && !existed {
                marks.created_file = true;
            }
            if !text.is_empty() {
                out.push_str(eol);
            }
            out.push_str(&render_block(section, eol, marks)?);
            Ok(out)
        }
    }
}

/// Removes the lab's block of section `name` and the blank line appending put before it.
/// Returns the text unchanged (and `false`) when there is no such section; a section the lab does
/// not own is an error, left as it is.
pub fn remove(text: &str, name: &str) -> Result<(String, bool), EditError> {
    let lines = lines(text)?;
    let Some(header) = find_header(&lines, name) else {
        return Ok((text.to_owned(), false));
    };
    if !is_owned(&lines, header) {
        return Err(EditError::NotOwned(name.to_owned()));
    }
    let no_final_newline = Marks::of_marker(lines[header + 1].0).no_final_newline;
    let end = section_end(&lines, header);
    let start = if header > 0 && lines[header - 1].1 == Line::Blank {
        header - 1
    } else {
        header
    };
    let mut out = String::with_capacity(text.len());
    lines[..start].iter().for_each(|(raw, _)| out.push_str(raw));
    let at_end = end == lines.len();
    lines[end..].iter().for_each(|(raw, _)| out.push_str(raw));
    if no_final_newline && at_end {
        let trimmed = out
            .strip_suffix("\r\n")
            .or_else(|| out.strip_suffix('\n'))
            .map(str::to_owned);
        if let Some(t) = trimmed {
            out = t;
        }
    }
    Ok((out, true))
}

#[cfg(test)]
mod tests;
