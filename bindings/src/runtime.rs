//! The bindings' own tokio runtime. Every async export runs its core future here, so a call made
//! from a Kotlin coroutine or a Swift task (threads with no tokio reactor) works before, and
//! without, [`crate::init_platform`]. The caller awaits the task's `JoinHandle`, which needs no
//! reactor; dropping the caller's future (coroutine cancelled) aborts the task.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinHandle;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The runtime, built on first use: a few workers (phones have many slow cores), all drivers on.
pub(crate) fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
        Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("dashkeep")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the Dashkeep runtime: {e}"))
    })
}

/// Aborts the task when the awaiting future is dropped.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `future` on the runtime and waits for it. A panic inside resumes here, where UniFFI
/// catches it and throws it to the app as an internal error.
pub(crate) async fn run<F>(future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut task = AbortOnDrop(runtime().spawn(future));
    match (&mut task.0).await {
        Ok(output) => output,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("Dashkeep task ended early: {e}"),
    }
}
