//! `$(getent SERVICE KEY [MEMBER])` (syslog-ng 3.38's getent module):
//! `passwd`, `group`, `services` and `protocols` lookups through the C
//! library's reentrant NSS functions, so every source `nsswitch.conf` names
//! is consulted, as syslog-ng does. The record structs are declared here
//! with the layout glibc and musl use on Linux.
//!
//! A numeric key looks up by id (and prints the name by default), any other
//! key by name (and prints the id). The C library needs a work buffer per
//! lookup; it comes from the argument scratch pool, so a warm thread does
//! not allocate.

use std::ffi::{c_char, c_int, CStr};

use super::{c_str, give_back, parse_int64, push_num, take_scratch, Scratch};

#[repr(C)]
struct Passwd {
    name: *mut c_char,
    passwd: *mut c_char,
    uid: u32,
    gid: u32,
    gecos: *mut c_char,
    dir: *mut c_char,
    shell: *mut c_char,
}

#[repr(C)]
struct Group {
    name: *mut c_char,
    passwd: *mut c_char,
    gid: u32,
    mem: *mut *mut c_char,
}

#[repr(C)]
struct Protoent {
    name: *mut c_char,
    aliases: *mut *mut c_char,
    proto: c_int,
}

#[repr(C)]
struct Servent {
    name: *mut c_char,
    aliases: *mut *mut c_char,
    port: c_int,
    proto: *mut c_char,
}

extern "C" {
    fn getpwnam_r(name: *const c_char, pwd: *mut Passwd, buf: *mut c_char, len: usize, res: *mut *mut Passwd) -> c_int;
    fn getpwuid_r(uid: u32, pwd: *mut Passwd, buf: *mut c_char, len: usize, res: *mut *mut Passwd) -> c_int;
    fn getgrnam_r(name: *const c_char, grp: *mut Group, buf: *mut c_char, len: usize, res: *mut *mut Group) -> c_int;
    fn getgrgid_r(gid: u32, grp: *mut Group, buf: *mut c_char, len: usize, res: *mut *mut Group) -> c_int;
    fn getprotobyname_r(
        name: *const c_char,
        p: *mut Protoent,
        buf: *mut c_char,
        len: usize,
        res: *mut *mut Protoent,
    ) -> c_int;
    fn getprotobynumber_r(
        proto: c_int,
        p: *mut Protoent,
        buf: *mut c_char,
        len: usize,
        res: *mut *mut Protoent,
    ) -> c_int;
    fn getservbyname_r(
        name: *const c_char,
        proto: *const c_char,
        s: *mut Servent,
        buf: *mut c_char,
        len: usize,
        res: *mut *mut Servent,
    ) -> c_int;
    fn getservbyport_r(
        port: c_int,
        proto: *const c_char,
        s: *mut Servent,
        buf: *mut c_char,
        len: usize,
        res: *mut *mut Servent,
    ) -> c_int;
}

/// The work buffer syslog-ng gives the group (and, usually, passwd) lookups.
const WORK: usize = 16384;

/// Appends a C string the C library returned (nothing for NULL).
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
unsafe fn push_c(out: &mut Vec<u8>, p: *const c_char) {
    if !p.is_null() {
        out.extend_from_slice(CStr::from_ptr(p).to_bytes());
    }
}

