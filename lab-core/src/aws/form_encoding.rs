//! Form bodies encoded the way botocore (the aws CLI) encodes them: a space as `+`, not `%20`.
//!
//! Both are valid `application/x-www-form-urlencoded`, and AWS accepts both. But an emulator that
//! checks SigV4 by re-encoding the parsed form with Python's `urlencode` (moto does) computes `+`,
//! so a body with `%20` fails its signature check. Sending what the aws CLI sends keeps one code
//! path for AWS and the emulator alike. It applies to the query-protocol services: IAM, STS and
//! CloudFormation.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;

/// The interceptor; add it to the IAM, STS and CloudFormation clients.
#[derive(Debug, Clone, Copy, Default)]
pub struct FormSpacesAsPlus;

impl Intercept for FormSpacesAsPlus {
    fn name(&self) -> &'static str {
        "FormSpacesAsPlus"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let is_form = request
            .headers()
            .get("content-type")
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        let Some(bytes) = request.body().bytes().filter(|_| is_form) else {
            return Ok(());
        };
        let Some(rewritten) = spaces_as_plus(bytes) else {
            return Ok(());
        };
        let len = rewritten.len();
        *request.body_mut() = SdkBody::from(rewritten);
        request.headers_mut().insert("content-length", len.to_string());
        Ok(())
    }
}

/// The body with every `%20` as `+`; None when there is none. In a percent-encoded body a
/// literal `+` is always `%2B`, so the change cannot be ambiguous.
pub fn spaces_as_plus(body: &[u8]) -> Option<Vec<u8>> {
    let needle = b"%20";
    if !body.windows(3).any(|w| w == needle) {
        return None;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i..].starts_with(needle) {
            out.push(b'+');
            i += 3;
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_become_plus_and_nothing_else_changes() {
        assert_eq!(
            spaces_as_plus(b"Action=X&Doc=a%20b%2Bc%2520").unwrap(),
            b"Action=X&Doc=a+b%2Bc%2520".to_vec()
        );
        assert_eq!(spaces_as_plus(b"Action=X"), None);
    }
}
