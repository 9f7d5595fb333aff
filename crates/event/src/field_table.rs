//! Interning of field names into [`FieldId`]s.
//!
//! One [`FieldTable`] is shared (behind an `Arc`) by every decoder and rule compiler of a
//! run, so the same name always gets the same id. Each decoding thread keeps a
//! [`FieldCache`] in front of it: after warm-up, resolving a name is one local hash lookup
//! with no lock.

use foldhash::{HashMap, HashMapExt};
use std::sync::{Arc, RwLock};

/// A field name resolved to a number. Ids are dense, starting at 0, and only mean
/// something relative to the [`FieldTable`] that issued them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u32);

impl FieldId {
    /// The id as an index into dense per-field tables.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Debug)]
struct Inner {
    ids: HashMap<Arc<str>, FieldId>,
    names: Vec<Arc<str>>,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            ids: HashMap::new(),
            names: Vec::new(),
        }
    }
}

/// The shared name ↔ id table of a run.
///
/// *Invariant:* ids are never reused or removed; a name keeps its id for the table's life.
#[derive(Default, Debug)]
pub struct FieldTable {
    inner: RwLock<Inner>,
}

impl FieldTable {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The id of `name`, issuing a new one on first sight.
    pub fn intern(&self, name: &str) -> FieldId {
        if let Some(id) = self.lookup(name) {
            return id;
        }
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(&id) = inner.ids.get(name) {
            return id;
        }
        let id = FieldId(inner.names.len() as u32);
        let name: Arc<str> = Arc::from(name);
        inner.names.push(name.clone());
        inner.ids.insert(name, id);
        id
    }

    /// The id of `name` if it was ever interned.
    pub fn lookup(&self, name: &str) -> Option<FieldId> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner.ids.get(name).copied()
    }

    /// The name behind `id`.
    pub fn name(&self, id: FieldId) -> Option<Arc<str>> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner.names.get(id.index()).cloned()
    }

    /// How many distinct names have been interned.
    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .names
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A thread-local, lock-free front for a shared [`FieldTable`].
#[derive(Debug, Clone)]
pub struct FieldCache {
    table: Arc<FieldTable>,
    local: HashMap<Box<str>, FieldId>,
}

impl FieldCache {
    pub fn new(table: Arc<FieldTable>) -> Self {
        Self {
            table,
            local: HashMap::new(),
        }
    }

    /// The id of `name`, from the local map when it has been seen by this cache before.
    #[inline]
    pub fn intern(&mut self, name: &str) -> FieldId {
        if let Some(&id) = self.local.get(name) {
            return id;
        }
        let id = self.table.intern(name);
        self.local.insert(name.into(), id);
        id
    }

    /// The shared table behind this cache.
    pub fn table(&self) -> &Arc<FieldTable> {
        &self.table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_same_id_across_caches() {
        let table = FieldTable::new();
        let mut a = FieldCache::new(table.clone());
        let mut b = FieldCache::new(table.clone());
        let x = a.intern("CommandLine");
        let y = a.intern("Image");
        assert_ne!(x, y);
        assert_eq!(b.intern("CommandLine"), x);
        assert_eq!(table.name(y).as_deref(), Some("Image"));
        assert_eq!(table.lookup("missing"), None);
        assert_eq!(table.len(), 2);
    }
}
