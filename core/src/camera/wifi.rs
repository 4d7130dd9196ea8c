//! Joining the camera's WiFi: the platform's job (Android's `WifiNetworkSpecifier`, iOS's
//! `NEHotspotConfiguration`), behind a trait so the core decides *when* and the platform *how*.
//!
//! The camera's WiFi has no internet, and the phone keeps its internet network (cellular or
//! another WiFi) for everything else. So on Android the joiner also hands the core the camera's
//! network as a [`CameraNetwork`], and the core binds each of its *camera* sockets to it before
//! the socket connects (`Network.bindSocket`); the cloud's sockets never see it, and nothing
//! binds the whole process. reqwest offers no hook on a socket before it connects, so a camera
//! client with a network talks through a [`Relay`]: a Unix socket (abstract name, this process
//! only) whose every connection the relay carries over a TCP socket it bound itself.

use std::sync::Arc;

use async_trait::async_trait;

use super::{CameraClient, CameraError, CameraKey, PairedCamera, http_builder, pinned};

/// Why the phone could not join the camera's WiFi.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WifiError {
    /// The user declined the system's "join this network?" prompt.
    #[error("the user declined to join {ssid:?}")]
    Declined {
        /// The camera's network.
        ssid: String,
    },
    /// The network was not found or refused the phone (out of range, wrong passphrase).
    #[error("could not join {ssid:?}: {reason}")]
    Unavailable {
        /// The camera's network.
        ssid: String,
        /// What the platform said.
        reason: String,
    },
    /// A camera socket could not be bound to the camera's network (it was lost, or left).
    #[error("could not bind a camera socket to the camera's network: {0}")]
    NotBound(String),
}

/// The camera's network as the platform holds it (Android: the `Network` its WiFi request
/// returned). The core calls it with each camera socket before connecting it, so camera traffic
/// goes over the camera's WiFi and only camera traffic does.
pub trait CameraNetwork: Send + Sync {
    /// Binds `socket` (an unconnected TCP socket's file descriptor, still owned by the core) to
    /// the camera's network; an error keeps the socket from connecting at all.
    fn bind_socket(&self, socket: i32) -> Result<(), WifiError>;
}

/// Puts the phone on a camera's WiFi network and takes it off again.
///
/// Implementations must never log the passphrase.
#[async_trait]
pub trait WifiJoiner: Send + Sync {
    /// Joins `ssid` with `passphrase` (WPA2-PSK); returns once traffic to the camera can flow.
    async fn join(&self, ssid: &str, passphrase: &str) -> Result<(), WifiError>;
    /// Leaves `ssid` (the phone goes back to its usual network); best effort.
    async fn leave(&self, ssid: &str);
    /// The joined network, when camera sockets must be bound to it (Android); `None` when the
    /// system routes to the camera by itself (iOS, the CLI, tests).
    fn camera_network(&self) -> Option<Arc<dyn CameraNetwork>> {
        None
    }
}

/// The joiner for the CLI and tests: the camera is reachable on loopback (or the host's own
/// network), so there is nothing to join.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlreadyJoined;

#[async_trait]
impl WifiJoiner for AlreadyJoined {
    async fn join(&self, ssid: &str, _passphrase: &str) -> Result<(), WifiError> {
        tracing::debug!(ssid, "WiFi join: already on the camera's network");
        Ok(())
    }

    async fn leave(&self, _ssid: &str) {}
}

impl CameraClient {
    /// The paired camera's client ([`CameraClient::paired`]) with each of its sockets bound to
    /// `network` before it connects; `None`: the system's routing.
    pub fn paired_on(
        camera: &PairedCamera,
        network: Option<Arc<dyn CameraNetwork>>,
    ) -> Result<Self, CameraError> {
        let client = Self::paired(camera)?;
        let Some(network) = network else { return Ok(client) };
        let key = CameraKey::from_hex(&camera.payload.identity_key)
            .ok_or(CameraError::Protocol("the pinned camera key is not 32 bytes of hex".into()))?;
        client.routed(network, Some(pinned::phone_client_config(key)?))
    }

    /// This client with its connections carried by a [`Relay`] over `network`; `tls` as the
    /// client had it (the pinned key, or none for `http://`).
    fn routed(
        mut self,
        network: Arc<dyn CameraNetwork>,
        tls: Option<rustls::ClientConfig>,
    ) -> Result<Self, CameraError> {
        let relay = Relay::start(network, &self.base)?;
        let builder = http_builder(tls);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let builder = builder.unix_socket(relay.name.as_path());
        self.http = builder.build().map_err(CameraError::Link)?;
        self.relay = Some(Arc::new(relay));
        Ok(self)
    }
}

