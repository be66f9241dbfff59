//! The egress policy: which hosts named in connector configs a connector may
//! reach. Connector configs are untrusted input, so a tenant must not be able
//! to point a connector at the service's own network: loopback, link-local,
//! the cloud metadata address and the private ranges are refused unless the
//! deployment allows them (`TRIBUTARY_EGRESS_ALLOW`).
//!
//! * Plugins mark the keys whose values name hosts with
//!   [`ConfigDef::host`](super::ConfigDef::host); a value may be a host, a
//!   `host:port`, a URL (`jdbc:mysql://host:3306/db`, `https://user@host/…`)
//!   or a comma-separated list of those ([`hosts_in_value`]).
//! * Addresses are classified after unwrapping the IPv6 forms that carry an
//!   IPv4 address (`::ffff:a.b.c.d`, NAT64, 6to4), and the legacy numeric
//!   IPv4 forms a resolver accepts (`127.1`, `0x7f000001`, `2130706433`)
//!   are read as the addresses they stand for.
//! * A DNS name is refused when any address it resolves to is refused; a
//!   name that does not resolve (yet) passes, and the worker checks again
//!   when the task starts.
//!
//! The control plane applies the policy when a config is created, updated
//! or validated; the worker applies it again at task start (defence in
//! depth, and a name's addresses may have changed meanwhile).

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;
use std::time::Duration;

use super::config::host_keys;
use super::{Config, ConnectorPlugin, FieldError};

/// The environment variable (and flag value) that configures the policy:
/// a comma-separated list of `loopback`, `private`, `link-local` and CIDRs.
pub const ENV: &str = "TRIBUTARY_EGRESS_ALLOW";

/// The cloud metadata address (AWS, GCP, Azure, …).
pub const METADATA_V4: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);
/// AWS's IPv6 metadata address.
pub const METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);

/// How long a DNS look-up may take before the name counts as unresolved.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// An address range, `10.0.0.0/8` or `fd00::/8` (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.trim(), Some(p.trim())),
            None => (s, None),
        };
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| format!("invalid CIDR {s:?}: {addr:?} is not an IP address"))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| {
                format!("invalid CIDR {s:?}: the prefix length must be 0 to {max}")
            })?,
        };
        Ok(Cidr {
            network: mask(ip, prefix),
            prefix,
        })
    }

    /// Whether `ip` (or the IPv4 address an IPv6 form of it carries) is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        [ip, canonical(ip)]
            .iter()
            .any(|a| a.is_ipv4() == self.network.is_ipv4() && mask(*a, self.prefix) == self.network)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & m))
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & m))
        }
    }
}

/// What an address is, for the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 0.0.0.0/8 and ::, which reach this host.
    Unspecified,
    /// 169.254.0.0/16, fe80::/10.
    LinkLocal,
    /// 169.254.169.254, fd00:ec2::254.
    Metadata,
    /// 10/8, 172.16/12, 192.168/16, 100.64/10 (shared address space), fc00::/7, fec0::/10.
    Private,
}

impl AddressClass {
    fn describe(&self) -> &'static str {
        match self {
            AddressClass::Public => "a public address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Unspecified => "an unspecified address (it reaches this host)",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::Metadata => "the cloud metadata address",
            AddressClass::Private => "a private address",
        }
    }
}

/// The IPv4 address an IPv6 address stands for, when it embeds one
/// (IPv4-mapped, IPv4-compatible, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`).
fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(a) = ip else {
        return ip;
    };
    if let Some(v4) = a.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let s = a.segments();
    let v4 = |hi: u16, lo: u16| IpAddr::V4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return v4(s[6], s[7]);
    }
    if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
        return v4(s[6], s[7]);
    }
    if s[0] == 0x2002 {
        return v4(s[1], s[2]);
    }
    ip
}

