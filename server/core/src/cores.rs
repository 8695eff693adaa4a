//! CPU work on every core, off the async threads: Automerge's loading, changing and saving is
//! most of a batch job's time (the deadline pass, the planner's documents), and a tokio worker
//! busy with it answers no one.

use crate::error::Error;

/// Splits `items` into one part per core, runs `work` on each part in a blocking task, and
/// returns the results in the items' order. `what` names the work in an error.
pub(crate) async fn on_every_core<T, R, F>(
    mut items: Vec<T>,
    what: &str,
    work: F,
) -> Result<Vec<R>, Error>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Vec<T>) -> Result<Vec<R>, Error> + Clone + Send + 'static,
{
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let share = items.len().div_ceil(cores).max(1);
    let mut tasks = Vec::new();
    while !items.is_empty() {
        let rest = items.split_off(share.min(items.len()));
        let part = std::mem::replace(&mut items, rest);
        let work = work.clone();
        tasks.push(tokio::task::spawn_blocking(move || work(part)));
    }
    let mut done = Vec::new();
    for task in tasks {
        done.extend(
            task.await
                .map_err(|e| Error::internal(format!("{what}: {e}")))??,
        );
    }
    Ok(done)
}
