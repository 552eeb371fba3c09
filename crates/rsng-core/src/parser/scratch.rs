//! Per-thread byte buffers reused across messages, so that parsers and rewrites do not allocate
//! for their intermediate text once a thread has warmed up.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

/// Buffers above this size are not kept, so one huge message does not pin its memory.
const KEEP_LIMIT: usize = 1 << 20;

thread_local! {
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    static STRINGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer taken from this thread's pool; it goes back when dropped.
#[derive(Debug, Default)]
pub struct Scratch(Vec<u8>);

impl Scratch {
    pub fn take() -> Scratch {
        let v = POOL.try_with(|p| p.borrow_mut().pop()).ok().flatten().unwrap_or_default();
        Scratch(v)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let mut v = std::mem::take(&mut self.0);
        if v.capacity() > 0 && v.capacity() <= KEEP_LIMIT {
            v.clear();
            let _ = POOL.try_with(|p| p.borrow_mut().push(v));
        }
    }
}

impl Deref for Scratch {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

/// An empty string taken from this thread's pool (for value names); it goes back when dropped.
#[derive(Debug, Default)]
pub struct ScratchString(String);

impl ScratchString {
    pub fn take() -> ScratchString {
        ScratchString(STRINGS.try_with(|p| p.borrow_mut().pop()).ok().flatten().unwrap_or_default())
    }
}

impl Drop for ScratchString {
    fn drop(&mut self) {
        let mut s = std::mem::take(&mut self.0);
        if s.capacity() > 0 && s.capacity() <= KEEP_LIMIT {
            s.clear();
            let _ = STRINGS.try_with(|p| p.borrow_mut().push(s));
        }
    }
}

impl Deref for ScratchString {
    type Target = String;
    fn deref(&self) -> &String {
        &self.0
    }
}

impl DerefMut for ScratchString {
    fn deref_mut(&mut self) -> &mut String {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Scratch;

    #[test]
    fn buffers_are_reused_empty() {
        let ptr = {
            let mut a = Scratch::take();
            a.extend_from_slice(b"hello");
            a.as_ptr()
        };
        let b = Scratch::take();
        assert!(b.is_empty());
        assert_eq!(b.as_ptr(), ptr);
    }
}
