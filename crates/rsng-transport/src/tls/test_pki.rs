//! A throwaway PKI for TLS tests, generated with OpenSSL in a directory of the test's own: the
//! certificate cases the TLS tests need (feature `test-pki`; not part of rsng itself).
//!
//! | file | what |
//! |---|---|
//! | `ca.pem`/`.key` | root CA `O=Test, CN=Test Root CA` |
//! | `rogue-ca.pem`/`.key` | another root CA `CN=Rogue CA` |
//! | `server.pem`/`.key` | `CN=localhost`, SAN `localhost`, `127.0.0.1` |
//! | `client.pem`/`.key` | `CN=client1` |
//! | `revoked.pem`/`.key` | `CN=client-revoked`, listed in the CRL |
//! | `rogue-client.pem`/`.key` | `CN=rogue-client`, issued by the rogue CA |
//! | `rogue-server.pem`/`.key` | a server certificate like `server.pem`, issued by the rogue CA |
//! | `expired.pem`/`.key` | a server certificate valid only in January 2020 |
//! | `expired-client.pem`/`.key` | a client certificate valid only in January 2020 |
//! | `wrongname.pem`/`.key` | a server certificate for `other.example` only |
//! | `client.p12`, `server.p12` | the key pair and CA as PKCS#12 without password |
//! | `cadir/<hash>.0` | `ca.pem` under its subject hash (the `c_rehash` layout) |
//! | `unhashed/ca.pem` | `ca.pem` under its own name (OpenSSL does not find it there) |
//! | `crl/<hash>.r0` | the CA's CRL revoking `revoked.pem` |
//! | `rogue-cadir/<hash>.0` | the rogue CA, hashed |

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::ptr;

use foreign_types::{ForeignType, ForeignTypeRef};
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::stack::Stack;
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName};
use openssl::x509::{X509Name, X509NameBuilder, X509};
use openssl_sys as sys;

use super::peer_verification::sha1_fingerprint;

/// A generated PKI; every file lives in [`TestPki::dir`].
#[derive(Debug, Clone)]
pub struct TestPki {
    pub dir: PathBuf,
}

struct Issued {
    cert: X509,
    key: PKey<Private>,
}

fn io_err(e: openssl::error::ErrorStack) -> io::Error {
    io::Error::other(e.to_string())
}

fn name(parts: &[(&str, &str)]) -> Result<X509Name, openssl::error::ErrorStack> {
    let mut b = X509NameBuilder::new()?;
    for (k, v) in parts {
        b.append_entry_by_text(k, v)?;
    }
    Ok(b.build())
}

/// What kind of leaf to issue.
enum Leaf<'a> {
    Server(&'a [&'a str]),
    Client,
}

fn key() -> Result<PKey<Private>, openssl::error::ErrorStack> {
    PKey::from_rsa(Rsa::generate(2048)?)
}

fn make_ca(cn: &str, serial: u32) -> Result<Issued, openssl::error::ErrorStack> {
    let key = key()?;
    let subject = name(&[("O", "Test"), ("CN", cn)])?;
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let serial_bn = BigNum::from_u32(serial)?;
    let serial_number = Asn1Integer::from_bn(&serial_bn)?;
    b.set_serial_number(&serial_number)?;
    b.set_subject_name(&subject)?;
    b.set_issuer_name(&subject)?;
    b.set_pubkey(&key)?;
    let (from, to) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(365)?);
    b.set_not_before(&from)?;
    b.set_not_after(&to)?;
    b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    b.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build()?)?;
    b.sign(&key, MessageDigest::sha256())?;
    Ok(Issued { cert: b.build(), key })
}

