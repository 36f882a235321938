//! placeholder, replaced once the broker CLI is known
