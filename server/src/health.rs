//! The store's health and the figures read from it, asked of a thread of its own: `GET /readyz` and
//! `GET /metrics` never wait behind request work (its tasks or the blocking pool). Each question waits a bounded time
//! ([`PING_WAIT`], [`FIGURES_WAIT`]); past it the store counts as not ready, and the last figure known is served.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::clock;
use crate::store::Store;

/// How long `GET /readyz` waits for the store to answer a ping before it says the store is not ready.
pub const PING_WAIT: Duration = Duration::from_secs(1);
/// How long `GET /metrics` waits for the store's figures before it serves the last ones known.
pub const FIGURES_WAIT: Duration = Duration::from_millis(250);
/// Questions waiting for the health thread, at most; past it a question is answered as if it timed out.
const QUESTIONS: usize = 16;

/// A question for the health thread.
#[derive(Debug)]
enum Question {
    /// Does the store answer?
    Ping(oneshot::Sender<bool>),
    /// How many users were active this month?
    ActiveUsers(oneshot::Sender<Option<u64>>),
}

/// The way to the health thread, and the last figures it gave.
#[derive(Debug)]
pub struct Health {
    questions: SyncSender<Question>,
    active_users: AtomicI64,
}

impl Health {
    /// Starts the health thread for `store`; it ends once every [`Health`] handle is gone.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (questions, asked) = sync_channel::<Question>(QUESTIONS);
        let spawned = std::thread::Builder::new().name("store-health".into()).spawn(move || {
            // A runtime of its own: the store's calls from here never queue behind the server's tasks or its
            // blocking pool.
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            let Ok(runtime) = runtime else { return };
            for question in asked {
                match question {
                    Question::Ping(answer) => {
                        let _ = answer.send(runtime.block_on(store.ping()).is_ok());
                    }
                    Question::ActiveUsers(answer) => {
                        let month = clock::month();
                        let _ =
                            answer.send(runtime.block_on(store.monthly_active_users(&month)).ok());
                    }
                }
            }
        });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start the store health thread: the store will count as not ready");
        }
        Health { questions, active_users: AtomicI64::new(0) }
    }

    /// Whether the store answers a ping within [`PING_WAIT`].
    pub async fn store_ready(&self) -> bool {
        let (answer, answered) = oneshot::channel();
        self.ask(Question::Ping(answer), answered, PING_WAIT).await.unwrap_or(false)
    }

    /// Users active this month, as the store says within [`FIGURES_WAIT`], else the last count known.
    pub async fn active_users(&self) -> i64 {
        let (answer, answered) = oneshot::channel();
        let fresh = self.ask(Question::ActiveUsers(answer), answered, FIGURES_WAIT).await.flatten();
        if let Some(count) = fresh {
            self.active_users.store(i64::try_from(count).unwrap_or(i64::MAX), Ordering::Relaxed);
        }
        self.active_users.load(Ordering::Relaxed)
    }

    async fn ask<T>(
        &self,
        question: Question,
        answered: oneshot::Receiver<T>,
        wait: Duration,
    ) -> Option<T> {
        match self.questions.try_send(question) {
            Ok(()) => tokio::time::timeout(wait, answered).await.ok()?.ok(),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => None,
        }
    }
}