fn issue(
    ca: &Issued,
    cn: &str,
    serial: u32,
    leaf: Leaf<'_>,
    validity: Option<(&str, &str)>,
) -> Result<Issued, openssl::error::ErrorStack> {
    let key = key()?;
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let serial_bn = BigNum::from_u32(serial)?;
    let serial_number = Asn1Integer::from_bn(&serial_bn)?;
    b.set_serial_number(&serial_number)?;
    let subject = name(&[("O", "Test"), ("OU", "Logging"), ("CN", cn)])?;
    b.set_subject_name(&subject)?;
    b.set_issuer_name(ca.cert.subject_name())?;
    b.set_pubkey(&key)?;
    match validity {
        Some((from, to)) => {
            let (from, to) = (Asn1Time::from_str(from)?, Asn1Time::from_str(to)?);
            b.set_not_before(&from)?;
            b.set_not_after(&to)?;
        }
        None => {
            let (from, to) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(365)?);
            b.set_not_before(&from)?;
            b.set_not_after(&to)?;
        }
    }
    b.append_extension(BasicConstraints::new().build()?)?;
    b.append_extension(KeyUsage::new().digital_signature().key_encipherment().build()?)?;
    b.append_extension(ExtendedKeyUsage::new().server_auth().client_auth().build()?)?;
    if let Leaf::Server(names) = leaf {
        let mut san = SubjectAlternativeName::new();
        for n in names {
            if n.parse::<std::net::IpAddr>().is_ok() {
                san.ip(n);
            } else {
                san.dns(n);
            }
        }
        let ext = san.build(&b.x509v3_context(Some(&ca.cert), None))?;
        b.append_extension(ext)?;
    }
    b.sign(&ca.key, MessageDigest::sha256())?;
    Ok(Issued { cert: b.build(), key })
}

/// A CRL of `ca` revoking `serials` (DER), through libcrypto: the `openssl` crate has no CRL
/// builder.
fn make_crl(ca: &Issued, serials: &[u32]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let last = Asn1Time::days_from_now(0)?;
    let next = Asn1Time::days_from_now(30)?;
    // SAFETY: each object is created here and either handed to the CRL (add0) or freed; the
    // CRL is freed after being serialised.
    unsafe {
        let crl = sys::X509_CRL_new();
        if crl.is_null() {
            return Err(openssl::error::ErrorStack::get());
        }
        let mut ok = sys::X509_CRL_set_version(crl, 1) == 1
            && sys::X509_CRL_set_issuer_name(crl, ca.cert.subject_name().as_ptr()) == 1
            && sys::X509_CRL_set1_lastUpdate(crl, last.as_ptr()) == 1
            && sys::X509_CRL_set1_nextUpdate(crl, next.as_ptr()) == 1;
        for &serial in serials {
            let revoked = sys::X509_REVOKED_new();
            let serial_bn = BigNum::from_u32(serial)?;
            let number = Asn1Integer::from_bn(&serial_bn)?;
            ok = ok
                && !revoked.is_null()
                && sys::X509_REVOKED_set_serialNumber(revoked, number.as_ptr()) == 1
                && sys::X509_REVOKED_set_revocationDate(revoked, last.as_ptr()) == 1
                && sys::X509_CRL_add0_revoked(crl, revoked) == 1;
        }
        ok = ok && sys::X509_CRL_sort(crl) == 1 && sys::X509_CRL_sign(crl, ca.key.as_ptr(), sys::EVP_sha256()) > 0;
        let mut der = Vec::new();
        if ok {
            let len = sys::i2d_X509_CRL(crl, ptr::null_mut());
            if len > 0 {
                der.resize(len as usize, 0);
                let mut p = der.as_mut_ptr();
                sys::i2d_X509_CRL(crl, &mut p);
            } else {
                ok = false;
            }
        }
        sys::X509_CRL_free(crl);
        if ok {
            Ok(der)
        } else {
            Err(openssl::error::ErrorStack::get())
        }
    }
}

