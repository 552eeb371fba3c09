//! A parser object with syslog-ng's `discarded` counter (`parser;NAME;;a;discarded;N`, kept from
//! `stats-level(1)` on): the messages its parsers could not parse.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rsng_core::LogMessage;

use super::Transform;

pub struct CountedParser {
    pub parts: Vec<Arc<dyn Transform>>,
    pub discarded: Arc<AtomicU64>,
}

impl Transform for CountedParser {
    fn process(&self, msg: &mut LogMessage) -> bool {
        for part in &self.parts {
            if !part.process(msg) {
                self.discarded.fetch_add(1, Ordering::Relaxed);
                return false;
            }
        }
        true
    }

    fn process_emitting(&self, msg: &mut LogMessage, emitted: &mut Vec<LogMessage>) -> bool {
        self.run_from(0, msg, emitted)
    }
}

impl CountedParser {
    /// Runs the parts from `first` on; what a part generates goes through the parts after it.
    fn run_from(&self, first: usize, msg: &mut LogMessage, emitted: &mut Vec<LogMessage>) -> bool {
        for (i, part) in self.parts.iter().enumerate().skip(first) {
            let mut generated = Vec::new();
            let passed = part.process_emitting(msg, &mut generated);
            for mut g in generated {
                if self.run_from(i + 1, &mut g, emitted) {
                    emitted.push(g);
                }
            }
            if !passed {
                self.discarded.fetch_add(1, Ordering::Relaxed);
                return false;
            }
        }
        true
    }
}
