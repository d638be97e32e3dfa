//! Where the lab runs: the endpoint, region, admin profile and AWS files, and the SDK clients built
//! from them. Without overrides it is the standard AWS environment, as the aws CLI sees it.

use anyhow::{Context, Result, anyhow, bail};
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_smithy_types::retry::RetryConfig;

#[cfg(feature = "test-util")]
use crate::aws::faults::InjectErrors;
use crate::profiles::awsfiles::{AwsFiles, FileKind};

mod clients;
mod endpoint;
pub use clients::{Clients, service_endpoint};
pub use endpoint::{Clock, Control, Endpoint, Info, Stats, local_control};

/// Attempts of one call of a patient client (a class): with the SDK's backoff of up to 20 s a
/// retry, minutes of throttling are waited out.
pub const PATIENT_ATTEMPTS: u32 = 20;

/// The region used when nothing sets one (IAM and STS are global; S3 needs one).
pub const FALLBACK_REGION: &str = "us-east-1";

/// The service ids the SDK reads service-specific endpoints under (`AWS_ENDPOINT_URL_<ID>`, the
/// config file's `services` sections), for the services the lab calls.
pub const SERVICE_IDS: [&str; 5] = ["IAM", "STS", "S3", "CloudFormation", "CloudTrail"];

/// Where the lab's AWS calls go and which files hold its profiles.
#[derive(Debug, Clone)]
pub struct Target {
    /// AWS, or sts-lab's emulator (`--local`, or an endpoint found to be it when the admin connects).
    pub endpoint: Endpoint,
    /// The region asked for (`--region`, or the lab's recorded one); None: AWS_REGION, the
    /// profile's region, or us-east-1.
    pub region: Option<String>,
    /// The admin's profile; None: AWS_PROFILE or the default credential chain.
    pub admin_profile: Option<String>,
    /// The credentials and config files the lab reads and writes.
    pub files: AwsFiles,
    /// Errors to inject into the calls made with the lab's profiles (tests only).
    #[cfg(feature = "test-util")]
    pub faults: Vec<InjectErrors>,
    /// Errors to inject into the admin's calls (tests only).
    #[cfg(feature = "test-util")]
    pub admin_faults: Vec<InjectErrors>,
    /// Allow credentials over plain HTTP to a host that is not on the loopback address.
    pub allow_insecure_endpoint: bool,
    /// Many labs at once (a class): more retry attempts from a token bucket that never runs
    /// out, so that throttling of bursts ("Rate exceeded") slows the calls and never fails them.
    pub patient: bool,
    /// The account's request rates, kept by every client of this target (a class); None: not
    /// paced.
    pub pace: Option<std::sync::Arc<crate::aws::pace::Pace>>,
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

impl Target {
    /// The standard AWS environment, with optional `--profile` and `--region`.
    pub fn from_env(profile: Option<String>, region: Option<String>) -> Result<Self> {
        Ok(Self {
            region,
            admin_profile: profile,
            ..Self::with_files(AwsFiles::from_env()?)
        })
    }

