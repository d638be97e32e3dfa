//! One group of actions decided: its classes of resources, each key's values, and every
//! combination of them (a request standing for its class) decided and held against the goal.

use super::resources::{Resources, resource_holds};
use super::*;

/// A key the group's conditions read: lower-cased, as the policy spells it, and its values.
struct Key {
    key: String,
    spelled: String,
    domain: Domain,
}

impl Key {
    fn size(&self) -> usize {
        match &self.domain {
            Domain::Fixed(_) => 1,
            Domain::Free(v) => v.len(),
        }
    }

    fn value(&self, at: usize) -> Option<&[String]> {
        match &self.domain {
            Domain::Fixed(v) => v.as_deref(),
            Domain::Free(vs) => vs[at].as_deref(),
        }
    }
}

/// A group of actions of one subject, ready to be decided.
struct Group<'a> {
    sj: &'a Subjected<'a>,
    actions: &'a [&'a Action],
    name: String,
    resources: Resources,
    keys: Vec<Key>,
}

/// What one request of a group came to: the decision, which policies were in play, and how it
/// misses the goal, if it does.
struct Outcome {
    settled: Settled,
    in_play: Vec<bool>,
    miss: Option<Miss>,
}

impl Subjected<'_> {
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

    /// Every request class of a group decided; one counterexample for each way it misses.
    pub(super) fn decide_group(&self, actions: &[&Action], proof: &mut Proof) {
        let group = match Group::new(self, actions) {
            Ok(g) => g,
            Err(why) => return proof.outside.push(why),
        };
        let sizes: Vec<usize> = group.keys.iter().map(Key::size).collect();
        let mut seen = BTreeSet::new();
        for class in 0..group.resources.classes.len() {
            let mut at = vec![0usize; group.keys.len()];
            loop {
                proof.classes += 1;
                let outcome = group.decide(class, &at);
                if let Some(miss) = outcome.miss
                    && seen.insert(miss == Miss::TooOpen)
                {
                    proof.misses.push(group.counterexample(miss, class, &at, &outcome));
                }
                if !advance(&mut at, &sizes) {
                    break;
                }
            }
        }
    }
}

