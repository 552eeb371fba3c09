//! `spoof-source(yes)` of UDP destinations: each message that came from an IPv4 sender leaves
//! from that sender's address and port, written as a whole IPv4/UDP packet to a raw socket (which
//! needs root or `CAP_NET_RAW`), as syslog-ng does with libnet. The message is cut to
//! `spoof-source-max-msglen()` bytes; what cannot be spoofed goes out the ordinary way.

use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::os::fd::OwnedFd;

use nix::sys::socket::{sendto, socket, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn};

const IPV4_HEADER: usize = 20;
const UDP_HEADER: usize = 8;
/// syslog-ng's IP header values: type of service "low delay", time to live 64.
const TOS_LOW_DELAY: u8 = 0x10;
const TTL: u8 = 64;
const PROTO_UDP: u8 = 17;

pub struct SpoofSource {
    /// An `IPPROTO_RAW` socket: the kernel takes the IP header as written, filling in its
    /// checksum and identification.
    socket: OwnedFd,
    max_len: usize,
    packet: Vec<u8>,
}

impl SpoofSource {
    /// Opens the raw socket.
    ///
    /// # Errors
    /// Without the privilege to open raw sockets.
    pub fn open(max_len: usize) -> io::Result<SpoofSource> {
        let socket = socket(AddressFamily::Inet, SockType::Raw, SockFlag::SOCK_CLOEXEC, SockProtocol::Raw)?;
        Ok(SpoofSource { socket, max_len, packet: Vec::with_capacity(IPV4_HEADER + UDP_HEADER + max_len) })
    }

    /// Sends `payload` to `to` as if from the sender of the message, when both are IPv4.
    /// `Ok(false)`: not spoofable, to be sent the ordinary way.
    ///
    /// # Errors
    /// The raw socket refused the packet.
    pub fn send(&mut self, from: Option<SocketAddr>, to: SocketAddr, payload: &[u8]) -> io::Result<bool> {
        let (Some(SocketAddr::V4(from)), SocketAddr::V4(to)) = (from, to) else { return Ok(false) };
        let payload = &payload[..payload.len().min(self.max_len)];
        build_packet(&mut self.packet, from, to, payload);
        sendto(std::os::fd::AsRawFd::as_raw_fd(&self.socket), &self.packet, &SockaddrIn::from(to), MsgFlags::empty())?;
        Ok(true)
    }
}

/// An IPv4 header and a UDP header (with its checksum) before `payload`.
fn build_packet(out: &mut Vec<u8>, from: SocketAddrV4, to: SocketAddrV4, payload: &[u8]) {
    let udp_len = (UDP_HEADER + payload.len()) as u16;
    let total = (IPV4_HEADER + UDP_HEADER + payload.len()) as u16;
    out.clear();
    out.extend_from_slice(&[0x45, TOS_LOW_DELAY]);
    out.extend_from_slice(&total.to_be_bytes());
    // Identification (0: the kernel picks one), no fragmentation.
    out.extend_from_slice(&[0, 0, 0, 0, TTL, PROTO_UDP, 0, 0]);
    out.extend_from_slice(&from.ip().octets());
    out.extend_from_slice(&to.ip().octets());
    out.extend_from_slice(&from.port().to_be_bytes());
    out.extend_from_slice(&to.port().to_be_bytes());
    out.extend_from_slice(&udp_len.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
    let checksum = udp_checksum(from, to, &out[IPV4_HEADER..]);
    out[IPV4_HEADER + 6..IPV4_HEADER + 8].copy_from_slice(&checksum.to_be_bytes());
}

/// The UDP checksum over the IPv4 pseudo-header and `segment` (header with a zero checksum, and
/// payload). A computed zero is sent as all ones, since zero means "no checksum".
fn udp_checksum(from: SocketAddrV4, to: SocketAddrV4, segment: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let word = u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]);
            sum += u32::from(word);
        }
    };
    add(&from.ip().octets());
    add(&to.ip().octets());
    add(&[0, PROTO_UDP]);
    add(&(segment.len() as u16).to_be_bytes());
    add(segment);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    match !(sum as u16) {
        0 => 0xffff,
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_has_the_senders_address_and_a_valid_checksum() {
        let from: SocketAddrV4 = "192.0.2.7:40000".parse().unwrap();
        let to: SocketAddrV4 = "198.51.100.1:514".parse().unwrap();
        let mut packet = Vec::new();
        build_packet(&mut packet, from, to, b"<13>hello");
        assert_eq!(packet.len(), 20 + 8 + 9);
        assert_eq!(&packet[12..16], &[192, 0, 2, 7]);
        assert_eq!(&packet[16..20], &[198, 51, 100, 1]);
        assert_eq!(u16::from_be_bytes([packet[20], packet[21]]), 40000);
        assert_eq!(u16::from_be_bytes([packet[22], packet[23]]), 514);
        // Summing the segment with its checksum in place gives all ones.
        let segment = &packet[20..];
        let mut sum: u32 = 0;
        for w in [&[192u8, 0, 2, 7][..], &[198, 51, 100, 1], &[0, 17], &(segment.len() as u16).to_be_bytes()] {
            for p in w.chunks(2) {
                sum += u32::from(u16::from_be_bytes([p[0], p[1]]));
            }
        }
        for p in segment.chunks(2) {
            sum += u32::from(u16::from_be_bytes([p[0], *p.get(1).unwrap_or(&0)]));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        assert_eq!(sum, 0xffff);
    }
}
