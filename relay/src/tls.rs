//! The relay's self-signed certificate and its TLS configuration.

use std::path::Path;
use std::sync::Arc;

use boucle_relay_client::{ALPN, SERVER_NAME, fingerprint_of};
use boucle_wire::CertFingerprint;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::RelayError;

/// The certificate and key files of a data directory.
pub struct Identity {
    certificate: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// A new self-signed certificate.
    pub fn generate() -> Result<Identity, RelayError> {
        let certified = rcgen::generate_simple_self_signed(vec![SERVER_NAME.to_owned()])
            .map_err(|e| RelayError::Tls(e.to_string()))?;
        Ok(Identity {
            certificate: certified.cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()),
        })
    }

    /// Writes `cert.der` and `key.der` (readable by the owner only).
    pub fn save(&self, dir: &Path) -> Result<(), RelayError> {
        let cert_path = dir.join("cert.der");
        std::fs::write(&cert_path, self.certificate.as_ref())
            .map_err(|e| RelayError::io(&cert_path, e))?;
        let key_path = dir.join("key.der");
        crate::fsutil::write_private(&key_path, self.key.secret_pkcs8_der())?;
        Ok(())
    }

    /// Reads `cert.der` and `key.der`.
    pub fn load(dir: &Path) -> Result<Identity, RelayError> {
        let cert_path = dir.join("cert.der");
        let key_path = dir.join("key.der");
        let certificate = std::fs::read(&cert_path).map_err(|e| RelayError::io(&cert_path, e))?;
        let key = std::fs::read(&key_path).map_err(|e| RelayError::io(&key_path, e))?;
        Ok(Identity {
            certificate: CertificateDer::from(certificate),
            key: PrivatePkcs8KeyDer::from(key),
        })
    }

    /// SHA-256 of the certificate, as put in the relay address.
    pub fn fingerprint(&self) -> CertFingerprint {
        fingerprint_of(self.certificate.as_ref())
    }

    /// A QUIC server configuration presenting this certificate, TLS 1.3 only.
    pub fn server_config(&self) -> Result<quinn::ServerConfig, RelayError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| RelayError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(
                vec![self.certificate.clone()],
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )
            .map_err(|e| RelayError::Tls(e.to_string()))?;
        tls.alpn_protocols = vec![ALPN.to_vec()];
        tls.max_early_data_size = 0;
        let quic = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
            .map_err(|e| RelayError::Tls(e.to_string()))?;
        Ok(quinn::ServerConfig::with_crypto(Arc::new(quic)))
    }
}