    /// A target that keeps its profiles in `files`, with nothing else set: AWS itself, the
    /// default credential chain and region, HTTPS only, no test faults.
    pub fn with_files(files: AwsFiles) -> Self {
        Self {
            endpoint: Endpoint::Aws,
            region: None,
            admin_profile: None,
            files,
            #[cfg(feature = "test-util")]
            faults: Vec::new(),
            #[cfg(feature = "test-util")]
            admin_faults: Vec::new(),
            allow_insecure_endpoint: false,
            patient: false,
            pace: None,
        }
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

    /// The profile's credentials provider, built as the default chain builds its own: with the
    /// region and HTTPS client, so that a profile which assumes a role (`role_arn` with
    /// `source_profile` or `credential_source`, or a web identity) can call STS.
    fn profile_provider(&self, profile: &str, region: Option<Region>) -> ProfileFileCredentialsProvider {
        let provider_config = ProviderConfig::without_region()
            .with_region(region)
            .with_http_client(self.http_client());
        ProfileFileCredentialsProvider::builder()
            .configure(&provider_config)
            .profile_files(self.profile_files())
            .profile_name(profile)
            .build()
    }

    /// The HTTP client for this target's endpoint: the emulator's (no certificates loaded) or
    /// AWS's.
    fn http_client(&self) -> aws_smithy_runtime_api::client::http::SharedHttpClient {
        crate::aws::http::client_for(self.endpoint.emulator().is_some())
    }

    async fn load(&self, profile: Option<&str>) -> Result<SdkConfig> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .profile_files(self.profile_files())
            .http_client(self.http_client())
            .app_name(crate::model::trail::lab_app());
        if let Some(profile) = profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Endpoint::Emulator(control) = &self.endpoint {
            loader = loader.endpoint_url(&control.base);
        }
        if self.patient {
            // Standard retries (exponential backoff with jitter, doubling up to 20 s): the
            // adaptive mode's client-side limiter held a job for 15 s after one throttled call.
            loader = loader.retry_config(RetryConfig::standard().with_max_attempts(PATIENT_ATTEMPTS));
        }
        let mut config = loader.load().await;
        if config.region().is_none() {
            config = config
                .into_builder()
                .region(Region::from_static(FALLBACK_REGION))
                .build();
        }
        if let Some(profile) = profile {
            // As `aws --profile`: the profile's credentials, whatever AWS_ACCESS_KEY_ID says.
            let provider = self.profile_provider(profile, config.region().cloned());
            config = config
                .into_builder()
                .credentials_provider(SharedCredentialsProvider::new(provider))
                .build();
        }
        if !self.allow_insecure_endpoint {
            for id in SERVICE_IDS {
                if let Some(endpoint) = service_endpoint(&config, id)
                    && !endpoint_is_safe(&endpoint)
                {
                    bail!(
                        "refusing to send credentials over plain HTTP to {endpoint} ({id}); use https, an emulator on 127.0.0.1, or pass --allow-insecure-endpoint"
                    );
                }
            }
        }
        Ok(config)
    }

    /// The profile the admin's credentials come from: `--profile`, else AWS_PROFILE, else
    /// `default`; None when environment credentials come first (no `--profile`).
    pub fn admin_profile_name(&self) -> Option<String> {
        if let Some(p) = &self.admin_profile {
            return Some(p.clone());
        }
        let set = |var: &str| std::env::var(var).ok().filter(|v| !v.is_empty());
        if set("AWS_ACCESS_KEY_ID").is_some() {
            return None;
        }
        Some(set("AWS_PROFILE").unwrap_or_else(|| "default".to_owned()))
    }

    /// The admin profile's endpoint settings in the config file (`endpoint_url`, and `services`,
    /// which names a `[services …]` section of per-service endpoints), for the lab's profiles.
    pub fn endpoint_settings(&self) -> Result<Vec<(&'static str, String)>> {
        let Some(profile) = self.admin_profile_name() else {
            return Ok(Vec::new());
        };
        let Some(section) = self.files.read_profile(FileKind::Config, &profile)? else {
            return Ok(Vec::new());
        };
        Ok(["endpoint_url", "services"]
            .into_iter()
            .filter_map(|key| section.get(key).map(|v| (key, v.to_owned())))
            .collect())
    }

    /// Refuses, before any call, an admin profile that assumes its role with MFA: the SDK cannot
    /// ask for the code.
    fn check_mfa(&self) -> Result<()> {
        let Some(profile) = self.admin_profile_name() else {
            return Ok(());
        };
        if let Some(with_mfa) = mfa_profile(&self.files, &profile)? {
            bail!(
                "profile {with_mfa} assumes its role with MFA (mfa_serial), and sts-lab cannot ask for an MFA code; run `eval \"$(aws configure export-credentials --profile {profile} --format env)\"` (it asks for the code), then run again without --profile"
            );
        }
        Ok(())
    }

    /// Clients from `config` for this target (patient for a class).
    #[cfg(not(feature = "test-util"))]
    fn clients(&self, config: &SdkConfig, _admin: bool) -> Clients {
        Clients::build(config, self.patient, self.pace.clone())
    }

    /// Clients from `config`, with the admin's or the lab's injected faults.
    #[cfg(feature = "test-util")]
    fn clients(&self, config: &SdkConfig, admin: bool) -> Clients {
        let faults = if admin { &self.admin_faults } else { &self.faults };
        Clients::build(config, self.patient, self.pace.clone()).with_faults(faults)
    }

