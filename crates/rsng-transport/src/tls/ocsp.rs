//! `ocsp-stapling-verify(yes)` (syslog-ng 4.x): a client asks the server for a stapled OCSP
//! response and refuses the handshake unless the response is valid, signed by the certificate's
//! CA (or its delegated responder) and says the server's certificate is good.

use openssl::hash::MessageDigest;
use openssl::ocsp::{OcspCertId, OcspCertStatus, OcspFlag, OcspResponse, OcspResponseStatus};
use openssl::ssl::SslRef;
use openssl::stack::Stack;
use openssl::x509::X509;

/// Seconds of clock skew tolerated on the response's validity times.
const LEEWAY_SECONDS: u32 = 300;

/// Checks the stapled response of the handshake on `ssl`. `Err` says why it is refused.
pub fn verify_stapled(ssl: &SslRef) -> Result<(), String> {
    let der = ssl.ocsp_status().filter(|d| !d.is_empty()).ok_or("no OCSP response was received from the server")?;
    let response =
        OcspResponse::from_der(der).map_err(|_| "OCSP response received from server can not be parsed".to_string())?;
    if response.status() != OcspResponseStatus::SUCCESSFUL {
        return Err("OCSP response is unsuccessful".into());
    }
    let basic = response.basic().map_err(|_| "can not extract OCSP basic response".to_string())?;
    let chain = ssl.verified_chain().ok_or("the server's certificate chain is not verified")?;
    let leaf = chain.get(0).ok_or("the server sent no certificate")?;
    let issuer = chain.get(1).ok_or("failed to find certificate issuer")?;
    let mut untrusted: Stack<X509> = Stack::new().map_err(|e| e.to_string())?;
    for cert in chain.iter().skip(1) {
        untrusted.push(cert.to_owned()).map_err(|e| e.to_string())?;
    }
    let store = ssl.ssl_context().cert_store();
    basic
        .verify(&untrusted, store, OcspFlag::empty())
        .map_err(|_| "OCSP response signature verification failed".to_string())?;
    let id = OcspCertId::from_cert(MessageDigest::sha1(), leaf, issuer)
        .map_err(|_| "failed to retrieve certificate ID".to_string())?;
    let status = basic.find_status(&id).ok_or("the OCSP response does not cover the server's certificate")?;
    status
        .check_validity(LEEWAY_SECONDS, None)
        .map_err(|_| "OCSP response is outside its validity period".to_string())?;
    if status.status == OcspCertStatus::GOOD {
        Ok(())
    } else if status.status == OcspCertStatus::REVOKED {
        Err("the server's certificate is revoked according to OCSP".into())
    } else {
        Err("the server's certificate status is unknown to OCSP".into())
    }
}
