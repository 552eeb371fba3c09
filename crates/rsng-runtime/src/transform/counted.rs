//! A parser object with syslog-ng's `discarded` counter (`parser;NAME;;a;discarded;N`, kept from
//! `stats-level(1)` on): the messages its parsers could not parse.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rsng_core::LogMessage;

use super::Transform;

/// One driver of a parser object; the object's drivers share `discarded`.
pub struct CountedParser {
    pub part: Arc<dyn Transform>,
    pub discarded: Arc<AtomicU64>,
}

impl Transform for CountedParser {
    fn process(&self, msg: &mut LogMessage) -> bool {
        if !self.part.process(msg) {
            self.discarded.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    fn process_emitting(&self, msg: &mut LogMessage, emitted: &mut Vec<LogMessage>) -> bool {
        // What the part generates goes on through the steps after this one (see graph.rs).
        if !self.part.process_emitting(msg, emitted) {
            self.discarded.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    fn ticks(&self) -> bool {
        self.part.ticks()
    }

    fn tick(&self, emitted: &mut Vec<LogMessage>) {
        self.part.tick(emitted);
    }

    fn persistent_state(&self) -> Option<(String, super::PersistedState)> {
        self.part.persistent_state()
    }
}
