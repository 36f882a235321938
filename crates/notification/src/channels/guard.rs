//! The destination guard: webhooks go only where the service may send them. In production
//! that is `https` to public addresses; a URL whose host resolves to a private, loopback,
//! link-local, unique-local, multicast or unspecified address is refused (server-side request
//! forgery: a user must not make the service call its own network).
//!
//! Names are checked **after** resolution, and the connection goes to the checked addresses
//! only: [`GuardedResolver`] is the HTTP client's resolver, so a name that resolves to a
//! public address when the endpoint is created and to 127.0.0.1 when the webhook is sent
//! (DNS rebinding) is refused at sending. Hosts written as IP literals never reach a resolver
//! and are checked by [`Guard::check_url`]. Proxies are off and redirects are not followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a destination is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not an absolute `https` (or, when allowed, `http`) URL with a host.
    #[error("{0}")]
    Url(String),
    /// The host is or resolves to an address the service may not call.
    #[error("{host} resolves to {address}, a {class} address, which webhooks may not target")]
    Address {
        /// The host as written.
        host: String,
        /// The refused address.
        address: IpAddr,
        /// What kind of address it is.
        class: &'static str,
    },
    /// The host does not resolve.
    #[error("{host} does not resolve: {reason}")]
    Unresolvable {
        /// The host.
        host: String,
        /// The resolver's answer.
        reason: String,
    },
}

/// The guard's settings: what it lets through besides `https` to public addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guard {
    /// `http://` URLs are accepted.
    pub allow_http: bool,
    /// Every address is accepted.
    pub allow_private: bool,
}

impl Guard {
    /// Checks what can be checked without DNS: the scheme, a host, no credentials, and a host
    /// written as an IP address. Returns the parsed URL.
    pub fn check_url(&self, url: &str) -> Result<Url, Refused> {
        let parsed = Url::parse(url).map_err(|e| Refused::Url(format!("not an absolute URL: {e}")))?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(Refused::Url("must use https".into())),
            other => return Err(Refused::Url(format!("the scheme {other:?} is not supported; use https"))),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Refused::Url("must not carry credentials; the signature authenticates the sender".into()));
        }
        if parsed.fragment().is_some() {
            return Err(Refused::Url("must not have a fragment".into()));
        }
        let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or_else(|| Refused::Url("has no host".into()))?;
        if let Some(ip) = ip_literal(host) {
            self.check_address(host, ip)?;
        }
        Ok(parsed)
    }

    /// [`Guard::check_url`], then resolves the host and checks every address (for creating an
    /// endpoint: refused early, with the reason).
    pub async fn check_destination(&self, url: &str) -> Result<Url, Refused> {
        let parsed = self.check_url(url)?;
        if let Some(host) = parsed.host_str().filter(|h| ip_literal(h).is_none()) {
            self.resolve(host).await?;
        }
        Ok(parsed)
    }

    /// Refuses `address` unless private addresses are allowed or it is public.
    pub fn check_address(&self, host: &str, address: IpAddr) -> Result<(), Refused> {
        match classify(address) {
            Some(class) if !self.allow_private => Err(Refused::Address { host: host.to_owned(), address, class }),
            _ => Ok(()),
        }
    }

    /// Resolves `host` and checks every address it resolves to: one refused address refuses
    /// the host (a name with a public and a private address would otherwise reach the private
    /// one on some connections).
    pub async fn resolve(&self, host: &str) -> Result<Vec<SocketAddr>, Refused> {
        let unresolvable = |reason: String| Refused::Unresolvable { host: host.to_owned(), reason };
        // The port is replaced by the URL's own when connecting.
        let addresses: Vec<SocketAddr> =
            tokio::net::lookup_host((host, 0)).await.map_err(|e| unresolvable(e.to_string()))?.collect();
        if addresses.is_empty() {
            return Err(unresolvable("no addresses".into()));
        }
        for address in &addresses {
            self.check_address(host, address.ip())?;
        }
        Ok(addresses)
    }

    /// The HTTP client's resolver enforcing this guard.
    pub fn resolver(&self) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver { guard: *self })
    }
}

