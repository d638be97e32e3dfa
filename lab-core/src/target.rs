//! Where the lab runs: the endpoint, region, admin profile and AWS files, and the SDK clients built
//! from them. Without overrides it is the standard AWS environment, as the aws CLI sees it.

use anyhow::{Context, Result, anyhow, bail};
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};

use crate::awsfiles::AwsFiles;
use crate::faults::InjectErrors;
use crate::form_encoding::FormSpacesAsPlus;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;

/// The region used when nothing sets one (IAM and STS are global; S3 needs one).
pub const FALLBACK_REGION: &str = "us-east-1";

/// Where the lab's AWS calls go and which files hold its profiles.
#[derive(Debug, Clone)]
pub struct Target {
    /// A custom endpoint (an emulator); None: AWS_ENDPOINT_URL or AWS itself.
    pub endpoint_url: Option<String>,
    /// None: AWS_REGION, the profile's region, or us-east-1.
    pub region: Option<String>,
    /// The admin's profile; None: AWS_PROFILE or the default credential chain.
    pub admin_profile: Option<String>,
    /// The credentials and config files the lab reads and writes.
    pub files: AwsFiles,
    /// Errors to inject into the calls made with the lab's profiles (tests and drills only).
    pub faults: Vec<InjectErrors>,
    /// Errors to inject into the admin's calls (tests and drills only).
    pub admin_faults: Vec<InjectErrors>,
    /// Allow credentials over plain HTTP to a host that is not on the loopback address.
    pub allow_insecure_endpoint: bool,
}

/// Whether credentials may go to `endpoint`: HTTPS anywhere, plain HTTP only on loopback
/// (127.0.0.0/8, localhost, [::1]), where a local emulator runs.
pub fn endpoint_is_safe(endpoint: &str) -> bool {
    let lower = endpoint.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return true;
    }
    let Some(rest) = lower.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    host == "localhost" || host == "::1" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// The four service clients of one identity.
#[derive(Debug, Clone)]
pub struct Clients {
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub s3: aws_sdk_s3::Client,
    pub cfn: aws_sdk_cloudformation::Client,
    pub region: String,
    pub endpoint_url: Option<String>,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Self {
        Self::with_faults(config, &[])
    }

    /// Clients whose calls also pass through `faults`.
    pub fn with_faults(config: &SdkConfig, faults: &[InjectErrors]) -> Self {
        let form = FormSpacesAsPlus;
        let mut iam = aws_sdk_iam::config::Builder::from(config).interceptor(form);
        let mut sts = aws_sdk_sts::config::Builder::from(config).interceptor(form);
        let mut cfn = aws_sdk_cloudformation::config::Builder::from(config).interceptor(form);
        // Emulators serve buckets by path, not by virtual host.
        let mut s3 = aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some());
        for fault in faults {
            iam.push_interceptor(SharedInterceptor::new(fault.clone()));
            sts.push_interceptor(SharedInterceptor::new(fault.clone()));
            cfn.push_interceptor(SharedInterceptor::new(fault.clone()));
            s3.push_interceptor(SharedInterceptor::new(fault.clone()));
        }
        Self {
            iam: aws_sdk_iam::Client::from_conf(iam.build()),
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            cfn: aws_sdk_cloudformation::Client::from_conf(cfn.build()),
            region: config.region().map_or(FALLBACK_REGION, |r| r.as_ref()).to_owned(),
            endpoint_url: config.endpoint_url().map(str::to_owned),
        }
    }
}

impl Target {
    /// The standard AWS environment, with optional `--profile` and `--region`.
    pub fn from_env(profile: Option<String>, region: Option<String>) -> Result<Self> {
        Ok(Self {
            endpoint_url: None,
            region,
            admin_profile: profile,
            files: AwsFiles::from_env()?,
            faults: Vec::new(),
            admin_faults: Vec::new(),
            allow_insecure_endpoint: false,
        })
    }

    /// The two files for the SDK; one that does not exist counts as empty, as the default
    /// `~/.aws` files do (the SDK refuses a named file that is missing).
    fn profile_files(&self) -> EnvConfigFiles {
        let mut files = EnvConfigFiles::builder();
        for (kind, path) in [
            (EnvConfigFileKind::Config, &self.files.config),
            (EnvConfigFileKind::Credentials, &self.files.credentials),
        ] {
            files = if path.exists() {
                files.with_file(kind, path)
            } else {
                files.with_contents(kind, "")
            };
        }
        files.build()
    }

