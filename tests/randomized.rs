//! The judge: random application workloads (every operation, late commits, bursts) interleaved
//! with worker cycles and kill -9 of the worker; afterwards the index must equal documents built
//! independently from Postgres. Replay a failure with the seed it prints:
//! `PG2ES_TEST_SEED=<seed> PG2ES_TEST_SEEDS=1 cargo test --test main randomized`.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::support::{
    assert_index_equals_postgres, assert_same_documents, index_config_path, no_logical_capture,
    unique_name, wait_until_or, SearchIndex, TestDb, Worker, REPO,
};

const FILMS: u32 = 300;
const ROUNDS: usize = 8;

/// `PG2ES_TEST_SEEDS` seeds (default 2) from `PG2ES_TEST_SEED` (default: the clock).
pub fn seeds() -> Vec<u64> {
    let count: u64 = std::env::var("PG2ES_TEST_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let first: u64 = std::env::var("PG2ES_TEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                % 1_000_000_007
        });
    (0..count).map(|n| first + n).collect()
}

#[tokio::test]
async fn random_workloads_with_kills_leave_the_index_equal_to_postgres() {
    for seed in seeds() {
        eprintln!("randomized: seed {seed} (replay: PG2ES_TEST_SEED={seed} PG2ES_TEST_SEEDS=1)");
        // Even seeds follow changes with triggers, odd ones poll.
        let capture = ["triggers", "polling"][(seed % 2) as usize];
        run_seed(seed, capture).await;
    }
}

#[tokio::test]
async fn random_workloads_with_kills_leave_the_index_equal_to_postgres_in_logical_mode() {
    if no_logical_capture(
        "random_workloads_with_kills_leave_the_index_equal_to_postgres_in_logical_mode",
    ) {
        return;
    }
    for seed in seeds() {
        eprintln!(
            "randomized (logical): seed {seed} (replay: PG2ES_TEST_SEED={seed} PG2ES_TEST_SEEDS=1)"
        );
        run_seed(seed, "logical").await;
    }
}

/// One random application write. Every statement is valid whatever the data: a pick past the
/// end selects nothing and the write does nothing.
pub fn random_write(rng: &mut StdRng) -> String {
    let k = rng.random_range(0..FILMS);
    let j = rng.random_range(0..FILMS);
    let id = Uuid::from_u128(rng.random());
    let film = format!("(SELECT id FROM content.film_work ORDER BY id OFFSET {k} LIMIT 1)");
    let person = format!("(SELECT id FROM content.person ORDER BY id OFFSET {j} LIMIT 1)");
    let genre = format!(
        "(SELECT id FROM content.genre ORDER BY id OFFSET {} LIMIT 1)",
        j % 30
    );
    let role = ["actor", "director", "writer"][rng.random_range(0..3)];
    match rng.random_range(0..13) {
        0 => format!(
            "INSERT INTO content.film_work (id, title, description, rating, type)
                 VALUES ('{id}', 'Random Film {k}', 'Made by seed', {}, 'movie');
             INSERT INTO content.genre_film_work (film_work_id, genre_id) SELECT '{id}', {genre}
                 WHERE {genre} IS NOT NULL ON CONFLICT DO NOTHING;
             INSERT INTO content.person_film_work (film_work_id, person_id, role) SELECT '{id}', {person}, '{role}'
                 WHERE {person} IS NOT NULL ON CONFLICT DO NOTHING;",
            k % 10
        ),
        1 => format!("UPDATE content.film_work SET title = 'Retitled {j}', updated_at = now() WHERE id = {film}"),
        2 => format!("DELETE FROM content.film_work WHERE id = {film}"),
        3 => format!("UPDATE content.person SET full_name = 'Renamed {k}', updated_at = now() WHERE id = {person}"),
        4 => format!("DELETE FROM content.person WHERE id = {person}"),
        5 => format!(
            "INSERT INTO content.person (id, full_name) VALUES ('{id}', 'Newcomer {k}');
             INSERT INTO content.person_film_work (film_work_id, person_id, role)
                 SELECT id, '{id}', '{role}' FROM content.film_work ORDER BY id OFFSET {k} LIMIT {};",
            j % 40
        ),
        6 => format!(
            "DELETE FROM content.person_film_work WHERE id = (SELECT id FROM content.person_film_work ORDER BY id OFFSET {k} LIMIT 1)"
        ),
        7 => format!(
            "INSERT INTO content.person_film_work (film_work_id, person_id, role) SELECT {film}, {person}, '{role}'
                 WHERE {film} IS NOT NULL AND {person} IS NOT NULL ON CONFLICT DO NOTHING"
        ),
        8 => format!(
            "DELETE FROM content.genre_film_work WHERE id = (SELECT id FROM content.genre_film_work ORDER BY id OFFSET {k} LIMIT 1)"
        ),
        9 => format!(
            "INSERT INTO content.genre_film_work (film_work_id, genre_id) SELECT {film}, {genre}
                 WHERE {film} IS NOT NULL AND {genre} IS NOT NULL ON CONFLICT DO NOTHING"
        ),
        10 => format!("UPDATE content.genre SET name = 'Genre {k}', updated_at = now() WHERE id = {genre}"),
        11 => format!(
            "UPDATE content.film_work SET rating = {}, updated_at = now()
                 WHERE id IN (SELECT id FROM content.film_work ORDER BY id OFFSET {k} LIMIT 60)",
            j % 10
        ),
        _ => format!(
            "UPDATE content.person_film_work pfw SET role = '{role}'
                 WHERE pfw.id = (SELECT id FROM content.person_film_work ORDER BY id OFFSET {k} LIMIT 1)
                   AND NOT EXISTS (SELECT 1 FROM content.person_film_work x WHERE x.film_work_id = pfw.film_work_id
                                   AND x.person_id = pfw.person_id AND x.role = '{role}')"
        ),
    }
}

