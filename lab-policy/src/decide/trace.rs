//! One policy evaluated statement by statement with `iam-rs`: whether each statement applies to
//! the request and why not, and each of its conditions with the request's value and whether it
//! holds.

use anyhow::{Result, anyhow};
use iam_rs::{
    Arn, Context, ContextValue, EvaluationOptions, IAMPolicy, IAMRequest, PolicyEvaluator, Principal, PrincipalId,
};
use serde::Serialize;
use serde_json::{Value as Json, json};

use super::{Document, PolicyKind, Request, Value, reading};

/// The resource of a request for an action without one (`s3:ListAllMyBuckets`): only a
/// statement whose Resource is `*` applies to it, as in AWS.
pub const NO_RESOURCE: &str = "arn:aws:sts-lab-none:::*";

/// iam-rs's reason for a statement whose principal, action and resource match but a condition
/// does not (pinned with iam-rs).
pub const CONDITIONS_NOT_MET: &str = "Conditions not satisfied";

/// The global condition keys whose values are booleans.
const BOOLEAN_KEYS: [&str; 3] = ["aws:MultiFactorAuthPresent", "aws:SecureTransport", "aws:ViaAWSService"];

/// A policy as evaluated for one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyTrace {
    pub name: String,
    pub kind: PolicyKind,
    pub statements: Vec<StatementTrace>,
}

/// One statement as evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatementTrace {
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: String,
    #[serde(skip)]
    pub deny: bool,
    /// Whether it applies: its principal, action, resource and every condition match.
    pub applies: bool,
    /// Why it applies or not, as `iam-rs` says it.
    pub why: String,
    pub conditions: Vec<ConditionTrace>,
    /// The ARNs and accounts its `Principal` names (trust policies).
    #[serde(skip)]
    pub principals: Vec<String>,
}

/// How a resource policy's statement names the caller, from the most direct: AWS's evaluation
/// logic lets a statement naming the caller's own ARN (a user's, a session's) or everyone (`*`)
/// grant by itself; one naming a session's role grant to the role, still limited by the role's
/// permissions boundary and the session's policies; one naming the account delegate to the
/// account, whose principal then needs its own policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Naming {
    Exact,
    Role,
    Account,
}

impl StatementTrace {
    /// How the statement's Principal names `caller`, the most direct way it does (`*` names
    /// everyone as directly as their own ARN; an account id or `:root` names the account).
    pub fn naming(&self, caller: &str) -> Naming {
        let role = session_role(caller);
        self.principals
            .iter()
            .map(|p| {
                if p == caller || p == "*" {
                    Naming::Exact
                } else if role.as_deref() == Some(p.as_str()) {
                    Naming::Role
                } else {
                    Naming::Account
                }
            })
            .min()
            .unwrap_or(Naming::Account)
    }
}

/// One condition of a statement, the request's value for its key, and whether it holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionTrace {
    pub operator: String,
    pub key: String,
    /// The policy's values.
    pub values: Json,
    /// The request's value, if it has the key.
    pub request: Option<Value>,
    pub holds: bool,
}

/// `arn:aws:iam::A:role/R` for the session `arn:aws:sts::A:assumed-role/R/S`.
pub(crate) fn session_role(caller: &str) -> Option<String> {
    let (head, rest) = caller.split_once(":assumed-role/")?;
    let role = rest.split('/').next()?;
    let (partition_etc, account) = head.rsplit_once(':')?;
    let partition = partition_etc.strip_prefix("arn:")?.split(':').next()?;
    Some(format!("arn:{partition}:iam::{account}:role/{role}"))
}

fn iam_request(request: &Request) -> Result<IAMRequest> {
    let resource = if request.resource == "*" {
        NO_RESOURCE
    } else {
        &request.resource
    };
    let resource = Arn::parse(resource).map_err(|e| anyhow!("resource {}: {e}", request.resource))?;
    let mut context = Context::new();
    for (key, value) in &request.context {
        let boolean = BOOLEAN_KEYS.iter().any(|b| b.eq_ignore_ascii_case(key));
        let value = match value {
            // iam-rs compares Bool only with a boolean context value.
            Value::One(v) if boolean && (v == "true" || v == "false") => ContextValue::Boolean(v == "true"),
            Value::One(v) => ContextValue::String(v.clone()),
            Value::Many(v) => ContextValue::StringList(v.clone()),
        };
        context.insert(key.clone(), value);
    }
    let principal = Principal::Aws(PrincipalId::String(request.principal.clone()));
    Ok(IAMRequest::new_with_context(
        principal,
        &request.action,
        resource,
        context,
    ))
}