pub fn classify(ip: IpAddr) -> AddressClass {
    match canonical(ip) {
        IpAddr::V4(a) => {
            let o = a.octets();
            if a == METADATA_V4 {
                AddressClass::Metadata
            } else if o[0] == 127 {
                AddressClass::Loopback
            } else if o[0] == 0 {
                AddressClass::Unspecified
            } else if o[0] == 169 && o[1] == 254 {
                AddressClass::LinkLocal
            } else if o[0] == 10
                || (o[0] == 172 && (o[1] & 0xf0) == 16)
                || (o[0] == 192 && o[1] == 168)
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
            {
                AddressClass::Private
            } else {
                AddressClass::Public
            }
        }
        IpAddr::V6(a) => {
            let s0 = a.segments()[0];
            if a == METADATA_V6 {
                AddressClass::Metadata
            } else if a.is_loopback() {
                AddressClass::Loopback
            } else if a.is_unspecified() {
                AddressClass::Unspecified
            } else if s0 & 0xffc0 == 0xfe80 {
                AddressClass::LinkLocal
            } else if s0 & 0xfe00 == 0xfc00 || s0 & 0xffc0 == 0xfec0 {
                AddressClass::Private
            } else {
                AddressClass::Public
            }
        }
    }
}

/// A host the policy refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub host: String,
    pub address: IpAddr,
    pub class: AddressClass,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = self.class.describe();
        if literal_address(&self.host) == Some(self.address) {
            write!(
                f,
                "host {:?} is refused by the egress policy: it is {what}",
                self.host
            )
        } else {
            write!(
                f,
                "host {:?} is refused by the egress policy: it resolves to {}, {what}",
                self.host, self.address
            )
        }
    }
}

/// Which addresses connectors may reach beyond the public ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    /// 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7.
    pub allow_private: bool,
    /// 127/8, ::1 (and the unspecified addresses, which reach this host).
    pub allow_loopback: bool,
    /// 169.254/16, fe80::/10 — but not the metadata address.
    pub allow_link_local: bool,
    /// Ranges allowed whatever their class (the only way to allow the
    /// metadata address: name it, e.g. `169.254.169.254/32`).
    pub allowed_cidrs: Vec<Cidr>,
}

impl EgressPolicy {
    /// Only public addresses: the default.
    pub fn strict() -> EgressPolicy {
        EgressPolicy::default()
    }

    /// Parses `TRIBUTARY_EGRESS_ALLOW`: comma-separated `loopback`,
    /// `private`, `link-local` and CIDRs (or addresses); empty or `none`
    /// allows public addresses only.
    pub fn parse(spec: &str) -> Result<EgressPolicy, String> {
        let mut p = EgressPolicy::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item.to_ascii_lowercase().as_str() {
                "none" => {}
                "loopback" => p.allow_loopback = true,
                "private" => p.allow_private = true,
                "link-local" | "link_local" | "linklocal" => p.allow_link_local = true,
                _ => p.allowed_cidrs.push(Cidr::parse(item).map_err(|e| {
                    format!("{e}; {ENV} takes loopback, private, link-local or CIDRs")
                })?),
            }
        }
        Ok(p)
    }

    /// The policy in the form [`parse`](Self::parse) reads (for workers).
    pub fn spec(&self) -> String {
        let mut items: Vec<String> = Vec::new();
        if self.allow_loopback {
            items.push("loopback".into());
        }
        if self.allow_private {
            items.push("private".into());
        }
        if self.allow_link_local {
            items.push("link-local".into());
        }
        items.extend(self.allowed_cidrs.iter().map(Cidr::to_string));
        items.join(",")
    }

    /// Whether a connection to `ip` is allowed; else the address's class.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), AddressClass> {
        if self.allowed_cidrs.iter().any(|c| c.contains(ip)) {
            return Ok(());
        }
        let class = classify(ip);
        let allowed = match class {
            AddressClass::Public => true,
            AddressClass::Loopback | AddressClass::Unspecified => self.allow_loopback,
            AddressClass::LinkLocal => self.allow_link_local,
            AddressClass::Private => self.allow_private,
            AddressClass::Metadata => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(class)
        }
    }

    /// Checks a host against the addresses it resolved to (pure): a literal
    /// address is checked as it is, a `localhost` name as loopback, and a
    /// DNS name is refused when any of `resolved` is.
    pub fn check_resolved(&self, host: &str, resolved: &[IpAddr]) -> Result<(), Refused> {
        let refuse = |address: IpAddr, class| Refused {
            host: host.to_string(),
            address,
            class,
        };
        if let Some(ip) = literal_address(host) {
            return self.check_ip(ip).map_err(|c| refuse(ip, c));
        }
        if is_localhost_name(host) {
            let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
            self.check_ip(ip).map_err(|c| refuse(ip, c))?;
        }
        for ip in resolved {
            self.check_ip(*ip).map_err(|c| refuse(*ip, c))?;
        }
        Ok(())
    }

    /// Checks a host, resolving DNS names with `resolve` (which returns no
    /// address for a name that does not resolve).
    pub async fn check_host_with<F, Fut>(&self, host: &str, resolve: F) -> Result<(), Refused>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Vec<IpAddr>>,
    {
        let resolved = if literal_address(host).is_some() {
            Vec::new()
        } else {
            resolve(host.to_string()).await
        };
        self.check_resolved(host, &resolved)
    }

    /// Checks a host, resolving DNS names with the system resolver.
    pub async fn check_host(&self, host: &str) -> Result<(), Refused> {
        self.check_host_with(host, system_resolve).await
    }

    /// Every host-typed key of `config` (per `plugin`'s definitions) that the
    /// policy refuses, each as an error naming its key.
    pub async fn check_config_with<F, Fut>(
        &self,
        plugin: &dyn ConnectorPlugin,
        config: &Config,
        resolve: F,
    ) -> Vec<FieldError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Vec<IpAddr>>,
    {
        let mut errors = Vec::new();
        for key in host_keys(&plugin.config_defs()) {
            let Some(value) = config.get(key) else {
                continue;
            };
            for host in hosts_in_value(value) {
                if let Err(r) = self.check_host_with(&host, &resolve).await {
                    errors.push(FieldError::new(key, r.to_string()));
                    break;
                }
            }
        }
        errors
    }

    /// [`check_config_with`](Self::check_config_with) with the system resolver.
    pub async fn check_config(
        &self,
        plugin: &dyn ConnectorPlugin,
        config: &Config,
    ) -> Vec<FieldError> {
        self.check_config_with(plugin, config, system_resolve).await
    }
}

