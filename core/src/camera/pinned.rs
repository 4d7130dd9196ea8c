//! The camera's HTTPS, pinned to the key the phone learnt at pairing.
//!
//! WPA2-PSK does not hide one client's traffic from another client that knows the passphrase, so
//! the camera API runs over TLS 1.3 authenticated by the camera's long-term Ed25519 identity key,
//! sent as a raw public key (RFC 7250): no certificate authority, no certificate, no host name
//! (cameras sit at fixed addresses on their own network). The phone accepts exactly the key it
//! pinned at pairing and nothing else; the camera's half ([`camera_server_config`]) lives here too
//! so both halves are tested together.
//!
//! rustls does the TLS; this module only decides which key is trusted.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, SubjectPublicKeyInfoDer,
    UnixTime,
};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4): SEQUENCE { SEQUENCE { OID
/// 1.3.101.112 }, BIT STRING (0 unused bits) }, followed by the 32 key bytes. A fixed prefix, so
/// no ASN.1 crate is needed to build it.
const ED25519_SPKI_PREFIX: [u8; 12] =
    [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// A camera's long-term Ed25519 identity public key, as pinned at pairing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CameraKey([u8; 32]);

impl fmt::Debug for CameraKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CameraKey({})", self.fingerprint())
    }
}

impl CameraKey {
    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key from 64 hex digits (the pairing payload's form); `None` if it is not that.
    pub fn from_hex(hex_key: &str) -> Option<Self> {
        let bytes = hex::decode(hex_key).ok()?;
        Some(Self(<[u8; 32]>::try_from(bytes).ok()?))
    }

    /// The key's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A short fingerprint to show people (the first 8 bytes of the key's SHA-256, hex, grouped):
    /// public, safe to log and to print beside a QR code.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.0);
        digest[..8].chunks(2).map(hex::encode).collect::<Vec<_>>().join(":")
    }

    /// The key as the SubjectPublicKeyInfo a raw-public-key TLS handshake carries.
    pub fn spki_der(&self) -> Vec<u8> {
        let mut der = ED25519_SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.0);
        der
    }
}

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PinnedTlsError {
    /// The camera's private key is not an Ed25519 PKCS#8 document rustls accepts.
    #[error("the camera's identity key is unusable: {0}")]
    BadKey(String),
    /// rustls refused the configuration.
    #[error("TLS configuration failed: {0}")]
    Config(#[from] rustls::Error),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The phone's TLS configuration for a paired camera: TLS 1.3, raw public keys only, and only
/// `key` is accepted.
pub fn phone_client_config(key: CameraKey) -> Result<rustls::ClientConfig, PinnedTlsError> {
    let provider = provider();
    let verifier = PinnedKeyVerifier {
        spki: key.spki_der(),
        algorithms: provider.signature_verification_algorithms,
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// The camera's TLS configuration: TLS 1.3, presenting its identity key (PKCS#8 Ed25519) as a raw
/// public key. Used by the simulated camera; a real camera's firmware does the same.
pub fn camera_server_config(identity_pkcs8: &[u8]) -> Result<rustls::ServerConfig, PinnedTlsError> {
    let provider = provider();
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity_pkcs8.to_vec()));
    let signing = provider.key_provider.load_private_key(der)?;
    let spki = signing
        .public_key()
        .ok_or_else(|| PinnedTlsError::BadKey("no public key in the PKCS#8 document".into()))?;
    let certified = rustls::sign::CertifiedKey::new(
        vec![CertificateDer::from(spki.as_ref().to_vec())],
        signing,
    );
    let resolver = rustls::server::AlwaysResolvesServerRawPublicKeys::new(Arc::new(certified));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Accepts exactly one raw public key, and checks the handshake was signed by it.
#[derive(Debug)]
struct PinnedKeyVerifier {
    spki: Vec<u8>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedKeyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.spki.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            tracing::warn!("camera presented a key other than the one pinned at pairing");
            Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // Raw public keys exist only in TLS 1.3 here (the config offers nothing else).
        Err(rustls::Error::General("the camera link is TLS 1.3 only".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let spki = SubjectPublicKeyInfoDer::from(cert.as_ref());
        rustls::crypto::verify_tls13_signature_with_raw_key(message, &spki, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::KeyPair;
    use rustls::{ClientConnection, ServerConnection};

    fn identity() -> (Vec<u8>, CameraKey) {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let key = CameraKey::from_bytes(pair.public_key().as_ref().try_into().unwrap());
        (pkcs8.as_ref().to_vec(), key)
    }

    /// Runs a handshake in memory; returns the client's error, if any.
    fn handshake(server_pkcs8: &[u8], pinned: CameraKey) -> Result<(), rustls::Error> {
        let server_cfg = Arc::new(camera_server_config(server_pkcs8).unwrap());
        let client_cfg = Arc::new(phone_client_config(pinned).unwrap());
        let name = ServerName::try_from("192.168.42.1").unwrap();
        let mut client = ClientConnection::new(client_cfg, name).unwrap();
        let mut server = ServerConnection::new(server_cfg).unwrap();
        for _ in 0..10 {
            let mut buf = Vec::new();
            client.write_tls(&mut buf).unwrap();
            server.read_tls(&mut buf.as_slice()).unwrap();
            let _ = server.process_new_packets();
            let mut back = Vec::new();
            server.write_tls(&mut back).unwrap();
            client.read_tls(&mut back.as_slice()).unwrap();
            client.process_new_packets()?;
            if !client.is_handshaking() {
                return Ok(());
            }
        }
        panic!("handshake did not finish");
    }

    #[test]
    fn the_pinned_key_is_accepted() {
        let (pkcs8, key) = identity();
        handshake(&pkcs8, key).unwrap();
    }

    #[test]
    fn any_other_key_is_refused() {
        let (pkcs8, _) = identity();
        let (_, other) = identity();
        let err = handshake(&pkcs8, other).unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
            ),
            "{err:?}"
        );
    }

    #[test]
    fn spki_matches_what_the_camera_presents() {
        let (pkcs8, key) = identity();
        let provider = rustls::crypto::ring::default_provider();
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8));
        let signing = provider.key_provider.load_private_key(der).unwrap();
        assert_eq!(signing.public_key().unwrap().as_ref(), key.spki_der().as_slice());
    }

    #[test]
    fn hex_round_trip_and_fingerprint() {
        let key = CameraKey::from_bytes([7; 32]);
        assert_eq!(CameraKey::from_hex(&hex::encode([7; 32])), Some(key));
        assert_eq!(CameraKey::from_hex("abcd"), None);
        assert_eq!(key.fingerprint().len(), 19);
    }
}
