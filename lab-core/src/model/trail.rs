//! A CloudTrail record as the lab reads it (a typed view of the `CloudTrailEvent` LookupEvents
//! gives), and what the lab makes of it: who made the request (a user, or a role's session with
//! its source identity and tags), what it asked (service:Action on what), whether it was refused,
//! whether it is the lab's, and the request to decide again. Pure.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value as Json;

use super::decide::{Ask, Caller, Value};
use super::expiry::parse_utc;

/// The name the lab's own requests carry in their user agent (`app/sts-lab`, the SDK's app id),
/// which CloudTrail records as `userAgent`: setup's, verify's, the lessons', the challenges' and
/// the page's requests, told apart from the learner's own (the aws CLI's, a program's).
pub const LAB_APP: &str = "sts-lab";

/// [`LAB_APP`] as the SDK takes it.
pub fn lab_app() -> aws_types::app_name::AppName {
    // A constant of the characters an app id allows (letters and `-`): never refused.
    aws_types::app_name::AppName::new(LAB_APP).unwrap_or_else(|_| unreachable!("{LAB_APP} is a valid app id"))
}

/// One CloudTrail record (CloudTrail User Guide, "CloudTrail record contents").
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Record {
    pub event_time: String,
    pub event_source: String,
    pub event_name: String,
    pub aws_region: String,
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub user_identity: Identity,
    pub request_parameters: Option<Json>,
    pub response_elements: Option<Json>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    #[serde(rename = "eventID")]
    pub event_id: String,
    #[serde(rename = "requestID")]
    pub request_id: Option<String>,
    pub read_only: Option<bool>,
}

/// `userIdentity`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Identity {
    #[serde(rename = "type")]
    pub kind: String,
    pub arn: Option<String>,
    pub user_name: Option<String>,
    pub access_key_id: Option<String>,
    pub session_context: Option<SessionContext>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SessionContext {
    pub session_issuer: Option<Issuer>,
    pub attributes: Option<Attributes>,
    pub source_identity: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Issuer {
    pub arn: Option<String>,
    pub user_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Attributes {
    pub creation_date: Option<String>,
    pub mfa_authenticated: Option<String>,
}

/// How a request was refused: by the policies (AccessDenied), or before any policy was read,
/// its credentials not accepted (an ended session, a deleted key). Any other error is of a
/// request IAM allowed (NoSuchEntity, a bucket that exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Policy,
    Credentials,
}

/// What makes a request the lab's: its user, its role (by name), its buckets' prefix, its stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabMarks {
    pub user: String,
    pub role: Option<String>,
    pub bucket_prefix: String,
    pub stack: String,
}

impl Record {
    /// The IAM service prefix of the request (`s3`, `iam`, `sts`, `cloudformation`).
    pub fn service(&self) -> &str {
        self.event_source.split('.').next().unwrap_or_default()
    }

    /// `s3:ListBuckets`: the API operation, as CloudTrail names it.
    pub fn operation(&self) -> String {
        format!("{}:{}", self.service(), self.event_name)
    }

