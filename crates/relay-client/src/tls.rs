//! TLS for relay connections: TLS 1.3 only, the ring provider, and certificate pinning by
//! SHA-256 fingerprint instead of a certificate authority.

use std::sync::{Arc, Mutex};

use boucle_wire::CertFingerprint;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// ALPN protocol id of Boucle's relay protocol, version 1.
pub const ALPN: &[u8] = b"boucle/1";

/// The name relays put in their self-signed certificate and clients send as SNI. The real
/// host name is never sent: the certificate is pinned by fingerprint.
pub const SERVER_NAME: &str = "boucle-relay";

/// SHA-256 of a certificate's DER encoding.
pub fn fingerprint_of(certificate_der: &[u8]) -> CertFingerprint {
    CertFingerprint::from_bytes(Sha256::digest(certificate_der).into())
}

/// Accepts exactly one certificate, by fingerprint, and remembers what was presented on
/// mismatch so the caller can say so clearly.
#[derive(Debug)]
pub(crate) struct PinnedCertificate {
    expected: CertFingerprint,
    presented_mismatch: Mutex<Option<CertFingerprint>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedCertificate {
    pub(crate) fn new(expected: CertFingerprint, provider: &CryptoProvider) -> Arc<Self> {
        Arc::new(Self {
            expected,
            presented_mismatch: Mutex::new(None),
            algorithms: provider.signature_verification_algorithms,
        })
    }

    pub(crate) fn mismatch(&self) -> Option<CertFingerprint> {
        self.presented_mismatch.lock().ok().and_then(|g| *g)
    }
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = fingerprint_of(end_entity);
        // Fingerprints are public; a constant-time comparison is not needed.
        if presented == self.expected {
            Ok(ServerCertVerified::assertion())
        } else {
            if let Ok(mut slot) = self.presented_mismatch.lock() {
                *slot = Some(presented);
            }
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // TLS 1.2 is not offered.
        Err(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls12NotOffered,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A rustls client configuration pinned to `expected`.
pub(crate) fn client_config(
    verifier: Arc<PinnedCertificate>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}
