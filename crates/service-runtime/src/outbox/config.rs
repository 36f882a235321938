//! [`OutboxConfig`]: the table, notification channel and leadership lock of one service's outbox.

/// Where one service's outbox lives. Services sharing a database each have their own table,
/// PostgreSQL channel and advisory-lock key, so neither their rows, their wake-ups nor their
/// leaderships meet.
///
/// Built with [`OutboxConfig::new`], usually as a `const` of the service (a bad name then fails
/// the build); the names are spliced into SQL, so they are checked identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OutboxConfig {
    table: &'static str,
    channel: &'static str,
    lock_key: i64,
}

impl OutboxConfig {
    /// An outbox in table `table`, whose enqueuing transactions notify the PostgreSQL channel
    /// `channel`, published only by the relay holding the session advisory lock `lock_key`.
    ///
    /// Pick a lock key no other service on the database uses: e.g. a short name in ASCII
    /// (`0x7473_6f75_7462_6f78` is "tsoutbox", task-api's).
    ///
    /// # Panics
    /// When `table` or `channel` is not a lower-case SQL identifier (`[a-z_][a-z0-9_]*`, at most
    /// 63 bytes, PostgreSQL's limit); in a `const`, that is a compile-time error.
    pub const fn new(table: &'static str, channel: &'static str, lock_key: i64) -> Self {
        assert!(is_identifier(table), "the outbox table must be a lower-case SQL identifier");
        assert!(is_identifier(channel), "the outbox channel must be a lower-case SQL identifier");
        Self { table, channel, lock_key }
    }

    /// The table.
    pub const fn table(&self) -> &'static str {
        self.table
    }

    /// The PostgreSQL notification channel.
    pub const fn channel(&self) -> &'static str {
        self.channel
    }

    /// The PostgreSQL advisory-lock key of the publishing relay.
    pub const fn lock_key(&self) -> i64 {
        self.lock_key
    }
}

/// `[a-z_][a-z0-9_]*`, 1 to 63 bytes: safe to splice into SQL unquoted, and folded to itself.
const fn is_identifier(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > 63 {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if !(byte == b'_' || byte.is_ascii_lowercase() || (i > 0 && byte.is_ascii_digit())) {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lower_case_names_are_identifiers_and_anything_that_could_change_the_sql_is_not() {
        for good in ["outbox", "task_outbox", "_x", "notification_outbox_v2"] {
            assert!(is_identifier(good), "{good}");
        }
        let long = "a".repeat(64);
        for bad in ["", "Outbox", "1outbox", "outbox;drop table x", "out box", "\"outbox\"", long.as_str()] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }

    #[test]
    #[should_panic(expected = "lower-case SQL identifier")]
    fn a_table_name_that_is_no_identifier_is_refused() {
        let table: &'static str = Box::leak(String::from("outbox; --").into_boxed_str());
        let _ = OutboxConfig::new(table, "channel", 1);
    }
}
