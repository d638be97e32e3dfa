//! The lab as a diagram (`status --diagram`): its user, key, role, trust and buckets, what the
//! lessons added (from the inventory), and the requests `verify` makes, each decided offline from
//! the lab's documents as they are now.

use anyhow::Result;

use super::Lab;
use crate::model::decide::{Ask, Caller};
use crate::model::names::DEFAULT_SESSION_NAME;
use crate::model::secret::mask_key_id;
use crate::output::diagram::{self, Arrow, Nodes};

/// The Mermaid source of the lab as it is now.
pub async fn diagram(lab: &Lab) -> Result<String> {
    let role_arn = lab.role_arn().await?;
    let role = crate::model::policy::role_name(&role_arn)
        .unwrap_or(&role_arn)
        .to_owned();
    let nodes = nodes(lab, &role).await?;
    let chained = nodes.chained.clone();
    arrows(lab, &role_arn, role, chained.as_deref())
        .await
        .map(|arrows| diagram::mermaid(&nodes, &arrows))
}

/// The diagram's nodes: the lab's parts as its inventory finds them, the trust's conditions.
async fn nodes(lab: &Lab, role: &str) -> Result<Nodes> {
    let inventory = super::inventory(lab).await?;
    let trust = match lab.shared_documents().await? {
        Some(read) => read.role(role).and_then(|r| r.trust.clone()),
        None => crate::ops::iam::role_trust(&lab.admin.iam, role).await?,
    }
    .unwrap_or_default();
    let trust_doc = serde_json::from_str::<serde_json::Value>(&trust).unwrap_or_default();
    let trust_sid = trust_doc["Statement"][0]["Sid"]
        .as_str()
        .map_or_else(|| "the lab user only".to_owned(), str::to_owned);
    let key = inventory.access_keys.first().map_or_else(
        || "no access key".to_owned(),
        |k| {
            format!(
                "key {} (profile {})",
                mask_key_id(&k.access_key_id),
                lab.names.user_profile
            )
        },
    );
    let parts = &inventory.lesson;
    Ok(Nodes {
        user: lab.names.user.clone(),
        key,
        role: role.to_owned(),
        trust: trust_sid,
        trust_conditions: condition_keys(&trust_doc),
        buckets: lab.bucket_prefix(),
        lesson: parts.applied.clone(),
        role_policies: parts
            .role_policies
            .iter()
            .filter(|p| p.role == role)
            .map(|p| p.policy.clone())
            .collect(),
        chained: parts.chained_role.clone(),
        mfa: parts.mfa_device.clone(),
    })
}

/// The requests of `verify` (and a chained role's AssumeRole), each decided offline.
async fn arrows(lab: &Lab, role_arn: &str, role: String, chained: Option<&str>) -> Result<Vec<Arrow>> {
    let session_arn = format!(
        "arn:{}:sts::{}:assumed-role/{role}/{DEFAULT_SESSION_NAME}",
        lab.admin_identity.partition(),
        lab.account()
    );
    let user = Caller::User(lab.names.user.clone());
    let session = Caller::Session { role, session_arn };
    let outside = lab.names.outside_bucket(lab.account());
    let partition = lab.admin_identity.partition();
    let mut asks: Vec<(Ask, &'static str)> = vec![
        (Ask::new(&user, "sts:AssumeRole", role_arn), "role"),
        (Ask::new(&user, "s3:ListAllMyBuckets", "*"), "s3"),
        (Ask::new(&user, "iam:ListUsers", "*"), "iam"),
        (
            Ask::new(
                &session,
                "s3:CreateBucket",
                format!("arn:{partition}:s3:::{}verify", lab.bucket_prefix()),
            ),
            "buckets",
        ),
        (Ask::new(&session, "s3:ListAllMyBuckets", "*"), "s3"),
        (
            Ask::new(&session, "s3:CreateBucket", format!("arn:{partition}:s3:::{outside}")),
            "outside",
        ),
        (Ask::new(&session, "iam:ListUsers", "*"), "iam"),
    ];
    if let Some(chained) = chained {
        let arn = lab.iam_arn("role", chained);
        asks.push((Ask::new(&session, "sts:AssumeRole", arn), "chained"));
    }
    let (asks, targets): (Vec<Ask>, Vec<&'static str>) = asks.into_iter().unzip();
    let decisions = lab.predict_all(&asks).await?;
    let arrows: Vec<Arrow> = asks
        .into_iter()
        .zip(targets)
        .zip(decisions)
        .map(|((ask, to), decision)| Arrow {
            from: ask.caller,
            action: ask.action,
            to,
            decided_by: decision.decided_by,
        })
        .collect();
    Ok(arrows)
}

/// `Operator key` of each condition of a trust's statements, but the lab's own expiry (every
/// statement of the lab holds only before it): what a lesson made the trust require.
fn condition_keys(trust: &serde_json::Value) -> Vec<String> {
    let statements = match &trust["Statement"] {
        serde_json::Value::Array(all) => all.clone(),
        one => vec![one.clone()],
    };
    let mut out = Vec::new();
    for statement in &statements {
        let Some(conditions) = statement["Condition"].as_object() else {
            continue;
        };
        for (operator, keys) in conditions {
            for key in keys.as_object().into_iter().flat_map(|k| k.keys()) {
                let item = format!("{operator} {key}");
                if item != "DateLessThan aws:CurrentTime" && !out.contains(&item) {
                    out.push(item);
                }
            }
        }
    }
    out
}