pub(super) fn call(args: &Scratch, out: &mut Vec<u8>) {
    if !(2..=3).contains(&args.len()) {
        return;
    }
    let service = c_str(args.arg(0));
    let key = c_str(args.arg(1));
    let member = if args.len() == 3 { Some(c_str(args.arg(2))) } else { None };
    if !matches!(service, b"passwd" | b"group" | b"services" | b"protocols") {
        return;
    }
    // buf = key, NUL, work area
    let mut scratch = take_scratch();
    let buf = &mut scratch.buf;
    buf.extend_from_slice(key);
    buf.push(0);
    let work_start = buf.len();
    buf.resize(work_start + WORK, 0);
    let (key_part, work) = buf.split_at_mut(work_start);
    let key_ptr = key_part.as_ptr().cast::<c_char>();
    let work_ptr = work.as_mut_ptr().cast::<c_char>();
    let id = parse_int64(key);
    // SAFETY: the key is NUL-terminated, the work area is `WORK` bytes long
    // and outlives every pointer the lookups return; the structs match the
    // C library's layout.
    unsafe {
        match service {
            b"passwd" => {
                let mut pwd: Passwd = std::mem::zeroed();
                let mut res: *mut Passwd = std::ptr::null_mut();
                match id {
                    Some(n) => getpwuid_r(n as u32, &mut pwd, work_ptr, WORK, &mut res),
                    None => getpwnam_r(key_ptr, &mut pwd, work_ptr, WORK, &mut res),
                };
                if let Some(p) = res.as_ref() {
                    let member = member.unwrap_or(if id.is_some() { b"name" } else { b"uid" });
                    match member {
                        b"name" => push_c(out, p.name),
                        b"uid" => push_num(out, u64::from(p.uid), 0, b'0'),
                        b"gid" => push_num(out, u64::from(p.gid), 0, b'0'),
                        b"gecos" => push_c(out, p.gecos),
                        b"dir" => push_c(out, p.dir),
                        b"shell" => push_c(out, p.shell),
                        _ => {}
                    }
                }
            }
            b"group" => {
                let mut grp: Group = std::mem::zeroed();
                let mut res: *mut Group = std::ptr::null_mut();
                match id {
                    Some(n) => getgrgid_r(n as u32, &mut grp, work_ptr, WORK, &mut res),
                    None => getgrnam_r(key_ptr, &mut grp, work_ptr, WORK, &mut res),
                };
                if let Some(g) = res.as_ref() {
                    let member = member.unwrap_or(if id.is_some() { b"name" } else { b"gid" });
                    match member {
                        b"name" => push_c(out, g.name),
                        b"gid" => push_num(out, u64::from(g.gid), 0, b'0'),
                        b"members" if !g.mem.is_null() => {
                            let mut i = 0;
                            while !(*g.mem.add(i)).is_null() {
                                if i > 0 {
                                    out.push(b',');
                                }
                                push_c(out, *g.mem.add(i));
                                i += 1;
                            }
                        }
                        _ => {}
                    }
                }
            }
            b"protocols" => {
                let mut p: Protoent = std::mem::zeroed();
                let mut res: *mut Protoent = std::ptr::null_mut();
                // 3.38 passes the number through a C `int`.
                match id {
                    Some(n) => getprotobynumber_r(n as c_int, &mut p, work_ptr, 4096, &mut res),
                    None => getprotobyname_r(key_ptr, &mut p, work_ptr, 4096, &mut res),
                };
                if let Some(p) = res.as_ref() {
                    if id.is_some() {
                        push_c(out, p.name);
                    } else {
                        push_int(out, i64::from(p.proto));
                    }
                }
            }
            _ => {
                let mut s: Servent = std::mem::zeroed();
                let mut res: *mut Servent = std::ptr::null_mut();
                match id {
                    // the port goes in network byte order, from the low 16 bits
                    Some(n) => getservbyport_r(
                        c_int::from((n as u16).to_be()),
                        std::ptr::null(),
                        &mut s,
                        work_ptr,
                        4096,
                        &mut res,
                    ),
                    None => getservbyname_r(key_ptr, std::ptr::null(), &mut s, work_ptr, 4096, &mut res),
                };
                if let Some(s) = res.as_ref() {
                    if id.is_some() {
                        push_c(out, s.name);
                    } else {
                        push_int(out, i64::from(u16::from_be(s.port as u16)));
                    }
                }
            }
        }
    }
    give_back(scratch);
}

fn push_int(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_num(out, n.unsigned_abs(), 0, b'0');
}