/// Carries a camera client's connections over sockets bound to the camera's network: the
/// client connects to the relay's Unix socket, the relay opens a TCP socket, has the platform
/// bind it, connects it to the camera and copies both ways. Stops when dropped.
pub(crate) struct Relay {
    /// The abstract socket name (leading NUL): no file, gone with the process.
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    name: std::path::PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Relay {
    /// Starts a relay to the camera at `base` (its API URL).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn start(network: Arc<dyn CameraNetwork>, base: &str) -> Result<Self, CameraError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let url = reqwest::Url::parse(base).map_err(|_| CameraError::BadUrl(base.into()))?;
        let host = url.host_str().ok_or_else(|| CameraError::BadUrl(base.into()))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let port = url.port_or_known_default().ok_or_else(|| CameraError::BadUrl(base.into()))?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = std::path::PathBuf::from(format!(
            "\0dashkeep-camera-{}-{n}-{:x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let listener = tokio::net::UnixListener::bind(&name)
            .map_err(|e| CameraError::Protocol(format!("the camera network relay: {e}")))?;
        let task = tokio::spawn(relay::serve(listener, network, host, port));
        Ok(Self { name, task })
    }

    /// Elsewhere (iOS) the system routes to the camera's subnet by itself.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn start(_network: Arc<dyn CameraNetwork>, _base: &str) -> Result<Self, CameraError> {
        Ok(Self { name: Default::default(), task: tokio::spawn(async {}) })
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod relay {
    use std::os::fd::AsRawFd;
    use std::sync::Arc;

    use tokio::net::{TcpSocket, TcpStream, UnixListener, UnixStream};

    use super::CameraNetwork;

    /// Accepts the client's connections (from this process's user only) and carries each.
    pub(super) async fn serve(
        listener: UnixListener,
        network: Arc<dyn CameraNetwork>,
        host: String,
        port: u16,
    ) {
        let uid = own_uid();
        while let Ok((stream, _)) = listener.accept().await {
            // The name is abstract, so another app could connect to it: only this one may.
            if stream.peer_cred().map(|c| c.uid()).ok() != Some(uid) {
                tracing::warn!("camera relay: refused a connection from another user");
                continue;
            }
            let (network, host) = (Arc::clone(&network), host.clone());
            tokio::spawn(async move {
                if let Err(e) = carry(stream, network.as_ref(), &host, port).await {
                    tracing::debug!(error = %e, "camera relay: connection ended");
                }
            });
        }
    }

    /// This process's user id: the owner of `/proc/self` (no `libc` call needed).
    fn own_uid() -> u32 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(u32::MAX)
    }

    /// One connection: a TCP socket bound to the camera's network, connected, copied both ways.
    async fn carry(
        mut client: UnixStream,
        network: &dyn CameraNetwork,
        host: &str,
        port: u16,
    ) -> std::io::Result<()> {
        let mut camera = connect_bound(network, host, port).await?;
        tokio::io::copy_bidirectional(&mut client, &mut camera).await?;
        Ok(())
    }

    async fn connect_bound(
        network: &dyn CameraNetwork,
        host: &str,
        port: u16,
    ) -> std::io::Result<TcpStream> {
        let mut last = std::io::Error::other("the camera's address did not resolve");
        for addr in tokio::net::lookup_host((host, port)).await? {
            let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
            network.bind_socket(socket.as_raw_fd()).map_err(std::io::Error::other)?;
            match tokio::time::timeout(super::super::CONNECT_TIMEOUT, socket.connect(addr)).await {
                Ok(Ok(stream)) => {
                    stream.set_nodelay(true)?;
                    return Ok(stream);
                }
                Ok(Err(e)) => last = e,
                Err(_) => last = std::io::Error::from(std::io::ErrorKind::TimedOut),
            }
        }
        Err(last)
    }
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::camera::http_client;

    /// The platform's network, as a test sees it: records each socket it binds, or refuses.
    #[derive(Default)]
    struct Recording {
        bound: Mutex<Vec<i32>>,
        refuse: bool,
    }

    impl CameraNetwork for Recording {
        fn bind_socket(&self, socket: i32) -> Result<(), WifiError> {
            if self.refuse {
                return Err(WifiError::NotBound("the camera's network was lost".into()));
            }
            self.bound.lock().unwrap().push(socket);
            Ok(())
        }
    }

    /// A one-answer HTTP server on loopback counting the connections it accepted.
    async fn server() -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf).await;
                    let answer =
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
                    let _ = s.write_all(answer.as_bytes()).await;
                });
            }
        });
        (url, accepted)
    }

    async fn get(http: &reqwest::Client, base: &str) -> Result<String, reqwest::Error> {
        http.get(format!("{base}/x")).send().await?.text().await
    }

    #[tokio::test]
    async fn camera_sockets_are_bound_and_other_sockets_are_not() {
        let (url, accepted) = server().await;
        let network = Arc::new(Recording::default());
        let camera = CameraClient::new(&url).unwrap().routed(network.clone(), None).unwrap();
        assert_eq!(get(&camera.http, &url).await.unwrap(), "ok");
        assert_eq!(network.bound.lock().unwrap().len(), 1, "the camera's socket was bound");
        // The cloud's client (any client built without the network) keeps the default route.
        let cloud = http_client(None).unwrap();
        assert_eq!(get(&cloud, &url).await.unwrap(), "ok");
        assert_eq!(network.bound.lock().unwrap().len(), 1, "no other socket was bound");
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_lost_network_fails_camera_requests_instead_of_using_another_route() {
        let (url, accepted) = server().await;
        let network = Arc::new(Recording { refuse: true, ..Default::default() });
        let camera = CameraClient::new(&url).unwrap().routed(network, None).unwrap();
        assert!(get(&camera.http, &url).await.is_err());
        assert_eq!(accepted.load(Ordering::SeqCst), 0, "nothing reached the camera unbound");
    }

    #[tokio::test]
    async fn the_relay_stops_with_its_client() {
        let (url, _) = server().await;
        let camera =
            CameraClient::new(&url).unwrap().routed(Arc::new(Recording::default()), None).unwrap();
        let name = camera.relay.as_ref().unwrap().name.clone();
        drop(camera);
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(tokio::net::UnixStream::connect(&name).await.is_err(), "relay still listening");
    }
}
