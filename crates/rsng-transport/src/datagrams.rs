//! Many datagrams with one system call (`recvmmsg(2)`): a UDP source under load reads up to
//! [`MAX_BATCH`] datagrams per call instead of one.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

use nix::libc;

/// The most datagrams one call takes.
pub const MAX_BATCH: usize = 32;

/// Buffers for a batch of datagrams and what the last receive put in them.
pub struct Datagrams {
    /// The largest datagram kept (longer ones are cut, as one `recv` would cut them).
    size: usize,
    /// `MAX_BATCH` buffers of `size` bytes. Pages the kernel never writes are never touched, so
    /// small datagrams cost little memory however large `size` is.
    data: Vec<u8>,
    lens: [usize; MAX_BATCH],
    senders: [Option<SocketAddr>; MAX_BATCH],
}

impl Datagrams {
    pub fn new(size: usize) -> Datagrams {
        Datagrams { size, data: vec![0; size * MAX_BATCH], lens: [0; MAX_BATCH], senders: [None; MAX_BATCH] }
    }

    /// Receives the datagrams waiting on `fd` (a non-blocking socket), up to [`MAX_BATCH`].
    ///
    /// # Errors
    /// `WouldBlock` when none is waiting, or the socket's error.
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        // SAFETY: all-zero is a valid value of these C structs.
        let mut iovs: [libc::iovec; MAX_BATCH] = unsafe { std::mem::zeroed() };
        let mut addrs: [libc::sockaddr_storage; MAX_BATCH] = unsafe { std::mem::zeroed() };
        let mut headers: [libc::mmsghdr; MAX_BATCH] = unsafe { std::mem::zeroed() };
        for (i, chunk) in self.data.chunks_exact_mut(self.size).enumerate() {
            iovs[i] = libc::iovec { iov_base: chunk.as_mut_ptr().cast(), iov_len: chunk.len() };
            headers[i].msg_hdr.msg_iov = &mut iovs[i];
            headers[i].msg_hdr.msg_iovlen = 1;
            headers[i].msg_hdr.msg_name = (&mut addrs[i] as *mut libc::sockaddr_storage).cast();
            headers[i].msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        }
        // SAFETY: every header points at a buffer, an iovec and an address that live, unmoved,
        // until the call returns; the kernel writes no more than the lengths given.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                headers.as_mut_ptr(),
                MAX_BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        for i in 0..n {
            self.lens[i] = (headers[i].msg_len as usize).min(self.size);
            self.senders[i] = sender(&addrs[i]);
        }
        Ok(n)
    }

    /// Datagram `i` of the last receive and its sender.
    pub fn get(&self, i: usize) -> (&[u8], Option<SocketAddr>) {
        let start = i * self.size;
        (&self.data[start..start + self.lens[i]], self.senders[i])
    }
}

fn sender(addr: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(addr.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let a = unsafe { &*(addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(a.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let a = unsafe { &*(addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(ip, u16::from_be(a.sin6_port), a.sin6_flowinfo, a.sin6_scope_id)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    use super::*;

    #[test]
    fn one_call_takes_every_waiting_datagram_with_its_sender() {
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = receiver.local_addr().unwrap();
        for i in 0..40 {
            sender.send_to(format!("datagram {i}").as_bytes(), to).unwrap();
        }
        let mut batch = Datagrams::new(8);
        assert_eq!(batch.recv(receiver.as_raw_fd()).unwrap(), MAX_BATCH);
        let (first, from) = batch.get(0);
        assert_eq!(first, b"datagram", "cut to the buffer's size");
        assert_eq!(from, Some(sender.local_addr().unwrap()));
        assert_eq!(batch.recv(receiver.as_raw_fd()).unwrap(), 40 - MAX_BATCH);
        assert_eq!(batch.recv(receiver.as_raw_fd()).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    }
}
