//! A TCP proxy in front of PostgreSQL that a test can cut and restore: the outage the engine
//! must ride through, injected exactly when the test says, instead of stopping a server and
//! sleeping. Cut: every open connection is shut and new ones are closed as soon as they are
//! accepted (a client sees "connection refused"-like failures at once). Restore: connections
//! are passed through again.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub struct PgProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    cut: AtomicBool,
    stopping: AtomicBool,
    /// Connections refused while cut.
    refused: AtomicU64,
    open: Mutex<Vec<TcpStream>>,
}

impl PgProxy {
    /// Listens on a free local port and forwards every connection to `upstream`.
    pub fn start(upstream: SocketAddr) -> PgProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free local port");
        let address = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accepting.stopping.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                if accepting.cut.load(Ordering::SeqCst) {
                    accepting.refused.fetch_add(1, Ordering::SeqCst);
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                forward(&accepting, client, server);
            }
        });
        PgProxy { address, shared }
    }

    /// A proxy in front of `database`'s server, and the database's URL through it.
    pub fn in_front_of(database: &super::TestDatabase) -> (PgProxy, String) {
        let mut through_proxy = url::Url::parse(database.url.expose()).unwrap();
        let upstream = format!(
            "{}:{}",
            through_proxy.host_str().unwrap(),
            through_proxy.port().unwrap_or(5432)
        );
        let proxy = PgProxy::start(upstream.parse().expect("the test server has a TCP address"));
        through_proxy.set_host(Some("127.0.0.1")).unwrap();
        through_proxy
            .set_port(Some(proxy.address().port()))
            .unwrap();
        (proxy, through_proxy.to_string())
    }

    /// The proxy's address, to put in a database URL in place of the server's.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Cuts every connection and refuses new ones until `restore`.
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        for stream in self.shared.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    pub fn restore(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }

    /// Connections refused since the first cut.
    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::SeqCst)
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.cut();
        // Wakes the accepting thread so it sees `stopping`.
        let _ = TcpStream::connect(self.address);
    }
}

/// Copies both ways between `client` and `server` until either side closes.
fn forward(shared: &Shared, client: TcpStream, server: TcpStream) {
    let mut open = shared.open.lock().unwrap();
    for (from, to) in [(&client, &server), (&server, &client)] {
        let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
            return;
        };
        std::thread::spawn(move || {
            let mut buffer = [0u8; 16 * 1024];
            loop {
                match from.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(read) => {
                        if to.write_all(&buffer[..read]).is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = to.shutdown(Shutdown::Both);
            let _ = from.shutdown(Shutdown::Both);
        });
    }
    open.push(client);
    open.push(server);
}