/// The system resolver (getaddrinfo), bounded in time; no addresses when
/// the name does not resolve.
pub async fn system_resolve(host: String) -> Vec<IpAddr> {
    match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host.as_str(), 0))).await {
        Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
        Ok(Err(e)) => {
            tracing::debug!(host = %host, error = %e, "egress check: the name does not resolve");
            Vec::new()
        }
        Err(_) => {
            tracing::debug!(host = %host, "egress check: DNS look-up timed out");
            Vec::new()
        }
    }
}

fn is_localhost_name(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

/// The address a host string stands for without DNS: IPv4 and IPv6
/// literals (a zone `%eth0` is ignored), and the legacy IPv4 forms
/// resolvers accept (`127.1`, `0x7f.1`, `017700000001`, `2130706433`).
pub fn literal_address(host: &str) -> Option<IpAddr> {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    let host = host.split('%').next().unwrap_or(host);
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(ip);
    }
    legacy_ipv4(host).map(IpAddr::V4)
}

/// inet_aton's forms: 1 to 4 parts, each decimal, octal (`0…`) or hex
/// (`0x…`); the last part fills the remaining bytes.
fn legacy_ipv4(s: &str) -> Option<Ipv4Addr> {
    let s = s.strip_suffix('.').unwrap_or(s);
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let nums: Vec<u64> = parts
        .iter()
        .map(|p| legacy_number(p))
        .collect::<Option<_>>()?;
    let (last, head) = nums.split_last()?;
    if head.iter().any(|n| *n > 255) {
        return None;
    }
    let rest_bits = 8 * (4 - head.len() as u32);
    if *last >= 1u64 << rest_bits {
        return None;
    }
    let mut v = *last as u32;
    for (i, n) in head.iter().enumerate() {
        v |= (*n as u32) << (24 - 8 * i as u32);
    }
    Some(Ipv4Addr::from(v))
}

fn legacy_number(p: &str) -> Option<u64> {
    if let Some(hex) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        return u64::from_str_radix(hex, 16).ok();
    }
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if p.len() > 1 && p.starts_with('0') {
        return u64::from_str_radix(&p[1..], 8).ok();
    }
    p.parse().ok()
}

/// The hosts a config value names: a host, `host:port`, `[v6]:port`, a URL
/// (`scheme://[user@]host[:port]/…`, `jdbc:mysql://…`), a
/// `user@host:port:…` form, or a comma-separated list of those. Hosts are
/// lower-cased and percent-decoded, without a trailing dot.
pub fn hosts_in_value(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for host in value.split(',').filter_map(|item| host_of(item.trim())) {
        if !out.contains(&host) {
            out.push(host);
        }
    }
    out
}

