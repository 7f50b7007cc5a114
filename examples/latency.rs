//! Change-to-searchable latency: commits single-row title changes one at a time and measures how
//! long until a search finds each new title. Needs a running `pg2es run` on the same data.
//! Usage: `cargo run --release --example latency -- POSTGRES_URL SEARCH_URL INDEX [CHANGES]`
//! (`scripts/latency.sh` sets everything up for both capture modes.)

use std::time::{Duration, Instant};

use elasticsearch::http::transport::Transport;
use elasticsearch::{CountParts, Elasticsearch};
use serde_json::{json, Value};

const POLL: Duration = Duration::from_millis(5);
const GIVE_UP: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: latency POSTGRES_URL SEARCH_URL INDEX [CHANGES]");
        std::process::exit(2);
    }
    let changes: usize = args.get(4).and_then(|n| n.parse().ok()).unwrap_or(200);
    let pool = sqlx::PgPool::connect(&args[1])
        .await
        .expect("connect to postgres");
    let client = Elasticsearch::new(Transport::single_node(&args[2]).expect("search url"));
    let films: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM content.film_work ORDER BY id LIMIT $1")
            .bind(changes as i64)
            .fetch_all(&pool)
            .await
            .expect("read films");
    let mut latencies = Vec::with_capacity(films.len());
    let mut indexing = Vec::with_capacity(films.len());
    for (n, id) in films.iter().enumerate() {
        let title = format!("Latency Probe {n} {}", std::process::id());
        sqlx::query("UPDATE content.film_work SET title = $1, updated_at = now() WHERE id = $2")
            .bind(&title)
            .bind(id)
            .execute(&pool)
            .await
            .expect("update a film");
        let committed = Instant::now();
        while indexed_title(&client, &args[3], id).await.as_deref() != Some(title.as_str()) {
            assert!(
                committed.elapsed() < GIVE_UP,
                "change {n} not indexed after {GIVE_UP:?}"
            );
            tokio::time::sleep(POLL).await;
        }
        indexing.push(committed.elapsed());
        while count(&client, &args[3], &title).await == 0 {
            assert!(
                committed.elapsed() < GIVE_UP,
                "change {n} not searchable after {GIVE_UP:?}"
            );
            tokio::time::sleep(POLL).await;
        }
        latencies.push(committed.elapsed());
    }
    println!(
        "changes={} searchable: {} indexed (realtime GET): {}",
        latencies.len(),
        percentiles(&mut latencies),
        percentiles(&mut indexing)
    );
}

fn percentiles(values: &mut [Duration]) -> String {
    values.sort();
    let at = |q: f64| values[((values.len() as f64 - 1.0) * q).round() as usize].as_millis();
    format!("p50_ms={} p99_ms={} max_ms={}", at(0.5), at(0.99), at(1.0))
}

/// The title of the indexed document, read in real time (no refresh needed).
async fn indexed_title(client: &Elasticsearch, index: &str, id: &uuid::Uuid) -> Option<String> {
    let id = id.to_string();
    let response = client
        .get(elasticsearch::GetParts::IndexId(index, &id))
        .send()
        .await
        .expect("get");
    let body: Value = response.json().await.expect("get answer");
    body["_source"]["title"].as_str().map(str::to_owned)
}

async fn count(client: &Elasticsearch, index: &str, title: &str) -> u64 {
    let response = client
        .count(CountParts::Index(&[index]))
        .body(json!({ "query": { "term": { "title.raw": title } } }))
        .send()
        .await
        .expect("count");
    let body: Value = response.json().await.expect("count answer");
    body["count"].as_u64().unwrap_or(0)
}
