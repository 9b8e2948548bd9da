//! The rustls server configuration for a [`TlsSettings`]: versions, suites and curves on the
//! ring provider, client certificate policy, and a certificate re-read when its files change.

use std::fmt;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{ring, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig};
use tracing::{info, warn};

use super::config::{ClientAuth, Curve, Pem, TlsSettings, TlsVersion};
use super::suites;

/// Builds the server configuration, reading every file it names.
pub fn server_config(settings: &TlsSettings) -> anyhow::Result<Arc<ServerConfig>> {
    let provider = Arc::new(provider(settings));
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(version, _)| (settings.min_version..=settings.max_version).contains(version))
    .map(|(_, supported)| supported)
    .collect();
    let verifier = client_verifier(settings, &provider)?;
    let certificate = ReloadingCertificate::new(settings, Arc::clone(&provider))?;
    let mut config = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .context("tls_server_config: no usable TLS version")?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(certificate));
    config.ignore_client_order = settings.prefer_server_cipher_suites;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn provider(settings: &TlsSettings) -> CryptoProvider {
    let mut provider = ring::default_provider();
    if !settings.cipher_suites.is_empty() {
        // Go's order is the server's preference; keep it.
        let mut suites: Vec<_> = settings
            .cipher_suites
            .iter()
            .filter_map(|name| {
                provider
                    .cipher_suites
                    .iter()
                    .find(|suite| &suites::name(suite) == name)
                    .copied()
            })
            .collect();
        suites.extend(
            provider
                .cipher_suites
                .iter()
                .filter(|suite| suite.version() == &rustls::version::TLS13),
        );
        // TLS 1.3 suites first, as rustls orders them by default.
        suites.sort_by_key(|suite| suite.version() != &rustls::version::TLS13);
        provider.cipher_suites = suites;
    }
    if !settings.curve_preferences.is_empty() {
        provider.kx_groups = settings
            .curve_preferences
            .iter()
            .map(|curve| match curve {
                Curve::P256 => ring::kx_group::SECP256R1,
                Curve::P384 => ring::kx_group::SECP384R1,
                Curve::X25519 => ring::kx_group::X25519,
            })
            .collect();
    }
    provider
}

fn client_verifier(
    settings: &TlsSettings,
    provider: &Arc<CryptoProvider>,
) -> anyhow::Result<Arc<dyn ClientCertVerifier>> {
    let roots = || -> anyhow::Result<Arc<RootCertStore>> {
        let pem = settings
            .client_ca
            .as_ref()
            .context("tls_server_config: no client CA")?;
        let mut roots = RootCertStore::empty();
        for certificate in read_certificates(pem, "client_ca")? {
            roots.add(certificate).with_context(|| {
                format!(
                    "{}: not a usable CA certificate",
                    describe(pem, "client_ca")
                )
            })?;
        }
        Ok(Arc::new(roots))
    };
    let verify = |optional: bool| -> anyhow::Result<Arc<dyn ClientCertVerifier>> {
        let builder = WebPkiClientVerifier::builder_with_provider(roots()?, Arc::clone(provider));
        let builder = match optional {
            true => builder.allow_unauthenticated(),
            false => builder,
        };
        builder
            .build()
            .context("tls_server_config: cannot verify client certificates with this client CA")
    };
    let algorithms = provider.signature_verification_algorithms;
    Ok(match settings.client_auth {
        ClientAuth::NoClientCert => WebPkiClientVerifier::no_client_auth(),
        ClientAuth::RequestClientCert => Arc::new(AnyClientCertificate {
            mandatory: false,
            algorithms,
        }),
        ClientAuth::RequireAnyClientCert => Arc::new(AnyClientCertificate {
            mandatory: true,
            algorithms,
        }),
        ClientAuth::VerifyClientCertIfGiven => verify(true)?,
        ClientAuth::RequireAndVerifyClientCert => verify(false)?,
    })
}

