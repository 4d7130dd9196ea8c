//! Joining the camera's WiFi: the platform's job (Android's `WifiNetworkSpecifier`, iOS's
//! `NEHotspotConfiguration`), behind a trait so the core decides *when* and the platform *how*.

use async_trait::async_trait;

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