    fn profile_provider(&self, profile: &str) -> ProfileFileCredentialsProvider {
        ProfileFileCredentialsProvider::builder()
            .profile_files(self.profile_files())
            .profile_name(profile)
            .build()
    }

    async fn load(&self, profile: Option<&str>) -> Result<SdkConfig> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .profile_files(self.profile_files())
            .http_client(crate::http::shared_https_client());
        if let Some(profile) = profile {
            // As `aws --profile`: the profile's credentials, whatever AWS_ACCESS_KEY_ID says.
            loader = loader
                .profile_name(profile)
                .credentials_provider(self.profile_provider(profile));
        }
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &self.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        let config = loader.load().await;
        if let Some(endpoint) = config.endpoint_url()
            && !self.allow_insecure_endpoint
            && !endpoint_is_safe(endpoint)
        {
            bail!(
                "refusing to send credentials over plain HTTP to {endpoint}; use https, an emulator on 127.0.0.1, or pass --allow-insecure-endpoint"
            );
        }
        if config.region().is_some() {
            Ok(config)
        } else {
            Ok(config
                .into_builder()
                .region(Region::from_static(FALLBACK_REGION))
                .build())
        }
    }

    /// Clients of the admin identity, after checking that it has credentials at all.
    pub async fn admin(&self) -> Result<Clients> {
        self.check_files()?;
        let config = self.load(self.admin_profile.as_deref()).await?;
        let provider = config
            .credentials_provider()
            .ok_or_else(|| anyhow!("no credential provider is configured"))?;
        provider.provide_credentials().await.map_err(|e| {
            let which = self.admin_profile.as_deref().map_or_else(
                || "the default chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, ~/.aws)".to_owned(),
                |p| format!("profile {p}"),
            );
            anyhow!(
                "no admin credentials from {which}: {}; run `aws configure` (or `aws sso login`), pass --profile, or use --local for the emulator",
                crate::error::chain_text(&e)
            )
        })?;
        Ok(Clients::with_faults(&config, &self.admin_faults))
    }

    /// Checks that the AWS files parse, naming the line to fix; the SDK's own message does not.
    pub fn check_files(&self) -> Result<()> {
        for path in [&self.files.credentials, &self.files.config] {
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
            };
            if let Err(m) = crate::credfile::check(&text) {
                bail!(
                    "{}:{}: {}; fix that line, then run again",
                    path.display(),
                    m.line,
                    m.reason
                );
            }
        }
        Ok(())
    }

    /// Clients that use the lab's profile `profile` from the credentials file, as `--profile` would.
    pub async fn profile(&self, profile: &str) -> Result<Clients> {
        let config = self.load(Some(profile)).await?;
        config
            .credentials_provider()
            .ok_or_else(|| anyhow!("no credential provider is configured"))?
            .provide_credentials()
            .await
            .with_context(|| {
                format!(
                    "profile {profile} is missing or incomplete in {}; run `cargo xtask setup` (and `assume` for the assumed profile)",
                    self.files.credentials.display()
                )
            })?;
        Ok(Clients::with_faults(&config, &self.faults))
    }
}

#[cfg(test)]
mod tests {
    use super::endpoint_is_safe;

    #[test]
    fn plain_http_only_on_loopback() {
        for ok in [
            "https://iam.amazonaws.com",
            "http://127.0.0.1:5055",
            "http://127.1.2.3",
            "http://localhost:4566/",
            "http://[::1]:5055",
            "HTTP://LOCALHOST",
        ] {
            assert!(endpoint_is_safe(ok), "{ok}");
        }
        for bad in [
            "http://10.0.0.5:5055",
            "http://example.com",
            "http://localhost.evil.com",
            "http://127.0.0.1.evil.com",
            "http://user@example.com",
            "http://[::2]:80",
            "ftp://127.0.0.1",
        ] {
            assert!(!endpoint_is_safe(bad), "{bad}");
        }
    }
}