/// Whether the one-statement policy `statement` applies to `request`, and iam-rs's reason.
fn applies(statement: &Json, request: &IAMRequest) -> Result<(bool, String)> {
    let policy = json!({"Version": "2012-10-17", "Statement": [statement]});
    let policy = IAMPolicy::from_json(&policy.to_string()).map_err(|e| anyhow!("{e}"))?;
    let options = EvaluationOptions {
        stop_on_explicit_deny: false,
        collect_match_details: true,
        ..EvaluationOptions::default()
    };
    let result = PolicyEvaluator::with_policies(vec![policy])
        .with_options(options)
        .evaluate(request)
        .map_err(|e| anyhow!("{e}"))?;
    let detail = result.statement_details.into_iter().next();
    Ok(detail.map_or((false, "not evaluated".to_owned()), |d| {
        (d.conditions_satisfied, d.reason)
    }))
}

/// [`applies`], a condition whose value its operator cannot read (`Bool` of "1", `NumericEquals`
/// of "ten") never holding, as in AWS, rather than failing the whole decision.
fn applies_as_aws(statement: &Json, request: &IAMRequest) -> Result<(bool, String)> {
    let failed = match applies(statement, request) {
        Ok(answer) => return Ok(answer),
        Err(e) => e,
    };
    let Some(Json::Object(block)) = statement.get("Condition") else {
        return Err(failed);
    };
    let mut readable = serde_json::Map::new();
    let mut unreadable = false;
    for (operator, keys) in block {
        let Some(keys) = keys.as_object() else { continue };
        for (key, values) in keys {
            let alone = json!({"Effect": "Allow", "Action": "*", "Resource": "*",
                "Condition": {operator: {key: values}}});
            match applies(&alone, request) {
                Ok(_) => {
                    let slot = readable.entry(operator.clone()).or_insert_with(|| json!({}));
                    slot[key] = values.clone();
                }
                Err(_) => unreadable = true,
            }
        }
    }
    let mut rest = statement.clone();
    rest["Condition"] = Json::Object(readable);
    let (applies_without, why) = applies(&rest, request)?;
    match (unreadable, applies_without) {
        (true, true) => Ok((false, CONDITIONS_NOT_MET.to_owned())),
        _ => Ok((applies_without, why)),
    }
}

/// Each condition of `statement` on its own, as a statement that allows everything under it.
fn conditions(statement: &Json, request: &IAMRequest, context: &Request) -> Result<Vec<ConditionTrace>> {
    let mut out = Vec::new();
    let Some(block) = statement.get("Condition").and_then(Json::as_object) else {
        return Ok(out);
    };
    for (operator, keys) in block {
        let Some(keys) = keys.as_object() else { continue };
        for (key, values) in keys {
            // Read as IAM reads it (None: an IfExists whose key the request lacks, which holds);
            // a value its operator cannot read never holds.
            let holds = match reading::readable(operator, key, values, context) {
                None => true,
                Some((operator, values)) => {
                    let alone = json!({"Effect": "Allow", "Action": "*", "Resource": "*",
                        "Condition": {operator: {key: values}}});
                    applies(&alone, request).is_ok_and(|(holds, _)| holds)
                }
            };
            let found = context
                .context
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone());
            out.push(ConditionTrace {
                operator: operator.clone(),
                key: key.clone(),
                values: values.clone(),
                request: found,
                holds,
            });
        }
    }
    Ok(out)
}

/// The account of an ARN (`arn:aws:iam::123456789012:user/u`).
pub(crate) fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| a.len() == 12)
}

/// Whether a trust's principal is the whole account `account`.
pub(crate) fn names_account(principal: &str, account: &str) -> bool {
    principal == account || (principal.ends_with(":root") && account_of(principal) == Some(account))
}

