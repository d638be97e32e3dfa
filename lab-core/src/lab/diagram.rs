//! The lab as a diagram (`status --diagram`): its user, key, role, trust and buckets, and the
//! requests `verify` makes, each decided offline from the lab's documents.

use anyhow::Result;

use super::Lab;
use crate::model::decide::{Ask, Caller};
use crate::model::names::DEFAULT_SESSION_NAME;
use crate::model::secret::mask_key_id;
use crate::output::diagram::{self, Arrow, Nodes};

/// The Mermaid source of the lab as it is now.
pub async fn diagram(lab: &Lab) -> Result<String> {
    let inventory = super::inventory(lab).await?;
    let role_arn = lab.role_arn().await?;
    let role = role_arn.rsplit('/').next().unwrap_or(&role_arn).to_owned();
    let trust = crate::ops::iam::role_trust(&lab.admin.iam, &role)
        .await?
        .unwrap_or_default();
    let trust_sid = serde_json::from_str::<serde_json::Value>(&trust)
        .ok()
        .and_then(|d| d["Statement"][0]["Sid"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "the lab user only".to_owned());
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
    let nodes = Nodes {
        user: lab.names.user.clone(),
        key,
        role: role.clone(),
        trust: trust_sid,
        buckets: lab.bucket_prefix(),
    };
    let session_arn = format!(
        "arn:{}:sts::{}:assumed-role/{role}/{DEFAULT_SESSION_NAME}",
        lab.admin_identity.partition(),
        lab.account()
    );
    let user = Caller::User(lab.names.user.clone());
    let session = Caller::Session { role, session_arn };
    let outside = lab.names.outside_bucket(lab.account());
    let partition = lab.admin_identity.partition();
    let asks: [(Ask, &'static str); 7] = [
        (Ask::new(&user, "sts:AssumeRole", role_arn.as_str()), "role"),
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
    Ok(diagram::mermaid(&nodes, &arrows))
}
