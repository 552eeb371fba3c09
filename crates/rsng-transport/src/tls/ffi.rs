//! The few libssl/libcrypto calls the `openssl` crate does not wrap: DN printing as syslog-ng
//! prints it, client signature algorithms, automatic DH parameters and `SSL_CONF_cmd`.

use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_long, c_uint, c_ulong, c_void};

use foreign_types::ForeignTypeRef;
use openssl::ssl::SslContextBuilder;
use openssl::x509::{X509NameRef, X509Ref};
use openssl_sys as sys;

/// `XN_FLAG_SEP_CPLUS_SPC`: RDNs separated by `, `, multi-valued ones by ` + `.
const XN_FLAG_SEP_CPLUS_SPC: c_ulong = 2 << 16;
/// `XN_FLAG_DN_REV`: the most specific RDN first.
const XN_FLAG_DN_REV: c_ulong = 1 << 20;
const ASN1_STRFLGS_ESC_2253: c_ulong = 1;
const ASN1_STRFLGS_UTF8_CONVERT: c_ulong = 0x10;
const SSL_CTRL_SET_CLIENT_SIGALGS_LIST: c_int = 102;
const SSL_CONF_FLAG_FILE: c_uint = 0x2;
const SSL_CONF_FLAG_CLIENT: c_uint = 0x4;
const SSL_CONF_FLAG_SERVER: c_uint = 0x8;
const SSL_CONF_FLAG_CERTIFICATE: c_uint = 0x20;

#[allow(non_camel_case_types)]
enum SSL_CONF_CTX {}

extern "C" {
    fn X509_NAME_print_ex(out: *mut sys::BIO, nm: *const sys::X509_NAME, indent: c_int, flags: c_ulong) -> c_int;
    fn SSL_CONF_CTX_new() -> *mut SSL_CONF_CTX;
    fn SSL_CONF_CTX_free(cctx: *mut SSL_CONF_CTX);
    fn SSL_CONF_CTX_set_flags(cctx: *mut SSL_CONF_CTX, flags: c_uint) -> c_uint;
    fn SSL_CONF_CTX_set_ssl_ctx(cctx: *mut SSL_CONF_CTX, ctx: *mut sys::SSL_CTX);
    fn SSL_CONF_cmd(cctx: *mut SSL_CONF_CTX, cmd: *const c_char, value: *const c_char) -> c_int;
    fn SSL_CONF_CTX_finish(cctx: *mut SSL_CONF_CTX) -> c_int;
    fn X509_check_purpose(x: *mut sys::X509, id: c_int, ca: c_int) -> c_int;
}

/// Whether `cert` may serve as a TLS server's (or client's) certificate: its key usage and
/// extended key usage allow the role (`X509_check_purpose`).
pub fn check_purpose(cert: &X509Ref, server: bool) -> bool {
    let id = if server { sys::X509_PURPOSE_SSL_SERVER } else { sys::X509_PURPOSE_SSL_CLIENT };
    // SAFETY: the certificate is valid for the call; OpenSSL only caches extension flags in it.
    unsafe { X509_check_purpose(cert.as_ptr(), id, 0) == 1 }
}

/// A distinguished name as syslog-ng formats it (`tls_x509_format_dn`): RFC 2253 escaping, most
/// specific RDN first, `, ` between RDNs: `CN=client1, OU=Logging, O=Test`.
pub fn format_dn(name: &X509NameRef) -> String {
    // SAFETY: the BIO is created, used and freed here; the name outlives the call.
    unsafe {
        let bio = sys::BIO_new(sys::BIO_s_mem());
        if bio.is_null() {
            return String::new();
        }
        let flags = ASN1_STRFLGS_ESC_2253 | ASN1_STRFLGS_UTF8_CONVERT | XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_DN_REV;
        X509_NAME_print_ex(bio, name.as_ptr(), 0, flags);
        let mut data: *mut c_char = std::ptr::null_mut();
        let len = sys::BIO_get_mem_data(bio, &mut data);
        let text = if data.is_null() || len <= 0 {
            String::new()
        } else {
            let bytes = std::slice::from_raw_parts(data as *const u8, len as usize);
            String::from_utf8_lossy(bytes).into_owned()
        };
        sys::BIO_free_all(bio);
        text
    }
}

/// Whether a certificate has `basicConstraints` `CA:TRUE` (`EXFLAG_CA`).
pub fn is_ca(cert: &X509Ref) -> bool {
    // SAFETY: reads the cached extension flags of a valid certificate.
    unsafe { sys::X509_get_extension_flags(cert.as_ptr()) & sys::EXFLAG_CA != 0 }
}

/// `SSL_CTX_set1_client_sigalgs_list`. Returns false when OpenSSL refuses the list.
pub fn set_client_sigalgs(builder: &mut SslContextBuilder, list: &str) -> bool {
    let Ok(list) = CString::new(list) else { return false };
    // SAFETY: the string lives across the call; OpenSSL copies what it keeps.
    unsafe {
        sys::SSL_CTX_ctrl(builder.as_ptr(), SSL_CTRL_SET_CLIENT_SIGALGS_LIST, 0, list.as_ptr() as *mut c_void) > 0
    }
}

/// `SSL_CTX_set_dh_auto(ctx, 1)`: DH parameters matched to the key size, syslog-ng's default.
pub fn set_dh_auto(builder: &mut SslContextBuilder) -> bool {
    // SAFETY: a plain control call on a valid context.
    unsafe { sys::SSL_CTX_ctrl(builder.as_ptr(), sys::SSL_CTRL_SET_DH_AUTO, 1 as c_long, std::ptr::null_mut()) > 0 }
}

/// Applies `openssl-conf-cmds()` pairs with `SSL_CONF_cmd`, as in an OpenSSL configuration
/// file. Returns the first command OpenSSL refuses.
pub fn apply_conf_cmds(builder: &mut SslContextBuilder, server: bool, cmds: &[(String, String)]) -> Result<(), String> {
    // SAFETY: the SSL_CONF_CTX is created, used and freed here; strings outlive the calls.
    unsafe {
        let cctx = SSL_CONF_CTX_new();
        if cctx.is_null() {
            return Err("cannot allocate an SSL_CONF context".into());
        }
        let side = if server { SSL_CONF_FLAG_SERVER } else { SSL_CONF_FLAG_CLIENT };
        SSL_CONF_CTX_set_flags(cctx, SSL_CONF_FLAG_FILE | SSL_CONF_FLAG_CERTIFICATE | side);
        SSL_CONF_CTX_set_ssl_ctx(cctx, builder.as_ptr());
        let mut result = Ok(());
        for (cmd, value) in cmds {
            let (Ok(c), Ok(v)) = (CString::new(cmd.as_str()), CString::new(value.as_str())) else {
                result = Err(format!("{cmd}={value}"));
                break;
            };
            if SSL_CONF_cmd(cctx, c.as_ptr(), v.as_ptr()) <= 0 {
                result = Err(format!("{cmd}={value}"));
                break;
            }
        }
        if result.is_ok() && SSL_CONF_CTX_finish(cctx) != 1 {
            result = Err("SSL_CONF_CTX_finish".into());
        }
        SSL_CONF_CTX_free(cctx);
        result
    }
}
