//! String patterns as automata, and the partition of all strings they induce: for patterns P1…Pk
//! (globs with `*` and `?`, literals with or without case, ARN formats with their placeholders),
//! every combination of "matches Pi or not" that some string has, with the shortest such string
//! as its witness. It is the product of the patterns' automata explored breadth first (the
//! subset construction done on the fly): a combination no string has is never reached, so a
//! class that is not listed is empty, which is the proof's completeness for strings.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

/// A fast hash for the product's states (words of bits), in place of SipHash: the states are
/// ours, not an attacker's.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type States = HashSet<Vec<u64>, BuildHasherDefault<Fx>>;

/// Which of the kinds of characters a pattern tells apart without naming them `c` is: a colon,
/// a bucket name's, a digit (three bits).
fn kind(c: char) -> usize {
    usize::from(c == ':') | usize::from(Chars::BucketName.contains(c)) << 1 | usize::from(c.is_ascii_digit()) << 2
}

/// The characters named at the positions of `state`: the only ones that can move it apart from
/// any other character of their kind.
fn named_at(patterns: &[&Pattern], offsets: &[usize], state: &[u64], out: &mut Vec<char>) {
    out.clear();
    for (p, o) in patterns.iter().zip(offsets) {
        for (w, word) in state[*o..*o + words(p)].iter().enumerate() {
            let mut bits = *word;
            while bits != 0 {
                let at = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                match p.get(at) {
                    Some(Elem::One(Chars::One(c)) | Elem::Many(Chars::One(c))) => out.push(*c),
                    Some(Elem::One(Chars::Either(c)) | Elem::Many(Chars::Either(c))) => {
                        out.extend([c.to_ascii_lowercase(), c.to_ascii_uppercase()]);
                    }
                    _ => {}
                }
            }
        }
    }
}

/// A set of characters one position of a pattern takes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Chars {
    /// Exactly this character.
    One(char),
    /// This letter in either case.
    Either(char),
    /// Any character.
    Any,
    /// Any character but `:` (a wildcard inside an ARN's first five segments).
    NotColon,
    /// A bucket name's characters: lower-case letters, digits, `.` and `-`.
    BucketName,
    /// A digit (an account id).
    Digit,
}

impl Chars {
    pub fn contains(&self, c: char) -> bool {
        match self {
            Chars::One(x) => *x == c,
            Chars::Either(x) => x.eq_ignore_ascii_case(&c),
            Chars::Any => true,
            Chars::NotColon => c != ':',
            Chars::BucketName => c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-',
            Chars::Digit => c.is_ascii_digit(),
        }
    }
}

/// One position of a pattern: a character of a set, or any run of them (none included).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Elem {
    One(Chars),
    Many(Chars),
}

/// A pattern: a sequence of positions, matched against a whole string.
pub type Pattern = Vec<Elem>;

pub use super::arns::{arn, arn_format, arn_of_pieces, instance, service_of};

/// A literal, exactly (`ci`: in any case).
pub fn literal(text: &str, ci: bool) -> Pattern {
    text.chars()
        .map(|c| match ci && c.is_ascii_alphabetic() {
            true => Elem::One(Chars::Either(c)),
            false => Elem::One(Chars::One(c)),
        })
        .collect()
}

/// A glob (`*` any run, `?` any one character), case-sensitive.
pub fn glob(text: &str) -> Pattern {
    text.chars()
        .map(|c| match c {
            '*' => Elem::Many(Chars::Any),
            '?' => Elem::One(Chars::Any),
            c => Elem::One(Chars::One(c)),
        })
        .collect()
}

/// Whether `text` matches the glob `pattern` in any case (action names): `*` any run, `?` any
/// one character; greedy, backtracking to the last `*`.
pub fn glob_matches_ci(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == b'?' || p[i].eq_ignore_ascii_case(&t[j])) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == b'*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == b'*')
}

/// Whether `text` matches `pattern`.
pub fn matches(pattern: &Pattern, text: &str) -> bool {
    let words = words(pattern);
    let runs = runs(pattern);
    let mut now = vec![0u64; words];
    set(&mut now, 0);
    closure(&runs, &mut now);
    let mut next = vec![0u64; words];
    for c in text.chars() {
        step(pattern, &runs, &now, c, &mut next);
        if next.iter().all(|w| *w == 0) {
            return false;
        }
        std::mem::swap(&mut now, &mut next);
    }
    get(&now, pattern.len())
}

/// How many 64-bit words hold a pattern's positions (0 ..= its length).
fn words(pattern: &Pattern) -> usize {
    pattern.len() / 64 + 1
}

fn set(bits: &mut [u64], i: usize) {
    bits[i / 64] |= 1 << (i % 64);
}

fn get(bits: &[u64], i: usize) -> bool {
    bits[i / 64] & (1 << (i % 64)) != 0
}

