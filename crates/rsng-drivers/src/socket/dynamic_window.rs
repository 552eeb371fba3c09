//! `dynamic-window-size()` of stream sources: a pool of window that a listener's connections
//! share on top of each one's static part of `log-iw-size()`. Every
//! `dynamic-window-stats-freq()` × `dynamic-window-realloc-ticks()` seconds (1 × 5 by default)
//! the pool is shared out evenly among the open connections, as syslog-ng 3.38 rebalances it: a
//! connection below its share gets the difference at once; one above it gives back at once what
//! it has free, and the rest as its messages are written (its window stays below zero until
//! then). A closing connection returns its part to the pool.

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::pipeline::Window;

/// One listener's pool.
#[derive(Debug)]
pub struct DynamicWindowPool {
    size: usize,
    connections: Mutex<Connections>,
}

#[derive(Debug, Default)]
struct Connections {
    next_id: u64,
    /// Each open connection's window and the part of the pool it holds.
    shares: Vec<(u64, Weak<Window>, usize)>,
}

/// A connection's membership; dropping it (the connection ends) returns its part.
#[derive(Debug)]
pub struct Share {
    pool: Arc<DynamicWindowPool>,
    id: u64,
}

impl Drop for Share {
    fn drop(&mut self) {
        self.pool.lock().shares.retain(|(id, ..)| *id != self.id);
    }
}

impl DynamicWindowPool {
    pub fn new(size: usize) -> Arc<DynamicWindowPool> {
        Arc::new(DynamicWindowPool { size, connections: Mutex::default() })
    }

    fn lock(&self) -> MutexGuard<'_, Connections> {
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a connection with window `window`; it gets a part of the pool at the next share-out.
    pub fn join(self: &Arc<Self>, window: &Arc<Window>) -> Share {
        let mut c = self.lock();
        c.next_id += 1;
        let id = c.next_id;
        c.shares.push((id, Arc::downgrade(window), 0));
        Share { pool: self.clone(), id }
    }

    /// Shares the pool out evenly among the open connections.
    pub fn rebalance(&self) {
        let mut c = self.lock();
        c.shares.retain(|(_, w, _)| w.strong_count() > 0);
        if c.shares.is_empty() {
            return;
        }
        let balanced = self.size / c.shares.len();
        let mut used: usize = c.shares.iter().map(|s| s.2).sum();
        // Decreases first, so that the increases find the pool's room.
        for (_, window, part) in c.shares.iter_mut().filter(|s| s.2 > balanced) {
            let dec = *part - balanced;
            if let Some(w) = window.upgrade() {
                w.take(dec);
            }
            *part = balanced;
            used -= dec;
        }
        for (_, window, part) in c.shares.iter_mut().filter(|s| s.2 < balanced) {
            let inc = (balanced - *part).min(self.size.saturating_sub(used));
            if let Some(w) = window.upgrade() {
                w.release(inc);
            }
            *part += inc;
            used += inc;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_is_shared_evenly_and_returned_by_closing_connections() {
        let pool = DynamicWindowPool::new(1000);
        let (a, b) = (Window::new(100), Window::new(100));
        let share_a = pool.join(&a);
        pool.rebalance();
        assert_eq!(a.available(), 1100, "alone, a holds the whole pool");
        let share_b = pool.join(&b);
        a.take(1050); // a is busy: 50 of its window are free
        pool.rebalance();
        assert_eq!(b.available(), 600, "b gets half");
        assert_eq!(a.available(), 50 - 500, "a gives back 500, more than it has free");
        drop(share_a);
        pool.rebalance();
        assert_eq!(b.available(), 1100, "b alone again");
        drop(share_b);
    }
}