    /// Clients of the admin identity, after checking that it has credentials at all.
    pub async fn admin(&self) -> Result<Clients> {
        self.check_files().await?;
        self.check_mfa()?;
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
                crate::aws::error::chain_text(&e)
            )
        })?;
        Ok(self.clients(&config, true))
    }

    /// Checks that the AWS files parse, naming the line to fix, as botocore reads them (our own
    /// reader) and as the AWS SDKs read them (the Rust SDK's own parser): a file either refuses
    /// would otherwise make setup create a key, write it, then fail to read the profile back.
    pub async fn check_files(&self) -> Result<()> {
        self.check_files_as_botocore()?;
        let env = aws_types::os_shim_internal::Env::from_slice(&[]);
        let fs = aws_types::os_shim_internal::Fs::real();
        if let Err(e) = aws_config::profile::load(&fs, &env, &self.profile_files(), None).await {
            // The SDK's message spans two lines; an error is one.
            let why = crate::aws::error::chain_text(&e)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            bail!("the AWS SDKs cannot read your AWS files: {why}; fix that line, then run again");
        }
        Ok(())
    }

    fn check_files_as_botocore(&self) -> Result<()> {
        for path in [&self.files.credentials, &self.files.config] {
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
            };
            if let Err(m) = crate::profiles::credfile::check(&text) {
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

    /// Clients of a role session held in memory (nothing written), in this target's region.
    pub async fn session(&self, creds: &crate::model::secret::AssumedCredentials) -> Result<Clients> {
        let config = self.load(None).await?;
        let provider = aws_credential_types::Credentials::new(
            &creds.access_key_id,
            creds.secret_access_key.expose(),
            Some(creds.session_token.expose().to_owned()),
            None,
            "sts-lab-session",
        );
        let config = config
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build();
        Ok(self.clients(&config, false))
    }

    /// Clients that use the lab's profile `profile` from the credentials file, as `--profile` would.
    /// A profile in neither file is a [`MissingProfile`], said in one line; one there that gives
    /// no credentials says the SDK's first reason.
    pub async fn profile(&self, profile: &str) -> Result<Clients> {
        let written = |kind| self.files.read_profile(kind, profile).map(|p| p.is_some());
        if !written(FileKind::Credentials)? && !written(FileKind::Config)? {
            return Err(anyhow::Error::new(MissingProfile {
                profile: profile.to_owned(),
                file: self.files.credentials.display().to_string(),
            }));
        }
        let config = self.load(Some(profile)).await?;
        let provider = config
            .credentials_provider()
            .ok_or_else(|| anyhow!("no credential provider is configured"))?;
        if let Err(e) = provider.provide_credentials().await {
            let why = crate::aws::error::chain_text(&e);
            let first = why.split(": ").last().unwrap_or(&why);
            bail!(
                "profile [{profile}] in {} gives no credentials: {first}",
                self.files.credentials.display()
            );
        }
        Ok(self.clients(&config, false))
    }
}

/// A lab profile that is in neither AWS file (a step not run yet, or removed): what is missing and
/// where; the lab adds the command that makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingProfile {
    pub profile: String,
    pub file: String,
}

impl std::fmt::Display for MissingProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "profile [{}] is not in {}", self.profile, self.file)
    }
}

impl std::error::Error for MissingProfile {}

/// The profile in `profile`'s chain (itself, or a `source_profile` it names) that assumes a role
/// with `mfa_serial`, if any.
pub fn mfa_profile(files: &AwsFiles, profile: &str) -> Result<Option<String>> {
    let mut name = profile.to_owned();
    // A chain of source profiles is short; the bound only guards against a loop.
    for _ in 0..8 {
        let Some(section) = files.read_profile(FileKind::Config, &name)? else {
            return Ok(None);
        };
        if section.get("role_arn").is_some() && section.get("mfa_serial").is_some() {
            return Ok(Some(name));
        }
        match section.get("source_profile") {
            Some(next) if next != name => name = next.to_owned(),
            _ => return Ok(None),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
