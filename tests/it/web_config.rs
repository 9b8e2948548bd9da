//! `--web.config.file` and the HTTP limits, against the real binary: TLS with certificates
//! made here, client certificates, basic auth, TLS versions, slow clients, methods.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{
    ClientConfig, ClientConnection, RootCertStore, StreamOwned, SupportedProtocolVersion,
};

use crate::common::{
    examples_dir, free_port, report_with_users, request_without_reading_with, users_line, Exporter,
    BINARY,
};

/// A CA, a server certificate for 127.0.0.1 signed by it, a client certificate signed by
/// it, and a client certificate nobody signed, written as PEM files in a fresh folder.
struct Pki {
    dir: tempfile::TempDir,
    ca: CertificateDer<'static>,
    client: Identity,
    stranger: Identity,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();

        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(vec!["prometheus".to_owned()]).unwrap();
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client = client_params.signed_by(&client_key, &ca).unwrap();

        let stranger_key = KeyPair::generate().unwrap();
        let mut stranger_params = CertificateParams::new(vec!["mallory".to_owned()]).unwrap();
        stranger_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let stranger = stranger_params.self_signed(&stranger_key).unwrap();

        std::fs::create_dir(dir.path().join("tls")).unwrap();
        std::fs::write(dir.path().join("tls/ca.crt"), ca.pem()).unwrap();
        std::fs::write(dir.path().join("tls/server.crt"), server.pem()).unwrap();
        std::fs::write(
            dir.path().join("tls/server.key"),
            server_key.serialize_pem(),
        )
        .unwrap();
        Pki {
            dir,
            ca: ca.der().clone(),
            client: Identity {
                cert: client.der().clone(),
                key: client_key.serialize_der(),
            },
            stranger: Identity {
                cert: stranger.der().clone(),
                key: stranger_key.serialize_der(),
            },
        }
    }

    /// Writes `web.yml` beside the certificates; its paths are relative to it.
    fn config(&self, text: &str) -> PathBuf {
        let path = self.dir.path().join("web.yml");
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// A client certificate and its PKCS#8 key.
#[derive(Clone)]
struct Identity {
    cert: CertificateDer<'static>,
    key: Vec<u8>,
}

const TLS_FILES: &str =
    "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/server.key\n";

/// The exporter started from `/`, so relative paths in the config only work if they are
/// taken relative to the config file.
struct Server {
    child: Child,
    address: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(flags: &[&str]) -> Server {
        let address = format!("127.0.0.1:{}", free_port());
        let mut child = Command::new(BINARY)
            .current_dir("/")
            .arg("--report.dir")
            .arg(examples_dir())
            .args(["--web.listen-address", &address])
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                sink.lock().unwrap().push(line);
            }
        });
        let server = Server {
            child,
            address,
            logs,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&server.address).is_err() {
            assert!(
                Instant::now() < deadline,
                "exporter not listening; logs:\n{}",
                server.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // It listens before it reads the folder; the tests expect the examples served.
        while !server.logs().contains("report folder rescanned") {
            assert!(
                Instant::now() < deadline,
                "examples not read; logs:\n{}",
                server.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    fn with_config(config: &Path, flags: &[&str]) -> Server {
        let mut all = vec!["--web.config.file", config.to_str().unwrap()];
        all.extend_from_slice(flags);
        Server::start(&all)
    }

    fn http(&self) -> Client {
        Client {
            address: self.address.clone(),
            tls: None,
        }
    }

    fn https(&self, pki: &Pki) -> Client {
        Client::tls(&self.address, pki, None, &[&rustls::version::TLS13])
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small HTTP/1.1 client over rustls, so tests choose versions and client certificates.
struct Client {
    address: String,
    tls: Option<Arc<ClientConfig>>,
}

impl Client {
    fn tls(
        address: &str,
        pki: &Pki,
        identity: Option<Identity>,
        versions: &[&'static SupportedProtocolVersion],
    ) -> Client {
        let mut roots = RootCertStore::empty();
        roots.add(pki.ca.clone()).unwrap();
        let builder =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_protocol_versions(versions)
                .unwrap()
                .with_root_certificates(roots);
        let config = match identity {
            Some(Identity { cert, key }) => builder
                .with_client_auth_cert(
                    vec![cert],
                    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
                )
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        Client {
            address: address.to_owned(),
            tls: Some(Arc::new(config)),
        }
    }

    /// Sends one request; the status and body, or what went wrong.
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<(u16, String), String> {
        let tcp = TcpStream::connect(&self.address).map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut response = Vec::new();
        let result = match &self.tls {
            None => exchange(tcp, &request, &mut response),
            Some(config) => {
                let name = ServerName::try_from("127.0.0.1").unwrap();
                let connection = ClientConnection::new(Arc::clone(config), name).unwrap();
                exchange(StreamOwned::new(connection, tcp), &request, &mut response)
            }
        };
        let text = String::from_utf8_lossy(&response).into_owned();
        // A server may close without a TLS close_notify after a whole response; that is fine.
        match result {
            Err(error) if !text.contains("\r\n\r\n") => return Err(error.to_string()),
            _ => {}
        }
        let status = text
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("not an HTTP response: {text:?}"))?;
        let body = text
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_owned();
        Ok((status, body))
    }

    fn get(&self, path: &str) -> Result<(u16, String), String> {
        self.request("GET", path, &[])
    }

    fn get_as(&self, path: &str, user: &str, password: &str) -> Result<(u16, String), String> {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.request("GET", path, &[("Authorization", &format!("Basic {token}"))])
    }
}

fn exchange(
    mut stream: impl Read + Write,
    request: &str,
    response: &mut Vec<u8>,
) -> std::io::Result<()> {
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    stream.read_to_end(response)?;
    Ok(())
}

/// Runs the exporter expecting it to refuse to start: its exit status and stderr.
fn refused_start(config: &Path) -> (ExitStatus, String) {
    let mut child = Command::new(BINARY)
        .args(["--report.dir", "/nonexistent", "--web.listen-address"])
        .arg(format!("127.0.0.1:{}", free_port()))
        .arg("--web.config.file")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the exporter started despite a bad config"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stderr)
}

#[test]
fn https_serves_metrics_and_plain_http_to_the_tls_port_fails() {
    let pki = Pki::new();
    let server = Server::with_config(&pki.config(TLS_FILES), &[]);
    let https = server.https(&pki);
    let (status, body) = https.get("/metrics").unwrap();
    assert_eq!(status, 200, "{}", server.logs());
    assert!(
        body.contains("credential_report_up{report=\"acme-prod\"} 1"),
        "{body}"
    );
    assert_eq!(https.get("/-/healthy").unwrap().0, 200);

    assert!(
        server.http().get("/metrics").is_err(),
        "plain HTTP to the TLS listener must not be answered"
    );

    // A standard client with the CA as its only root works too.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[
                    ureq::tls::Certificate::from_der(&pki.ca).to_owned(),
                ]))
                .build(),
        )
        .build()
        .into();
    let body = agent
        .get(format!("https://{}/metrics", server.address))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(body.contains("credential_report_up"));
}

#[test]
fn required_client_certificates_must_come_from_the_client_ca() {
    let pki = Pki::new();
    let config = pki.config(&format!(
        "{TLS_FILES}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: tls/ca.crt\n"
    ));
    let server = Server::with_config(&config, &[]);
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let anonymous = Client::tls(&server.address, &pki, None, &[version]);
        assert!(
            anonymous.get("/metrics").is_err(),
            "no certificate, {version:?}"
        );
        let stranger = Client::tls(
            &server.address,
            &pki,
            Some(pki.stranger.clone()),
            &[version],
        );
        assert!(
            stranger.get("/metrics").is_err(),
            "unknown issuer, {version:?}"
        );
        let known = Client::tls(&server.address, &pki, Some(pki.client.clone()), &[version]);
        assert_eq!(known.get("/metrics").unwrap().0, 200, "{version:?}");
    }
}

#[test]
fn optional_client_certificates_are_verified_only_when_sent() {
    let pki = Pki::new();
    let config = pki.config(&format!(
        "{TLS_FILES}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: tls/ca.crt\n"
    ));
    let server = Server::with_config(&config, &[]);
    let version = &[&rustls::version::TLS13][..];
    assert_eq!(
        Client::tls(&server.address, &pki, None, version)
            .get("/metrics")
            .unwrap()
            .0,
        200
    );
    let known = Client::tls(&server.address, &pki, Some(pki.client.clone()), version);
    assert_eq!(known.get("/metrics").unwrap().0, 200);
    let stranger = Client::tls(&server.address, &pki, Some(pki.stranger.clone()), version);
    assert!(stranger.get("/metrics").is_err());
}

#[test]
fn min_version_is_honoured() {
    let pki = Pki::new();
    let server = Server::with_config(
        &pki.config(&format!("{TLS_FILES}  min_version: TLS13\n")),
        &[],
    );
    let tls12 = Client::tls(&server.address, &pki, None, &[&rustls::version::TLS12]);
    assert!(tls12.get("/metrics").is_err(), "TLS 1.2 refused");
    let tls13 = Client::tls(&server.address, &pki, None, &[&rustls::version::TLS13]);
    assert_eq!(tls13.get("/metrics").unwrap().0, 200);

    // And without it, TLS 1.2 is still spoken, as in the toolkit.
    let server = Server::with_config(&pki.config(TLS_FILES), &[]);
    let tls12 = Client::tls(&server.address, &pki, None, &[&rustls::version::TLS12]);
    assert_eq!(tls12.get("/metrics").unwrap().0, 200);
}

#[test]
fn basic_auth_guards_everything_but_the_probes() {
    let pki = Pki::new();
    // Cost 4, bcrypt's least, keeps the test quick; real files use 10 or more.
    let hash = bcrypt::hash("correct horse", 4).unwrap();
    let config = pki.config(&format!(
        "{TLS_FILES}basic_auth_users:\n  prometheus: {hash}\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n"
    ));
    let server = Server::with_config(&config, &[]);
    let https = server.https(&pki);
    for path in ["/metrics", "/", "/nothing-here"] {
        assert_eq!(
            https.get(path).unwrap().0,
            401,
            "{path} without credentials"
        );
        assert_eq!(
            https.get_as(path, "prometheus", "wrong").unwrap().0,
            401,
            "{path}"
        );
        assert_eq!(
            https.get_as(path, "nobody", "correct horse").unwrap().0,
            401,
            "{path}"
        );
    }
    let (status, body) = https
        .get_as("/metrics", "prometheus", "correct horse")
        .unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("credential_report_up"));
    assert_eq!(
        https
            .get_as("/nothing-here", "prometheus", "correct horse")
            .unwrap()
            .0,
        404
    );
    assert_eq!(https.get("/-/healthy").unwrap().0, 200);
    assert_eq!(https.get("/-/ready").unwrap().0, 200);

    // The challenge and the configured header are on refusals too.
    let tcp = TcpStream::connect(&server.address).unwrap();
    let connection = ClientConnection::new(
        Arc::clone(https.tls.as_ref().unwrap()),
        ServerName::try_from("127.0.0.1").unwrap(),
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = exchange(
        StreamOwned::new(connection, tcp),
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        &mut raw,
    );
    let raw = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    assert!(raw.contains("www-authenticate: basic"), "{raw}");
    assert!(raw.contains("x-frame-options: deny"), "{raw}");
}

#[test]
fn basic_auth_works_without_tls() {
    let dir = tempfile::tempdir().unwrap();
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let config = dir.path().join("web.yml");
    std::fs::write(&config, format!("basic_auth_users:\n  alice: '{hash}'\n")).unwrap();
    let server = Server::with_config(&config, &[]);
    assert_eq!(server.http().get("/metrics").unwrap().0, 401);
    assert_eq!(
        server
            .http()
            .get_as("/metrics", "alice", "s3cret")
            .unwrap()
            .0,
        200
    );
}

#[test]
fn only_get_and_head_on_known_paths() {
    let server = Server::start(&[]);
    let http = server.http();
    assert_eq!(http.request("HEAD", "/metrics", &[]).unwrap().0, 200);
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"] {
        for path in ["/metrics", "/", "/-/healthy", "/-/ready"] {
            let (status, _) = http
                .request(method, path, &[("Content-Length", "0")])
                .unwrap();
            assert_eq!(status, 405, "{method} {path}");
        }
    }
    assert_eq!(
        http.request("POST", "/elsewhere", &[("Content-Length", "0")])
            .unwrap()
            .0,
        404
    );
    assert_eq!(http.get("/elsewhere").unwrap().0, 404);
}

