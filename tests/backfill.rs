use crate::support::{assert_index_equals_postgres, unique_name, SearchIndex, TestDb, Worker};

#[tokio::test]
async fn real_dataset_back_fills_999_documents_equal_to_postgres() {
    let name = unique_name("backfill_real");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);

    let (indexed, deleted, dead_lettered, _) = worker.sync_once();

    assert_eq!((indexed, deleted, dead_lettered), (999, 0, 0));
    assert_eq!(db.expected_documents().await.len(), 999);
    assert_index_equals_postgres(&db, &index).await;
    // A second run finds nothing to do.
    let (indexed, deleted, _, _) = worker.sync_once();
    assert_eq!((indexed, deleted), (0, 0));
}

#[tokio::test]
async fn full_text_search_understands_english_and_russian() {
    let name = unique_name("backfill_search");
    let db = TestDb::create(&name).await;
    db.execute(
        "INSERT INTO content.film_work (id, title, description, rating, type) VALUES
         ('00000000-0000-0000-0000-000000000001', 'The Running Dogs', 'Two dogs run home', 7.5, 'movie'),
         ('00000000-0000-0000-0000-000000000002', 'Бегущие собаки', 'Собака бежит домой', 6.1, 'movie'),
         ('00000000-0000-0000-0000-000000000003', 'Silent Sea', NULL, NULL, 'tv_show')",
    )
    .await;
    let index = SearchIndex::new(&name).await;
    Worker::new(&db, &name).sync_once();

    // English stemming: "run" finds "Running"; Russian stemming: "собака" finds "собаки".
    assert_eq!(
        index.matching_ids("title", "run").await,
        ["00000000-0000-0000-0000-000000000001"]
    );
    assert_eq!(
        index.matching_ids("title", "собака").await,
        ["00000000-0000-0000-0000-000000000002"]
    );
    assert!(
        index.matching_ids("title", "the").await.is_empty(),
        "stop words are dropped"
    );
}

#[tokio::test]
async fn dataset_own_schema_with_nullable_timestamps_is_indexed() {
    let name = unique_name("backfill_own_schema");
    let db = TestDb::empty(&name).await;
    let dataset = std::path::Path::new(crate::support::DATASET_DIR);
    db.psql_file(&dataset.join("schema.ddl"), &[]);
    db.psql_file(
        &std::path::Path::new(crate::support::REPO).join("db/indexes.sql"),
        &[],
    );
    db.psql_file(&dataset.join("content.dump"), &[]);
    // The dataset's schema allows NULL timestamps: a row without one must not stop the worker.
    db.execute(
        "INSERT INTO content.genre (id, name, created_at, updated_at)
             VALUES ('50000000-0000-0000-0000-000000000001', 'Undated', NULL, NULL);
         INSERT INTO content.genre_film_work (id, film_work_id, genre_id, created_at)
             SELECT '60000000-0000-0000-0000-000000000001', id, '50000000-0000-0000-0000-000000000001', NULL
             FROM content.film_work ORDER BY id LIMIT 1;",
    )
    .await;
    let index = SearchIndex::new(&name).await;

    let (indexed, _, _, _) = Worker::new(&db, &name).sync_once();

    assert_eq!(indexed, 999);
    assert_index_equals_postgres(&db, &index).await;
}
