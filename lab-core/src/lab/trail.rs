//! The lab's trail: its events in CloudTrail (the emulator keeps one; on AWS, LookupEvents), the
//! lab's user's, its role's sessions' and the admin's calls on the lab's resources, oldest first;
//! each refusal decided again from the documents as they are now, with what would change it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use anyhow::Result;

use super::Lab;
use super::advice::{Adviser, GoalsOf};
use super::decisions::Reader;
use crate::aws::target::Clients;
use crate::model::decide::{self, Caller};
use crate::model::expiry::format_utc;
use crate::model::trail::{LabMarks, Record, Refusal};
use crate::ops::cloudtrail::{self, Found};
use crate::output::trail::{Explained, TrailDoc, TrailEvent};

/// The pages of 50 events one reading takes at most (LookupEvents answers two a second).
const MOST_PAGES: usize = 40;

/// What of the trail to show.
#[derive(Debug, Clone, Default)]
pub struct TrailOptions {
    /// How far back (seconds).
    pub since: i64,
    /// Only the requests of this profile's identity (a user, or any session of a role).
    pub as_profile: Option<String>,
    /// Only the refusals.
    pub denied: bool,
    /// The lab's own requests too (its user agent names sts-lab).
    pub all: bool,
}

/// The account's events from `from` to `to` (Unix seconds, the endpoint's clock), newest first,
/// read as `admin`: one reading serves every lab of the account (a class). CloudTrail keeps a
/// region's events in that region, and IAM's (a global service) in the partition's first region
/// only, so a lab outside it is read in both.
pub async fn read_events(admin: &Clients, from: i64, to: i64) -> Result<Found> {
    let trail_here = admin.cloudtrail();
    let here = cloudtrail::lookup(&trail_here, from, to, MOST_PAGES);
    let global = global_region(&admin.region);
    if global == admin.region {
        return here.await;
    }
    let trail_there = admin.in_region(global).cloudtrail();
    let there = cloudtrail::lookup(&trail_there, from, to, MOST_PAGES);
    let (here, there) = tokio::try_join!(here, there)?;
    Ok(merged(here, there))
}

/// Where CloudTrail records a global service's events (IAM's): us-east-1, or the China and
/// GovCloud partitions' own.
fn global_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "cn-north-1"
    } else if region.starts_with("us-gov-") {
        "us-gov-west-1"
    } else {
        "us-east-1"
    }
}

/// Two regions' events as one reading, newest first.
fn merged(here: Found, there: Found) -> Found {
    let mut records = here.records;
    records.extend(there.records);
    // ISO 8601 times of one format sort as text; the sort is stable, so each region's order stays.
    records.sort_by(|a, b| b.event_time.cmp(&a.event_time));
    Found {
        records,
        truncated: here.truncated || there.truncated,
    }
}

/// The lab's trail over the last `options.since` seconds.
pub async fn trail(lab: &Lab, options: &TrailOptions) -> Result<TrailDoc> {
    let to = lab.now().await?;
    let from = to - options.since;
    let found = read_events(&lab.admin, from, to).await?;
    Trail::new(lab, options.clone())
        .await?
        .of(&found, (from, to), &HashSet::new())
        .await
}

/// How often `trail --follow` reads again: the emulator records at once; AWS delivers minutes
/// late and answers LookupEvents twice a second for the whole account.
pub fn follow_interval(lab: &Lab) -> Duration {
    match lab.target.endpoint.emulator() {
        Some(_) => Duration::from_secs(2),
        None => Duration::from_secs(30),
    }
}

/// How far back a `--follow` reads again each time: events arrive late on AWS (about 5 minutes on
/// average, with no bound guaranteed), so a reading keeps the last 20 minutes and shows only the
/// events not shown before.
pub const FOLLOW_OVERLAP: i64 = 20 * 60;

