//! Socket destinations: one writer task per destination. It connects (retrying every
//! `time-reopen()` seconds while the peer is away, keeping the queue), then takes batches from the
//! queue, formats them into one buffer and writes it with one call.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rsng_core::LogMessage;
use rsng_transport::{Family, SocketOptions};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::internal;
use crate::writer::Writer;
use crate::{Destination, DestinationContext, Task};

/// Where a socket destination sends.
#[derive(Debug, Clone)]
pub enum Peer {
    Tcp { host: String, port: u16, family: Family, local_ip: Option<String>, local_port: u16, octet_counted: bool },
    Udp { host: String, port: u16, family: Family, local_ip: Option<String>, local_port: u16 },
    UnixStream(PathBuf),
    UnixDgram(PathBuf),
}

pub struct SocketDestination {
    pub name: String,
    pub peer: Peer,
    pub writer: Writer,
    pub sockopts: SocketOptions,
    pub time_reopen: Duration,
}

/// Messages taken from the queue per write.
const BATCH: usize = 256;

enum Connection {
    Stream(Box<dyn AsyncWrite + Send + Unpin>),
    Udp(tokio::net::UdpSocket),
    UnixDgram(tokio::net::UnixDatagram, PathBuf),
}

impl SocketDestination {
    fn describe(&self) -> String {
        match &self.peer {
            Peer::Tcp { host, port, .. } | Peer::Udp { host, port, .. } => format!("{host}:{port}"),
            Peer::UnixStream(p) | Peer::UnixDgram(p) => format!("AF_UNIX({})", p.display()),
        }
    }

    async fn connect(&self) -> std::io::Result<Connection> {
        let local = |ip: &Option<String>, port: u16, family: Family| -> std::io::Result<Option<SocketAddr>> {
            if ip.is_none() && port == 0 {
                return Ok(None);
            }
            rsng_transport::resolve(ip.as_deref(), port, family).map(Some)
        };
        match &self.peer {
            Peer::Tcp { host, port, family, local_ip, local_port, .. } => {
                let addr = rsng_transport::resolve(Some(host), *port, *family)?;
                let stream =
                    rsng_transport::connect_tcp(addr, local(local_ip, *local_port, *family)?, &self.sockopts).await?;
                Ok(Connection::Stream(Box::new(stream)))
            }
            Peer::Udp { host, port, family, local_ip, local_port } => {
                let addr = rsng_transport::resolve(Some(host), *port, *family)?;
                let socket = rsng_transport::udp_sender(&addr, &self.sockopts, local(local_ip, *local_port, *family)?)?;
                let socket = tokio::net::UdpSocket::from_std(socket)?;
                socket.connect(addr).await?;
                Ok(Connection::Udp(socket))
            }
            Peer::UnixStream(path) => Ok(Connection::Stream(Box::new(tokio::net::UnixStream::connect(path).await?))),
            Peer::UnixDgram(path) => Ok(Connection::UnixDgram(tokio::net::UnixDatagram::unbound()?, path.clone())),
        }
    }

    fn octet_counted(&self) -> bool {
        matches!(self.peer, Peer::Tcp { octet_counted: true, .. })
    }
}

impl Destination for SocketDestination {
    fn run(self: Box<Self>, ctx: DestinationContext) -> Task {
        Box::pin(async move {
            let mut this = *self;
            let queue = ctx.queue;
            let mut batch: Vec<LogMessage> = Vec::with_capacity(BATCH);
            let mut out: Vec<u8> = Vec::with_capacity(64 * 1024);
            let mut line: Vec<u8> = Vec::with_capacity(1024);
            'connect: loop {
                let conn = tokio::select! {
                    r = this.connect() => r,
                    _ = ctx.shutdown.cancelled() => return,
                };
                let mut conn = match conn {
                    Ok(c) => c,
                    Err(e) => {
                        internal::error(format!(
                            "Connection failed; server='{}', error='{e}', time_reopen='{}'",
                            this.describe(),
                            this.time_reopen.as_secs()
                        ));
                        tokio::select! {
                            _ = tokio::time::sleep(this.time_reopen) => continue 'connect,
                            _ = ctx.shutdown.cancelled() => return,
                        }
                    }
                };
                internal::notice(format!("Syslog connection established; server='{}'", this.describe()));
                loop {
                    if batch.is_empty() && !queue.pop(BATCH, &mut batch).await {
                        if let Connection::Stream(s) = &mut conn {
                            let _ = s.shutdown().await;
                        }
                        return;
                    }
                    let result = this.send(&mut conn, &batch, &mut out, &mut line).await;
                    match result {
                        Ok(()) => {
                            queue.stats.written.fetch_add(batch.len() as u64, Ordering::Relaxed);
                            batch.clear();
                        }
                        Err(e) => {
                            internal::error(format!(
                                "I/O error occurred while writing; server='{}', error='{e}'",
                                this.describe()
                            ));
                            // What was not written goes back first in line for the next connection.
                            queue.push_front(&mut batch);
                            tokio::select! {
                                _ = tokio::time::sleep(this.time_reopen) => continue 'connect,
                                _ = ctx.shutdown.cancelled() => return,
                            }
                        }
                    }
                }
            }
        })
    }
}

impl SocketDestination {
    async fn send(
        &mut self,
        conn: &mut Connection,
        batch: &[LogMessage],
        out: &mut Vec<u8>,
        line: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        let octets = self.octet_counted();
        match conn {
            Connection::Stream(stream) => {
                out.clear();
                for msg in batch {
                    line.clear();
                    if !self.writer.format(msg, line) {
                        continue;
                    }
                    if octets {
                        out.extend_from_slice(line.len().to_string().as_bytes());
                        out.push(b' ');
                    }
                    out.extend_from_slice(line);
                }
                stream.write_all(out).await?;
                stream.flush().await
            }
            Connection::Udp(socket) => {
                for msg in batch {
                    line.clear();
                    if self.writer.format(msg, line) {
                        socket.send(line).await?;
                    }
                }
                Ok(())
            }
            Connection::UnixDgram(socket, path) => {
                for msg in batch {
                    line.clear();
                    if self.writer.format(msg, line) {
                        socket.send_to(line, &*path).await?;
                    }
                }
                Ok(())
            }
        }
    }
}
