use crate::support::{assert_index_equals_postgres, unique_name, SearchIndex, TestDb, Worker};

const BUSIEST_PERSON: &str = "SELECT person_id::text FROM content.person_film_work
     GROUP BY person_id ORDER BY count(DISTINCT film_work_id) DESC, person_id LIMIT 1";

#[tokio::test]
async fn inserts_and_updates_of_every_table_reach_the_index() {
    let name = unique_name("changes_all_tables");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    worker.sync_once();

    let busiest: String = sqlx::query_scalar(BUSIEST_PERSON)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let busiest_films = db
        .scalar_i64(&format!(
            "SELECT count(DISTINCT film_work_id) FROM content.person_film_work WHERE person_id = '{busiest}'"
        ))
        .await;
    assert!(
        busiest_films > 1,
        "the busiest person should be in several films"
    );
    db.execute(&format!(
        "
        INSERT INTO content.film_work (id, title, description, rating, type)
            VALUES ('10000000-0000-0000-0000-000000000001', 'A Brand New Film', 'Fresh', 9.1, 'movie');
        INSERT INTO content.person (id, full_name) VALUES ('20000000-0000-0000-0000-000000000001', 'New Person');
        INSERT INTO content.person_film_work (id, film_work_id, person_id, role)
            VALUES ('30000000-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000001',
                    '20000000-0000-0000-0000-000000000001', 'director');
        INSERT INTO content.genre_film_work (id, film_work_id, genre_id)
            SELECT '40000000-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000001', id
            FROM content.genre ORDER BY id LIMIT 1;
        UPDATE content.film_work SET title = 'Retitled', updated_at = now()
            WHERE id = (SELECT id FROM content.film_work ORDER BY id LIMIT 1 OFFSET 10);
        UPDATE content.person SET full_name = 'Renamed Busiest Person', updated_at = now()
            WHERE id = '{busiest}';
        UPDATE content.genre SET name = 'Renamed Genre', updated_at = now()
            WHERE id = (SELECT id FROM content.genre ORDER BY id LIMIT 1 OFFSET 3);
        INSERT INTO content.person_film_work (id, film_work_id, person_id, role)
            SELECT '30000000-0000-0000-0000-000000000002', fw.id, '20000000-0000-0000-0000-000000000001', 'actor'
            FROM content.film_work fw ORDER BY fw.id LIMIT 1 OFFSET 500;
        INSERT INTO content.genre_film_work (id, film_work_id, genre_id)
            SELECT '40000000-0000-0000-0000-000000000002', fw.id, g.id
            FROM content.film_work fw, content.genre g
            WHERE NOT EXISTS (SELECT 1 FROM content.genre_film_work x WHERE x.film_work_id = fw.id AND x.genre_id = g.id)
            ORDER BY fw.id, g.id LIMIT 1;
        "
    ))
    .await;

    let (indexed, _, _, _) = worker.sync_once();

    assert!(indexed >= busiest_films as u64, "indexed only {indexed}");
    assert_index_equals_postgres(&db, &index).await;
    let renamed = index
        .matching_ids("actors_names", "Renamed Busiest Person")
        .await
        .len()
        + index
            .matching_ids("writers_names", "Renamed Busiest Person")
            .await
            .len()
        + index
            .matching_ids("director", "Renamed Busiest Person")
            .await
            .len();
    assert!(
        renamed >= busiest_films as usize,
        "rename reached {renamed} of {busiest_films} films"
    );
}

#[tokio::test]
async fn thousand_films_sharing_one_timestamp_all_reach_the_index_in_batches_of_100() {
    let name = unique_name("changes_shared_ts");
    let db = TestDb::with_generated(&name, 1000).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.set("PG2ES__SYNC__BATCH_SIZE", "100");
    let (indexed, _, _, _) = worker.sync_once();
    assert_eq!(indexed, 1000);

    let updated = db
        .execute("UPDATE content.film_work SET title = title || ' (restored)', updated_at = now()")
        .await;
    assert_eq!(updated, 1000);
    assert_eq!(
        db.scalar_i64("SELECT count(DISTINCT updated_at) FROM content.film_work")
            .await,
        1
    );

    let (indexed, _, _, _) = worker.sync_once();

    assert_eq!(indexed, 1000);
    assert_index_equals_postgres(&db, &index).await;
}

#[tokio::test]
async fn polling_holds_its_cursor_behind_a_transaction_still_open() {
    let name = unique_name("changes_late_commit");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    worker.sync_once();

    let mut late = db.pool.begin().await.unwrap();
    sqlx::query(
        "UPDATE content.film_work SET title = 'Committed Late', updated_at = now()
         WHERE id = (SELECT id FROM content.film_work ORDER BY id LIMIT 1)",
    )
    .execute(&mut *late)
    .await
    .unwrap();
    db.execute(
        "UPDATE content.film_work SET title = 'Committed First', updated_at = now()
         WHERE id = (SELECT id FROM content.film_work ORDER BY id DESC LIMIT 1)",
    )
    .await;
    // The committed change is newer than the open transaction's start: it waits for it.
    assert_eq!(worker.sync_once().0, 0);
    late.commit().await.unwrap();

    assert_eq!(worker.sync_once().0, 2);
    assert_eq!(
        index
            .matching_ids("title.raw", "Committed Late")
            .await
            .len(),
        1
    );
    assert_index_equals_postgres(&db, &index).await;
}