async fn run_seed(seed: u64, capture: &str) {
    let mut rng = StdRng::seed_from_u64(seed);
    let name = unique_name(&format!("randomized_{seed}"));
    let db = TestDb::with_generated(&name, FILMS).await;
    // The three indexes of the catalogue, served by one worker.
    let (index, genres, persons) = (
        SearchIndex::new(&name).await,
        SearchIndex::new(&format!("{name}_genres")).await,
        SearchIndex::new(&format!("{name}_persons")).await,
    );
    let mut worker = Worker::with_pipelines(
        &db,
        &format!(
            "pipelines:
  movies: {{file: {REPO}/pipelines/movies.yaml, alias: {name}, index_config: {}}}
  genres: {{file: {REPO}/pipelines/genres.yaml, alias: {name}_genres}}
  persons: {{file: {REPO}/pipelines/persons.yaml, alias: {name}_persons}}
",
            index_config_path().display()
        ),
    );
    let exact = capture != "polling";
    worker.set(
        "PG2ES__SYNC__BATCH_SIZE",
        &rng.random_range(3..40).to_string(),
    );
    if exact {
        worker.set("PG2ES__SYNC__CAPTURE", capture);
        assert!(worker.output(&["setup"]).status.success());
    }
    worker.sync_once();

    for _ in 0..ROUNDS {
        let round = Round {
            db: &db,
            worker: &worker,
            pipeline: "movies",
            exact,
        };
        round.run(&mut rng, random_write, None, false).await;
    }
    Round {
        db: &db,
        worker: &worker,
        pipeline: "movies",
        exact,
    }
    .finish();
    assert_index_equals_postgres(&db, &index).await;
    assert_same_documents(&db.expected_genres().await, &genres.documents().await);
    assert_same_documents(&db.expected_persons().await, &persons.documents().await);
}

/// One round of a judge: a write held open in a transaction that commits after the cycle (a
/// late commit; not in a round with `extra` SQL), a burst of writes, `extra` SQL, then one
/// cycle, or `pg2es run` killed (kill -9) at a random point of its work (never when
/// `whole_cycle`).
pub struct Round<'a> {
    pub db: &'a TestDb,
    pub worker: &'a Worker,
    pub pipeline: &'a str,
    pub exact: bool,
}