/// Reads until the server closes the connection; how long that took.
fn time_until_closed(mut stream: impl Read) -> Duration {
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return started.elapsed(),
            Ok(_) => {} // a 408 response before the close is fine
        }
    }
}

#[test]
fn slow_clients_are_cut_off_after_the_header_timeout() {
    let server = Server::start(&["--web.read-header-timeout", "1s"]);
    let mut slow = TcpStream::connect(&server.address).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let waited = time_until_closed(&slow);
    assert!(
        waited < Duration::from_secs(3),
        "a client that never finishes its headers was kept {waited:?}"
    );
    // A prompt client on the same server is unaffected.
    assert_eq!(server.http().get("/metrics").unwrap().0, 200);

    // A TLS client that never says hello is cut off too.
    let pki = Pki::new();
    let tls = Server::with_config(&pki.config(TLS_FILES), &["--web.read-header-timeout", "1s"]);
    let silent = TcpStream::connect(&tls.address).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert!(time_until_closed(&silent) < Duration::from_secs(3));
}

#[test]
fn requests_beyond_max_requests_get_503_at_once() {
    // A client that never reads a large answer still being encoded holds the one permit
    // (until the write timeout, longer than this test); another request gets a 503 at
    // once, not a wait for the permit, and the probes are not counted. A wrong password
    // holds no permit: auth comes first (tests/hostile.rs floods it). The answer is
    // encoded while sent because nobody has asked for OpenMetrics before: it starts that
    // format's compression, and later answers, shared, hold no permit (bodies.rs).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.csv"), report_with_users(3000)).unwrap();
    let exporter = Exporter::start(dir.path(), &["--web.max-requests", "1"]);
    exporter.wait_for_sample(&users_line("big", 3000));
    // The holder must have the permit before anyone else asks: on a loaded machine the
    // request below could otherwise be served first, and the holder get the 503. Its
    // status line says which; it reads nothing more.
    let _holding = loop {
        let openmetrics = "Accept: application/openmetrics-text\r\n";
        let mut holding = request_without_reading_with(&exporter.address, "/metrics", openmetrics);
        let mut status = [0u8; 12];
        holding.read_exact(&mut status).unwrap();
        if &status == b"HTTP/1.1 200" {
            break holding;
        }
    };
    // On a loaded machine the server may not have taken its permit yet: tried again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while exporter.get("/metrics", None).0 != 503 {
        assert!(
            Instant::now() < deadline,
            "no request was refused while the permit was held"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(exporter.status("/-/healthy"), 200, "probes are not counted");
}

#[test]
fn invalid_configs_stop_the_start_naming_the_file_and_the_problem() {
    let pki = Pki::new();
    let cases = [
        (
            "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/missing.key\n",
            "missing.key",
        ),
        (
            &format!("{TLS_FILES}  min_version: TLS10\n") as &str,
            "TLS10",
        ),
        (
            "tls_server_config:\n  cert_file: tls/server.crt\n  key_fle: tls/server.key\n",
            "key_fle",
        ),
        (
            "basic_auth_users:\n  alice: plaintext\n",
            "basic_auth_users.alice",
        ),
        (
            "tls_server_config:\n  cert_file: tls/ca.crt\n  key_file: tls/server.key\n",
            "does not fit",
        ),
        ("tls_server_config: [\n", "not a valid web configuration"),
    ];
    for (text, problem) in cases {
        let config = pki.config(text);
        let (status, stderr) = refused_start(&config);
        assert!(!status.success(), "{text}");
        assert!(
            stderr.contains(config.to_str().unwrap()),
            "names the file: {stderr}"
        );
        assert!(stderr.contains(problem), "names {problem:?}: {stderr}");
    }
}

#[test]
fn a_renewed_certificate_is_served_without_a_restart() {
    let pki = Pki::new();
    let server = Server::with_config(&pki.config(TLS_FILES), &[]);
    let first = served_certificate(&server.address);

    let key = KeyPair::generate().unwrap();
    // Re-sign with a fresh self-signed certificate for the same names: only the bytes matter here.
    let renewed = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    crate::common::write_atomically(
        &pki.dir.path().join("tls/server.key"),
        key.serialize_pem().as_bytes(),
    );
    crate::common::write_atomically(
        &pki.dir.path().join("tls/server.crt"),
        renewed.pem().as_bytes(),
    );
    let second = served_certificate(&server.address);
    assert_ne!(first, second);
    assert_eq!(second, renewed.der().to_vec());
}

/// The certificate the server presents, accepted whoever signed it.
fn served_certificate(address: &str) -> Vec<u8> {
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnything))
            .with_no_client_auth();
    let mut connection =
        ClientConnection::new(Arc::new(config), ServerName::try_from("127.0.0.1").unwrap())
            .unwrap();
    let mut tcp = TcpStream::connect(address).unwrap();
    while connection.is_handshaking() {
        connection.complete_io(&mut tcp).unwrap();
    }
    connection.peer_certificates().unwrap()[0].to_vec()
}

#[derive(Debug)]
struct AcceptAnything;

impl rustls::client::danger::ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
