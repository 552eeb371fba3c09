//! Message tags: names interned once per process into small ids, so a
//! message carries only a bit set.
//!
//! Ids are handed out in registration order, as syslog-ng's `log_tags_get_by_name`
//! does; `$TAGS` lists a message's tags in id order.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

/// An interned tag name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TagId(pub u32);

#[derive(Default)]
struct Registry {
    names: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, TagId>,
}

fn registry() -> &'static RwLock<Registry> {
    static REGISTRY: OnceLock<RwLock<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

impl TagId {
    /// The id of tag `name`, registering it on first use.
    pub fn intern(name: &str) -> TagId {
        if let Some(&id) = registry().read().unwrap_or_else(|e| e.into_inner()).ids.get(name) {
            return id;
        }
        let mut reg = registry().write().unwrap_or_else(|e| e.into_inner());
        if let Some(&id) = reg.ids.get(name) {
            return id;
        }
        let id = TagId(reg.names.len() as u32);
        let name: Arc<str> = Arc::from(name);
        reg.names.push(name.clone());
        reg.ids.insert(name, id);
        id
    }

    /// The name of a registered tag.
    pub fn name(self) -> Option<Arc<str>> {
        registry().read().unwrap_or_else(|e| e.into_inner()).names.get(self.0 as usize).cloned()
    }
}

/// A set of tags: ids below 64 live in one word, the rest in a sorted vector
/// (allocated only when a message has such a tag).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    low: u64,
    high: Vec<u32>,
}

impl Tags {
    /// Adds `tag`.
    pub fn insert(&mut self, tag: TagId) {
        if tag.0 < 64 {
            self.low |= 1 << tag.0;
        } else if let Err(pos) = self.high.binary_search(&tag.0) {
            self.high.insert(pos, tag.0);
        }
    }

    /// Removes `tag`.
    pub fn remove(&mut self, tag: TagId) {
        if tag.0 < 64 {
            self.low &= !(1 << tag.0);
        } else if let Ok(pos) = self.high.binary_search(&tag.0) {
            self.high.remove(pos);
        }
    }

    /// Whether `tag` is set.
    pub fn contains(&self, tag: TagId) -> bool {
        if tag.0 < 64 {
            self.low & (1 << tag.0) != 0
        } else {
            self.high.binary_search(&tag.0).is_ok()
        }
    }

    /// The tags in id order.
    pub fn iter(&self) -> impl Iterator<Item = TagId> + '_ {
        (0..64u32).filter(|i| self.low & (1 << i) != 0).chain(self.high.iter().copied()).map(TagId)
    }

    /// True when no tag is set.
    pub fn is_empty(&self) -> bool {
        self.low == 0 && self.high.is_empty()
    }

    /// Appends the names comma-separated, as `$TAGS` prints them: a name that needs it (a comma,
    /// a space, a quote) is quoted as a list element, as syslog-ng does.
    pub fn format(&self, out: &mut Vec<u8>) {
        if self.is_empty() {
            return;
        }
        let reg = registry().read().unwrap_or_else(|e| e.into_inner());
        let mut first = true;
        for id in self.iter() {
            if let Some(name) = reg.names.get(id.0 as usize) {
                if !first {
                    out.push(b',');
                }
                first = false;
                crate::strrepr::encode_append(out, name.as_bytes(), b",");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_and_sets() {
        let a = TagId::intern("tags-test-a");
        let b = TagId::intern("tags-test-b");
        assert_eq!(a, TagId::intern("tags-test-a"));
        assert_ne!(a, b);
        assert_eq!(a.name().as_deref(), Some("tags-test-a"));
        let mut set = Tags::default();
        set.insert(b);
        set.insert(a);
        set.insert(TagId(100));
        assert!(set.contains(a) && set.contains(TagId(100)) && !set.contains(TagId(99)));
        let mut out = Vec::new();
        set.remove(TagId(100));
        set.format(&mut out);
        assert_eq!(out, b"tags-test-a,tags-test-b");
    }
}
