//! A task whose handle aborts it when dropped, so a failed or stopped stage leaves nothing
//! running behind it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::task::JoinHandle;

use crate::pipeline::error::SyncError;

pub(in crate::pipeline) struct Spawned<T>(JoinHandle<T>);

impl<T: Send + 'static> Spawned<T> {
    pub fn new(task: impl Future<Output = T> + Send + 'static) -> Self {
        Self(tokio::spawn(task))
    }
}

impl<T> Future for Spawned<T> {
    type Output = Result<T, SyncError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map_err(SyncError::Task)
    }
}

impl<T> Drop for Spawned<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn dropping_the_handle_stops_the_task() {
        let finished = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&finished);
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let task = Spawned::new(async move {
            let _ = started_tx.send(());
            std::future::pending::<()>().await;
            flag.store(true, Ordering::SeqCst);
        });
        started_rx.await.unwrap();
        let handle = task.0.abort_handle();
        drop(task);
        tokio::task::yield_now().await;
        assert!(handle.is_finished());
        assert!(!finished.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn the_result_comes_through() {
        assert_eq!(Spawned::new(async { 7 }).await.unwrap(), 7);
    }
}