/// The lab's trail as one reader sees it: what marks the lab's events and whose to keep, found
/// once and used for every reading (`--follow`) or for one shared reading (a class).
pub struct Trail<'a> {
    lab: &'a Lab,
    options: TrailOptions,
    marks: LabMarks,
    only: Option<Only>,
    goals: Option<GoalsOf>,
}

impl<'a> Trail<'a> {
    pub async fn new(lab: &'a Lab, options: TrailOptions) -> Result<Self> {
        let role = lab.role_arn().await.ok();
        let marks = LabMarks {
            user: lab.names.user.clone(),
            role: role.and_then(|arn| crate::model::policy::role_name(&arn).map(str::to_owned)),
            bucket_prefix: lab.bucket_prefix(),
            stack: lab.names.stack.clone(),
        };
        let only = match &options.as_profile {
            Some(profile) => Some(identity_of(lab, profile).await?),
            None => None,
        };
        Ok(Self {
            lab,
            options,
            marks,
            only,
            goals: None,
        })
    }

    /// The same trail, its advice reading `goals` too (a challenge's: `challenges::goals`).
    pub fn with_goals(mut self, goals: GoalsOf) -> Self {
        self.goals = Some(goals);
        self
    }

    /// The lab's part of `found` (read from `from` to `to`) but the events in `shown`, oldest
    /// first, each refusal explained.
    pub async fn of(&self, found: &Found, (from, to): (i64, i64), shown: &HashSet<String>) -> Result<TrailDoc> {
        let lab = self.lab;
        // The documents (and the lab's ground for advice) are read once a refusal needs them,
        // not for a trail of allowed calls.
        let mut reader: Option<(Reader<'_>, Adviser)> = None;
        let tags = session_tags(found);
        let mut events = Vec::new();
        for record in found
            .records
            .iter()
            .rev()
            .filter(|r| self.keeps(r) && !shown.contains(&r.event_id))
        {
            let explained = match record.refusal() {
                Some(Refusal::Policy) => {
                    if reader.is_none() {
                        let mut read = Reader::new(lab).await?;
                        let adviser = Adviser::new(lab, &mut read, self.goals).await?;
                        reader = Some((read, adviser));
                    }
                    match reader.as_mut() {
                        Some((reader, adviser)) => Some(explain(lab, reader, adviser, record).await),
                        None => None,
                    }
                }
                Some(Refusal::Credentials) => Some(before_any_policy(record)),
                None => None,
            };
            let no_tags = BTreeMap::new();
            let key = record.user_identity.access_key_id.as_deref().unwrap_or_default();
            let who = record.who(tags.get(key).unwrap_or(&no_tags));
            let mut event = event_of(lab, record, who, explained);
            event.by_the_lab = record.made_by_the_lab(&self.marks);
            event.by_sts_lab = record.by_sts_lab();
            events.push(event);
        }
        Ok(TrailDoc {
            lab: lab.names.lab.clone(),
            source: if lab.target.endpoint.emulator().is_some() {
                "emulator"
            } else {
                "aws"
            },
            from: format_utc(from),
            to: format_utc(to),
            notes: notes(lab, found),
            events,
        })
    }

    fn keeps(&self, record: &Record) -> bool {
        let refused = record.refusal().is_some();
        record.is_the_labs(&self.marks)
            && (self.options.all || !record.by_sts_lab())
            && (refused || !self.options.denied)
            && self.only.as_ref().is_none_or(|only| made_by(record, only))
    }
}

/// The tags of each session, by the access key its AssumeRole issued (the key its calls are
/// recorded under): CloudTrail records them on the AssumeRole only.
fn session_tags(found: &Found) -> HashMap<String, BTreeMap<String, String>> {
    let assumed = found.records.iter().filter(|r| r.event_name == "AssumeRole");
    assumed
        .filter_map(|r| Some((r.issued_key()?.to_owned(), r.session_tags())))
        .filter(|(_, tags)| !tags.is_empty())
        .collect()
}

/// What a reader of the trail should know: late delivery on AWS, data events, pages unread.
fn notes(lab: &Lab, found: &Found) -> Vec<String> {
    let mut notes = Vec::new();
    if lab.target.endpoint.emulator().is_none() {
        notes.push("CloudTrail delivers an event about 5 minutes after the call on average (no bound is guaranteed): the last requests may not be here yet".to_owned());
    }
    notes.push("S3's object calls (ListObjects, GetObject, PutObject) are data events: only a trail that logs data events records them, never LookupEvents".to_owned());
    if found.truncated {
        notes.push(format!(
            "only the newest {} events of the account were read: narrow --since",
            found.records.len()
        ));
    }
    notes
}

/// Whose requests `--as PROFILE` keeps: a user's ARN, or a role (any of its sessions).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Only {
    Arn(String),
    Role(String),
}

