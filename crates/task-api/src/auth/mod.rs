//! Bearer-token (JWT) verification, the caller identity, and development tokens.
