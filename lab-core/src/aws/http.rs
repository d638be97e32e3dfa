//! One HTTPS client for the whole process, shared by every SDK client the lab builds.
//!
//! Without it each service client builds its own default client, and each of those loads and
//! parses the system's root certificates again: most of a short command's CPU time.

use std::sync::OnceLock;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The process's HTTPS client: the SDK's default (hyper 1, rustls with aws-lc, proxy settings
/// from the environment), built once.
pub fn shared_https_client() -> SharedHttpClient {
    static CLIENT: OnceLock<SharedHttpClient> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            Builder::new().build_with_connector_fn(|settings, runtime_components| {
                let mut conn = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
                conn.set_connector_settings(settings.cloned());
                if let Some(components) = runtime_components {
                    conn.set_sleep_impl(components.sleep_impl());
                }
                conn.set_proxy_config(Some(ProxyConfig::from_env()));
                conn.build()
            })
        })
        .clone()
}
