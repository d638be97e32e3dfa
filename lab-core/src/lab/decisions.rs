//! What the lab's own documents decide for a request, offline: the caller's policies (a user's,
//! or a role's for its sessions) and, for AssumeRole, the role's trust, read with the admin; the
//! request's context (the endpoint's time, the caller's ARN, name and tags). `verify` predicts its
//! checks with it and `why` explains one request.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::Result;

use super::Lab;
use crate::model::decide::{self, Ask, Caller, Decision, Document, Effect, PolicyKind, Request, Value};
use crate::model::expiry::format_utc;
use crate::ops::account_documents::{AccountDocuments, Principal};
use crate::ops::{bucket_policy, iam, policies};
use crate::output::{Answered, Check};

fn named(kind: PolicyKind, docs: Vec<policies::NamedDocument>) -> impl Iterator<Item = Document> {
    docs.into_iter().map(move |d| Document {
        name: d.name,
        kind,
        json: d.json,
    })
}

impl Lab {
    /// The time the endpoint decides by: the emulator's clock (which a learner may move), else
    /// this machine's.
    pub async fn now(&self) -> Result<i64> {
        self.target.now().await
    }

    /// The account's documents in one reading (the class's, when it shares one); None when the
    /// admin may not read them so.
    pub(crate) async fn account_documents(&self) -> Result<Option<Arc<AccountDocuments>>> {
        match &self.documents {
            Some(shared) => shared.board.get(&self.admin.iam, shared.since).await,
            None => Ok(AccountDocuments::read(&self.admin.iam).await?.map(Arc::new)),
        }
    }

    /// The class's reading of the account's documents, when the lab shares one (None alone: a
    /// lab on its own asks for each thing it needs).
    pub(crate) async fn shared_documents(&self) -> Result<Option<Arc<AccountDocuments>>> {
        match &self.documents {
            Some(_) => self.account_documents().await,
            None => Ok(None),
        }
    }

    /// A user's or a role's documents (its boundary's apart): from the account's reading when
    /// there is one, else read one by one (None: it does not exist).
    async fn principal(
        &self,
        read: Option<&AccountDocuments>,
        caller: &Caller,
    ) -> Result<Option<(Principal, Option<policies::NamedDocument>)>> {
        let iam_client = &self.admin.iam;
        if let Some(read) = read {
            let found = match caller {
                Caller::User(user) => read.user(user),
                Caller::Session { role, .. } => read.role(role),
            };
            let Some(found) = found else { return Ok(None) };
            let mut found = found.clone();
            let (attached, boundary) = tokio::try_join!(
                read.attached_documents(iam_client, &found),
                read.boundary_document(iam_client, &found),
            )?;
            let from_groups = std::mem::take(&mut found.from_groups);
            found.inline.extend(from_groups.into_iter().chain(attached));
            found.attached.clear();
            return Ok(Some((found, boundary)));
        }
        let principal = match caller {
            Caller::User(user) => {
                let (inline, attached, info) = tokio::try_join!(
                    policies::user_inline(iam_client, user),
                    policies::attached(iam_client, Some(user), None),
                    iam::get_user(iam_client, user),
                )?;
                info.map(|info| Principal {
                    arn: info.arn,
                    id: info.id,
                    inline: inline.into_iter().chain(attached).collect(),
                    tags: info.tags,
                    boundary: info.boundary,
                    ..Principal::default()
                })
            }
            Caller::Session { role, .. } => {
                let (inline, attached, tags, boundary) = tokio::try_join!(
                    policies::role_inline(iam_client, role),
                    policies::attached(iam_client, None, Some(role)),
                    policies::role_tags(iam_client, role),
                    iam::role_boundary(iam_client, role),
                )?;
                Some(Principal {
                    inline: inline.into_iter().chain(attached).collect(),
                    tags,
                    boundary,
                    ..Principal::default()
                })
            }
        };
        let Some(principal) = principal else { return Ok(None) };
        let boundary = match &principal.boundary {
            Some(arn) => {
                let name = crate::model::policy::policy_name(arn).to_owned();
                policies::managed_document(iam_client, name, arn).await?
            }
            None => None,
        };
        Ok(Some((principal, boundary)))
    }

