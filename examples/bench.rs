//! Helpers of the benchmark harness (`make bench`, `scripts/bench.sh`); not part of pg2es.
//!
//! `bench replay SEARCH_URL INDEX INDEX_CONFIG DIR CONCURRENCY`
//!     T_es: a minimal loader. Creates the index from the same config with the same back-fill
//!     settings pg2es uses (refresh off), sends the bulk bodies `pg2es export --dir`
//!     wrote, CONCURRENCY requests in flight, puts the settings back and refreshes. Prints
//!     `seconds=… documents=…`; fails on any refused item.
//! `bench rename POSTGRES_URL SEARCH_URL INDEX PERSON_ID FILMS [PERSONS_INDEX]`
//!     Renames one person and times until a search for the new name finds all FILMS films
//!     (and, with PERSONS_INDEX, the person's own document) (needs `pg2es run` following the
//!     same database). Prints `seconds=…`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use elasticsearch::http::transport::Transport;
use elasticsearch::indices::IndicesRefreshParts;
use elasticsearch::indices::{IndicesCreateParts, IndicesDeleteParts, IndicesPutSettingsParts};
use elasticsearch::{BulkParts, CountParts, Elasticsearch};
use futures_util::{stream, StreamExt};
use serde_json::{json, Value};

const POLL: Duration = Duration::from_millis(5);
const GIVE_UP: Duration = Duration::from_secs(300);

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("replay") if args.len() == 6 => replay(&args[1..]).await,
        Some("rename") if args.len() == 6 || args.len() == 7 => rename(&args[1..]).await,
        _ => {
            eprintln!("usage: bench replay SEARCH_URL INDEX INDEX_CONFIG DIR CONCURRENCY");
            eprintln!(
                "       bench rename POSTGRES_URL SEARCH_URL INDEX PERSON_ID FILMS [PERSONS_INDEX]"
            );
            std::process::exit(2);
        }
    }
}

fn client(url: &str) -> Elasticsearch {
    Elasticsearch::new(Transport::single_node(url).expect("search url"))
}

async fn ok(response: elasticsearch::http::response::Response, what: &str) -> Value {
    let status = response.status_code();
    let body: Value = response.json().await.expect("a JSON answer");
    assert!(status.is_success(), "{what}: HTTP {status}: {body}");
    body
}

async fn replay(args: &[String]) {
    let (url, index, config_path, dir) = (&args[0], &args[1], &args[2], &args[3]);
    let concurrency: usize = args[4].parse().expect("CONCURRENCY is a number");
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(config_path).expect("index config"))
            .expect("index config is JSON");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("bulk directory")
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    files.sort();
    let es = client(url);
    let _ = es
        .indices()
        .delete(IndicesDeleteParts::Index(&[index]))
        .send()
        .await;

    let started = Instant::now();
    let create = es
        .indices()
        .create(IndicesCreateParts::Index(index))
        .body(config.clone())
        .send()
        .await
        .expect("create index");
    ok(create, "create index").await;
    put_settings(&es, index, json!("-1")).await;
    let documents: usize = stream::iter(files)
        .map(|file| {
            let es = es.clone();
            async move {
                let body = bytes::Bytes::from(tokio::fs::read(&file).await.expect("bulk body"));
                let lines: Vec<bytes::Bytes> = body
                    .split(|byte| *byte == b'\n')
                    .filter(|line| !line.is_empty())
                    .map(|line| body.slice_ref(line))
                    .collect();
                let response = es
                    .bulk(BulkParts::Index(index))
                    // The answer pg2es asks for (src/load/bulk.rs): the same requests, byte for byte.
                    .filter_path(&["errors", "items.*.status", "items.*.error"])
                    .body(lines)
                    .send()
                    .await
                    .expect("bulk request");
                let answer = ok(response, "bulk").await;
                assert_eq!(answer["errors"], false, "{}: items refused", file.display());
                answer["items"].as_array().map_or(0, Vec::len)
            }
        })
        .buffer_unordered(concurrency)
        .fold(0, |total, items| async move { total + items })
        .await;
    let settings = &config["settings"];
    put_settings(&es, index, settings["refresh_interval"].clone()).await;
    let refresh = es
        .indices()
        .refresh(IndicesRefreshParts::Index(&[index]))
        .send()
        .await
        .expect("refresh");
    ok(refresh, "refresh").await;
    println!(
        "seconds={:.3} documents={documents}",
        started.elapsed().as_secs_f64()
    );
}

async fn put_settings(es: &Elasticsearch, index: &str, refresh: Value) {
    let response = es
        .indices()
        .put_settings(IndicesPutSettingsParts::Index(&[index]))
        .body(json!({"index": {"refresh_interval": refresh}}))
        .send()
        .await
        .expect("update settings");
    ok(response, "update settings").await;
}

async fn rename(args: &[String]) {
    let (pg_url, url, index) = (&args[0], &args[1], &args[2]);
    let person: uuid::Uuid = args[3].parse().expect("PERSON_ID is a uuid");
    let films: u64 = args[4].parse().expect("FILMS is a number");
    let pool = sqlx::PgPool::connect(pg_url).await.expect("postgres");
    let es = client(url);
    let token = format!("Renamedperson{}", std::process::id());
    sqlx::query("UPDATE content.person SET full_name = $1, updated_at = now() WHERE id = $2")
        .bind(format!("{token} Benchmark"))
        .bind(person)
        .execute(&pool)
        .await
        .expect("rename the person");
    let committed = Instant::now();
    loop {
        let response = es
            .count(CountParts::Index(&[index]))
            .body(json!({"query": {"match": {"actors_names": token}}}))
            .send()
            .await
            .expect("count");
        let found = ok(response, "count").await["count"].as_u64().unwrap_or(0);
        let person_found = match args.get(5) {
            None => true,
            Some(persons) => {
                let response = es
                    .count(CountParts::Index(&[persons.as_str()]))
                    .body(json!({"query": {"match": {"full_name": token}}}))
                    .send()
                    .await
                    .expect("count");
                ok(response, "count").await["count"].as_u64().unwrap_or(0) == 1
            }
        };
        if found >= films && person_found {
            break;
        }
        assert!(
            committed.elapsed() < GIVE_UP,
            "only {found} of {films} films found after {GIVE_UP:?}"
        );
        tokio::time::sleep(POLL).await;
    }
    println!("seconds={:.3}", committed.elapsed().as_secs_f64());
}
