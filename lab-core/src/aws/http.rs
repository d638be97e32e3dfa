//! One HTTP client for the whole process per kind of endpoint, shared by every SDK client the lab
//! builds: AWS's (HTTPS, the system's root certificates) and the emulator's (plain HTTP on the
//! loopback address, no certificates at all).
//!
//! Without it each service client builds its own default client, and each of those loads and
//! parses the system's root certificates again; and loading them even once (a few hundred files
//! under /etc/ssl/certs) is most of a short command's time against the emulator, which needs none.

use std::sync::OnceLock;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The process's HTTPS client: the SDK's (hyper 1, rustls with ring, proxy settings from the
/// environment), built once.
pub fn shared_https_client() -> SharedHttpClient {
    static CLIENT: OnceLock<SharedHttpClient> = OnceLock::new();
    CLIENT.get_or_init(|| build(None)).clone()
}

/// The process's client for sts-lab's emulator: the same, trusting no certificate, so that the
/// system's are never loaded (the emulator speaks plain HTTP on 127.0.0.1; an HTTPS endpoint
/// through it fails its certificate check, as it should).
pub fn shared_emulator_client() -> SharedHttpClient {
    static CLIENT: OnceLock<SharedHttpClient> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let none = TrustStore::empty().with_native_roots(false);
            build(TlsContext::builder().with_trust_store(none).build().ok())
        })
        .clone()
}

/// The client for an endpoint: the emulator's, or AWS's.
pub fn client_for(emulator: bool) -> SharedHttpClient {
    if emulator {
        shared_emulator_client()
    } else {
        shared_https_client()
    }
}

fn build(context: Option<TlsContext>) -> SharedHttpClient {
    Builder::new().build_with_connector_fn(move |settings, runtime_components| {
        let mut conn = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
        if let Some(context) = &context {
            conn.set_tls_context(context.clone());
        }
        conn.set_connector_settings(settings.cloned());
        if let Some(components) = runtime_components {
            conn.set_sleep_impl(components.sleep_impl());
        }
        conn.set_proxy_config(Some(ProxyConfig::from_env()));
        conn.build()
    })
}