impl Round<'_> {
    /// The last cycle; in polling mode then `verify --repair`, for what that mode cannot see
    /// (deletes, a foreign key's SET NULL, the root a row left: README, "What polling cannot
    /// see").
    pub fn finish(&self) {
        self.worker.sync_once();
        if self.exact {
            return;
        }
        let output = self.worker.output(&["verify", "--repair"]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub async fn run(
        &self,
        rng: &mut StdRng,
        random_write: fn(&mut StdRng) -> String,
        extra: Option<&str>,
        whole_cycle: bool,
    ) {
        // No late transaction beside DDL: the worker's capture of a new partition (its
        // triggers, its replica identity) waits for the locks of open transactions, and this
        // one would commit only once the worker made progress.
        let late = match extra.is_none() && rng.random_bool(0.4) {
            true => {
                let mut tx = self.db.pool.begin().await.unwrap();
                sqlx::raw_sql(&random_write(rng))
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                Some(tx)
            }
            false => None,
        };
        for _ in 0..rng.random_range(1..8) {
            write_unless_locked(self.db, &random_write(rng)).await;
        }
        if let Some(sql) = extra {
            write_unless_locked(self.db, sql).await;
        }
        match rng.random_range(0..3) {
            _ if whole_cycle => {
                self.worker.sync_once();
            }
            0 => {
                self.worker.sync_once();
            }
            _ => kill_during_a_cycle(self.db, self.worker, self.pipeline, self.exact, rng).await,
        }
        if let Some(tx) = late {
            tx.commit().await.unwrap();
        }
    }
}

/// Runs one write; a write blocked by the open late transaction's row locks is skipped instead
/// of waiting for a commit that comes only after it.
pub async fn write_unless_locked(db: &TestDb, sql: &str) {
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::raw_sql("SET LOCAL lock_timeout = '200ms'")
        .execute(&mut *tx)
        .await
        .unwrap();
    match sqlx::raw_sql(sql).execute(&mut *tx).await {
        Ok(_) => tx.commit().await.unwrap(),
        Err(sqlx::Error::Database(err)) if err.code().as_deref() == Some("55P03") => {
            tx.rollback().await.unwrap()
        }
        Err(err) => panic!("{sql}: {err}"),
    }
}

/// Exact modes: no recorded change left (triggers), or every slot confirmed past `target`, the
/// end of the log written before the worker started (logical). The log is the whole cluster's:
/// the tests running beside this one keep writing it, so its moving end is no target.
async fn caught_up(db: &TestDb, target: &str) -> bool {
    let triggers = db
        .scalar_i64("SELECT count(*) FROM pg_namespace WHERE nspname = 'pg2es'")
        .await
        > 0;
    match triggers {
        true => db.scalar_i64("SELECT count(*) FROM pg2es.changes").await == 0,
        false => {
            db.scalar_i64(&format!(
                "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()
                   AND (confirmed_flush_lsn IS NULL OR confirmed_flush_lsn < '{target}'::pg_lsn)"
            ))
            .await
                == 0
        }
    }
}

/// Starts `pg2es run` and kills it (SIGKILL) once its work reached a random point.
pub async fn kill_during_a_cycle(
    db: &TestDb,
    worker: &Worker,
    pipeline: &str,
    exact: bool,
    rng: &mut StdRng,
) {
    let target = db.scalar_text("SELECT pg_current_wal_lsn()::text").await;
    let (mut child, log) = worker.spawn_run();
    let before = worker.state_of(pipeline);
    let early = rng.random_bool(0.5);
    wait_until_or(
        &format!("the worker to make progress (the log before its start ended at {target})"),
        Duration::from_secs(60),
        || async {
            early // kill right after start
                // The worker waits for a lock the round's late transaction holds (its
                // capture of a partition new to it, which that transaction wrote into), and
                // that transaction commits only after this kill: a kill there is as good.
                || log.lock().unwrap().contains("due to lock timeout")
                || match exact {
                    true => caught_up(db, &target).await,
                    false => worker.state_of(pipeline) != before,
                }
        },
        || format!("its log:\n{}", log.lock().unwrap()),
    )
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
}