/// The positions of a pattern's runs, as bits.
fn runs(pattern: &Pattern) -> Vec<u64> {
    let mut bits = vec![0u64; words(pattern)];
    for (p, elem) in pattern.iter().enumerate() {
        if matches!(elem, Elem::Many(_)) {
            set(&mut bits, p);
        }
    }
    bits
}

/// Adds the positions reachable without reading a character (a run may be empty): each position
/// of a run in `bits` adds the one after it, until nothing changes.
fn closure(runs: &[u64], bits: &mut [u64]) {
    loop {
        let mut changed = false;
        let mut carry = 0u64;
        for (w, run) in bits.iter_mut().zip(runs) {
            let from = *w & run;
            let add = (from << 1) | carry;
            carry = from >> 63;
            if add & !*w != 0 {
                *w |= add;
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}

/// The positions after reading `c` from `from`, into `out`.
fn step(pattern: &Pattern, runs: &[u64], from: &[u64], c: char, out: &mut [u64]) {
    out.iter_mut().for_each(|w| *w = 0);
    for (w, word) in from.iter().enumerate() {
        let mut bits = *word;
        while bits != 0 {
            let p = w * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            match pattern.get(p) {
                Some(Elem::One(chars)) if chars.contains(c) => set(out, p + 1),
                Some(Elem::Many(chars)) if chars.contains(c) => set(out, p),
                _ => {}
            }
        }
    }
    closure(runs, out);
}

/// The characters worth trying: every character a pattern names (both cases of a letter it
/// names in any case), then one of each kind no pattern names, the most readable first.
fn alphabet(patterns: &[&Pattern]) -> Vec<char> {
    let mut named: Vec<char> = Vec::new();
    for elem in patterns.iter().flat_map(|p| p.iter()) {
        let (Elem::One(set) | Elem::Many(set)) = elem;
        match set {
            Chars::One(c) => named.push(*c),
            Chars::Either(c) => named.extend([c.to_ascii_lowercase(), c.to_ascii_uppercase()]),
            _ => {}
        }
    }
    named.push(':');
    named.sort_unstable();
    named.dedup();
    let kinds = [Chars::NotColon, Chars::BucketName, Chars::Digit];
    let mut seen: Vec<Vec<bool>> = Vec::new();
    let mut out = Vec::new();
    for c in "abcdefghijklmnopqrstuvwxyz0123456789-._/ABCDEFGHIJKLMNOPQRSTUVWXYZ~#".chars() {
        if named.contains(&c) {
            continue;
        }
        let kind: Vec<bool> = kinds.iter().map(|k| k.contains(c)).collect();
        if !seen.contains(&kind) {
            seen.push(kind);
            out.push(c);
        }
    }
    // Named characters first (they lead to matches), the others after, in readable order.
    named.sort_by_key(|c| (!c.is_ascii_alphanumeric(), *c));
    named.extend(out);
    named
}

/// One class of the partition: which patterns match (by index), and the shortest string that
/// matches exactly those.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    pub matched: Vec<bool>,
    pub witness: String,
}

/// The product grew past this many states: the patterns are too many or too tangled to prove.
pub const MOST_STATES: usize = 200_000;

/// The product of the patterns' automata: where each pattern's bits sit in a state (offsets),
/// a state's width in words, each pattern's runs, and the state before any character (each
/// pattern at its start, closed over its runs).
fn product(patterns: &[&Pattern]) -> (Vec<usize>, usize, Vec<Vec<u64>>, Vec<u64>) {
    let offsets: Vec<usize> = patterns
        .iter()
        .scan(0, |at, p| {
            let here = *at;
            *at += words(p);
            Some(here)
        })
        .collect();
    let width = offsets.last().zip(patterns.last()).map_or(0, |(o, p)| o + words(p));
    let all_runs: Vec<Vec<u64>> = patterns.iter().map(|p| runs(p)).collect();
    let mut start = vec![0u64; width];
    for ((p, o), r) in patterns.iter().zip(&offsets).zip(&all_runs) {
        let bits = &mut start[*o..*o + words(p)];
        set(bits, 0);
        closure(r, bits);
    }
    (offsets, width, all_runs, start)
}

/// Every class of strings the patterns tell apart, each with its witness; None when the product
/// grows past [`MOST_STATES`]. `within`: when not empty, only strings that match one of these
/// patterns (by index) are of interest: a string that can no longer match any is not extended.
pub fn partition(patterns: &[&Pattern], within: &[usize]) -> Option<Vec<Class>> {
    let sigma = alphabet(patterns);
    let (offsets, width, all_runs, start) = product(patterns);
    let matched_in = |state: &[u64]| -> Vec<bool> {
        patterns
            .iter()
            .zip(&offsets)
            .map(|(p, o)| get(&state[*o..*o + words(p)], p.len()))
            .collect()
    };
    let mut seen = States::default();
    let mut found: HashMap<Vec<bool>, String> = HashMap::new();
    let mut order: Vec<Vec<bool>> = Vec::new();
    let mut queue = VecDeque::from([(start.clone(), String::new())]);
    seen.insert(start);
    let mut next = vec![0u64; width];
    let mut named = Vec::new();
    let alive = |state: &[u64]| {
        within.is_empty()
            || within.iter().any(|i| {
                state[offsets[*i]..offsets[*i] + words(patterns[*i])]
                    .iter()
                    .any(|w| *w != 0)
            })
    };
    while let Some((state, text)) = queue.pop_front() {
        let matched = matched_in(&state);
        if !found.contains_key(&matched) {
            found.insert(matched.clone(), text.clone());
            order.push(matched);
        }
        if !alive(&state) {
            continue;
        }
        // A character no position of the state names moves it as any other of its kind does:
        // one of each kind is tried, and every character named here.
        named_at(patterns, &offsets, &state, &mut named);
        let mut kinds_tried = 0u8;
        for &c in &sigma {
            if !named.contains(&c) {
                let bit = 1u8 << kind(c);
                if kinds_tried & bit != 0 {
                    continue;
                }
                kinds_tried |= bit;
            }
            for ((p, o), r) in patterns.iter().zip(&offsets).zip(&all_runs) {
                let n = words(p);
                step(p, r, &state[*o..*o + n], c, &mut next[*o..*o + n]);
            }
            if seen.contains(&next) {
                continue;
            }
            if seen.len() >= MOST_STATES {
                return None;
            }
            seen.insert(next.clone());
            let mut longer = text.clone();
            longer.push(c);
            queue.push_back((next.clone(), longer));
        }
    }
    Some(
        order
            .into_iter()
            .map(|m| {
                let witness = found.remove(&m).unwrap_or_default();
                Class { matched: m, witness }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_arns_and_formats_match_as_iam_reads_them() {
        assert!(matches(&glob("a*c?"), "abbbcd"));
        assert!(!matches(&glob("a*c?"), "abbbc"));
        assert!(matches(&literal("AbC", true), "aBc") && !matches(&literal("AbC", false), "aBc"));
        let bucket = arn("arn:aws:s3:::lab-*").unwrap();
        assert!(matches(&bucket, "arn:aws:s3:::lab-x/key"));
        let account = arn("arn:aws:iam::*:role/r").unwrap();
        assert!(!matches(&account, "arn:aws:iam::1:2:role/r"));
        assert!(arn("arn:aws:*:::x").is_none() && arn("arn:aws:s3").is_none());
        let format = arn_format("arn:${Partition}:s3:::${BucketName}", "aws");
        assert!(matches(&format, "arn:aws:s3:::my.bucket-1") && !matches(&format, "arn:aws:s3:::a/b"));
        let role = arn_format("arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}", "aws");
        assert!(matches(&role, "arn:aws:iam::123456789012:role/x") && !matches(&role, "arn:aws:iam::12:role/x"));
    }

    #[test]
    fn the_partition_lists_every_class_some_string_has_and_no_other() {
        let (a, b) = (glob("ab*"), glob("*bc"));
        let classes = partition(&[&a, &b], &[]).unwrap();
        let mut kinds: Vec<Vec<bool>> = classes.iter().map(|c| c.matched.clone()).collect();
        kinds.sort();
        assert_eq!(kinds.len(), 4, "{classes:?}");
        for class in &classes {
            assert_eq!(matches(&a, &class.witness), class.matched[0], "{class:?}");
            assert_eq!(matches(&b, &class.witness), class.matched[1], "{class:?}");
        }
        // "x" and "x*" together: nothing matches x and not x*.
        let (x, xs) = (literal("x", false), glob("x*"));
        let classes = partition(&[&x, &xs], &[]).unwrap();
        assert!(!classes.iter().any(|c| c.matched == [true, false]), "{classes:?}");
        assert_eq!(classes.len(), 3);
    }

    #[test]
    fn no_string_falls_outside_the_classes() {
        // Every string of up to five characters over the patterns' letters and a few others
        // matches exactly the patterns of some class.
        let patterns = [
            glob("a*b"),
            glob("?b*"),
            literal("ab", true),
            arn("arn:aws:s3:::a*").unwrap(),
            glob("*:*"),
        ];
        let refs: Vec<&Pattern> = patterns.iter().collect();
        let classes = partition(&refs, &[]).unwrap();
        let letters = ['a', 'b', 'A', 'B', ':', 'x', '1'];
        let mut strings = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = strings
                .iter()
                .filter(|s| s.len() == strings.last().map_or(0, String::len))
                .flat_map(|s| letters.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(longer);
        }
        for text in &strings {
            let matched: Vec<bool> = patterns.iter().map(|p| matches(p, text)).collect();
            assert!(classes.iter().any(|c| c.matched == matched), "{text:?} {matched:?}");
        }
    }
}
