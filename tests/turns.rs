//! Changes that never stop do not starve the rest of the engine: under writers that never
//! pause, a rebuild behind the alias still reaches its alias swap, because a pass over the
//! changes ends after its turn and the next cycle reads on. (Before, a logical cycle woken by
//! a streamed change read for as long as changes kept arriving, and the swap waited for the
//! writes to stop.)

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::reindex::folding_config;
use crate::support::worker::terminate;
use crate::support::{
    assert_index_equals_postgres, no_logical_capture, unique_name, wait_until, SearchIndex, TestDb,
    Worker,
};

const FILMS: u32 = 1000;
/// Concurrent writers, each a session updating one random film per transaction.
const WRITERS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_swaps_its_alias_while_logical_changes_never_stop() {
    if no_logical_capture("a_rebuild_swaps_its_alias_while_logical_changes_never_stop") {
        return;
    }
    swaps_under_writes("turns_logical", Worker::capture_logical).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_swaps_its_alias_while_recorded_changes_never_stop() {
    swaps_under_writes("turns_triggers", Worker::capture_with_triggers).await;
}

async fn swaps_under_writes(prefix: &str, capture: fn(&mut Worker)) {
    let name = unique_name(prefix);
    let db = TestDb::with_generated(&name, FILMS).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    capture(&mut worker);
    worker.sync_once();
    let first = index.alias_target().await;

    let writes = Writers::start(&db).await;
    wait_until("the writers to write", Duration::from_secs(30), || async {
        writes.count() > 100
    })
    .await;
    let folding = folding_config(&worker);
    worker.set("PG2ES__PIPELINES__MOVIES__INDEX_CONFIG", &folding);
    worker.set("PG2ES__SYNC__POLL_INTERVAL", "100ms");
    // Small batches: the worker indexes changes slower than they are written, so some are
    // always waiting (as with pgbench's thousands of transactions a second).
    worker.set("PG2ES__SYNC__BATCH_SIZE", "20");
    let (mut child, _log) = worker.spawn_run();
    wait_until(
        "the rebuild's back-fill to end while the writes go on",
        Duration::from_secs(120),
        || async {
            worker
                .rebuild()
                .is_some_and(|rebuild| rebuild["backfill"]["done"] == true)
        },
    )
    .await;
    let backfilled = Instant::now();
    let before = writes.count();
    // Without turns this waits until the writes stop, which they do not before it ends.
    wait_until(
        "the alias to move to the rebuilt index while the writes go on",
        Duration::from_secs(120),
        || async { index.aliased().await != [first.clone()] },
    )
    .await;
    let swapped = backfilled.elapsed();
    let during = writes.count() - before;
    writes.stop().await;
    eprintln!(
        "{prefix}: alias swapped {:.1} s after the rebuild's back-fill ended, {during} writes meanwhile",
        swapped.as_secs_f64()
    );
    assert!(during > 0, "the writes went on during the swap");
    wait_until(
        "the worker to index the last writes",
        Duration::from_secs(60),
        || async {
            index.refresh().await;
            crate::support::differences(&db.expected_documents().await, &index.documents().await)
                .is_empty()
        },
    )
    .await;
    assert_eq!(terminate(&mut child).await, Some(0));
    assert_index_equals_postgres(&db, &index).await;
}

/// Sessions updating random films without a pause, until stopped.
struct Writers {
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Writers {
    async fn start(db: &TestDb) -> Self {
        db.execute(
            "CREATE TABLE public.film_numbers AS
                 SELECT row_number() OVER (ORDER BY id) AS n, id FROM content.film_work",
        )
        .await;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(WRITERS as u32)
            .connect(&db.url)
            .await
            .expect("the writers' sessions");
        let (stop, written) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let tasks = (0..WRITERS)
            .map(|writer| {
                let (pool, stop, written) = (pool.clone(), stop.clone(), written.clone());
                tokio::spawn(async move {
                    let mut n = writer as i64;
                    while !stop.load(Ordering::Relaxed) {
                        n = (n * 7919 + 13) % i64::from(FILMS) + 1;
                        sqlx::query(
                            "UPDATE content.film_work f SET rating = (f.rating::numeric + 1) % 10,
                                 updated_at = now()
                             FROM public.film_numbers x WHERE x.n = $1 AND f.id = x.id",
                        )
                        .bind(n)
                        .execute(&pool)
                        .await
                        .expect("a writer's update");
                        written.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        Self {
            stop,
            written,
            tasks,
        }
    }

    fn count(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.expect("a writer");
        }
    }
}