async fn identity_of(lab: &Lab, profile: &str) -> Result<Only> {
    let clients = lab.profile(profile).await?;
    let identity = crate::ops::sts::caller_identity(&clients.sts).await?;
    Ok(match Caller::of_arn(&identity.arn) {
        Some(Caller::Session { role, .. }) => Only::Role(role),
        _ => Only::Arn(identity.arn),
    })
}

fn made_by(record: &Record, only: &Only) -> bool {
    match only {
        Only::Arn(arn) => record.user_identity.arn.as_deref() == Some(arn.as_str()),
        Only::Role(role) => record.session_role() == Some(role.as_str()),
    }
}

fn event_of(lab: &Lab, record: &Record, who: String, explained: Option<Explained>) -> TrailEvent {
    TrailEvent {
        time: record.event_time.clone(),
        event_id: record.event_id.clone(),
        request_id: record.request_id.clone(),
        who,
        principal: record.user_identity.arn.clone(),
        by_the_lab: false,
        by_sts_lab: false,
        operation: record.operation(),
        resource: record.resource(lab.admin_identity.partition(), lab.account()),
        allowed: record.refusal().is_none(),
        error_code: record.error_code.clone(),
        error_message: record.error_message.clone(),
        explained,
    }
}

/// A request refused before any policy was read: its credentials were not accepted.
fn before_any_policy(record: &Record) -> Explained {
    let code = record.error_code.as_deref().unwrap_or_default();
    let what = match code {
        "ExpiredToken" | "ExpiredTokenException" | "TokenRefreshRequired" => "its session had ended",
        "InvalidClientTokenId" | "InvalidAccessKeyId" => "its access key does not exist (deleted, or never made here)",
        _ => "its signature did not match its key",
    };
    Explained {
        action: record.operation(),
        decided_by: None,
        why: format!("refused before any policy was read ({code}): {what}"),
        advice: Vec::new(),
    }
}

/// A refusal decided again from the documents as they are now, with what would change it.
async fn explain(lab: &Lab, reader: &mut Reader<'_>, adviser: &Adviser, record: &Record) -> Explained {
    let Some(ask) = record.ask(lab.admin_identity.partition(), lab.account()) else {
        return Explained {
            action: record.operation(),
            decided_by: None,
            why: "no policy of the lab's decides a request of this caller".to_owned(),
            advice: Vec::new(),
        };
    };
    let decided = async {
        let (docs, request) = reader.request_for(&ask).await?;
        let decision = decide::decide(&docs, &request)?;
        let advice = match decision.decided_by.effect {
            decide::Effect::Allow => Vec::new(),
            _ => adviser.advise(lab, reader, &ask, (&docs, &request)).await?,
        };
        anyhow::Ok((decision, advice))
    };
    match decided.await {
        Ok((decision, advice)) => Explained {
            action: ask.action,
            decided_by: Some(decision.decided_by),
            why: decision.why,
            advice,
        },
        Err(e) => Explained {
            action: ask.action,
            decided_by: None,
            why: format!("cannot decide it again: {}", crate::aws::error::one_line(&e)),
            advice: Vec::new(),
        },
    }
}