    /// A caller's own policies and its part of the request context, read with the admin.
    async fn caller_documents(
        &self,
        read: Option<&AccountDocuments>,
        caller: &Caller,
    ) -> Result<(Vec<Document>, BTreeMap<String, Value>)> {
        let mut context = BTreeMap::new();
        let principal = self.principal(read, caller).await?;
        match caller {
            Caller::User(user) => {
                if let Some((info, _)) = &principal {
                    context.insert("aws:PrincipalArn".to_owned(), Value::One(info.arn.clone()));
                    context.insert("aws:userid".to_owned(), Value::One(info.id.clone()));
                }
                context.insert("aws:username".to_owned(), Value::One(user.clone()));
            }
            Caller::Session { role, .. } => {
                let role_arn = self.iam_arn("role", role);
                context.insert("aws:PrincipalArn".to_owned(), Value::One(role_arn));
            }
        }
        let Some((principal, boundary)) = principal else {
            return Ok((Vec::new(), context));
        };
        for (k, v) in &principal.tags {
            context.insert(format!("aws:PrincipalTag/{k}"), Value::One(v.clone()));
        }
        let documents = named(PolicyKind::Identity, principal.inline)
            .chain(named(PolicyKind::Boundary, boundary.into_iter().collect()))
            .collect();
        Ok((documents, context))
    }

    /// The trust of the role `resource` names, for AssumeRole.
    async fn trust_document(&self, read: Option<&AccountDocuments>, resource: &str) -> Result<Option<Document>> {
        let Some(target) = crate::model::policy::role_name(resource) else {
            return Ok(None);
        };
        let trust = match read {
            Some(read) => read.role(target).and_then(|r| r.trust.clone()),
            None => iam::role_trust(&self.admin.iam, target).await?,
        };
        Ok(trust.map(|json| Document {
            name: format!("the trust of role {target}"),
            kind: PolicyKind::Trust,
            json,
        }))
    }

    /// The ARN a caller makes its requests as.
    pub fn caller_arn(&self, caller: &Caller) -> String {
        match caller {
            Caller::User(user) => format!(
                "arn:{}:iam::{}:user/{user}",
                self.admin_identity.partition(),
                self.account()
            ),
            Caller::Session { session_arn, .. } => session_arn.clone(),
        }
    }

    /// The documents in play for `ask`, and the request as IAM sees it.
    pub async fn request_for(&self, ask: &Ask) -> Result<(Vec<Document>, Request)> {
        Reader::new(self).await?.request_for(ask).await
    }

    /// What the lab's documents decide for `ask`.
    pub async fn predict(&self, ask: &Ask) -> Result<Decision> {
        let (docs, request) = self.request_for(ask).await?;
        decide::decide(&docs, &request)
    }

    /// The documents in play and the request as IAM sees it, for each of `asks`: each caller's
    /// documents, each trust and each bucket's policy read once.
    pub async fn requests_for(&self, asks: &[Ask]) -> Result<Vec<(Vec<Document>, Request)>> {
        let mut reader = Reader::new(self).await?;
        let mut out = Vec::with_capacity(asks.len());
        for ask in asks {
            out.push(reader.request_for(ask).await?);
        }
        Ok(out)
    }

    /// What the lab's documents decide for each of `asks`, each caller's documents read once.
    pub async fn predict_all(&self, asks: &[Ask]) -> Result<Vec<Decision>> {
        let mut reader = Reader::new(self).await?;
        let mut out = Vec::new();
        for ask in asks {
            let (docs, request) = reader.request_for(ask).await?;
            out.push(decide::decide(&docs, &request)?);
        }
        Ok(out)
    }
}

/// Reads the documents of many requests at one time, each caller's and each trust once.
pub(super) struct Reader<'a> {
    lab: &'a Lab,
    now: i64,
    /// The account's documents in one reading, when the admin may read them so.
    read: Option<Arc<AccountDocuments>>,
    callers: HashMap<Caller, (Vec<Document>, BTreeMap<String, Value>)>,
    trusts: HashMap<String, Option<Document>>,
    /// Each bucket's policy, by the bucket's name.
    buckets: HashMap<String, Option<Document>>,
}

impl<'a> Reader<'a> {
    pub(super) async fn new(lab: &'a Lab) -> Result<Self> {
        let (now, read) = tokio::try_join!(lab.now(), lab.account_documents())?;
        Ok(Self {
            lab,
            now,
            read,
            callers: HashMap::new(),
            trusts: HashMap::new(),
            buckets: HashMap::new(),
        })
    }

