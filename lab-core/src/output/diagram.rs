//! The lab as a Mermaid diagram, which GitHub and editors render: the user and its key, the role
//! and its trust, the lab's buckets, what a lesson added (its name, the trust's conditions, the
//! role's extra policies, a second role, an MFA device), and each request as an arrow marked
//! allowed or denied with what decided it.

use crate::model::decide::{Caller, DecidedBy, Effect};

/// One request of the diagram: who, what, on which node, and what decided it.
#[derive(Debug, Clone)]
pub struct Arrow {
    pub from: Caller,
    pub action: String,
    /// The node it goes to: `role`, `chained`, `buckets`, `outside`, `s3`, `iam`.
    pub to: &'static str,
    pub decided_by: DecidedBy,
}

/// The nodes' labels.
#[derive(Debug, Clone)]
pub struct Nodes {
    pub user: String,
    pub key: String,
    pub role: String,
    pub trust: String,
    /// The trust's conditions, `Operator key` each (`StringEquals sts:ExternalId`).
    pub trust_conditions: Vec<String>,
    pub buckets: String,
    /// The lesson applied, if any.
    pub lesson: Option<String>,
    /// The role's inline policies beyond the stack's own.
    pub role_policies: Vec<String>,
    /// The lessons' second role, if it exists.
    pub chained: Option<String>,
    /// The user's MFA device, if any.
    pub mfa: Option<String>,
}

/// Text Mermaid shows as is inside a quoted label.
fn label(text: &str) -> String {
    text.replace('"', "#quot;").replace('<', "#lt;").replace('>', "#gt;")
}

fn node_of(caller: &Caller) -> &'static str {
    match caller {
        Caller::User(_) => "user",
        Caller::Session { role, .. } if role.ends_with("-chained") => "chained",
        Caller::Session { .. } => "session",
    }
}

/// The diagram's Mermaid source (a fenced block).
pub fn mermaid(nodes: &Nodes, arrows: &[Arrow]) -> String {
    let mut role = format!("role {}<br/>trust: {}", nodes.role, nodes.trust);
    if !nodes.trust_conditions.is_empty() {
        role.push_str(&format!("<br/>when: {}", nodes.trust_conditions.join(", ")));
    }
    if !nodes.role_policies.is_empty() {
        role.push_str(&format!("<br/>also: {}", nodes.role_policies.join(", ")));
    }
    let mut out = vec![
        "```mermaid".to_owned(),
        "flowchart LR".to_owned(),
        format!("  user[\"IAM user {}<br/>{}\"]", label(&nodes.user), label(&nodes.key)),
        format!("  role[\"{}\"]", label(&role)),
        format!("  session([\"session of {}<br/>profile assumed\"])", label(&nodes.role)),
        format!("  buckets[(\"buckets {}*\")]", label(&nodes.buckets)),
        "  outside[(\"any other bucket\")]".to_owned(),
        "  s3{{\"S3: list all buckets\"}}".to_owned(),
        "  iam{{\"IAM\"}}".to_owned(),
        "  role --> session".to_owned(),
    ];
    if let Some(lesson) = &nodes.lesson {
        out.push(format!("  lesson>\"lesson {} applied\"]", label(lesson)));
        out.push("  lesson -.- role".to_owned());
    }
    if let Some(chained) = &nodes.chained {
        out.push(format!("  chained[\"role {} (a lesson's)\"]", label(chained)));
    }
    if let Some(mfa) = &nodes.mfa {
        out.push(format!("  mfa([\"MFA device {}\"])", label(mfa)));
        out.push("  mfa --- user".to_owned());
    }
    for arrow in arrows {
        let (verdict, line) = match arrow.decided_by.effect {
            Effect::Allow => ("allowed", "-->"),
            Effect::ExplicitDeny | Effect::ImplicitDeny => ("denied", "-.->"),
        };
        let by = match (&arrow.decided_by.statement, &arrow.decided_by.effect) {
            (Some(sid), Effect::Allow) => format!("Allow by {sid}"),
            (Some(sid), _) => format!("explicit deny by {sid}"),
            (None, Effect::Allow) => "always allowed".to_owned(),
            (None, _) => "implicit deny".to_owned(),
        };
        let text = label(&format!("{} · {verdict} · {by}", arrow.action));
        let from = node_of(&arrow.from);
        match line {
            "-->" => out.push(format!("  {from} -- \"{text}\" --> {}", arrow.to)),
            _ => out.push(format!("  {from} -. \"{text}\" .-> {}", arrow.to)),
        }
    }
    out.push("```".to_owned());
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrows_say_allowed_or_denied_and_why_and_labels_are_safe() {
        let nodes = Nodes {
            user: "u".into(),
            key: "key AKIA…ABCD (profile sts)".into(),
            role: "r".into(),
            trust: "TrustTheLabUserOnly".into(),
            trust_conditions: vec!["StringEquals sts:ExternalId".into()],
            buckets: "p-".into(),
            lesson: Some("external-id".into()),
            role_policies: vec![],
            chained: None,
            mfa: None,
        };
        let allow = DecidedBy {
            effect: Effect::Allow,
            policy: Some("StsAssumePolicy".into()),
            statement: Some("AssumeTheLabRoleOnly".into()),
        };
        let deny = DecidedBy {
            effect: Effect::ImplicitDeny,
            policy: None,
            statement: None,
        };
        let arrows = [
            Arrow {
                from: Caller::User("u".into()),
                action: "sts:AssumeRole".into(),
                to: "role",
                decided_by: allow,
            },
            Arrow {
                from: Caller::User("u".into()),
                action: "s3:ListAllMyBuckets \"x\"".into(),
                to: "s3",
                decided_by: deny,
            },
        ];
        let text = mermaid(&nodes, &arrows);
        assert!(text.starts_with("```mermaid\nflowchart LR"), "{text}");
        assert!(
            text.contains("user -- \"sts:AssumeRole · allowed · Allow by AssumeTheLabRoleOnly\" --> role"),
            "{text}"
        );
        assert!(
            text.contains("user -. \"s3:ListAllMyBuckets #quot;x#quot; · denied · implicit deny\" .-> s3"),
            "{text}"
        );
        assert!(text.contains("when: StringEquals sts:ExternalId"), "{text}");
        assert!(text.contains("lesson external-id applied"), "{text}");
        assert!(text.ends_with("```"));
    }
}
