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

#[derive(Debug)]
pub(crate) struct Memo {
    /// Bumped by every change this process makes to staff, units or sessions.
    registry_generation: AtomicU64,
    /// The registry's fingerprint, when it was read and at which generation.
    fingerprint: Mutex<Option<(Instant, u64, String)>>,
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
        match held.as_ref() {
            Some((at, kept_at, text)) if *kept_at == generation && at.elapsed() < FRESH_FOR => {
                Some(text.clone())
            }
            _ => None,
        }
    }

    /// Keeps a fingerprint read at `generation` (a change meanwhile makes it stale at once).
    pub(crate) fn keep_fingerprint(&self, generation: u64, text: &str) {
        if let Ok(mut held) = self.fingerprint.lock() {
            *held = Some((Instant::now(), generation, text.to_owned()));
        }
    }
}