/// The ARNs and accounts a statement's `Principal.AWS` names (`*` for `"Principal": "*"`).
fn principals(statement: &Json) -> Vec<String> {
    let principal = statement.get("Principal");
    if principal.and_then(Json::as_str) == Some("*") {
        return vec!["*".to_owned()];
    }
    match principal.and_then(|p| p.get("AWS")) {
        Some(Json::String(one)) => vec![one.clone()],
        Some(Json::Array(many)) => many.iter().filter_map(Json::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// A statement with a policy variable the request cannot resolve: it does not apply.
fn unresolved(statement: &Json, value: &str) -> StatementTrace {
    let effect = statement
        .get("Effect")
        .and_then(Json::as_str)
        .unwrap_or("Allow")
        .to_owned();
    StatementTrace {
        sid: statement.get("Sid").and_then(Json::as_str).map(str::to_owned),
        deny: effect == "Deny",
        effect,
        applies: false,
        why: format!(
            "the policy variable of {value:?} cannot be resolved for this request: the statement does not apply"
        ),
        conditions: Vec::new(),
        principals: principals(statement),
    }
}

/// `document` evaluated for `request`, statement by statement.
pub fn evaluate(document: &Document, request: &Request) -> Result<PolicyTrace> {
    let parsed: Json = serde_json::from_str(&document.json).map_err(|e| anyhow!("not JSON: {e}"))?;
    let statements = match parsed.get("Statement") {
        Some(Json::Array(all)) => all.clone(),
        Some(one @ Json::Object(_)) => vec![one.clone()],
        _ => return Err(anyhow!("no Statement")),
    };
    let iam = iam_request(request)?;
    let variables = parsed.get("Version").and_then(Json::as_str) == Some("2012-10-17");
    let context = super::variables::lowered(&request.context);
    let mut out = Vec::new();
    for statement in &statements {
        let mut statement = match variables {
            true => match super::variables::substitute(
                &reading::literal_resources(statement, &context, request, true),
                &context,
            ) {
                Ok(resolved) => resolved,
                Err(value) => {
                    out.push(unresolved(statement, &value));
                    continue;
                }
            },
            false => reading::literal_resources(statement, &context, request, false),
        };
        // A trust policy is the role's own: its statements name no Resource, the role is it.
        let on_resource = matches!(document.kind, PolicyKind::Trust | PolicyKind::Resource);
        if on_resource
            && let Some(fields) = statement.as_object_mut()
            && !fields.contains_key("Resource")
            && !fields.contains_key("NotResource")
        {
            fields.insert("Resource".to_owned(), json!("*"));
        }
        let named = principals(&statement);
        // A resource policy (a trust, a bucket's) that names the caller's account (its id or
        // `:root`) names every principal of the account, whose own policies then decide; iam-rs
        // matches it to the root alone. So does one that names the role of a session calling it
        // (role chaining, a bucket policy granting the role): iam-rs compares the session's ARN
        // with the role's.
        let role = session_role(&request.principal);
        if on_resource
            && let Some(account) = account_of(&request.principal)
            && named
                .iter()
                .any(|p| names_account(p, account) || role.as_deref() == Some(p.as_str()))
            && let Some(fields) = statement.as_object_mut()
        {
            fields.insert("Principal".to_owned(), json!({"AWS": request.principal}));
        }
        let statement = &statement;
        let (applies, why) = applies_as_aws(&reading::for_iam(statement, request), &iam)?;
        // The grammar was checked before (`grammar::check`): every statement has its Effect.
        let effect = statement
            .get("Effect")
            .and_then(Json::as_str)
            .ok_or_else(|| anyhow!("a statement without Effect"))?
            .to_owned();
        out.push(StatementTrace {
            sid: statement.get("Sid").and_then(Json::as_str).map(str::to_owned),
            deny: effect == "Deny",
            effect,
            applies,
            why,
            conditions: conditions(statement, &iam, request)?,
            principals: named,
        });
    }
    Ok(PolicyTrace {
        name: document.name.clone(),
        kind: document.kind,
        statements: out,
    })
}