fn host_of(item: &str) -> Option<String> {
    if item.is_empty() {
        return None;
    }
    let rest = match item.find("://") {
        Some(i) => &item[i + 3..],
        None => item.strip_prefix("//").unwrap_or(item),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let mut authority = &rest[..end];
    if let Some(at) = authority.rfind('@') {
        authority = &authority[at + 1..];
    }
    let host = if let Some(inner) = authority.strip_prefix('[') {
        inner.split(']').next().unwrap_or(inner)
    } else if authority
        .split('%')
        .next()
        .unwrap_or("")
        .parse::<Ipv6Addr>()
        .is_ok()
    {
        authority
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    let host = percent_decode(host.trim());
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

static PROCESS_POLICY: OnceLock<EgressPolicy> = OnceLock::new();

/// Sets this process's policy (the worker does, from its configuration);
/// false when it was already set.
pub fn install(policy: EgressPolicy) -> bool {
    PROCESS_POLICY.set(policy).is_ok()
}

/// This process's policy: the installed one, else `TRIBUTARY_EGRESS_ALLOW`
/// from the environment, else [`EgressPolicy::strict`].
pub fn process_policy() -> &'static EgressPolicy {
    PROCESS_POLICY.get_or_init(|| match std::env::var(ENV) {
        Ok(spec) => EgressPolicy::parse(&spec).unwrap_or_else(|e| {
            tracing::error!(error = %e, "invalid {ENV}; only public addresses are allowed");
            EgressPolicy::strict()
        }),
        Err(_) => EgressPolicy::strict(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::find;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_refused_range_is_classified() {
        use AddressClass::*;
        for (addr, class) in [
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("::1", Loopback),
            ("0.0.0.0", Unspecified),
            ("::", Unspecified),
            ("169.254.0.1", LinkLocal),
            ("169.254.255.255", LinkLocal),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("169.254.169.254", Metadata),
            ("fd00:ec2::254", Metadata),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", Private),
            ("100.127.255.255", Private),
            ("fc00::1", Private),
            ("fd12:3456::1", Private),
            ("fec0::1", Private),
            ("8.8.8.8", Public),
            ("172.15.255.255", Public),
            ("172.32.0.1", Public),
            ("100.63.255.255", Public),
            ("100.128.0.1", Public),
            ("192.169.0.1", Public),
            ("169.253.255.255", Public),
            ("2001:4860:4860::8888", Public),
            ("fe00::1", Public),
        ] {
            assert_eq!(classify(ip(addr)), class, "{addr}");
        }
    }

    #[test]
    fn ipv6_forms_of_ipv4_addresses_are_unwrapped() {
        use AddressClass::*;
        for (addr, class) in [
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:169.254.169.254", Metadata),
            ("::ffff:10.1.2.3", Private),
            ("::127.0.0.1", Loopback),
            ("64:ff9b::a9fe:a9fe", Metadata),
            ("64:ff9b::c0a8:0101", Private),
            ("2002:7f00:0001::", Loopback),
            ("2002:c0a8:0101::1", Private),
            ("::ffff:8.8.8.8", Public),
        ] {
            assert_eq!(classify(ip(addr)), class, "{addr}");
        }
    }

    #[test]
    fn the_strict_policy_allows_only_public_addresses() {
        let p = EgressPolicy::strict();
        assert!(p.check_ip(ip("93.184.216.34")).is_ok());
        assert!(p.check_ip(ip("2606:2800:220:1::")).is_ok());
        for a in [
            "127.0.0.1",
            "::1",
            "0.0.0.0",
            "169.254.1.1",
            "169.254.169.254",
            "fd00:ec2::254",
            "10.0.0.1",
            "172.20.0.1",
            "192.168.0.1",
            "100.64.0.1",
            "fc00::1",
            "fe80::1",
        ] {
            assert!(p.check_ip(ip(a)).is_err(), "{a}");
        }
    }

    #[test]
    fn each_allowance_opens_its_ranges_only() {
        let p = EgressPolicy::parse("loopback").unwrap();
        assert!(p.check_ip(ip("127.0.0.1")).is_ok());
        assert!(p.check_ip(ip("::1")).is_ok());
        assert!(p.check_ip(ip("10.0.0.1")).is_err());

        let p = EgressPolicy::parse("private").unwrap();
        assert!(p.check_ip(ip("10.0.0.1")).is_ok());
        assert!(p.check_ip(ip("172.16.5.4")).is_ok());
        assert!(p.check_ip(ip("192.168.0.1")).is_ok());
        assert!(p.check_ip(ip("100.64.0.1")).is_ok());
        assert!(p.check_ip(ip("fc00::1")).is_ok());
        assert!(p.check_ip(ip("127.0.0.1")).is_err());
        assert_eq!(
            p.check_ip(ip("fd00:ec2::254")),
            Err(AddressClass::Metadata),
            "the metadata address is not just a private one"
        );

        let p = EgressPolicy::parse("link-local").unwrap();
        assert!(p.check_ip(ip("169.254.1.1")).is_ok());
        assert!(p.check_ip(ip("fe80::1")).is_ok());
        assert_eq!(
            p.check_ip(ip("169.254.169.254")),
            Err(AddressClass::Metadata)
        );

        let p = EgressPolicy::parse("169.254.169.254/32, 10.1.0.0/16").unwrap();
        assert!(p.check_ip(ip("169.254.169.254")).is_ok());
        assert!(p.check_ip(ip("10.1.200.3")).is_ok());
        assert!(p.check_ip(ip("::ffff:10.1.200.3")).is_ok());
        assert!(p.check_ip(ip("10.2.0.1")).is_err());
        assert!(p.check_ip(ip("169.254.1.1")).is_err());
    }

    #[test]
    fn policies_parse_and_print() {
        let p = EgressPolicy::parse(" Loopback,private ,fd00::/8,192.168.7.7").unwrap();
        assert!(p.allow_loopback && p.allow_private && !p.allow_link_local);
        assert_eq!(p.spec(), "loopback,private,fd00::/8,192.168.7.7/32");
        assert_eq!(EgressPolicy::parse(&p.spec()).unwrap(), p);
        assert_eq!(EgressPolicy::parse("").unwrap(), EgressPolicy::strict());
        assert_eq!(EgressPolicy::parse("none").unwrap(), EgressPolicy::strict());
        assert!(EgressPolicy::parse("everything").is_err());
        assert!(EgressPolicy::parse("10.0.0.0/33").is_err());
        assert!(EgressPolicy::parse("fd00::/129").is_err());
        assert_eq!(Cidr::parse("10.9.8.7/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(Cidr::parse("0.0.0.0/0").unwrap().to_string(), "0.0.0.0/0");
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("1.2.3.4")));
        assert!(!Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains(ip("2001:db8::1")));
    }

    #[test]
    fn legacy_numeric_hosts_are_the_addresses_they_stand_for() {
        for (host, addr) in [
            ("127.1", "127.0.0.1"),
            ("2130706433", "127.0.0.1"),
            ("0x7f000001", "127.0.0.1"),
            ("0x7f.1", "127.0.0.1"),
            ("017700000001", "127.0.0.1"),
            ("0251.0376.0251.0376", "169.254.169.254"),
            ("169.254.43518", "169.254.169.254"),
            ("10.1", "10.0.0.1"),
            ("[::1]", "::1"),
            ("fe80::1%eth0", "fe80::1"),
        ] {
            assert_eq!(literal_address(host), Some(ip(addr)), "{host}");
        }
        for name in [
            "db.example.com",
            "256.1.1.1",
            "1.2.3.4.5",
            "0x",
            "08",
            "deadbeef",
        ] {
            assert_eq!(literal_address(name), None, "{name}");
        }
        let p = EgressPolicy::strict();
        let e = p.check_resolved("2130706433", &[]).unwrap_err();
        assert_eq!(e.class, AddressClass::Loopback);
    }

    #[test]
    fn hosts_are_read_out_of_values_and_urls() {
        for (value, hosts) in [
            ("db.example.com", vec!["db.example.com"]),
            ("DB.Example.COM.", vec!["db.example.com"]),
            ("169.254.169.254", vec!["169.254.169.254"]),
            ("10.0.0.5:3306", vec!["10.0.0.5"]),
            ("[fe80::1]:5432", vec!["fe80::1"]),
            ("fd00:ec2::254", vec!["fd00:ec2::254"]),
            ("jdbc:mysql://10.1.2.3:3306/shop", vec!["10.1.2.3"]),
            ("jdbc:postgresql://[::1]:5432/db?user=x", vec!["::1"]),
            (
                "jdbc:mysql://a.example:3306,b.example:3307/db",
                vec!["a.example", "b.example"],
            ),
            ("jdbc:mysql://u:p@evil.example/db", vec!["evil.example"]),
            (
                "https://user:pw@api.example.com:8443/v1?x=1#f",
                vec!["api.example.com"],
            ),
            (
                "http://169.254.169.254/latest/meta-data",
                vec!["169.254.169.254"],
            ),
            ("http://%31%32%37.0.0.1/", vec!["127.0.0.1"]),
            (
                "jdbc:oracle:thin:@db.internal:1521:orcl",
                vec!["db.internal"],
            ),
            ("h1, h2 ,h1", vec!["h1", "h2"]),
            ("", vec![]),
        ] {
            assert_eq!(hosts_in_value(value), hosts, "{value}");
        }
    }

    #[tokio::test]
    async fn dns_names_are_refused_when_an_address_they_resolve_to_is() {
        let p = EgressPolicy::strict();
        let to = |addrs: &'static [&'static str]| {
            move |_host: String| async move { addrs.iter().map(|a| ip(a)).collect::<Vec<_>>() }
        };
        assert!(p
            .check_host_with("api.example.com", to(&["93.184.216.34"]))
            .await
            .is_ok());
        let e = p
            .check_host_with(
                "rebind.example.com",
                to(&["93.184.216.34", "169.254.169.254"]),
            )
            .await
            .unwrap_err();
        assert_eq!(e.class, AddressClass::Metadata);
        assert_eq!(
            e.to_string(),
            "host \"rebind.example.com\" is refused by the egress policy: it resolves to 169.254.169.254, the cloud metadata address"
        );
        // A name that does not resolve passes (the worker checks again).
        assert!(p.check_host_with("nowhere.invalid", to(&[])).await.is_ok());
        // localhost is loopback without asking DNS.
        assert!(p.check_host_with("localhost", to(&[])).await.is_err());
        assert!(p.check_host_with("db.localhost", to(&[])).await.is_err());
        let lo = EgressPolicy::parse("loopback").unwrap();
        assert!(lo.check_host_with("localhost", to(&["::1"])).await.is_ok());
        // Literal addresses never reach the resolver.
        let asked = std::cell::Cell::new(false);
        let e = p
            .check_host_with("10.0.0.1", |_h: String| {
                asked.set(true);
                async { Vec::new() }
            })
            .await
            .unwrap_err();
        assert!(!asked.get());
        assert_eq!(
            e.to_string(),
            "host \"10.0.0.1\" is refused by the egress policy: it is a private address"
        );
    }

    #[tokio::test]
    async fn the_system_resolver_resolves_localhost() {
        // getaddrinfo answers numeric forms and /etc/hosts without a network.
        let addrs = system_resolve("127.1".into()).await;
        assert!(addrs.contains(&ip("127.0.0.1")), "{addrs:?}");
    }

    #[tokio::test]
    async fn jdbc_hosts_are_checked_and_named_by_key() {
        let mysql = find("MySqlSink").unwrap();
        let p = EgressPolicy::strict();
        let none = |_h: String| async { Vec::<IpAddr>::new() };
        let errs = p
            .check_config_with(
                mysql,
                &cfg(&[
                    ("connector.class", "MySqlSink"),
                    ("connection.host", "169.254.169.254"),
                ]),
                none,
            )
            .await;
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].key, "connection.host");
        assert!(errs[0].message.contains("cloud metadata"), "{errs:?}");
        let errs = p
            .check_config_with(
                mysql,
                &cfg(&[
                    ("connector.class", "MySqlSink"),
                    (
                        "connection.url",
                        "jdbc:mysql://db.example.com,10.0.0.7:3306/shop",
                    ),
                ]),
                none,
            )
            .await;
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].key, "connection.url");
        let ok = EgressPolicy::parse("loopback,private").unwrap();
        assert!(ok
            .check_config_with(
                mysql,
                &cfg(&[
                    ("connector.class", "MySqlSink"),
                    ("connection.host", "127.0.0.1")
                ]),
                none,
            )
            .await
            .is_empty());
        // Keys not marked as hosts are not checked.
        let datagen = find("DatagenSource").unwrap();
        assert!(p
            .check_config_with(datagen, &cfg(&[("kafka.topic", "127.0.0.1")]), none)
            .await
            .is_empty());
    }
}
