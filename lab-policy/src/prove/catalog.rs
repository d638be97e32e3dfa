//! The catalog of actions a proof ranges over: every action of the services the lab's and a
//! learner's documents name (S3, STS, IAM, CloudFormation, CloudTrail), with its resource types'
//! ARN formats and the condition keys it takes, from AWS's Service Authorization Reference as
//! vendored in `lab-policy/data/iam-catalog.json` (its source and date inside; refreshed by
//! `lab-policy/data/refresh_catalog.py`). Action wildcards expand against it; an action it does not
//! hold is named, never silently matched.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::strings::glob_matches_ci;

/// The vendored catalog, as the refresh script writes it.
#[derive(Debug, Deserialize)]
pub struct Catalog {
    /// Where the data comes from (the Service Authorization Reference, through which package).
    pub source: String,
    /// The day it was refreshed.
    pub date: String,
    pub services: BTreeMap<String, Service>,
}

#[derive(Debug, Deserialize)]
pub struct Service {
    pub name: String,
    /// Each resource type's ARN format (`arn:${Partition}:s3:::${BucketName}`).
    pub resources: BTreeMap<String, String>,
    pub actions: BTreeMap<String, ActionDef>,
}

#[derive(Debug, Deserialize)]
pub struct ActionDef {
    /// The resource types it acts on (none: only `*`).
    pub resources: Vec<String>,
    /// The condition keys it takes (`s3:x-amz-acl`, `aws:RequestTag/${TagKey}` …).
    pub keys: Vec<String>,
}

/// One action of the catalog, by its full name (`s3:CreateBucket`).
#[derive(Debug, Clone)]
pub struct Action {
    pub service: &'static str,
    pub name: &'static str,
    pub def: &'static ActionDef,
    pub formats: &'static BTreeMap<String, String>,
    full: String,
}

impl Action {
    pub fn full(&self) -> &str {
        &self.full
    }

    /// The ARN formats of its resource types (empty: the action takes only `*`).
    pub fn arn_formats(&self) -> Vec<&'static str> {
        self.def
            .resources
            .iter()
            .filter_map(|t| self.formats.get(t).map(String::as_str))
            .collect()
    }

    /// Whether the action takes the condition key `key` (a `${TagKey}` in the catalog's name
    /// stands for any tag).
    pub fn takes_key(&self, key: &str) -> bool {
        self.def.keys.iter().any(|k| match k.split_once("${") {
            Some((head, _)) => key.len() > head.len() && key[..head.len()].eq_ignore_ascii_case(head),
            None => k.eq_ignore_ascii_case(key),
        })
    }
}

static CATALOG: OnceLock<Option<Catalog>> = OnceLock::new();

/// The vendored catalog (None only if the data file is broken, which a unit test rules out).
pub fn catalog() -> Option<&'static Catalog> {
    CATALOG
        .get_or_init(|| serde_json::from_str(include_str!("../../data/iam-catalog.json")).ok())
        .as_ref()
}

static ACTIONS: OnceLock<Vec<Action>> = OnceLock::new();

/// Every action of the catalog, in order.
pub fn all() -> &'static [Action] {
    ACTIONS.get_or_init(|| {
        let Some(c) = catalog() else { return Vec::new() };
        c.services
            .iter()
            .flat_map(|(prefix, s)| {
                s.actions.iter().map(move |(name, def)| Action {
                    service: prefix.as_str(),
                    name: name.as_str(),
                    def,
                    formats: &s.resources,
                    full: format!("{prefix}:{name}"),
                })
            })
            .collect()
    })
}

/// Whether the catalog holds the service `prefix` (`s3`).
pub fn knows_service(prefix: &str) -> bool {
    catalog().is_some_and(|c| c.services.keys().any(|k| k.eq_ignore_ascii_case(prefix)))
}

/// What is wrong with an action pattern of a document, as Access Analyzer's validate-policy
/// names it: an action no service of the catalog holds, or a service outside the catalog.
pub fn problem(pattern: &str) -> Option<String> {
    if pattern == "*" {
        return None;
    }
    let Some((service, _)) = pattern.split_once(':') else {
        return Some(format!("{pattern:?} is not an action (service:Action)"));
    };
    if !knows_service(service) {
        return Some(format!(
            "{pattern} names service {service}, outside the catalog: requests to it are not proven"
        ));
    }
    let matched = all().iter().any(|a| glob_matches_ci(pattern, a.full()));
    (!matched).then(|| format!("{pattern} matches no action of the catalog: it allows or denies nothing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_catalog_reads_and_knows_the_labs_actions() {
        let c = catalog().expect("the catalog parses");
        assert!(c.source.contains("Service Authorization Reference"));
        let all = all();
        let find = |name: &str| all.iter().find(|a| a.full() == name).cloned();
        let create = find("s3:CreateBucket").expect("s3:CreateBucket");
        assert_eq!(create.arn_formats(), ["arn:${Partition}:s3:::${BucketName}"]);
        assert!(create.takes_key("s3:x-amz-acl") && create.takes_key("aws:RequestTag/team"));
        assert!(!create.takes_key("sts:ExternalId"));
        let assume = find("sts:AssumeRole").expect("sts:AssumeRole");
        assert!(assume.takes_key("sts:ExternalId") && assume.takes_key("sts:SourceIdentity"));
        assert!(find("s3:ListAllMyBuckets").expect("list").arn_formats().is_empty());
        assert!(all.len() > 500, "{}", all.len());
        assert_eq!(problem("s3:Put*"), None);
        assert!(problem("s3:CreateBuckets").is_some_and(|p| p.contains("matches no action")));
        assert!(problem("ec2:RunInstances").is_some_and(|p| p.contains("outside the catalog")));
    }
}
