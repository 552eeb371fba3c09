//! Fault injection, for the tests of rsng's supervision only.
//!
//! A point is armed only by calling [`arm`] from Rust: the rsng binary never calls it and reads
//! no option or environment variable for it, so a running rsng cannot be made to fail this way.
//! Tests that run the pipeline in their own process arm a point to make the next task that
//! passes it panic. Unarmed, a point costs one relaxed atomic load (per accepted connection, read,
//! written batch, or parser step).

use std::sync::atomic::{AtomicU32, Ordering};

/// Where a fault can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// A stream listener, after accepting a connection.
    Listener,
    /// A stream connection, after a read.
    Connection,
    /// A destination writer, after taking a batch.
    Writer,
    /// A parser or rewrite step, before it processes a message.
    Step,
}

static ARMED: [AtomicU32; 4] = [AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0)];

/// Makes the next `times` passes through `point` panic.
pub fn arm(point: Point, times: u32) {
    ARMED[point as usize].store(times, Ordering::SeqCst);
}

/// Panics if `point` is armed.
#[inline]
pub fn hit(point: Point) {
    let armed = &ARMED[point as usize];
    if armed.load(Ordering::Relaxed) != 0
        && armed.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    {
        panic!("injected fault; point='{point:?}'");
    }
}
