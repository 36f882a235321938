//! The `reqwest::Client` under a [`super::ServiceClient`] and its token source: timeouts,
//! trusted CAs, no redirects.

use reqwest::redirect::Policy;

use super::error::ClientError;
use super::settings::ClientSettings;

/// Builds the HTTP client the settings describe.
pub(crate) fn build(settings: &ClientSettings) -> Result<reqwest::Client, ClientError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(settings.connect_timeout())
        .timeout(settings.request_timeout())
        // A service call is answered by the service, not by a redirect: following one could
        // also carry the on-behalf header (reqwest drops only `Authorization`) elsewhere.
        .redirect(Policy::none())
        .user_agent(concat!("taskstream-service-runtime/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = &settings.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| ClientError::Settings(format!("ca_file {}: cannot read it: {e}", path.display())))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| ClientError::Settings(format!("ca_file {}: not PEM certificates: {e}", path.display())))?;
        if certificates.is_empty() {
            return Err(ClientError::Settings(format!("ca_file {}: holds no certificate", path.display())));
        }
        builder = builder.tls_certs_merge(certificates);
    }
    builder.build().map_err(ClientError::Build)
}