/// A resolver for `reqwest` that resolves with the system's resolver and refuses (with
/// [`Refused`] as the error) a name with any address [`Guard`] refuses.
#[derive(Debug)]
pub struct GuardedResolver {
    guard: Guard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard;
        Box::pin(async move {
            match guard.resolve(name.as_str()).await {
                Ok(addresses) => Ok(Box::new(addresses.into_iter()) as Addrs),
                Err(refused) => Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>),
            }
        })
    }
}

/// The address of a URL host written as one (`10.0.0.1`, `[::1]`).
fn ip_literal(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// The kind of a non-public address, or `None` for a public one.
pub fn classify(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match () {
        () if ip.is_unspecified() || a == 0 => "unspecified",
        () if ip.is_loopback() => "loopback",
        () if ip.is_private() => "private",
        () if ip.is_link_local() => "link-local",
        // 100.64.0.0/10: carrier-grade NAT, shared address space (RFC 6598).
        () if a == 100 && (b & 0xc0) == 64 => "shared (carrier-grade NAT)",
        // 192.0.0.0/24: IETF protocol assignments (RFC 6890).
        () if a == 192 && b == 0 && c == 0 => "reserved",
        // 198.18.0.0/15: benchmarking (RFC 2544).
        () if a == 198 && (b & 0xfe) == 18 => "reserved",
        () if ip.is_documentation() => "documentation",
        () if ip.is_multicast() => "multicast",
        () if ip.is_broadcast() || a >= 240 => "reserved",
        () => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<&'static str> {
    // An IPv4 address inside IPv6 (mapped ::ffff:a.b.c.d, or NAT64 64:ff9b::a.b.c.d) is
    // judged as that IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let segments = ip.segments();
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        return classify_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    Some(match segments[0] {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        s if (s & 0xfe00) == 0xfc00 => "unique-local",
        s if (s & 0xffc0) == 0xfe80 => "link-local",
        // fec0::/10: site-local, deprecated but still routed inside some networks.
        s if (s & 0xffc0) == 0xfec0 => "site-local",
        s if (s & 0xff00) == 0xff00 => "multicast",
        0x2001 if segments[1] == 0x0db8 => "documentation",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRODUCTION: Guard = Guard { allow_http: false, allow_private: false };

    #[test]
    fn private_loopback_link_local_unique_local_and_unspecified_addresses_are_not_public() {
        for (address, class) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("0.0.0.0", "unspecified"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fd00::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("::ffff:127.0.0.1", "loopback"),
            ("64:ff9b::a9fe:a9fe", "link-local"),
            ("ff02::1", "multicast"),
        ] {
            assert_eq!(classify(address.parse().expect("an address")), Some(class), "{address}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for address in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert_eq!(classify(address.parse().expect("an address")), None, "{address}");
        }
    }

    #[test]
    fn production_refuses_http_credentials_and_ip_literal_private_hosts() {
        assert!(matches!(PRODUCTION.check_url("http://example.com/hook"), Err(Refused::Url(_))));
        assert!(matches!(PRODUCTION.check_url("ftp://example.com/hook"), Err(Refused::Url(_))));
        assert!(matches!(PRODUCTION.check_url("https://u:p@example.com/hook"), Err(Refused::Url(_))));
        assert!(matches!(PRODUCTION.check_url("https://[::1]:8443/hook"), Err(Refused::Address { .. })));
        assert!(matches!(PRODUCTION.check_url("https://10.0.0.1/hook"), Err(Refused::Address { .. })));
        assert!(PRODUCTION.check_url("https://example.com/hook").is_ok());
    }

    #[test]
    fn local_settings_let_http_and_loopback_through() {
        let local = Guard { allow_http: true, allow_private: true };

        assert!(local.check_url("http://127.0.0.1:9000/hook").is_ok());
    }
}
