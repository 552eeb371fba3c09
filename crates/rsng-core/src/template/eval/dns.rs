//! `$(dns-resolve-ip [--use-dns B] [--use-fqdn B] [--dns-cache B]
//! [--normalize-hostnames B] IP)` as syslog-ng 3.38 evaluates it
//! (`modules/basicfuncs/ip-funcs.c`, `lib/host-resolve.c`).
//!
//! The address is parsed the C library's way (`inet_aton`, so `127.1` is
//! an IPv4 address, then `inet_pton` for IPv6) and resolved with
//! `getnameinfo(NI_NAMEREQD)`. A name found is cut at its first `.` unless
//! `use-fqdn`; otherwise the address itself is printed. `normalize-hostnames`
//! lowercases either.
//!
//! Options the call does not set come from the global options given to the
//! compile context ([`DnsDefaults`](crate::template::DnsDefaults), compiled
//! in as leading options), else syslog-ng's built-in defaults
//! (`use-dns(yes)`, `use-fqdn(no)`, `normalize-hostnames(no)`). The DNS cache
//! only changes how stale an answer can be, so `dns-cache` is accepted and
//! not modelled.

use std::ffi::{c_char, c_int, c_void, CStr};

use super::{c_str, give_back, option, take_scratch, Scratch};
use crate::template::FuncCall;

const AF_INET: c_int = 2;
const AF_INET6: c_int = 10;
const NI_NAMEREQD: c_int = 8;
/// syslog-ng's per-thread hostname buffer.
const HOST_BUF: usize = 256;

#[repr(C)]
struct SockaddrIn {
    family: u16,
    port: u16,
    addr: [u8; 4],
    zero: [u8; 8],
}

#[repr(C)]
struct SockaddrIn6 {
    family: u16,
    port: u16,
    flowinfo: u32,
    addr: [u8; 16],
    scope_id: u32,
}

extern "C" {
    fn inet_aton(cp: *const c_char, inp: *mut [u8; 4]) -> c_int;
    fn inet_pton(af: c_int, src: *const c_char, dst: *mut c_void) -> c_int;
    fn inet_ntop(af: c_int, src: *const c_void, dst: *mut c_char, size: u32) -> *const c_char;
    fn getnameinfo(
        sa: *const c_void,
        salen: u32,
        host: *mut c_char,
        hostlen: u32,
        serv: *mut c_char,
        servlen: u32,
        flags: c_int,
    ) -> c_int;
}

/// `cfg_process_yesno`: `yes` in any case, or a positive `atoi`.
fn yesno(v: &str) -> bool {
    if v.eq_ignore_ascii_case("yes") {
        return true;
    }
    let t = v.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = t.bytes().take_while(u8::is_ascii_digit);
    let nonzero = digits.clone().any(|d| d != b'0');
    !neg && nonzero && digits.count() > 0
}

fn flag(call: &FuncCall, name: &str, default: bool) -> bool {
    option(call, name).flatten().map_or(default, yesno)
}

pub(super) fn call(call: &FuncCall, args: &Scratch, out: &mut Vec<u8>) {
    if args.len() == 0 {
        return;
    }
    let use_dns = flag(call, "use-dns", true);
    let use_fqdn = flag(call, "use-fqdn", false);
    let normalize = flag(call, "normalize-hostnames", false);
    let ip = c_str(args.arg(0));
    let mut scratch = take_scratch();
    let buf = &mut scratch.buf;
    // buf = the address, NUL, the hostname buffer
    buf.extend_from_slice(ip);
    buf.push(0);
    let host_start = buf.len();
    buf.resize(host_start + HOST_BUF, 0);
    let (ip_part, host) = buf.split_at_mut(host_start);
    let ip_ptr = ip_part.as_ptr().cast::<c_char>();
    let host_ptr = host.as_mut_ptr().cast::<c_char>();
    let start = out.len();
    // SAFETY: `ip_ptr` is NUL-terminated; `host_ptr` points to `HOST_BUF`
    // writable bytes, which every call below is told; the sockaddr structs
    // have the Linux layout.
    let positive = unsafe {
        let mut v4 = SockaddrIn { family: AF_INET as u16, port: 0, addr: [0; 4], zero: [0; 8] };
        let mut v6 = SockaddrIn6 { family: AF_INET6 as u16, port: 0, flowinfo: 0, addr: [0; 16], scope_id: 0 };
        let (family, sa, salen, addr): (c_int, *const c_void, usize, *const c_void) = if inet_aton(ip_ptr, &mut v4.addr)
            != 0
        {
            (AF_INET, (&v4 as *const SockaddrIn).cast(), std::mem::size_of::<SockaddrIn>(), v4.addr.as_ptr().cast())
        } else if inet_pton(AF_INET6, ip_ptr, v6.addr.as_mut_ptr().cast()) == 1 {
            (AF_INET6, (&v6 as *const SockaddrIn6).cast(), std::mem::size_of::<SockaddrIn6>(), v6.addr.as_ptr().cast())
        } else {
            give_back(scratch);
            return;
        };
        let resolved = use_dns
            && getnameinfo(sa, salen as u32, host_ptr, HOST_BUF as u32, std::ptr::null_mut(), 0, NI_NAMEREQD) == 0;
        // not resolved: the address as text
        if resolved || !inet_ntop(family, addr, host_ptr, HOST_BUF as u32).is_null() {
            out.extend_from_slice(CStr::from_ptr(host_ptr).to_bytes());
        }
        resolved
    };
    if positive && !use_fqdn {
        if let Some(dot) = out[start..].iter().position(|&c| c == b'.') {
            out.truncate(start + dot);
        }
    }
    if normalize {
        out[start..].make_ascii_lowercase();
    }
    give_back(scratch);
}