fn pem_block(label: &str, der: &[u8]) -> String {
    const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

impl TestPki {
    /// Generates the whole PKI into `dir` (created if needed).
    ///
    /// # Errors
    /// When OpenSSL or the file system fails.
    pub fn generate(dir: &Path) -> io::Result<TestPki> {
        fs::create_dir_all(dir)?;
        let pki = TestPki { dir: dir.to_path_buf() };
        let ca = make_ca("Test Root CA", 1).map_err(io_err)?;
        let rogue = make_ca("Rogue CA", 2).map_err(io_err)?;
        let server_names: &[&str] = &["localhost", "127.0.0.1"];
        let issued = [
            ("server", issue(&ca, "localhost", 0x1001, Leaf::Server(server_names), None)),
            ("client", issue(&ca, "client1", 0x1002, Leaf::Client, None)),
            ("revoked", issue(&ca, "client-revoked", 0x1003, Leaf::Client, None)),
            ("rogue-client", issue(&rogue, "rogue-client", 0x2001, Leaf::Client, None)),
            ("rogue-server", issue(&rogue, "localhost", 0x2002, Leaf::Server(server_names), None)),
            ("wrongname", issue(&ca, "other.example", 0x1004, Leaf::Server(&["other.example"]), None)),
            (
                "expired",
                issue(
                    &ca,
                    "localhost",
                    0x1005,
                    Leaf::Server(server_names),
                    Some(("20200101000000Z", "20200201000000Z")),
                ),
            ),
            (
                "expired-client",
                issue(&ca, "client-expired", 0x1006, Leaf::Client, Some(("20200101000000Z", "20200201000000Z"))),
            ),
        ];
        pki.write_pair("ca", &ca)?;
        pki.write_pair("rogue-ca", &rogue)?;
        for (file, result) in issued {
            let leaf = result.map_err(io_err)?;
            pki.write_pair(file, &leaf)?;
            if file == "client" || file == "server" {
                let mut cas = Stack::new().map_err(io_err)?;
                cas.push(ca.cert.clone()).map_err(io_err)?;
                let p12 = Pkcs12::builder()
                    .name(file)
                    .pkey(&leaf.key)
                    .cert(&leaf.cert)
                    .ca(cas)
                    .build2("")
                    .and_then(|p| p.to_der())
                    .map_err(io_err)?;
                fs::write(dir.join(format!("{file}.p12")), p12)?;
            }
        }
        let ca_pem = ca.cert.to_pem().map_err(io_err)?;
        for (sub, cert) in [("cadir", &ca.cert), ("rogue-cadir", &rogue.cert)] {
            fs::create_dir_all(dir.join(sub))?;
            let pem = cert.to_pem().map_err(io_err)?;
            fs::write(dir.join(sub).join(format!("{:08x}.0", cert.subject_name_hash())), pem)?;
        }
        fs::create_dir_all(dir.join("unhashed"))?;
        fs::write(dir.join("unhashed/ca.pem"), &ca_pem)?;
        fs::create_dir_all(dir.join("crl"))?;
        let crl = make_crl(&ca, &[0x1003]).map_err(io_err)?;
        fs::write(
            dir.join("crl").join(format!("{:08x}.r0", ca.cert.subject_name_hash())),
            pem_block("X509 CRL", &crl),
        )?;
        fs::create_dir_all(dir.join("empty"))?;
        Ok(pki)
    }

    /// A file of the PKI.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// A file of the PKI, as text for configurations.
    pub fn file(&self, file: &str) -> String {
        self.path(file).display().to_string()
    }

    /// The SHA-1 fingerprint of certificate `file` as `trusted-keys()` takes it.
    pub fn fingerprint(&self, file: &str) -> String {
        fs::read(self.path(file))
            .ok()
            .and_then(|pem| X509::from_pem(&pem).ok())
            .and_then(|c| sha1_fingerprint(&c))
            .unwrap_or_default()
    }

    /// The CN of certificate `file`.
    pub fn common_name(&self, file: &str) -> String {
        fs::read(self.path(file))
            .ok()
            .and_then(|pem| X509::from_pem(&pem).ok())
            .and_then(|c| {
                c.subject_name()
                    .entries_by_nid(Nid::COMMONNAME)
                    .next()
                    .map(|e| String::from_utf8_lossy(e.data().as_slice()).into_owned())
            })
            .unwrap_or_default()
    }

    fn write_pair(&self, file: &str, issued: &Issued) -> io::Result<()> {
        fs::write(self.dir.join(format!("{file}.pem")), issued.cert.to_pem().map_err(io_err)?)?;
        let key = issued.key.private_key_to_pem_pkcs8().map_err(io_err)?;
        let path = self.dir.join(format!("{file}.key"));
        fs::write(&path, key)?;
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
    }
}