/// Go's `RequestClientCert` and `RequireAnyClientCert`: any certificate is taken without
/// checking who issued it, though the client must still prove it holds the key.
#[derive(Debug)]
struct AnyClientCertificate {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCertificate {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The server certificate, re-read when its files change so a renewed certificate
/// (cert-manager, certbot) is served without a restart, as the toolkit does. A renewal that
/// does not load keeps the previous certificate and is logged.
struct ReloadingCertificate {
    cert: Pem,
    key: Pem,
    provider: Arc<CryptoProvider>,
    current: Mutex<(FilesVersion, Arc<CertifiedKey>)>,
}

/// What identifies the versions of the certificate and key files (inline PEM never changes).
type FilesVersion = [Option<(i64, i64, u64, u64)>; 2];

impl ReloadingCertificate {
    fn new(settings: &TlsSettings, provider: Arc<CryptoProvider>) -> anyhow::Result<Self> {
        let version = files_version(&settings.cert, &settings.key);
        let key = load_certified_key(&settings.cert, &settings.key, &provider)?;
        Ok(ReloadingCertificate {
            cert: settings.cert.clone(),
            key: settings.key.clone(),
            provider,
            current: Mutex::new((version, key)),
        })
    }
}

impl fmt::Debug for ReloadingCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCertificate")
            .field("cert", &describe(&self.cert, "cert"))
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // Two stats a handshake: negligible next to the handshake itself.
        let version = files_version(&self.cert, &self.key);
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if version != current.0 {
            match load_certified_key(&self.cert, &self.key, &self.provider) {
                Ok(key) => {
                    info!(cert = %describe(&self.cert, "cert"), "TLS certificate changed; serving the new one");
                    *current = (version, key);
                }
                Err(error) => {
                    // Half-written renewal (certificate before key): try again next handshake.
                    warn!(
                        error = format!("{error:#}"),
                        "TLS certificate changed but cannot be loaded; serving the previous one"
                    );
                }
            }
        }
        Some(Arc::clone(&current.1))
    }
}

fn files_version(cert: &Pem, key: &Pem) -> FilesVersion {
    let version = |pem: &Pem| match pem {
        Pem::File(path) => fs::metadata(path)
            .ok()
            .map(|m| (m.mtime(), m.mtime_nsec(), m.size(), m.ino())),
        Pem::Inline(_) => None,
    };
    [version(cert), version(key)]
}

fn load_certified_key(
    cert: &Pem,
    key: &Pem,
    provider: &CryptoProvider,
) -> anyhow::Result<Arc<CertifiedKey>> {
    let chain = read_certificates(cert, "cert")?;
    let key_der = match key {
        Pem::File(path) => PrivateKeyDer::from_pem_file(path),
        Pem::Inline(text) => PrivateKeyDer::from_pem_slice(text.as_bytes()),
    }
    .map_err(|error| pem_error(error, key, "key"))?;
    let certified = CertifiedKey::from_der(chain, key_der, provider).with_context(|| {
        format!(
            "{} does not fit {}",
            describe(key, "key"),
            describe(cert, "cert")
        )
    })?;
    Ok(Arc::new(certified))
}

fn read_certificates(pem: &Pem, inline_key: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certificates = match pem {
        Pem::File(path) => CertificateDer::pem_file_iter(path)
            .map_err(|error| pem_error(error, pem, inline_key))?
            .collect::<Result<Vec<_>, _>>(),
        Pem::Inline(text) => CertificateDer::pem_slice_iter(text.as_bytes()).collect(),
    }
    .map_err(|error| pem_error(error, pem, inline_key))?;
    if certificates.is_empty() {
        bail!("{}: no PEM certificate in it", describe(pem, inline_key));
    }
    Ok(certificates)
}

fn pem_error(error: rustls::pki_types::pem::Error, pem: &Pem, inline_key: &str) -> anyhow::Error {
    use rustls::pki_types::pem::Error;
    let what = describe(pem, inline_key);
    match error {
        Error::Io(error) => anyhow::anyhow!("{what}: cannot read: {error}"),
        Error::NoItemsFound => anyhow::anyhow!("{what}: no PEM private key in it"),
        other => anyhow::anyhow!("{what}: not valid PEM: {other}"),
    }
}

/// How errors name a PEM source: the file, or the inline key.
fn describe(pem: &Pem, inline_key: &str) -> String {
    match pem {
        Pem::File(path) => format!("{}_file {}", inline_key, display(path)),
        Pem::Inline(_) => format!("tls_server_config.{inline_key}"),
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
