//! `example-msg-generator()`: a message every `freq()` seconds (the first at once), `num()` of
//! them (0: no end), each with the `values()` set and `MESSAGE` from `template()` or syslog-ng's
//! fixed text.

use std::time::Duration;

use rsng_core::message::{ReceiveInfo, UnixTime};
use rsng_core::template::{FormatOptions, Template};
use rsng_core::LogMessage;

use crate::receive::Receiver;
use crate::{Source, SourceContext, Task};

/// syslog-ng's text when there is no `template()`.
const GENERATED: &[u8] = b"-- Generated message. --";
/// `log_msg_new_empty()`'s priority: user.notice.
const PRI: u16 = 13;
/// With `freq(0)`, messages are posted in batches of this size between yields.
const BURST: usize = 100;

pub struct MsgGenerator {
    pub(super) receiver: Receiver,
    pub(super) freq: Duration,
    pub(super) num: u64,
    pub(super) template: Option<Template>,
    /// In configuration order; each template sees the values set before it.
    pub(super) values: Vec<(String, Template)>,
    pub(super) format: FormatOptions,
}

impl MsgGenerator {
    /// One message. The templates are evaluated as syslog-ng evaluates them, before the message
    /// is posted: `$SOURCE`, `$HOST_FROM` and the tags are not set yet (on a "stage" message
    /// received from nowhere); the results are then set on the message received as `info`.
    fn message(&self, info: &ReceiveInfo, blank: &ReceiveInfo, scratch: &mut Scratch) -> LogMessage {
        let templated = self.template.is_some() || !self.values.is_empty();
        if templated {
            let mut stage = LogMessage::new(blank);
            stage.clear_tag(blank.source_tag);
            stage.set_pri(PRI);
            for ((name, template), buf) in self.values.iter().zip(scratch.values.iter_mut()) {
                buf.clear();
                let _ = template.format(&stage, &self.format, buf);
                stage.set_value(name, buf);
            }
            stage.set_value("MESSAGE", GENERATED);
            if let Some(template) = &self.template {
                scratch.message.clear();
                let _ = template.format(&stage, &self.format, &mut scratch.message);
            }
        }
        let mut msg = LogMessage::new(info);
        msg.set_pri(PRI);
        for ((name, _), buf) in self.values.iter().zip(scratch.values.iter()) {
            msg.set_value(name, buf);
        }
        let text = if self.template.is_some() { &scratch.message[..] } else { GENERATED };
        msg.set_value("MESSAGE", text);
        self.receiver.finish(&mut msg, info);
        msg
    }
}

/// Buffers for template results, kept from message to message.
struct Scratch {
    values: Vec<Vec<u8>>,
    message: Vec<u8>,
}

impl Source for MsgGenerator {
    fn run(self: Box<Self>, mut ctx: SourceContext) -> Task {
        Box::pin(async move {
            let mut info = self.receiver.info(None);
            let mut blank = ReceiveInfo::new("", "", None, self.receiver.time_zone.clone());
            let mut scratch =
                Scratch { values: vec![Vec::with_capacity(64); self.values.len()], message: Vec::with_capacity(128) };
            let mut batch = Vec::new();
            let mut sent = 0u64;
            loop {
                let burst = if self.freq.is_zero() { BURST } else { 1 };
                tokio::select! {
                    _ = ctx.port.ready() => {}
                    _ = ctx.shutdown.cancelled() => return,
                }
                info.received = UnixTime::now(&self.receiver.time_zone);
                blank.received = info.received;
                for _ in 0..burst {
                    batch.push(self.message(&info, &blank, &mut scratch));
                    sent += 1;
                    if self.num > 0 && sent >= self.num {
                        break;
                    }
                }
                ctx.port.post(&mut batch);
                if self.num > 0 && sent >= self.num {
                    // Done; the source stays (idle) until stopped, as syslog-ng's does.
                    ctx.shutdown.cancelled().await;
                    return;
                }
                if self.freq.is_zero() {
                    tokio::task::yield_now().await;
                    continue;
                }
                tokio::select! {
                    _ = tokio::time::sleep(self.freq) => {}
                    _ = ctx.shutdown.cancelled() => return,
                }
            }
        })
    }
}
