//! W3C trace context (`traceparent`) for outgoing calls: the call continues the caller's
//! trace (the `traceparent` of the event being handled, say) or starts one.

use std::fmt;

use rand::Rng;

/// A parsed `traceparent` (W3C Trace Context §3.2): `00-<trace-id>-<parent-id>-<flags>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    trace_id: u128,
    parent_id: u64,
    flags: u8,
}

impl TraceParent {
    /// Parses a `traceparent` value. Returns `None` for anything malformed: the version
    /// `ff`, ids of all zeros, upper-case hex, or, for version `00`, extra fields. A later
    /// version may append fields; its first four are read as version `00` says.
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.split('-');
        let version = parts.next().filter(|v| is_hex(v, 2) && *v != "ff")?;
        let trace = parts.next().filter(|t| is_hex(t, 32))?;
        let parent = parts.next().filter(|p| is_hex(p, 16))?;
        let flags = parts.next().filter(|f| is_hex(f, 2))?;
        if version == "00" && parts.next().is_some() {
            return None;
        }
        let trace_id = u128::from_str_radix(trace, 16).ok().filter(|&id| id != 0)?;
        let parent_id = u64::from_str_radix(parent, 16).ok().filter(|&id| id != 0)?;
        let flags = u8::from_str_radix(flags, 16).ok()?;
        Some(Self { trace_id, parent_id, flags })
    }

    /// A new trace, sampled (flags `01`, as task-api starts its traces).
    pub fn new_root() -> Self {
        let mut rng = rand::rng();
        Self { trace_id: rng.random_range(1..=u128::MAX), parent_id: rng.random_range(1..=u64::MAX), flags: 0x01 }
    }

    /// The context of a call made within this one: the same trace and flags, a new span as
    /// parent (the outgoing call is a span of its own, W3C Trace Context §3.2.2.3).
    pub fn child(&self) -> Self {
        Self { parent_id: rand::rng().random_range(1..=u64::MAX), ..*self }
    }

    /// The `traceparent` of an outgoing call: a child of `incoming` when it is a valid one,
    /// else a new trace.
    pub fn for_outgoing(incoming: Option<&str>) -> Self {
        incoming.and_then(Self::parse).map_or_else(Self::new_root, |parent| parent.child())
    }

    /// The trace id, 32 lower-case hex digits (for logs).
    pub fn trace_id(&self) -> String {
        format!("{:032x}", self.trace_id)
    }
}

impl fmt::Display for TraceParent {
    /// Always written as version `00`, the only version this code speaks.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "00-{:032x}-{:016x}-{:02x}", self.trace_id, self.parent_id, self.flags)
    }
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INCOMING: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_round_trips() {
        let parsed = TraceParent::parse(INCOMING).expect("valid");

        assert_eq!(parsed.to_string(), INCOMING);
        assert_eq!(parsed.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    }

    #[test]
    fn malformed_traceparents_are_refused() {
        for bad in [
            "",
            "garbage",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad:?}");
        }
        assert!(TraceParent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future").is_some());
    }

    #[test]
    fn an_outgoing_call_continues_the_incoming_trace_with_a_span_of_its_own() {
        let outgoing = TraceParent::for_outgoing(Some(INCOMING));

        let text = outgoing.to_string();
        assert!(text.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "{text}");
        assert!(text.ends_with("-01"), "{text}");
        assert_ne!(text, INCOMING, "a new parent id");
    }

    #[test]
    fn without_a_valid_incoming_trace_a_call_starts_a_new_one() {
        let fresh = TraceParent::for_outgoing(None);
        let replaced = TraceParent::for_outgoing(Some("garbage"));

        assert_eq!(TraceParent::parse(&fresh.to_string()), Some(fresh));
        assert_ne!(fresh.trace_id(), replaced.trace_id());
    }
}
