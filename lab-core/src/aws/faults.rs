//! Fault injection for tests and drills: answer the first N calls of one operation with a service
//! error, as AWS does while IAM changes propagate. The emulator is consistent at once, so this is
//! how the retries are proven against it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;

/// Replaces the responses of the first `count` calls of `operation`.
#[derive(Debug, Clone)]
pub struct InjectErrors {
    operation: &'static str,
    status: u16,
    body: String,
    remaining: Arc<AtomicU32>,
}

impl InjectErrors {
    /// Answers with the service error `code` (HTTP 403).
    pub fn new(operation: &'static str, code: &'static str, count: u32) -> Self {
        // The awsQuery error shape (IAM, STS, CloudFormation); an S3 client finds <Error> inside
        // <ErrorResponse> as well.
        let body = format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected {code}</Message></Error><RequestId>injected</RequestId></ErrorResponse>"
        );
        Self::reply(operation, 403, body, count)
    }

    /// Answers with `status` and `body`, e.g. a stack in a state the emulator never reaches.
    pub fn reply(operation: &'static str, status: u16, body: String, count: u32) -> Self {
        Self {
            operation,
            status,
            body,
            remaining: Arc::new(AtomicU32::new(count)),
        }
    }

    /// How many injections are left.
    pub fn remaining(&self) -> u32 {
        self.remaining.load(Ordering::SeqCst)
    }
}

impl Intercept for InjectErrors {
    fn name(&self) -> &'static str {
        "InjectErrors"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Metadata>().map(|m| m.name()) != Some(self.operation) {
            return Ok(());
        }
        let taken = self
            .remaining
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if taken {
            let mut response = HttpResponse::new(StatusCode::try_from(self.status)?, SdkBody::from(self.body.clone()));
            response.headers_mut().insert("content-type", "text/xml");
            *context.response_mut() = response;
        }
        Ok(())
    }
}
