//! One group of actions decided: its classes of resources, each key's values, and every
//! combination of them held against the goal.

use super::*;

/// The resources of a group: each class with whether each pattern matches it, and its witness.
struct Resources {
    classes: Vec<strings::Class>,
}

impl Resources {
    fn matched(&self, class: usize, pattern: usize) -> bool {
        self.classes[class].matched[pattern]
    }
}

/// Where each statement's resource patterns sit among a group's patterns.
type Slots = Vec<Vec<Option<Vec<Option<usize>>>>>;

impl Subjected<'_> {
    /// The resource classes of a group whose action is `action`, or why they cannot be told.
    fn resources(
        &self,
        action: &Action,
        slots: &mut Slots,
        want_slots: &mut Vec<Option<Vec<Option<usize>>>>,
        on_slots: &mut Vec<Vec<usize>>,
    ) -> Result<Resources, String> {
        let mut patterns: Vec<Pattern> = Vec::new();
        let slot = |p: &Pattern, patterns: &mut Vec<Pattern>| match patterns.iter().position(|q| q == p) {
            Some(i) => i,
            None => {
                patterns.push(p.clone());
                patterns.len() - 1
            }
        };
        let of = |s: &Statement, patterns: &mut Vec<Pattern>| {
            s.resources.as_ref().map(|(list, _)| {
                list.iter()
                    .map(|p| p.as_ref().map(|p| slot(p, patterns)))
                    .collect::<Vec<_>>()
            })
        };
        *slots = self
            .policies
            .iter()
            .map(|p| p.policy.statements.iter().map(|s| of(s, &mut patterns)).collect())
            .collect();
        *want_slots = self.wants.iter().map(|(s, _)| of(s, &mut patterns)).collect();
        *on_slots = self
            .policies
            .iter()
            .map(|p| p.on.iter().flatten().map(|on| slot(on, &mut patterns)).collect())
            .collect();
        let formats = action.arn_formats();
        let universe: Vec<usize> = self
            .q
            .resources
            .iter()
            .filter_map(|r| strings::arn(r))
            .map(|p| slot(&p, &mut patterns))
            .collect();
        if formats.is_empty() {
            if !self.q.resources.is_empty() && !self.q.resources.iter().any(|r| r == "*") {
                return Ok(Resources { classes: Vec::new() });
            }
            let matched = patterns.iter().map(|p| strings::matches(p, NO_RESOURCE)).collect();
            let classes = vec![strings::Class {
                matched,
                witness: "*".to_owned(),
            }];
            return Ok(Resources { classes });
        }
        let format_slots: Vec<usize> = formats
            .iter()
            .map(|f| slot(&strings::arn_format(f, &self.q.partition), &mut patterns))
            .collect();
        // A pattern whose service is not the formats' matches no resource of the group.
        let services: Vec<Option<String>> = format_slots
            .iter()
            .map(|i| strings::service_of(&patterns[*i]))
            .collect();
        let live: Vec<usize> = (0..patterns.len())
            .filter(|i| {
                format_slots.contains(i)
                    || strings::service_of(&patterns[*i])
                        .is_none_or(|s| services.iter().any(|f| f.as_ref().is_none_or(|f| *f == s)))
            })
            .collect();
        let everything = vec![strings::Elem::Many(strings::Chars::Any)];
        let trivial = format_slots.len() == 1
            && live
                .iter()
                .all(|i| format_slots.contains(i) || patterns[*i] == everything);
        let mut classes = if trivial {
            let witness = strings::instance(formats[0], &self.q.partition, &self.q.account);
            let matched = patterns.iter().map(|p| strings::matches(p, &witness)).collect();
            vec![strings::Class { matched, witness }]
        } else {
            let key: Vec<Pattern> = live.iter().map(|i| patterns[*i].clone()).collect();
            let within: Vec<usize> = (0..live.len()).filter(|k| format_slots.contains(&live[*k])).collect();
            let found = self
                .partitions
                .borrow_mut()
                .entry(key.clone())
                .or_insert_with(|| strings::partition(&key.iter().collect::<Vec<_>>(), &within))
                .clone()
                .ok_or_else(|| format!("the resources of {} are too many patterns to tell apart", action.full()))?;
            found
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
                .collect()
        };
        classes.retain(|c| {
            format_slots.iter().any(|i| c.matched[*i])
                && (universe.is_empty() || universe.iter().any(|i| c.matched[*i]))
        });
        Ok(Resources { classes })
    }

    /// The domain of `key` for requests of `action` (a group's first).
    fn domain(&self, key: &str, conds: &[&Cond], action: &Action, s3_resource: bool) -> Result<Domain, String> {
        if let Some(v) = self.fixed.get(key) {
            return Ok(Domain::Fixed(Some(values(v))));
        }
        if s3_resource && key == "aws:resourceaccount" {
            return Ok(Domain::Fixed(Some(vec![self.q.account.clone()])));
        }
        if let Some((_, cap)) = self
            .subject
            .free_dates
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            // The key is always there (a session's issue time): never absent.
            let mut tried = conditions::values_to_try(conds, false, Some(*cap))?;
            tried.retain(Option::is_some);
            return Ok(Domain::Free(tried));
        }
        let caller = describes_caller(key);
        if caller && !self.subject.stand_in {
            return Ok(Domain::Fixed(None));
        }
        if caller || key.starts_with("aws:") || action.takes_key(key) {
            let many = MULTIVALUED.contains(&key) || conds.iter().any(|c| c.set != SetMode::Single);
            return conditions::values_to_try(conds, many, None).map(Domain::Free);
        }
        Ok(Domain::Fixed(None))
    }

    pub(super) fn decide_group(&self, actions: &[&Action], proof: &mut Proof) {
        let action = actions[0];
        let name = action.full().to_owned();
        let (mut slots, mut want_slots, mut on_slots) = (Vec::new(), Vec::new(), Vec::new());
        let resources = match self.resources(action, &mut slots, &mut want_slots, &mut on_slots) {
            Ok(r) => r,
            Err(why) => return proof.outside.push(why),
        };
        let relevant = |s: &Statement| s.never.is_none() && s.action_matches(&name);
        let mut by_key: BTreeMap<String, Vec<&Cond>> = BTreeMap::new();
        for s in self.statements().filter(|s| relevant(s)) {
            for c in &s.conds {
                by_key.entry(c.key.clone()).or_default().push(c);
            }
        }
        let s3_resource = action.service == "s3" && !action.arn_formats().is_empty();
        let mut keys: Vec<(String, String, Domain)> = Vec::new();
        for (key, conds) in &by_key {
            let spelled = conds.first().map_or_else(|| key.clone(), |c| c.name.clone());
            match self.domain(key, conds, action, s3_resource) {
                Ok(d) => keys.push((key.clone(), spelled, d)),
                Err(why) => return proof.outside.push(format!("{name}: {why}")),
            }
        }
        let sizes: Vec<usize> = keys
            .iter()
            .map(|(_, _, d)| match d {
                Domain::Fixed(_) => 1,
                Domain::Free(v) => v.len(),
            })
            .collect();
        let total = sizes.iter().product::<usize>().saturating_mul(resources.classes.len());
        if total > MOST_COMBINATIONS {
            return proof.outside.push(format!(
                "{name}: {total} classes of requests, more than the {MOST_COMBINATIONS} a proof decides"
            ));
        }
        let mut seen = BTreeSet::new();
        for class in 0..resources.classes.len() {
            let mut at = vec![0usize; keys.len()];
            loop {
                proof.classes += 1;
                let context: BTreeMap<&str, Option<&[String]>> = keys
                    .iter()
                    .zip(&at)
                    .map(|((key, _, d), i)| {
                        let v = match d {
                            Domain::Fixed(v) => v.as_deref(),
                            Domain::Free(vs) => vs[*i].as_deref(),
                        };
                        (key.as_str(), v)
                    })
                    .collect();
                let holds = |s: &Statement, res: &Option<Vec<Option<usize>>>| {
                    relevant(s)
                        && resource_holds(s, res, |i| resources.matched(class, i))
                        && s.conds
                            .iter()
                            .all(|c| conditions::holds(c, context.get(c.key.as_str()).copied().flatten()))
                };
                let in_play: Vec<bool> = on_slots
                    .iter()
                    .zip(&self.policies)
                    .map(|(on, p)| p.on.is_none() || on.iter().any(|i| resources.matched(class, *i)))
                    .collect();
                let parts: Vec<Vec<Part>> = self
                    .policies
                    .iter()
                    .enumerate()
                    .map(|(pi, p)| {
                        p.policy
                            .statements
                            .iter()
                            .enumerate()
                            .map(|(si, s)| {
                                let (named, naming) = self.principal[pi][si];
                                Part {
                                    applies: named && holds(s, &slots[pi][si]),
                                    deny: s.deny,
                                    naming,
                                }
                            })
                            .collect()
                    })
                    .collect();
                let views: Vec<(PolicyKind, &[Part])> = self
                    .policies
                    .iter()
                    .zip(&parts)
                    .zip(&in_play)
                    .filter(|(_, play)| **play)
                    .map(|((p, parts), _)| (p.policy.kind, parts.as_slice()))
                    .collect();
                let settled = settle(&views, name.eq_ignore_ascii_case("sts:AssumeRole"));
                let allowed = settled.effect == Effect::Allow;
                let want = |either: bool| {
                    self.wants
                        .iter()
                        .zip(&want_slots)
                        .any(|((s, e), res)| *e == either && holds(s, res))
                };
                let miss = match (want(true), want(false), allowed) {
                    (true, _, _) | (false, true, true) | (false, false, false) => None,
                    (false, true, false) => Some(Miss::TooClosed),
                    (false, false, true) => Some(Miss::TooOpen),
                };
                if let Some(miss) = miss
                    && seen.insert(miss == Miss::TooOpen)
                {
                    let played: Vec<usize> = (0..self.policies.len()).filter(|i| in_play[*i]).collect();
                    let by = settled.by.map(|(i, j)| (played[i], j));
                    proof.misses.push(self.counterexample(
                        miss,
                        actions,
                        &resources.classes[class].witness,
                        &keys,
                        &at,
                        by,
                        &in_play,
                        settled.effect,
                    ));
                }
                if !advance(&mut at, &sizes) {
                    break;
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn counterexample(
        &self,
        miss: Miss,
        actions: &[&Action],
        resource: &str,
        keys: &[(String, String, Domain)],
        at: &[usize],
        by: Option<(usize, usize)>,
        in_play: &[bool],
        effect: Effect,
    ) -> Counterexample {
        let mut context: BTreeMap<String, Value> = self.subject.fixed.clone();
        let mut carried = BTreeMap::new();
        for ((key, spelled, d), i) in keys.iter().zip(at) {
            let v = match d {
                Domain::Fixed(v) => v.clone(),
                Domain::Free(vs) => vs[*i].clone(),
            };
            let Some(v) = v else { continue };
            let v = if v.len() == 1 && !MULTIVALUED.contains(&key.as_str()) {
                Value::One(v[0].clone())
            } else {
                Value::Many(v)
            };
            if matches!(d, Domain::Free(_)) {
                carried.insert(spelled.clone(), v.clone());
            }
            if !context.keys().any(|k| k.eq_ignore_ascii_case(key)) {
                context.insert(spelled.clone(), v);
            }
        }
        let documents = self
            .policies
            .iter()
            .zip(in_play)
            .filter(|(_, play)| **play)
            .map(|(p, _)| p.policy.name.clone())
            .collect::<Vec<_>>();
        let documents = self
            .subject
            .documents
            .iter()
            .chain(self.q.attached.iter().map(|a| &a.document))
            .filter(|d| documents.contains(&d.name))
            .cloned()
            .collect();
        let (policy, statement) = match by {
            Some((i, j)) => {
                let p = &self.policies[i].policy;
                (Some(p.name.clone()), p.statements.get(j).and_then(|s| s.sid.clone()))
            }
            None => (None, None),
        };
        Counterexample {
            miss,
            subject: self.subject.id,
            who: self.subject.label.clone(),
            principal: self.subject.arn.clone(),
            action: actions[0].full().to_owned(),
            alike: actions.iter().skip(1).map(|a| a.full().to_owned()).collect(),
            resource: resource.to_owned(),
            carried,
            context,
            documents,
            effect,
            policy,
            statement,
        }
    }
}

/// Whether a statement's Resource (or NotResource) holds for a class (`matched` by slot).
fn resource_holds(s: &Statement, slots: &Option<Vec<Option<usize>>>, matched: impl Fn(usize) -> bool) -> bool {
    let (Some((_, not)), Some(slots)) = (&s.resources, slots) else {
        return true;
    };
    slots.iter().any(|slot| slot.is_some_and(&matched)) != *not
}

/// The next combination of key values (an odometer); false after the last.
fn advance(at: &mut [usize], sizes: &[usize]) -> bool {
    for (i, size) in at.iter_mut().zip(sizes) {
        *i += 1;
        if *i < *size {
            return true;
        }
        *i = 0;
    }
    false
}
