//! The worker of an `snmp()` destination: one UDP socket, one trap per message, as syslog-ng's
//! single `snmp` worker sends them. A send that fails keeps the message and tries again after
//! `time-reopen()`.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rsng_core::template::{FormatOptions, Template};
use rsng_core::LogMessage;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::ber::{TrapWriter, Value};
use super::options::{ObjType, Settings};
use crate::internal;
use crate::pipeline::DestinationQueue;
use crate::{Destination, DestinationContext, Task};

/// Messages taken from a memory queue at once (each still goes out as its own trap).
const CHUNK: usize = 64;

pub struct Shared {
    pub settings: Settings,
    /// The value template of each object, in the objects' order.
    pub values: Vec<Template>,
    pub format: FormatOptions,
    /// `d_snmp#0`, as syslog-ng's messages name the driver.
    pub driver: String,
    pub location: String,
}

pub struct SnmpDestination {
    pub shared: Arc<Shared>,
}

impl Destination for SnmpDestination {
    fn run(self: Box<Self>, ctx: DestinationContext) -> Task {
        Box::pin(Worker::new(self.shared).run(ctx.queue, ctx.shutdown))
    }
}

struct Worker {
    shared: Arc<Shared>,
    socket: Option<(UdpSocket, SocketAddr)>,
    writer: TrapWriter,
    /// One formatted value.
    text: Vec<u8>,
    /// The arcs of an `Objectid` value.
    oid: Vec<u32>,
    format: FormatOptions,
    seq_num: u32,
    request_id: i32,
}

/// Why a message was not sent.
enum Failure {
    /// A value cannot be sent as its type: the message is dropped.
    BadValue,
    /// The socket failed: the message is kept for the next try.
    Send,
}

impl Worker {
    fn new(shared: Arc<Shared>) -> Worker {
        let format = shared.format.clone();
        // Request ids only need to differ from one sender run to the next.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() ^ std::process::id());
        Worker {
            shared,
            socket: None,
            writer: TrapWriter::new(),
            text: Vec::with_capacity(256),
            oid: Vec::with_capacity(32),
            format,
            seq_num: 0,
            request_id: (seed & 0x3fff_ffff) as i32,
        }
    }

    async fn run(mut self, queue: Arc<DestinationQueue>, shutdown: CancellationToken) {
        let take = if queue.is_persistent() { 1 } else { CHUNK };
        let time_reopen = self.shared.settings.time_reopen;
        let mut batch: Vec<LogMessage> = Vec::with_capacity(take);
        loop {
            if !queue.pop(take, &mut batch).await {
                return;
            }
            let mut sent = 0;
            while sent < batch.len() {
                match self.deliver(&batch[sent]).await {
                    Ok(()) => {
                        queue.stats.written.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(Failure::BadValue) => {
                        queue.stats.discarded.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(Failure::Send) => {
                        self.socket = None;
                        let mut rest = batch.split_off(sent);
                        batch.clear();
                        queue.push_front(&mut rest);
                        tokio::select! {
                            _ = tokio::time::sleep(time_reopen) => {}
                            _ = shutdown.cancelled() => return,
                        }
                        break;
                    }
                }
                sent += 1;
            }
            batch.clear();
        }
    }

    async fn deliver(&mut self, msg: &LogMessage) -> Result<(), Failure> {
        self.encode(msg)?;
        if self.socket.is_none() {
            self.socket = Some(self.open().await.map_err(|e| self.send_error(&e))?);
        }
        self.request_id = self.request_id.wrapping_add(1) & 0x7fff_ffff;
        let community = self.shared.settings.community.as_bytes();
        let packet = self.writer.finish(community, self.request_id);
        let Some((socket, peer)) = &self.socket else { return Err(Failure::Send) };
        match socket.send_to(packet, *peer).await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.send_error(&e)),
        }
    }

    fn send_error(&self, e: &std::io::Error) -> Failure {
        internal::error(format!(
            "SNMP: send error; code='{}', message='{e}', driver='{}', location='{}'",
            e.raw_os_error().unwrap_or(0),
            self.shared.driver,
            self.shared.location
        ));
        Failure::Send
    }

    /// The socket, bound to any local port of the peer's address family.
    async fn open(&self) -> std::io::Result<(UdpSocket, SocketAddr)> {
        let s = &self.shared.settings;
        let peer = tokio::net::lookup_host((s.host.as_str(), s.port))
            .await?
            .next()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address for host"))?;
        let local: SocketAddr = if peer.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        Ok((UdpSocket::bind(local).await?, peer))
    }

    /// Formats every object's value into the trap's bindings.
    fn encode(&mut self, msg: &LogMessage) -> Result<(), Failure> {
        self.seq_num = self.seq_num.wrapping_add(1).max(1);
        self.format.seq_num = msg.writer_seq_num(self.seq_num);
        self.writer.clear();
        let shared = Arc::clone(&self.shared);
        for (object, template) in shared.settings.objects.iter().zip(&shared.values) {
            self.text.clear();
            let _ = template.format(msg, &self.format, &mut self.text);
            if object.kind.is_number() && (self.text.is_empty() || !self.text.iter().all(u8::is_ascii_digit)) {
                internal::warning(format!(
                    "SNMP: invalid number replaced with '0'; value='{}'",
                    String::from_utf8_lossy(&self.text)
                ));
                self.text.clear();
                self.text.push(b'0');
            }
            let value = match object.kind {
                ObjType::OctetString => Value::OctetString(&self.text),
                // Digits only by now; too long a number saturates as strtol()/strtoul() do.
                ObjType::Integer => Value::Integer(i64::from(number(&self.text) as i32)),
                ObjType::Counter32 => Value::Counter32(number(&self.text) as u32),
                ObjType::Timeticks => Value::TimeTicks(number(&self.text) as u32),
                ObjType::IpAddress => match std::str::from_utf8(&self.text).ok().and_then(|t| t.parse().ok()) {
                    Some(ip) => Value::IpAddress(Ipv4Addr::octets(&ip)),
                    None => return Err(self.bad_value()),
                },
                ObjType::ObjectId => {
                    if !parse_numeric_oid(&self.text, &mut self.oid) {
                        return Err(self.bad_value());
                    }
                    Value::ObjectId(&self.oid)
                }
            };
            self.writer.bind(&object.oid, value);
        }
        Ok(())
    }

    fn bad_value(&self) -> Failure {
        internal::warning(format!(
            "SNMP: error adding variable; value='{}', driver='{}'",
            String::from_utf8_lossy(&self.text),
            self.shared.driver
        ));
        Failure::BadValue
    }
}

fn number(digits: &[u8]) -> u64 {
    digits.iter().fold(0u64, |n, &d| n.saturating_mul(10).saturating_add(u64::from(d - b'0')))
}

/// `1.3.6.1` or `.1.3.6.1`: numbers only (rsng knows no MIB names).
fn parse_numeric_oid(text: &[u8], out: &mut Vec<u32>) -> bool {
    out.clear();
    let text = text.strip_prefix(b".").unwrap_or(text);
    for token in text.split(|&b| b == b'.') {
        if token.is_empty() || !token.iter().all(u8::is_ascii_digit) {
            return false;
        }
        match u32::try_from(number(token)) {
            Ok(arc) => out.push(arc),
            Err(_) => return false,
        }
    }
    out.len() >= 2
}