    /// Whether IAM or STS refused the request, and how; None when it was allowed (whatever the
    /// service answered after).
    pub fn refusal(&self) -> Option<Refusal> {
        match self.error_code.as_deref()? {
            "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "Client.UnauthorizedOperation" => {
                Some(Refusal::Policy)
            }
            "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "TokenRefreshRequired"
            | "InvalidToken" => Some(Refusal::Credentials),
            _ => None,
        }
    }

    /// The access key an AssumeRole issued (`responseElements.credentials.accessKeyId`): the
    /// key its session's calls are recorded under.
    pub fn issued_key(&self) -> Option<&str> {
        self.response_elements
            .as_ref()?
            .get("credentials")?
            .get("accessKeyId")?
            .as_str()
    }

    /// The session tags an AssumeRole asked for (`requestParameters.tags`: `[{key, value}]`).
    pub fn session_tags(&self) -> BTreeMap<String, String> {
        let tags = self
            .request_parameters
            .as_ref()
            .and_then(|p| p.get("tags"))
            .and_then(Json::as_array);
        tags.into_iter()
            .flatten()
            .filter_map(|t| Some((t.get("key")?.as_str()?.to_owned(), t.get("value")?.as_str()?.to_owned())))
            .collect()
    }

    /// The IAM role the caller is a session of (its name), if it is one.
    pub fn session_role(&self) -> Option<&str> {
        let issuer = self.user_identity.session_context.as_ref()?.session_issuer.as_ref()?;
        issuer.user_name.as_deref()
    }

    /// `user sts-machine-user`, `session s1 of role R, source identity alice`, or the ARN; with
    /// the session's `tags` (found on the AssumeRole that issued its key), `, tags team=a`.
    pub fn who(&self, tags: &BTreeMap<String, String>) -> String {
        let identity = &self.user_identity;
        let arn = identity.arn.clone().unwrap_or_default();
        match (identity.kind.as_str(), self.session_role()) {
            ("IAMUser", _) => format!("user {}", identity.user_name.clone().unwrap_or(arn)),
            ("AssumedRole", Some(role)) => {
                let session = arn.rsplit('/').next().unwrap_or_default();
                let source = identity
                    .session_context
                    .as_ref()
                    .and_then(|c| c.source_identity.as_deref())
                    .map(|s| format!(", source identity {s}"))
                    .unwrap_or_default();
                let tags = match tags.is_empty() {
                    true => String::new(),
                    false => {
                        let pairs: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        format!(", tags {}", pairs.join(" "))
                    }
                };
                format!("session {session} of role {role}{source}{tags}")
            }
            _ => arn,
        }
    }

    /// A request parameter, by CloudTrail's name (`roleArn`, `bucketName`, `userName` …).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.request_parameters.as_ref()?.get(name)?.as_str()
    }

    /// What the request was on: the resource its error names, else the one its parameters name.
    pub fn resource(&self, partition: &str, account: &str) -> String {
        if let Some(named) = self.error_message.as_deref().and_then(resource_in_message) {
            return named;
        }
        if let Some(role) = self.parameter("roleArn") {
            return role.to_owned();
        }
        if let Some(bucket) = self.parameter("bucketName") {
            return format!("arn:{partition}:s3:::{bucket}");
        }
        if let Some(user) = self.parameter("userName") {
            return format!("arn:{partition}:iam::{account}:user/{user}");
        }
        if let Some(role) = self.parameter("roleName") {
            return format!("arn:{partition}:iam::{account}:role/{role}");
        }
        "*".to_owned()
    }

    /// Whether the lab itself made it (its user agent names [`LAB_APP`]), not the learner.
    pub fn by_sts_lab(&self) -> bool {
        let wanted = format!("app/{LAB_APP}");
        self.user_agent
            .as_deref()
            .is_some_and(|ua| ua.split_whitespace().any(|part| part == wanted))
    }

    /// Whether the lab's own identities made it: its user, or a session of its role.
    pub fn made_by_the_lab(&self, marks: &LabMarks) -> bool {
        let identity = &self.user_identity;
        let by_user = identity.kind == "IAMUser" && identity.user_name.as_deref() == Some(marks.user.as_str());
        let by_role = matches!((self.session_role(), &marks.role), (Some(role), Some(lab_role)) if role == lab_role);
        by_user || by_role
    }

    /// Whether the lab made it or it touched the lab: its user, its role's sessions, or a
    /// request naming its user, role, buckets or stack.
    pub fn is_the_labs(&self, marks: &LabMarks) -> bool {
        if self.made_by_the_lab(marks) {
            return true;
        }
        let names = |key: &str, wanted: &dyn Fn(&str) -> bool| self.parameter(key).is_some_and(wanted);
        names("userName", &|u| u == marks.user)
            || names("roleName", &|r| marks.role.as_deref() == Some(r))
            || names("roleArn", &|r| {
                marks
                    .role
                    .as_deref()
                    .is_some_and(|role| r.ends_with(&format!("/{role}")))
            })
            || names("bucketName", &|b| b.starts_with(&marks.bucket_prefix))
            || names("stackName", &|s| s == marks.stack)
    }

    /// The request to decide again from the documents: the caller, the IAM action the operation
    /// needs, its resource, and the context it carried (its time, MFA, ExternalId, source
    /// identity); None when the caller is neither a user nor a role's session.
    pub fn ask(&self, partition: &str, account: &str) -> Option<Ask> {
        let caller = Caller::of_arn(self.user_identity.arn.as_deref()?)?;
        let action = crate::model::operations::asked(&self.operation()).ok()?.action;
        let mut ask = Ask::new(&caller, &action, self.resource(partition, account));
        let mut context = BTreeMap::new();
        if parse_utc(&self.event_time).is_some() {
            context.insert("aws:CurrentTime".to_owned(), Value::One(self.event_time.clone()));
        }
        let mfa = self
            .user_identity
            .session_context
            .as_ref()
            .and_then(|c| c.attributes.as_ref())
            .and_then(|a| a.mfa_authenticated.clone());
        if let Some(mfa) = mfa {
            context.insert("aws:MultiFactorAuthPresent".to_owned(), Value::One(mfa));
        }
        for (parameter, key) in [
            ("externalId", "sts:ExternalId"),
            ("sourceIdentity", "sts:SourceIdentity"),
            ("roleSessionName", "sts:RoleSessionName"),
        ] {
            if let Some(value) = self.parameter(parameter) {
                context.insert(key.to_owned(), Value::One(value.to_owned()));
            }
        }
        ask.context = context;
        Some(ask)
    }
}

