//! The `mqtt()` source, as syslog-ng 3.38's mqtt module has it: it subscribes to `topic()` (a
//! topic filter, `+` and `#` wildcards allowed) with `qos()`, and each message published there
//! becomes a log message whose `$MESSAGE` is the payload, unparsed, with priority user.notice
//! (or `default-priority()`/`default-facility()`), the local host and the time of receipt.
//! The session is kept by the broker (`cleansession(no)`, the default) under the client id
//! `syslog-ng-source-TOPIC`, so what is published while rsng is away arrives when it is back
//! (QoS 1 and 2). A received message is acknowledged once it is in rsng's pipeline; with flow
//! control the source stops reading while `log-iw-size()` messages are in flight. A lost connection is
//! opened again after `time-reopen()`.

use rsng_core::message::{ReceiveInfo, UnixTime};
use rsng_core::LogMessage;
use rsng_transport::tls::TlsContext;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::options::{self, Settings};
use super::packet;
use super::run::{connect, Connection};
use crate::internal;
use crate::options::Options;
use crate::receive::Receiver;
use crate::{BuildContext, DriverError, Source, SourceContext, Task};

/// `log_msg_new_empty()`'s priority: user.notice.
const PRI: u16 = 13;
/// Messages read into one batch when the broker has sent more than one.
const BATCH: usize = 64;
/// The largest packet accepted from the broker.
const MAX_PACKET: usize = 64 * 1024 * 1024;
/// The packet id of the one SUBSCRIBE.
const SUBSCRIBE_ID: u16 = 1;

pub struct MqttSource {
    settings: Settings,
    tls: Option<TlsContext>,
    topic: String,
    receiver: Receiver,
    /// The priority of every message.
    pri: u16,
    /// `log-iw-size()`: messages in the pipeline at most, under flow control.
    window: usize,
    location: String,
}

/// Builds an `mqtt()` source of source object `object`.
///
/// # Errors
/// No `topic()` or one that is not a valid topic filter, a bad address, `qos()` or `tls()`.
pub fn build_source(object: &str, opts: Options<'_>, ctx: &BuildContext) -> Result<Box<dyn Source>, DriverError> {
    let (settings, client, source) = options::read_source(&opts)?;
    let topic = client.topic.clone().unwrap_or_default();
    check_filter(&topic).map_err(|e| DriverError::new(format!("mqtt: {e}; topic='{topic}'"), opts.span()))?;
    let tls = options::tls_context(&opts, &client, settings.tls, ctx)?;
    let receiver = Receiver::new(object, opts, Default::default(), false);
    let pri = receiver.parse.default_pri.unwrap_or(PRI);
    let window = source.log_iw_size;
    let location = (ctx.locate)(opts.span());
    Ok(Box::new(MqttSource { settings, tls, topic, receiver, pri, window, location }))
}

/// Whether `filter` is a topic filter a broker takes: not empty, `#` only as the whole last
/// level, `+` only as a whole level.
fn check_filter(filter: &str) -> Result<(), &'static str> {
    if filter.is_empty() {
        return Err("the topic can't be empty");
    }
    if filter.len() > usize::from(u16::MAX) {
        return Err("the topic is longer than 65535 bytes");
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return Err("'#' must be a whole level, the last one");
        }
        if level.contains('+') && *level != "+" {
            return Err("'+' must be a whole level");
        }
    }
    Ok(())
}

/// Why a session ended.
enum End {
    /// rsng stops.
    Shutdown,
    /// A failure, already logged: connect again after `time-reopen()`.
    Failed,
}

impl Source for MqttSource {
    fn run(self: Box<Self>, mut ctx: SourceContext) -> Task {
        Box::pin(async move {
            ctx.port.set_window_size(self.window);
            let mut body = Vec::with_capacity(4096);
            loop {
                if let End::Shutdown = self.session(&mut ctx, &mut body).await {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.time_reopen) => {}
                    _ = ctx.shutdown.cancelled() => return,
                }
            }
        })
    }
}

impl MqttSource {
    /// One connection: subscribe, then read until it fails or rsng stops.
    async fn session(&self, ctx: &mut SourceContext, body: &mut Vec<u8>) -> End {
        let s = &self.settings;
        let mut out = Vec::with_capacity(256);
        let keepalive = u16::try_from(s.keepalive.as_secs()).unwrap_or(u16::MAX);
        packet::connect(
            &mut out,
            &s.client_id,
            s.username.as_deref(),
            s.password.as_deref(),
            keepalive,
            s.clean_session,
        );
        let connected = tokio::select! {
            c = connect(s, self.tls.as_ref(), &out, body) => c,
            _ = ctx.shutdown.cancelled() => return End::Shutdown,
        };
        let mut conn = match connected {
            Ok(c) => c,
            Err(e) => {
                internal::error(format!(
                    "Error connecting mqtt client; error code='{e}', client_id='{}', location='{}'",
                    s.client_id, self.location
                ));
                return End::Failed;
            }
        };
        out.clear();
        packet::subscribe(&mut out, SUBSCRIBE_ID, self.topic.as_bytes(), s.qos);
        if let Err(e) = self.send(&mut conn, &out).await {
            return self.receive_failed(&e.to_string());
        }
        match self.read_loop(ctx, &mut conn, body).await {
            Ok(()) => {
                let _ = conn.stream.write_all(&packet::DISCONNECT).await;
                let _ = conn.stream.shutdown().await;
                End::Shutdown
            }
            Err(e) => self.receive_failed(&e),
        }
    }

