//! A loopback TCP proxy between pg2es and a real server that can cut or stall connections, to
//! put network faults in the middle of real requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Bytes flow both ways.
    None,
    /// Every open connection is dropped once it has carried this many request bytes, and new
    /// ones too: requests are cut in the middle.
    CutAfter(u64),
    /// Bytes are held, connections stay open (a network that stopped answering); a server's
    /// close is held too, until the stall ends.
    Stall,
    /// New connections are closed at once, open ones dropped (a server that went away).
    Refuse,
    /// A request whose bytes hold this text is held on its way, with whatever its connection
    /// sends after it, until the fault is `None`; everything else flows.
    HoldFrom(&'static str),
}

pub struct Proxy {
    pub port: u16,
    /// Where new connections go (`host:port`).
    upstream: Arc<std::sync::Mutex<String>>,
    fault: watch::Sender<Fault>,
    /// Connections cut by a fault, so a test can tell the fault really happened.
    cuts: Arc<AtomicU64>,
    /// Every request byte held on its way (stalled, or from a held request on).
    held: Held,
    accept: JoinHandle<()>,
}

type Held = Arc<std::sync::Mutex<Vec<u8>>>;

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (fault, watcher) = watch::channel(Fault::None);
        let cuts = Arc::new(AtomicU64::new(0));
        let held = Held::default();
        let upstream = Arc::new(std::sync::Mutex::new(upstream.to_owned()));
        let target = Arc::clone(&upstream);
        let counter = Arc::clone(&cuts);
        let holding = Arc::clone(&held);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let upstream = target.lock().unwrap().clone();
                let (watcher, counter) = (watcher.clone(), Arc::clone(&counter));
                let held = Arc::clone(&holding);
                tokio::spawn(async move {
                    if relay(client, &upstream, watcher, held).await {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
        Self {
            port,
            upstream,
            fault,
            cuts,
            held,
            accept,
        }
    }

    /// Sends new connections to `upstream` (`host:port`) from now on: the same address
    /// pointing elsewhere, as a DNS name or a virtual IP moved by a failover.
    pub fn redirect(&self, upstream: &str) {
        *self.upstream.lock().unwrap() = upstream.to_owned();
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }

    pub fn cuts(&self) -> u64 {
        self.cuts.load(Ordering::SeqCst)
    }

    /// How often `text` occurs in the request bytes held so far.
    pub fn held(&self, text: &str) -> usize {
        let held = self.held.lock().unwrap();
        String::from_utf8_lossy(&held).matches(text).count()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Waits while the proxy is stalled; `false` when the proxy is gone.
async fn unstalled(fault: &mut watch::Receiver<Fault>) -> bool {
    fault.wait_for(|fault| *fault != Fault::Stall).await.is_ok()
}

/// Forwards one connection until either side closes or a fault cuts it; `true` when cut.
async fn relay(
    client: TcpStream,
    upstream: &str,
    mut fault: watch::Receiver<Fault>,
    held: Held,
) -> bool {
    if *fault.borrow() == Fault::Refuse {
        return true;
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return false;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let sent = AtomicU64::new(0);
    let (mut request_gate, mut response_gate) = (fault.clone(), fault.clone());
    let request = async {
        let mut buffer = vec![0u8; 16 * 1024];
        let mut holding = false;
        loop {
            let read = client_read.read(&mut buffer).await.unwrap_or(0);
            if read == 0 {
                // The client closed: so does the server's side (a Postgres session ends).
                let _ = server_write.shutdown().await;
                return;
            }
            let fault = *request_gate.borrow();
            if let Fault::HoldFrom(text) = fault {
                holding |= String::from_utf8_lossy(&buffer[..read]).contains(text);
            }
            if holding || fault == Fault::Stall {
                held.lock().unwrap().extend_from_slice(&buffer[..read]);
            }
            let released = match holding {
                true => request_gate
                    .wait_for(|fault| *fault == Fault::None)
                    .await
                    .is_ok(),
                false => unstalled(&mut request_gate).await,
            };
            if !released {
                return;
            }
            holding = false;
            if server_write.write_all(&buffer[..read]).await.is_err() {
                return;
            }
            sent.fetch_add(read as u64, Ordering::SeqCst);
        }
    };
    let response = async {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let read = server_read.read(&mut buffer).await.unwrap_or(0);
            if read == 0 {
                // A session the server ended stays open for the client while stalled.
                if unstalled(&mut response_gate).await {
                    let _ = client_write.shutdown().await;
                }
                return;
            }
            if !unstalled(&mut response_gate).await {
                return;
            }
            if client_write.write_all(&buffer[..read]).await.is_err() {
                return;
            }
        }
    };
    let cut = async {
        loop {
            let current = *fault.borrow_and_update();
            match current {
                Fault::Refuse => return,
                Fault::CutAfter(limit) if sent.load(Ordering::SeqCst) >= limit => return,
                _ => {}
            }
            // Re-check the byte count often while a cut is armed.
            let armed = matches!(current, Fault::CutAfter(_));
            tokio::select! {
                changed = fault.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(std::time::Duration::from_millis(1)), if armed => {}
            }
        }
    };
    tokio::select! {
        _ = async { tokio::join!(request, response) } => false,
        _ = cut => true,
    }
}
