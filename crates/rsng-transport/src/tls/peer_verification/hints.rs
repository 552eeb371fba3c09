//! Hints for refused handshakes: what the usual mistake behind each failure is, in the words of
//! the configuration (`ca-dir()`, `trusted-dn()`, ...). syslog-ng has none of these; they are
//! appended to its messages as an extra `hint=` field.

use openssl_sys as sys;

use super::{CaFacts, Refusal};

/// A hint for a certificate this side refused. `we_are_client` tells whether the peer is the
/// server (its name is checked; its certificate comes from `key-file()`/`cert-file()` there).
pub fn hint(refusal: &Refusal, ca: &CaFacts, we_are_client: bool) -> String {
    let peer = if we_are_client { "the server" } else { "the client" };
    let cert = if we_are_client { "the server certificate" } else { "the client certificate" };
    match refusal {
        Refusal::Chain { error, depth, issuer, not_before, not_after, .. } => {
            let e = *error;
            if e == sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
                || e == sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
                || e == sys::X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
                || e == sys::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
                || e == sys::X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
            {
                let mut text = format!(
                    "{cert} (issuer \"{issuer}\") is not signed by a CA found in {}",
                    trust_anchors(ca)
                );
                if !ca.ca_dir_unhashed.is_empty() {
                    text.push_str(&format!(
                        "; ca-dir() holds certificates not named by their subject hash ({}): OpenSSL finds only \
                         <hash>.0 names, run `openssl rehash {}`",
                        ca.ca_dir_unhashed.join(", "),
                        ca.ca_dir.as_deref().unwrap_or("DIR")
                    ));
                } else {
                    text.push_str("; add the CA that issued it, or use the certificate issued by the CA configured here");
                }
                text
            } else if e == sys::X509_V_ERR_CERT_HAS_EXPIRED {
                format!(
                    "{cert}{} expired on {not_after}; renew it (or check the clock of this host)",
                    at_depth(*depth)
                )
            } else if e == sys::X509_V_ERR_CERT_NOT_YET_VALID {
                format!(
                    "{cert}{} is valid only from {not_before}; check the clocks of both hosts",
                    at_depth(*depth)
                )
            } else if e == sys::X509_V_ERR_CERT_REVOKED {
                format!(
                    "{cert}{} is revoked by a CRL in crl-dir(){}; issue a new certificate",
                    at_depth(*depth),
                    ca.crl_dir.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
                )
            } else if e == sys::X509_V_ERR_CRL_HAS_EXPIRED || e == sys::X509_V_ERR_CRL_NOT_YET_VALID {
                "a CRL in crl-dir() is outside its validity period; fetch a current CRL from the CA".to_string()
            } else if e == sys::X509_V_ERR_CERT_SIGNATURE_FAILURE || e == sys::X509_V_ERR_CRL_SIGNATURE_FAILURE {
                "a signature does not verify: a CA with the same name but a different key is configured".to_string()
            } else {
                format!("the chain of {cert} does not validate against {}", trust_anchors(ca))
            }
        }
        Refusal::Fingerprint { subject, fingerprint } => format!(
            "{cert} \"{subject}\" has fingerprint {fingerprint}, which is not listed in trusted-keys() \
             (fingerprints are compared as text: upper-case hex with colons)"
        ),
        Refusal::Dn { subject } => format!(
            "the subject of {peer} is \"{subject}\", which matches no trusted-dn() pattern (the DN is written most \
             specific part first, with a comma and a space between parts)"
        ),
        Refusal::NotCa { subject } => {
            format!("\"{subject}\" signs other certificates but is not a CA certificate (basicConstraints CA:TRUE)")
        }
        Refusal::Hostname { host, certificate } => format!(
            "the destination is written as \"{host}\" but the server certificate names \"{certificate}\": write the \
             destination as a name or address listed in the subjectAltName of the certificate, or reissue the certificate"
        ),
        Refusal::NotPermitted { subject, names } => format!(
            "{peer} \"{subject}\" names {}, none of which matches permitted-peers(): add the name to \
             permitted-peers(), or reissue the certificate with a permitted DNS subjectAltName",
            if names.is_empty() { "no host".to_string() } else { format!("\"{}\"", names.join(", ")) }
        ),
        Refusal::Purpose { subject, role } => format!(
            "\"{subject}\" is not a {role} certificate by its extendedKeyUsage, which extended-key-usage-verify(yes) \
             requires: reissue it with {}",
            if *role == "TLS server" { "serverAuth" } else { "clientAuth" }
        ),
    }
}

fn at_depth(depth: u32) -> String {
    if depth == 0 {
        String::new()
    } else {
        format!(" (CA at chain depth {depth})")
    }
}

fn trust_anchors(ca: &CaFacts) -> String {
    match (&ca.ca_file, &ca.ca_dir) {
        (Some(f), Some(d)) => format!("ca-file({f}) or ca-dir({d})"),
        (Some(f), None) => format!("ca-file({f})"),
        (None, Some(d)) => format!("ca-dir({d})"),
        (None, None) => "the trusted CAs (no ca-file() or ca-dir() is set)".to_string(),
    }
}

/// A hint from OpenSSL's reason text, for failures this side did not decide: the peer refused
/// us (an alert), or the two sides share nothing.
pub fn alert_hint(reason: &str, we_are_client: bool) -> Option<String> {
    let peer = if we_are_client { "the server" } else { "the client" };
    let r = reason.to_ascii_lowercase();
    let text = if r.contains("alert unknown ca") {
        format!("{peer} does not trust the CA that issued our certificate: add that CA to its ca-dir()/ca-file()")
    } else if r.contains("alert certificate expired") {
        format!("{peer} says our certificate expired: renew key-file()/cert-file() here")
    } else if r.contains("alert certificate revoked") {
        format!("{peer} says our certificate is revoked: issue a new one")
    } else if r.contains("alert certificate required") || r.contains("peer did not return a certificate") {
        if we_are_client {
            "the server requires a client certificate: set key-file() and cert-file() in this tls() block".to_string()
        } else {
            "the client sent no certificate: give it key-file()/cert-file(), or use peer-verify(optional-trusted) \
             here"
                .to_string()
        }
    } else if r.contains("alert bad certificate") || r.contains("alert certificate unknown") {
        format!("{peer} refused our certificate (its trusted-dn()/trusted-keys() or name checks did not accept it)")
    } else if r.contains("no shared cipher") {
        "no cipher in common: this source needs key-file() and cert-file(), or cipher-suite() excludes every \
         cipher the client offers"
            .to_string()
    } else if r.contains("alert handshake failure") {
        format!("{peer} refused the handshake: no common cipher or protocol version, or it has no certificate")
    } else if r.contains("wrong version number") || r.contains("packet length too long") || r.contains("http request") {
        format!("{peer} does not speak TLS here: is it sending plain TCP to a TLS port, or the reverse?")
    } else if r.contains("unsupported protocol") || r.contains("no protocols available") {
        "no TLS version in common: check ssl-options(no-tlsv1x) on both sides".to_string()
    } else {
        return None;
    };
    Some(text)
}
