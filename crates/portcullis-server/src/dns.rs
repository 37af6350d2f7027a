//! DNS lookups for domain verification, through hickory-resolver: the system's resolvers,
//! or those `PORTCULLIS_DNS_SERVERS` names.

use std::net::SocketAddr;

use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::rr::RData;
use hickory_resolver::TokioResolver;
use portcullis_app::domains::TxtLookup;
use tracing::Instrument as _;

/// The server's resolver.
#[derive(Clone)]
pub struct Dns {
    resolver: TokioResolver,
}

impl Dns {
    /// A resolver asking `servers` (UDP, then TCP for long answers), or the system's
    /// resolvers when there are none. Answers are not cached: each verification asks
    /// again, so a record just published is seen.
    pub fn new(servers: &[SocketAddr]) -> anyhow::Result<Self> {
        let mut builder = if servers.is_empty() {
            TokioResolver::builder_tokio()?
        } else {
            let name_servers = servers
                .iter()
                .map(|addr| {
                    let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                    for c in &mut ns.connections {
                        c.port = addr.port();
                    }
                    ns
                })
                .collect();
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(name_servers),
                TokioRuntimeProvider::default(),
            )
        };
        let options = builder.options_mut();
        options.cache_size = 0;
        options.timeout = std::time::Duration::from_secs(3);
        options.attempts = 2;
        Ok(Self {
            resolver: builder.build()?,
        })
    }
}

impl TxtLookup for Dns {
    /// The TXT records at `name`, looked up in a `debug` span `dns.txt`.
    async fn txt(&self, name: &str) -> Result<Vec<String>, String> {
        // Fully qualified: no search domain is tried.
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let span = tracing::debug_span!("dns.txt", otel.kind = "client", dns.question.name = %fqdn);
        match self.resolver.txt_lookup(fqdn).instrument(span).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::TXT(txt) => Some(
                        txt.txt_data
                            .iter()
                            .map(|part| String::from_utf8_lossy(part))
                            .collect(),
                    ),
                    _ => None,
                })
                .collect()),
            Err(NetError::Dns(DnsError::NoRecordsFound(_))) => Ok(Vec::new()),
            Err(e) => Err(e.to_string()),
        }
    }
}
