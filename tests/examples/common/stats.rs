//! What the benchmarks print of many timings, defined once.

use std::time::Duration;

/// The `p` quantile of `sorted` (ascending): the entry at the rounded rank `(n − 1)·p`; zero when
/// there is none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
