//! postgres.url pointing at a hot standby: polling and triggers cannot follow it exactly, nor
//! logical capture before Postgres 16, so start-up and `check` refuse it in those modes, saying
//! why and what to do, instead of polling blind to the primary's open transactions (a late
//! commit skipped, silently), failing on a read-only trigger install, or on the mark logical
//! mode writes into the log. Logical capture from a standby (16+): tests/standby_capture.rs.

use std::time::Duration;

use crate::support::pg_cluster::PgCluster;
use crate::support::{unique_name, wait_until, SearchIndex, TestDb, Worker};

const FILMS: u32 = 20;

#[tokio::test]
async fn each_capture_mode_refuses_a_hot_standby_and_says_why() {
    let primary = PgCluster::start();
    let name = unique_name("hot_standby");
    let db = TestDb::generated_on(&primary.admin_url(), &name, FILMS).await;
    let standby = primary.standby();
    let on_standby = db.url.replace(
        &format!(":{}/", primary.port),
        &format!(":{}/", standby.port),
    );
    let replica = sqlx::PgPool::connect_lazy(&on_standby).unwrap();
    wait_until(
        "the standby to serve the films",
        Duration::from_secs(60),
        || async {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM content.film_work")
                .fetch_one(&replica)
                .await
                .is_ok_and(|count| count == i64::from(FILMS))
        },
    )
    .await;
    let _index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.set("PG2ES__POSTGRES__URL", &on_standby);

    let mut refused = vec![
        ("polling", "late commit would be skipped"),
        ("triggers", "cannot be installed on a standby"),
    ];
    let version = db
        .scalar_i64("SELECT current_setting('server_version_num')::int8")
        .await;
    if version < 160_000 {
        refused.push(("logical", "logical decoding on a standby needs Postgres 16"));
    }
    for (capture, says) in refused {
        worker.set("PG2ES__SYNC__CAPTURE", capture);
        let output = worker.output(&["sync", "--once"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{capture}: {stderr}");
        assert!(
            stderr.contains("points at a hot standby") && stderr.contains(says),
            "{capture}: {stderr}"
        );
        let check = worker.output(&["check"]);
        let stdout = String::from_utf8_lossy(&check.stdout);
        assert!(!check.status.success(), "{capture}: {stdout}");
        assert!(
            stdout.contains("✗ postgres is the primary: it is a hot standby")
                && stdout.contains(says),
            "{capture}: {stdout}"
        );
    }

    // The same worker on the primary runs: the refusal was the standby's.
    worker.set("PG2ES__SYNC__CAPTURE", "polling");
    worker.set("PG2ES__POSTGRES__URL", &db.url);
    assert_eq!(worker.sync_once().0, u64::from(FILMS));
}
