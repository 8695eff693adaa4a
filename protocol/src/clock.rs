//! Where "now" comes from.
//!
//! Deadlines, months, the 24-hour rate and the review's time bounds all depend on the current
//! time, so the server and the phone read it from one [`Clock`] that their owner hands them. In
//! production it is the system clock; a test starts it at a chosen instant (the last evening of a
//! month in Shanghai, 29 February, a daylight-saving change) and it then runs on at the system's
//! pace, so a suite gives the same answers whatever today's date is.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

/// The current time, shared by everything one server or one phone store does. Cheap to clone;
/// clones move together.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Microseconds added to the system time; `None` for the plain system clock.
    offset_us: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock { offset_us: None }
    }

    /// A clock that reads `start` now and runs on at the system's pace from there.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        let clock = Clock {
            offset_us: Some(Arc::new(AtomicI64::new(0))),
        };
        clock.set(start);
        clock
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        let system = Utc::now();
        match &self.offset_us {
            None => system,
            Some(offset) => system + Duration::microseconds(offset.load(Ordering::SeqCst)),
        }
    }

    /// Moves this clock (and its clones) so that it reads `at` now. The system clock cannot be
    /// moved: the call is ignored there.
    pub fn set(&self, at: DateTime<Utc>) {
        if let Some(offset) = &self.offset_us {
            // Rounded up, so the clock never reads before `at` just after being set.
            let micros = (at - Utc::now()).num_microseconds().unwrap_or(i64::MAX - 1);
            offset.store(micros.saturating_add(1), Ordering::SeqCst);
        }
    }

    /// Moves this clock forward (or back, with a negative `by`).
    pub fn advance(&self, by: Duration) {
        if let Some(offset) = &self.offset_us {
            offset.fetch_add(by.num_microseconds().unwrap_or(0), Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_clock_reads_its_start_and_runs_on() {
        let start = DateTime::parse_from_rfc3339("2026-12-31T13:30:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap();
        let clock = Clock::starting_at(start);
        let read = clock.now();
        assert!(
            read >= start && read - start < Duration::seconds(5),
            "{read}"
        );
        let clone = clock.clone();
        clock.advance(Duration::hours(2));
        assert!(clone.now() - start >= Duration::hours(2));
        clone.set(start);
        assert!(clock.now() - start < Duration::seconds(5));
    }

    #[test]
    fn the_system_clock_cannot_be_moved() {
        let clock = Clock::system();
        clock.advance(Duration::days(400));
        assert!((clock.now() - Utc::now()).num_seconds().abs() < 5);
    }
}