    async fn send(&self, conn: &mut Connection, bytes: &[u8]) -> std::io::Result<()> {
        conn.stream.write_all(bytes).await?;
        conn.stream.flush().await?;
        conn.last_sent = std::time::Instant::now();
        Ok(())
    }

    fn receive_failed(&self, error: &str) -> End {
        internal::error(format!(
            "Error while receiving msg; error code='{error}', client_id='{}', location='{}'",
            self.settings.client_id, self.location
        ));
        End::Failed
    }

    /// Reads messages and posts them in batches, acknowledging each batch once posted; pings
    /// the broker when nothing went out for `keepalive()`. `Ok` when rsng stops.
    async fn read_loop(
        &self,
        ctx: &mut SourceContext,
        conn: &mut Connection,
        body: &mut Vec<u8>,
    ) -> Result<(), String> {
        let keepalive = self.settings.keepalive;
        let mut info = self.receiver.info(None);
        // A batch stays within the window.
        let batch_size = BATCH.min(self.window);
        let mut batch: Vec<LogMessage> = Vec::with_capacity(batch_size);
        let mut acks: Vec<u8> = Vec::with_capacity(BATCH * 4);
        // QoS 2 messages posted and waiting for PUBREL: a resent PUBLISH of one is not posted again.
        let mut released_pending: Vec<u16> = Vec::new();
        let mut ping_sent: Option<Instant> = None;
        loop {
            let ping_due = Instant::from_std(conn.last_sent) + keepalive;
            // Room in the pipeline first (flow control), then data; the broker is pinged meanwhile.
            let readable = tokio::select! {
                _ = ctx.port.ready() => {
                    tokio::select! {
                        r = conn.stream.fill_buf() => Some(r.map(|b| !b.is_empty())),
                        _ = tokio::time::sleep_until(ping_due) => None,
                        _ = ctx.shutdown.cancelled() => return Ok(()),
                    }
                }
                _ = tokio::time::sleep_until(ping_due) => None,
                _ = ctx.shutdown.cancelled() => return Ok(()),
            };
            match readable {
                None => {
                    if ping_sent.is_some_and(|t| t.elapsed() >= keepalive) {
                        return Err("no PINGRESP from the broker within keepalive()".into());
                    }
                    self.send(conn, &packet::PINGREQ).await.map_err(|e| e.to_string())?;
                    ping_sent.get_or_insert_with(Instant::now);
                    continue;
                }
                Some(Err(e)) => return Err(e.to_string()),
                Some(Ok(false)) => return Err("the broker closed the connection".into()),
                Some(Ok(true)) => {}
            }
            info.received = UnixTime::now(&self.receiver.time_zone);
            // What the broker has already sent goes in one batch.
            loop {
                let first = packet::read_packet(&mut conn.stream, body, MAX_PACKET).await.map_err(|e| e.to_string())?;
                match first >> 4 {
                    packet::PUBLISH => {
                        let Some((qos, id, _topic, payload)) = packet::parse_publish(first & 0x0F, body) else {
                            return Err("malformed PUBLISH from the broker".into());
                        };
                        let repeated = qos == 2 && released_pending.contains(&id);
                        if !repeated {
                            batch.push(self.message(payload, &info));
                        }
                        match qos {
                            1 => packet::ack(&mut acks, packet::PUBACK, id),
                            2 => {
                                if !repeated {
                                    released_pending.push(id);
                                }
                                packet::ack(&mut acks, packet::PUBREC, id);
                            }
                            _ => {}
                        }
                    }
                    packet::PUBREL => {
                        let id = packet::ack_id(body).unwrap_or(0);
                        released_pending.retain(|&p| p != id);
                        packet::ack(&mut acks, packet::PUBCOMP, id);
                    }
                    // One return code per filter: 0x80 is a refusal.
                    packet::SUBACK if body.get(2).is_none_or(|&code| code == 0x80) => {
                        internal::error(format!(
                            "mqtt: Error while subscribing to topic; topic='{}', qos='{}', error code='the broker \
                             refused the subscription', location='{}'",
                            self.topic, self.settings.qos, self.location
                        ));
                        return Err("subscription refused".into());
                    }
                    packet::PINGRESP => ping_sent = None,
                    _ => {}
                }
                if batch.len() >= batch_size || conn.stream.buffer().is_empty() {
                    break;
                }
            }
            if !batch.is_empty() {
                ctx.port.post(&mut batch);
            }
            if !acks.is_empty() {
                self.send(conn, &acks).await.map_err(|e| e.to_string())?;
                acks.clear();
            }
        }
    }

    /// The message of one payload.
    fn message(&self, payload: &[u8], info: &ReceiveInfo) -> LogMessage {
        let mut msg = LogMessage::new(info);
        msg.set_pri(self.pri);
        msg.set_value("MESSAGE", payload);
        self.receiver.finish(&mut msg, info);
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::check_filter;

    #[test]
    fn topic_filters() {
        for ok in ["a", "a/b", "a/+/c", "#", "a/#", "+", "+/+", "/a"] {
            assert!(check_filter(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a/#/b", "a#", "a/b#", "a+/b", "a/+b"] {
            assert!(check_filter(bad).is_err(), "{bad}");
        }
    }
}
