//! The conditions a change's added statement carries: those its policy already holds on every
//! Allow (a trust's `sts:ExternalId`, a role policy's expiry), and the lab's expiry, which every
//! Allow the lab writes carries; kept only when the request still gets through with them. Pure.

use serde_json::{Map, Value as Json};

use crate::model::decide::fix::{self, Fix, How};
use crate::model::decide::{Document, Effect, Request, decide};

/// `steps` with each added statement carrying the lab's `expiry` and, with `shared`, the
/// conditions every Allow of its policy holds.
pub fn narrowed(documents: &[Document], steps: &[Fix], expiry: Option<&Json>, shared: bool) -> Vec<Fix> {
    steps
        .iter()
        .map(|step| {
            let mut condition = Map::new();
            if shared && matches!(step.how, How::AddStatement { .. }) {
                let policy = documents
                    .iter()
                    .find(|d| Some(&d.name) == step.policy.as_ref() && d.kind == step.kind);
                condition = policy.map(held_by_every_allow).unwrap_or_default();
            }
            merge(&mut condition, expiry);
            match condition.is_empty() {
                true => step.clone(),
                false => step.clone().with_condition(&Json::Object(condition)),
            }
        })
        .collect()
}

/// Whether `steps`, made in order on the documents, let the request through.
pub fn lets_through(documents: &[Document], request: &Request, steps: &[Fix]) -> bool {
    let (mut documents, mut request) = (documents.to_vec(), request.clone());
    for step in steps {
        fix::apply(step, &mut documents, &mut request);
    }
    decide(&documents, &request).is_ok_and(|d| d.decided_by.effect == Effect::Allow)
}

/// The condition entries (operator, key, values) every Allow statement of `document` holds.
fn held_by_every_allow(document: &Document) -> Map<String, Json> {
    let Ok(parsed) = serde_json::from_str::<Json>(&document.json) else {
        return Map::new();
    };
    let statements = match parsed.get("Statement") {
        Some(Json::Array(all)) => all.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    let allows: Vec<&Json> = statements
        .iter()
        .filter(|s| s.get("Effect").and_then(Json::as_str) == Some("Allow"))
        .collect();
    let Some((first, rest)) = allows.split_first() else {
        return Map::new();
    };
    let entries = |s: &Json| -> Vec<(String, String, Json)> {
        let Some(Json::Object(ops)) = s.get("Condition") else {
            return Vec::new();
        };
        ops.iter()
            .filter_map(|(op, keys)| keys.as_object().map(|k| (op, k)))
            .flat_map(|(op, keys)| keys.iter().map(move |(k, v)| (op.clone(), k.clone(), v.clone())))
            .collect()
    };
    let mut out = Map::new();
    for (op, key, value) in entries(first) {
        if rest
            .iter()
            .all(|s| entries(s).contains(&(op.clone(), key.clone(), value.clone())))
        {
            let keys = out.entry(op).or_insert_with(|| Json::Object(Map::new()));
            if let Json::Object(keys) = keys {
                keys.insert(key, value);
            }
        }
    }
    out
}

/// `extra` (`{operator: {key: values}}`) merged into `into`.
fn merge(into: &mut Map<String, Json>, extra: Option<&Json>) {
    let Some(Json::Object(extra)) = extra else { return };
    for (op, keys) in extra {
        let Json::Object(keys) = keys else { continue };
        let slot = into.entry(op.clone()).or_insert_with(|| Json::Object(Map::new()));
        if let Json::Object(slot) = slot {
            slot.extend(keys.clone());
        }
    }
}
