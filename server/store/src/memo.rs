//! What a server process keeps in memory about its database so that the commonest requests (a
//! phone asking "anything new?", a list) do not read rows that have not changed: the registry's
//! fingerprint, and a generation that every change this process makes to staff, units or
//! sessions bumps (the domain keeps its recently authenticated callers against it). Each is
//! trusted only while fresh: what another instance changes is seen within [`FRESH_FOR`] at most.
//! The change sequence is not kept here: a commit another instance made a moment ago must reach a
//! device that asks now.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long something read from the database is trusted without reading it again.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// A value read from the database at a registry generation: trusted while it is younger than
/// [`FRESH_FOR`] and no change this process made has moved the generation on.
#[derive(Debug, Clone)]
pub struct Kept<T> {
    at: Instant,
    generation: u64,
    value: T,
}

impl<T> Kept<T> {
    /// `value`, read at `generation` (taken before the read, so a change meanwhile makes it stale).
    pub fn new(generation: u64, value: T) -> Self {
        Kept {
            at: Instant::now(),
            generation,
            value,
        }
    }

    /// The value, if still to be trusted at `generation`.
    pub fn fresh(&self, generation: u64) -> Option<&T> {
        (self.generation == generation && self.at.elapsed() < FRESH_FOR).then_some(&self.value)
    }
}

#[derive(Debug)]
pub(crate) struct Memo {
    /// Bumped by every change this process makes to staff, units or sessions.
    registry_generation: AtomicU64,
    /// The registry's fingerprint.
    fingerprint: Mutex<Option<Kept<String>>>,
}

impl Memo {
    pub(crate) fn new() -> Self {
        Memo {
            registry_generation: AtomicU64::new(0),
            fingerprint: Mutex::new(None),
        }
    }

    pub(crate) fn registry_generation(&self) -> u64 {
        self.registry_generation.load(Ordering::Acquire)
    }

    pub(crate) fn note_registry_change(&self) {
        self.registry_generation.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn fingerprint(&self) -> Option<String> {
        let generation = self.registry_generation();
        let held = self.fingerprint.lock().ok()?;
        held.as_ref()?.fresh(generation).cloned()
    }

    /// Keeps a fingerprint read at `generation` (a change meanwhile makes it stale at once).
    pub(crate) fn keep_fingerprint(&self, generation: u64, text: &str) {
        if let Ok(mut held) = self.fingerprint.lock() {
            *held = Some(Kept::new(generation, text.to_owned()));
        }
    }
}
