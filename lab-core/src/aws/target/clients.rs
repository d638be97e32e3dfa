//! The four SDK clients of one identity: built from its config with the lab's form encoding,
//! path-style S3 on custom endpoints, patient retries and AWS's request rates for a class, and
//! (tests only) injected faults; the endpoint a service resolves to.

use std::sync::Arc;

use aws_config::{Region, SdkConfig};
use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
use aws_types::service_config::ServiceConfigKey;

#[cfg(feature = "test-util")]
use crate::aws::faults::InjectErrors;
use crate::aws::form_encoding::FormSpacesAsPlus;
use crate::aws::pace::{Pace, ThrottleSignal, paced};

use super::{FALLBACK_REGION, SERVICE_IDS};

/// The four service clients of one identity.
#[derive(Debug, Clone)]
pub struct Clients {
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub s3: aws_sdk_s3::Client,
    pub cfn: aws_sdk_cloudformation::Client,
    pub region: String,
    /// A custom endpoint any of the four services uses, for hints; None: AWS itself.
    pub endpoint_url: Option<String>,
    config: SdkConfig,
    #[cfg(feature = "test-util")]
    faults: Vec<InjectErrors>,
    patient: bool,
    pace: Option<Arc<Pace>>,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Self {
        Self::build(config, false, None)
    }

    /// Clients from `config`; `patient` ones (a class) retry throttling until it passes; with a
    /// `pace`, IAM's and CloudFormation's requests keep to the account's rates.
    pub(super) fn build(config: &SdkConfig, patient: bool, pace: Option<Arc<Pace>>) -> Self {
        let form = FormSpacesAsPlus;
        let mut iam = aws_sdk_iam::config::Builder::from(config).interceptor(form);
        let mut sts = aws_sdk_sts::config::Builder::from(config).interceptor(form);
        let mut cfn = aws_sdk_cloudformation::config::Builder::from(config).interceptor(form);
        // Emulators and S3-compatible endpoints serve buckets by path, not by virtual host.
        let s3_endpoint = service_endpoint(config, "S3");
        let mut s3 = aws_sdk_s3::config::Builder::from(config).force_path_style(s3_endpoint.is_some());
        if patient {
            let partition = patient_partition();
            iam.set_retry_partition(Some(partition.clone()));
            sts.set_retry_partition(Some(partition.clone()));
            cfn.set_retry_partition(Some(partition.clone()));
            s3.set_retry_partition(Some(partition));
        }
        if let (Some(pace), Some(http)) = (&pace, config.http_client()) {
            iam = iam
                .http_client(paced(http.clone(), Arc::clone(&pace.iam)))
                .interceptor(ThrottleSignal(Arc::clone(&pace.iam)));
            cfn = cfn
                .http_client(paced(http, Arc::clone(&pace.cloudformation)))
                .interceptor(ThrottleSignal(Arc::clone(&pace.cloudformation)));
        }
        Self {
            iam: aws_sdk_iam::Client::from_conf(iam.build()),
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            cfn: aws_sdk_cloudformation::Client::from_conf(cfn.build()),
            region: config.region().map_or(FALLBACK_REGION, |r| r.as_ref()).to_owned(),
            endpoint_url: SERVICE_IDS.iter().find_map(|id| service_endpoint(config, id)),
            config: config.clone(),
            #[cfg(feature = "test-util")]
            faults: Vec::new(),
            patient,
            pace,
        }
    }

    /// A CloudTrail client of the same identity (LookupEvents: the lab's trail), as patient and
    /// as paced as the others: a class's readings share LookupEvents' two requests a second.
    pub fn cloudtrail(&self) -> aws_sdk_cloudtrail::Client {
        let mut trail = aws_sdk_cloudtrail::config::Builder::from(&self.config);
        if self.patient {
            trail.set_retry_partition(Some(patient_partition()));
        }
        if let (Some(pace), Some(http)) = (&self.pace, self.config.http_client()) {
            trail = trail
                .http_client(paced(http, Arc::clone(&pace.cloudtrail)))
                .interceptor(ThrottleSignal(Arc::clone(&pace.cloudtrail)));
        }
        aws_sdk_cloudtrail::Client::from_conf(trail.build())
    }

    /// The same identity's clients in `region` (its credentials and their cache are kept).
    #[cfg(not(feature = "test-util"))]
    pub fn in_region(&self, region: &str) -> Self {
        let config = self.config.to_builder().region(Region::new(region.to_owned())).build();
        Self::build(&config, self.patient, self.pace.clone())
    }

    /// The same identity's clients in `region`, with the same injected faults.
    #[cfg(feature = "test-util")]
    pub fn in_region(&self, region: &str) -> Self {
        let config = self.config.to_builder().region(Region::new(region.to_owned())).build();
        Self::build(&config, self.patient, self.pace.clone()).with_faults(&self.faults)
    }

    /// These clients, with every call also passing through `faults` (tests only).
    #[cfg(feature = "test-util")]
    pub(super) fn with_faults(mut self, faults: &[InjectErrors]) -> Self {
        for fault in faults {
            let iam = self.iam.config().to_builder().interceptor(fault.clone());
            self.iam = aws_sdk_iam::Client::from_conf(iam.build());
            let sts = self.sts.config().to_builder().interceptor(fault.clone());
            self.sts = aws_sdk_sts::Client::from_conf(sts.build());
            let cfn = self.cfn.config().to_builder().interceptor(fault.clone());
            self.cfn = aws_sdk_cloudformation::Client::from_conf(cfn.build());
            let s3 = self.s3.config().to_builder().interceptor(fault.clone());
            self.s3 = aws_sdk_s3::Client::from_conf(s3.build());
        }
        self.faults = faults.to_vec();
        self
    }
}

/// A patient client's retry partition (a class): its token bucket never runs out. The standard
/// one stops retrying once a burst of throttling has spent it, and a class must be slowed by
/// throttling, never failed.
fn patient_partition() -> RetryPartition {
    RetryPartition::custom("sts-lab-patient")
        .token_bucket(TokenBucket::unlimited())
        .build()
}

/// The endpoint the SDK resolves for `service_id`, when it is not AWS's own: one set in code,
/// else `AWS_ENDPOINT_URL_<SERVICE>` or the profile's `services` section, else `AWS_ENDPOINT_URL`
/// or the profile's `endpoint_url` (the order of the SDK's service config builders).
pub fn service_endpoint(config: &SdkConfig, service_id: &str) -> Option<String> {
    if config.get_origin("endpoint_url").is_client_config() {
        return config.endpoint_url().map(str::to_owned);
    }
    let key = ServiceConfigKey::builder()
        .service_id(service_id)
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok()?;
    config
        .service_config()
        .and_then(|c| c.load_config(key))
        .or_else(|| config.endpoint_url().map(str::to_owned))
}
