//! An authoritative DNS server of the tests' own on 127.0.0.1 (hickory-server), holding
//! the zone `test.`, whose TXT records a test sets and changes as it goes.

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;

use hickory_server::proto::rr::rdata::{SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordType, RrKey};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use hickory_server::Server;

/// The running server.
pub struct TestDns {
    /// Where it answers (UDP and TCP).
    pub addr: SocketAddr,
    zone: Arc<InMemoryZoneHandler>,
    _server: Server<Catalog>,
}

fn name(text: &str) -> Name {
    Name::from_str(&format!("{}.", text.trim_end_matches('.'))).unwrap()
}

impl TestDns {
    /// Starts the server for the zone `test.` (with its SOA, so a missing name is an
    /// NXDOMAIN, as a real zone answers).
    pub async fn start() -> Self {
        let origin = name("test");
        let zone = Arc::new(InMemoryZoneHandler::empty(
            origin.clone(),
            ZoneType::Primary,
            AxfrPolicy::Deny,
        ));
        let soa = SOA::new(name("ns.test"), name("admin.test"), 1, 60, 60, 600, 0);
        zone.upsert(Record::from_rdata(origin.clone(), 60, RData::SOA(soa)), 1)
            .await;
        let mut catalog = Catalog::new();
        catalog.upsert(LowerName::new(&origin), vec![zone.clone()]);
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        let tcp = tokio::net::TcpListener::bind(addr).await.unwrap();
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, std::time::Duration::from_secs(5), 4096);
        Self {
            addr,
            zone,
            _server: server,
        }
    }

    /// Makes `values` the TXT records of `at` (none: the name has no TXT record).
    pub async fn set_txt(&self, at: &str, values: &[&str]) {
        let owner = name(at);
        let key = RrKey::new(LowerName::new(&owner), RecordType::TXT);
        self.zone.records_mut().await.remove(&key);
        for value in values {
            let txt = TXT::new(vec![(*value).to_owned()]);
            self.zone
                .upsert(Record::from_rdata(owner.clone(), 0, RData::TXT(txt)), 1)
                .await;
        }
    }
}
