//! The classes of resources of one group of actions: the patterns of its statements, of the
//! goal, of the resource policies' attachments and of the universe, intersected with the
//! group's ARN formats and partitioned (`strings::partition`), each class with its witness.

use super::*;

/// Where each of a statement's resource patterns sits among the group's patterns (None: a
/// pattern that matches nothing); None for a statement without Resource (a trust).
pub(super) type Slots = Option<Vec<Option<usize>>>;

/// A group's resources: the classes, and where each statement's patterns sit.
pub(super) struct Resources {
    pub classes: Vec<strings::Class>,
    /// By policy, then statement.
    pub slots: Vec<Vec<Slots>>,
    /// By want of the goal.
    pub want_slots: Vec<Slots>,
    /// Where each policy is attached (none: the subject's own).
    pub on_slots: Vec<Vec<usize>>,
}

impl Resources {
    pub fn matched(&self, class: usize, pattern: usize) -> bool {
        self.classes[class].matched[pattern]
    }
}

/// The patterns of a group, each once.
#[derive(Default)]
struct Patterns(Vec<Pattern>);

impl Patterns {
    fn slot(&mut self, p: &Pattern) -> usize {
        match self.0.iter().position(|q| q == p) {
            Some(i) => i,
            None => {
                self.0.push(p.clone());
                self.0.len() - 1
            }
        }
    }

    fn of(&mut self, s: &Statement) -> Slots {
        s.resources
            .as_ref()
            .map(|(list, _)| list.iter().map(|p| p.as_ref().map(|p| self.slot(p))).collect())
    }
}

impl Subjected<'_> {
    /// The resource classes of a group whose action is `action`, or why they cannot be told.
    pub(super) fn resources(&self, action: &Action) -> Result<Resources, String> {
        let mut patterns = Patterns::default();
        let slots = self
            .policies
            .iter()
            .map(|p| p.policy.statements.iter().map(|s| patterns.of(s)).collect())
            .collect();
        let want_slots = self.wants.iter().map(|(s, _)| patterns.of(s)).collect();
        let on_slots = self
            .policies
            .iter()
            .map(|p| p.on.iter().flatten().map(|on| patterns.slot(on)).collect())
            .collect();
        let universe: Vec<usize> = self
            .q
            .resources
            .iter()
            .filter_map(|r| strings::arn(r))
            .map(|p| patterns.slot(&p))
            .collect();
        let classes = self.classes(action, &mut patterns, &universe)?;
        Ok(Resources {
            classes,
            slots,
            want_slots,
            on_slots,
        })
    }

    /// The classes of the group's resources: for an action without resource types, `*` alone.
    fn classes(
        &self,
        action: &Action,
        patterns: &mut Patterns,
        universe: &[usize],
    ) -> Result<Vec<strings::Class>, String> {
        let formats = action.arn_formats();
        if formats.is_empty() {
            if !self.q.resources.is_empty() && !self.q.resources.iter().any(|r| r == "*") {
                return Ok(Vec::new());
            }
            let matched = patterns.0.iter().map(|p| strings::matches(p, NO_RESOURCE)).collect();
            return Ok(vec![strings::Class {
                matched,
                witness: "*".to_owned(),
            }]);
        }
        let formats_at: Vec<usize> = formats
            .iter()
            .map(|f| patterns.slot(&strings::arn_format(f, &self.q.partition)))
            .collect();
        let mut classes = self.partition(action, &formats, &formats_at, &patterns.0)?;
        classes.retain(|c| {
            formats_at.iter().any(|i| c.matched[*i]) && (universe.is_empty() || universe.iter().any(|i| c.matched[*i]))
        });
        Ok(classes)
    }

    /// The partition of `patterns`, those that can meet a format only (a pattern of another
    /// service matches no resource of the group); one class at once when nothing but a single
    /// format and `*` is left.
    fn partition(
        &self,
        action: &Action,
        formats: &[&str],
        formats_at: &[usize],
        patterns: &[Pattern],
    ) -> Result<Vec<strings::Class>, String> {
        let services: Vec<Option<String>> = formats_at.iter().map(|i| strings::service_of(&patterns[*i])).collect();
        let live: Vec<usize> = (0..patterns.len())
            .filter(|i| {
                formats_at.contains(i)
                    || strings::service_of(&patterns[*i])
                        .is_none_or(|s| services.iter().any(|f| f.as_ref().is_none_or(|f| *f == s)))
            })
            .collect();
        let everything = vec![strings::Elem::Many(strings::Chars::Any)];
        let trivial = formats_at.len() == 1
            && live
                .iter()
                .all(|i| formats_at.contains(i) || patterns[*i] == everything);
        if trivial {
            let witness = strings::instance(formats[0], &self.q.partition, &self.q.account);
            let matched = patterns.iter().map(|p| strings::matches(p, &witness)).collect();
            return Ok(vec![strings::Class { matched, witness }]);
        }
        let key: Vec<Pattern> = live.iter().map(|i| patterns[*i].clone()).collect();
        let within: Vec<usize> = (0..live.len()).filter(|k| formats_at.contains(&live[*k])).collect();
        let found = self
            .partitions
            .borrow_mut()
            .entry(key.clone())
            .or_insert_with(|| strings::partition(&key.iter().collect::<Vec<_>>(), &within))
            .clone()
            .ok_or_else(|| format!("the resources of {} are too many patterns to tell apart", action.full()))?;
        Ok(found
            .into_iter()
            .map(|c| {
                let mut matched = vec![false; patterns.len()];
                for (k, i) in live.iter().enumerate() {
                    matched[*i] = c.matched[k];
                }
                strings::Class {
                    matched,
                    witness: c.witness,
                }
            })
            .collect())
    }
}

/// Whether a statement's Resource (or NotResource) holds for a class (`matched` by slot).
pub(super) fn resource_holds(s: &Statement, slots: &Slots, matched: impl Fn(usize) -> bool) -> bool {
    let (Some((_, not)), Some(slots)) = (&s.resources, slots) else {
        return true;
    };
    slots.iter().any(|slot| slot.is_some_and(&matched)) != *not
}
