//! AWS errors that keep the service's error code, so callers can tell AccessDenied from a typo.

use std::fmt;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;

/// How a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The service answered with an error code.
    Service,
    /// The request never got an answer: endpoint unreachable, DNS, TLS, no credentials.
    Dispatch,
    /// The call timed out.
    Timeout,
    /// Anything else (a response that could not be parsed, a request that could not be built).
    Other,
}

/// One failed AWS call: the operation, the service's error code and its message.
#[derive(Debug, Clone)]
pub struct AwsError {
    pub operation: &'static str,
    pub kind: FailureKind,
    pub code: Option<String>,
    pub message: String,
}

impl AwsError {
    pub fn from_sdk<E>(operation: &'static str, err: SdkError<E, Response>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let kind = match &err {
            SdkError::ServiceError(_) => FailureKind::Service,
            SdkError::DispatchFailure(_) => FailureKind::Dispatch,
            SdkError::TimeoutError(_) => FailureKind::Timeout,
            _ => FailureKind::Other,
        };
        let mut code = err.code().map(str::to_owned);
        let mut message = err.message().map(str::to_owned);
        if kind == FailureKind::Service && code.is_none() {
            // An error body of a shape the SDK does not expect (some emulators answer auth errors
            // that way): read its <Code> and <Message>, rather than dump the raw response.
            if let Some(raw) = err.raw_response() {
                let body = body_text(raw).unwrap_or_default();
                code = xml_text(&body, "Code");
                message = xml_text(&body, "Message").or_else(|| Some(format!("HTTP {}", raw.status().as_u16())));
            }
        }
        let message = match (kind, message) {
            (FailureKind::Service, Some(m)) => m,
            _ => chain_text(&err),
        };
        Self {
            operation,
            kind,
            code,
            message,
        }
    }

    /// Whether the call was refused for lack of permission.
    pub fn is_access_denied(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "AuthorizationError")
        )
    }
}

/// An error and its sources as one line, `outer: inner: innermost`, each message once (the SDK's
/// own formatter appends Debug output, too long for a one-line error).
pub fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// A raw response's body as text (an error's, which the SDK could not read).
pub fn body_text(raw: &Response) -> Option<String> {
    raw.body().bytes().map(|b| String::from_utf8_lossy(b).into_owned())
}

/// The text of the first `<tag>` element in `xml`, trimmed (None when absent or empty): the one
/// reader of an AWS error body the SDK does not parse.
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let len = xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..start + len].trim().to_owned()).filter(|t| !t.is_empty())
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} failed: {code}: {}", self.operation, self.message),
            None => write!(f, "{} failed: {}", self.operation, self.message),
        }
    }
}

impl std::error::Error for AwsError {}

/// `map_err` adapter: `.map_err(aws("CreateUser"))?`.
pub fn aws<E>(operation: &'static str) -> impl FnOnce(SdkError<E, Response>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |err| anyhow::Error::new(AwsError::from_sdk(operation, err))
}

/// What to do about an error. Added as the outermost context, [`one_line`] prints it last, so
/// that an error ends with what to do.
#[derive(Debug, Clone)]
pub struct Hint(pub String);

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Wraps `err` with a hint of what to do.
pub fn hint(err: anyhow::Error, what_to_do: impl Into<String>) -> anyhow::Error {
    err.context(Hint(what_to_do.into()))
}

/// The error on one line: its messages joined by `: `, outermost first (what failed), then the
/// outermost hint, once, last (what to do): a hint deeper in the chain, under a context added
/// after it ("setup failed"), still comes last and only there.
pub fn one_line(err: &anyhow::Error) -> String {
    // anyhow finds a context of a type at any depth of the chain: the outermost hint.
    let hint = err.downcast_ref::<Hint>().map(|h| h.0.as_str());
    let messages: Vec<String> = err
        .chain()
        .map(|e| e.to_string())
        .filter(|m| Some(m.as_str()) != hint)
        .collect();
    match (messages.is_empty(), hint) {
        (true, Some(h)) => h.to_owned(),
        (false, Some(h)) => format!("{}; {h}", messages.join(": ")),
        (_, None) => messages.join(": "),
    }
}

/// The [`AwsError`] somewhere in `err`'s chain, if any.
pub fn aws_error(err: &anyhow::Error) -> Option<&AwsError> {
    err.chain().find_map(|e| e.downcast_ref::<AwsError>())
}

/// The AWS error code somewhere in `err`'s chain, if any.
pub fn error_code(err: &anyhow::Error) -> Option<&str> {
    aws_error(err).and_then(|e| e.code.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_comes_last() {
        let err = hint(anyhow::anyhow!("inner").context("middle"), "do this");
        assert_eq!(one_line(&err), "middle: inner; do this");
        assert_eq!(one_line(&anyhow::anyhow!("plain").context("outer")), "outer: plain");
        assert_eq!(one_line(&hint(anyhow::anyhow!("x"), "y")), "x; y");
    }

    #[test]
    fn a_context_after_a_hint_leads_and_the_hint_is_said_once() {
        // demo: retries ran out (the hint: what to do), then "setup failed" added around it.
        let inner = hint(
            anyhow::anyhow!("AssumeRole failed: AccessDenied"),
            "wait a minute and run again",
        );
        let err = inner.context("setup failed");
        assert_eq!(
            one_line(&err),
            "setup failed: AssumeRole failed: AccessDenied; wait a minute and run again"
        );
    }

    #[test]
    fn chains_print_each_message_once() {
        let inner = std::io::Error::other("connection refused");
        assert_eq!(chain_text(&inner), "connection refused");
    }
}