/// The resource an AccessDenied message names (`… on resource: arn:…` or `"arn:…"`).
fn resource_in_message(message: &str) -> Option<String> {
    let (_, rest) = message.split_once(" on resource: ")?;
    let rest = rest.trim_start_matches('"');
    let end = rest.find(['"', ' ']).unwrap_or(rest.len());
    Some(rest[..end].to_owned()).filter(|r| r.starts_with("arn:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> Record {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_refused_listing_is_read_as_its_action_and_caller() {
        let r = record(
            r#"{"eventTime":"2026-12-02T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets",
            "userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/sts-machine-user","userName":"sts-machine-user"},
            "errorCode":"AccessDenied","errorMessage":"User: arn:aws:iam::123456789012:user/sts-machine-user is not authorized to perform: s3:ListAllMyBuckets because no identity-based policy allows the s3:ListAllMyBuckets action",
            "eventID":"e1","requestID":"r1"}"#,
        );
        assert_eq!(r.who(&BTreeMap::new()), "user sts-machine-user");
        assert_eq!(r.refusal(), Some(Refusal::Policy));
        let ask = r.ask("aws", "123456789012").unwrap();
        assert_eq!(
            (ask.action.as_str(), ask.resource.as_str()),
            ("s3:ListAllMyBuckets", "*")
        );
        let marks = LabMarks {
            user: "sts-machine-user".into(),
            role: None,
            bucket_prefix: "sts-lab-default-123456789012-".into(),
            stack: "sts-stack-aws-prep".into(),
        };
        assert!(r.is_the_labs(&marks));
        let quoted = "User: x is not authorized to perform: s3:CreateBucket on resource: \"arn:aws:s3:::b\" because no";
        assert_eq!(resource_in_message(quoted).as_deref(), Some("arn:aws:s3:::b"));
    }

    #[test]
    fn a_session_names_its_role_and_source_identity() {
        let r = record(
            r#"{"eventTime":"2026-12-02T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"CreateBucket",
            "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/lab-role/s1",
              "sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::123456789012:role/lab-role","userName":"lab-role"},
              "attributes":{"mfaAuthenticated":"false"},"sourceIdentity":"alice"}},
            "requestParameters":{"bucketName":"sts-lab-default-123456789012-x"},"eventID":"e2"}"#,
        );
        let tags = BTreeMap::from([("team".to_owned(), "a".to_owned())]);
        assert_eq!(
            r.who(&tags),
            "session s1 of role lab-role, source identity alice, tags team=a"
        );
        assert_eq!(r.refusal(), None);
        let ask = r.ask("aws", "123456789012").unwrap();
        assert_eq!(ask.resource, "arn:aws:s3:::sts-lab-default-123456789012-x");
    }
}
