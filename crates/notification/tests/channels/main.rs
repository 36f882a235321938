//! The delivery channels against real receivers: an HTTP server in the test, a real SMTP
//! server (aiosmtpd), the Standard Webhooks reference library as the signature verifier, real
//! PostgreSQL (a fresh database per test), and the settings/endpoint routes over HTTP.

mod api;
mod email;
mod guard;
mod helpers;
mod webhooks;
