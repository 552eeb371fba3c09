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
    /// A filter step, before it evaluates a message.
    Filter,
}

static ARMED: [AtomicU32; 5] =
    [AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0)];

/// The one task a point is armed for, when [`arm_in`] named it.
static ONLY_IN: std::sync::Mutex<[Option<String>; 5]> = std::sync::Mutex::new([None, None, None, None, None]);

/// Makes the next `times` passes through `point` panic.
pub fn arm(point: Point, times: u32) {
    ONLY_IN.lock().unwrap_or_else(|e| e.into_inner())[point as usize] = None;
    ARMED[point as usize].store(times, Ordering::SeqCst);
}

/// Like [`arm`], for the passes of the task named `name` only (a destination queue's name, such
/// as `d#file`), so that other tasks of the same kind run on.
pub fn arm_in(point: Point, times: u32, name: &str) {
    ONLY_IN.lock().unwrap_or_else(|e| e.into_inner())[point as usize] = Some(name.to_string());
    ARMED[point as usize].store(times, Ordering::SeqCst);
}

/// Panics if `point` is armed for every task or for the one named `name`.
#[inline]
pub fn hit_in(point: Point, name: &str) {
    if ARMED[point as usize].load(Ordering::Relaxed) == 0 {
        return;
    }
    let only = ONLY_IN.lock().unwrap_or_else(|e| e.into_inner())[point as usize].clone();
    if only.is_none_or(|n| n == name) {
        hit(point);
    }
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
