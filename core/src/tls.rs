//! TLS for every HTTP client the core builds (the camera's, the cloud's): rustls on `ring`, never
//! aws-lc, which breaks Android cross-builds. reqwest is built without a default provider, so
//! this one must be installed before any client is made.

/// Installs rustls' `ring` provider as the process default, once; later calls do nothing.
pub(crate) fn ensure_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider was installed first (by the app): that one is used.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