    pub(super) async fn request_for(&mut self, ask: &Ask) -> Result<(Vec<Document>, Request)> {
        if !self.callers.contains_key(&ask.caller) {
            let docs = self.lab.caller_documents(self.read.as_deref(), &ask.caller).await?;
            self.callers.insert(ask.caller.clone(), docs);
        }
        let (mut docs, mut context) = self.callers.get(&ask.caller).cloned().unwrap_or_default();
        context.insert("aws:CurrentTime".to_owned(), Value::One(format_utc(self.now)));
        context.insert("aws:EpochTime".to_owned(), Value::One(self.now.to_string()));
        // A global key: the SDKs use https on AWS; the emulator is plain http.
        let secure = self.lab.target.endpoint.emulator().is_none();
        context.insert("aws:SecureTransport".to_owned(), Value::One(secure.to_string()));
        context.extend(ask.context.clone());
        docs.extend(ask.session.iter().cloned());
        // The role's trust decides AssumeRole and the two actions that ride on it (IAM User
        // Guide, "Passing session tags in AWS STS", "Monitor and control actions taken with
        // assumed roles": the trust must allow sts:TagSession and sts:SetSourceIdentity too).
        if ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]
            .iter()
            .any(|a| ask.action.eq_ignore_ascii_case(a))
        {
            if !self.trusts.contains_key(&ask.resource) {
                let trust = self.lab.trust_document(self.read.as_deref(), &ask.resource).await?;
                self.trusts.insert(ask.resource.clone(), trust);
            }
            docs.extend(self.trusts.get(&ask.resource).cloned().flatten());
        }
        if ask.action.to_ascii_lowercase().starts_with("s3:") {
            self.add_s3(&ask.resource, &mut docs, &mut context).await?;
        }
        let request = Request {
            principal: self.lab.caller_arn(&ask.caller),
            action: ask.action.clone(),
            resource: ask.resource.clone(),
            context,
        };
        Ok((docs, request))
    }
}

impl Reader<'_> {
    /// What S3 adds to a request on `resource`: the bucket's policy (a resource-based policy)
    /// and the account the bucket is in.
    async fn add_s3(
        &mut self,
        resource: &str,
        docs: &mut Vec<Document>,
        context: &mut BTreeMap<String, Value>,
    ) -> Result<()> {
        let Some(bucket) = bucket_policy::bucket_of(resource) else {
            return Ok(());
        };
        context.insert(
            "aws:ResourceAccount".to_owned(),
            Value::One(self.lab.account().to_owned()),
        );
        if !self.buckets.contains_key(bucket) {
            let policy = bucket_policy::get(&self.lab.admin.s3, bucket).await?;
            let document = policy.map(|json| Document {
                name: format!("the bucket policy of {bucket}"),
                kind: PolicyKind::Resource,
                json,
            });
            self.buckets.insert(bucket.to_owned(), document);
        }
        docs.extend(self.buckets.get(bucket).cloned().flatten());
        Ok(())
    }
}

impl Lab {
    /// Gives each check that makes a request what the lab's documents decide for it, and
    /// whether the endpoint answered the same.
    pub async fn judge(&self, checks: &mut [Check]) -> Result<()> {
        let reader = Reader::new(self).await?;
        self.judge_with(&mut { reader }, checks).await;
        Ok(())
    }

    /// [`Lab::judge`] with the documents read already.
    pub(super) async fn judge_with(&self, reader: &mut Reader<'_>, checks: &mut [Check]) {
        let emulator = self.target.endpoint.emulator().is_some();
        for check in checks.iter_mut() {
            let Some(ask) = check.ask.clone() else {
                check.agrees = true;
                continue;
            };
            let predicted = match reader.request_for(&ask).await {
                Ok((docs, request)) => decide::decide(&docs, &request),
                Err(e) => Err(e),
            };
            match predicted {
                Ok(decision) => {
                    let (agrees, disagreement) = agreement(&check.answered, decision.decided_by.effect, emulator);
                    check.decided_by = Some(decision.decided_by);
                    check.why = Some(decision.why);
                    check.agrees = agrees;
                    check.disagreement = disagreement;
                }
                Err(e) => {
                    check.why = Some(format!(
                        "cannot read the lab's documents: {}",
                        crate::aws::error::one_line(&e)
                    ));
                    check.agrees = true;
                }
            }
        }
    }
}

/// Whether `answered` is what `effect` predicts, and if not what that means where the lab runs.
fn agreement(answered: &Answered, effect: Effect, emulator: bool) -> (bool, Option<String>) {
    let allowed = effect == Effect::Allow;
    match answered {
        Answered::Nothing => (true, None),
        Answered::Allowed if allowed => (true, None),
        Answered::Denied(_) if !allowed => (true, None),
        Answered::Failed(what) => (
            false,
            Some(format!("the endpoint answered {what}, not a policy decision")),
        ),
        Answered::Allowed if emulator => (
            false,
            Some("the emulator allowed what AWS's evaluation denies: it does not decide as AWS does".to_owned()),
        ),
        Answered::Allowed => (
            false,
            Some("AWS allowed what the lab's documents deny: a policy the lab does not read allows it".to_owned()),
        ),
        Answered::Denied(message) if emulator => (
            false,
            Some(format!(
                "the emulator denied what AWS's evaluation allows: it does not decide as AWS does (it said: {message})"
            )),
        ),
        Answered::Denied(message) => (
            false,
            Some(format!(
                "AWS denied what the lab's documents allow: a policy the lab does not read decides: a service or resource control policy of an organization (AWS said: {message})"
            )),
        ),
    }
}