impl<'a> Group<'a> {
    fn new(sj: &'a Subjected<'a>, actions: &'a [&'a Action]) -> Result<Self, String> {
        let action = actions[0];
        let name = action.full().to_owned();
        let resources = sj.resources(action)?;
        let mut by_key: BTreeMap<String, Vec<&Cond>> = BTreeMap::new();
        for s in sj.statements().filter(|s| s.never.is_none() && s.action_matches(&name)) {
            for c in &s.conds {
                by_key.entry(c.key.clone()).or_default().push(c);
            }
        }
        let s3_resource = action.service == "s3" && !action.arn_formats().is_empty();
        let mut keys = Vec::new();
        for (key, conds) in &by_key {
            let domain = sj
                .domain(key, conds, action, s3_resource)
                .map_err(|why| format!("{name}: {why}"))?;
            keys.push(Key {
                key: key.clone(),
                spelled: conds.first().map_or_else(|| key.clone(), |c| c.name.clone()),
                domain,
            });
        }
        let total = keys
            .iter()
            .map(Key::size)
            .product::<usize>()
            .saturating_mul(resources.classes.len());
        if total > MOST_COMBINATIONS {
            return Err(format!(
                "{name}: {total} classes of requests, more than the {MOST_COMBINATIONS} a proof decides"
            ));
        }
        Ok(Self {
            sj,
            actions,
            name,
            resources,
            keys,
        })
    }

    /// Whether `s` applies to the request of resource class `class` and key values `context`.
    fn holds(&self, s: &Statement, slots: &Slots, class: usize, context: &BTreeMap<&str, Option<&[String]>>) -> bool {
        s.never.is_none()
            && s.action_matches(&self.name)
            && resource_holds(s, slots, |i| self.resources.matched(class, i))
            && s.conds
                .iter()
                .all(|c| conditions::holds(c, context.get(c.key.as_str()).copied().flatten()))
    }

    /// The request of resource class `class` with the key values `at`, decided and held
    /// against the goal.
    fn decide(&self, class: usize, at: &[usize]) -> Outcome {
        let sj = self.sj;
        let context: BTreeMap<&str, Option<&[String]>> = self
            .keys
            .iter()
            .zip(at)
            .map(|(k, i)| (k.key.as_str(), k.value(*i)))
            .collect();
        let in_play: Vec<bool> = self
            .resources
            .on_slots
            .iter()
            .zip(&sj.policies)
            .map(|(on, p)| p.on.is_none() || on.iter().any(|i| self.resources.matched(class, *i)))
            .collect();
        let parts: Vec<Vec<Part>> = sj
            .policies
            .iter()
            .zip(&self.resources.slots)
            .zip(&sj.principal)
            .map(|((p, slots), named)| {
                p.policy
                    .statements
                    .iter()
                    .zip(slots)
                    .zip(named)
                    .map(|((s, slot), (named, naming))| Part {
                        applies: *named && self.holds(s, slot, class, &context),
                        deny: s.deny,
                        naming: *naming,
                    })
                    .collect()
            })
            .collect();
        let views: Vec<(PolicyKind, &[Part])> = sj
            .policies
            .iter()
            .zip(&parts)
            .zip(&in_play)
            .filter(|(_, play)| **play)
            .map(|((p, parts), _)| (p.policy.kind, parts.as_slice()))
            .collect();
        let settled = settle(&views, self.name.eq_ignore_ascii_case("sts:AssumeRole"));
        let want = |either: bool| {
            sj.wants
                .iter()
                .zip(&self.resources.want_slots)
                .any(|((s, e), slot)| *e == either && self.holds(s, slot, class, &context))
        };
        let miss = match (want(true), want(false), settled.effect == Effect::Allow) {
            (true, _, _) | (false, true, true) | (false, false, false) => None,
            (false, true, false) => Some(Miss::TooClosed),
            (false, false, true) => Some(Miss::TooOpen),
        };
        Outcome { settled, in_play, miss }
    }

    /// The request of `class` and `at` as a counterexample: its context, the documents in play,
    /// and the statement that decided it.
    fn counterexample(&self, miss: Miss, class: usize, at: &[usize], outcome: &Outcome) -> Counterexample {
        let sj = self.sj;
        let mut context: BTreeMap<String, Value> = sj.subject.fixed.clone();
        let mut carried = BTreeMap::new();
        let mut without = Vec::new();
        for (k, i) in self.keys.iter().zip(at) {
            let Some(v) = k.value(*i) else {
                if matches!(k.domain, Domain::Free(_)) {
                    without.push(k.spelled.clone());
                }
                continue;
            };
            let v = match v.len() == 1 && !MULTIVALUED.contains(&k.key.as_str()) {
                true => Value::One(v[0].clone()),
                false => Value::Many(v.to_vec()),
            };
            if matches!(k.domain, Domain::Free(_)) {
                carried.insert(k.spelled.clone(), v.clone());
            }
            if !context.keys().any(|c| c.eq_ignore_ascii_case(&k.key)) {
                context.insert(k.spelled.clone(), v);
            }
        }
        let in_play: Vec<&str> = sj
            .policies
            .iter()
            .zip(&outcome.in_play)
            .filter(|(_, play)| **play)
            .map(|(p, _)| p.policy.name.as_str())
            .collect();
        let documents = sj
            .subject
            .documents
            .iter()
            .chain(sj.q.attached.iter().map(|a| &a.document))
            .filter(|d| in_play.contains(&d.name.as_str()))
            .cloned()
            .collect();
        let played: Vec<usize> = (0..sj.policies.len()).filter(|i| outcome.in_play[*i]).collect();
        let by = outcome.settled.by.map(|(i, j)| (&sj.policies[played[i]].policy, j));
        Counterexample {
            miss,
            subject: sj.subject.id,
            who: sj.subject.label.clone(),
            principal: sj.subject.arn.clone(),
            action: self.name.clone(),
            alike: self.actions.iter().skip(1).map(|a| a.full().to_owned()).collect(),
            resource: self.resources.classes[class].witness.clone(),
            carried,
            without,
            context,
            documents,
            effect: outcome.settled.effect,
            policy: by.map(|(p, _)| p.name.clone()),
            statement: by.and_then(|(p, j)| p.statements.get(j).and_then(|s| s.sid.clone())),
        }
    }
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
