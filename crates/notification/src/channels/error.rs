//! [`ChannelError`].

/// Why the channels could not be built or a user's targets could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The settings and endpoints database failed.
    #[error("reading the notification settings: {0}")]
    Database(#[from] sqlx::Error),
    /// The settings cannot work (an unparsable `From`, a TLS setup that fails).
    #[error("invalid channel settings: {0}")]
    InvalidSettings(String),
}
