//! Reading documents back, for `verify`: by id (`_mget`) and all ids (scroll).

use std::collections::HashMap;

use elasticsearch::indices::IndicesRefreshParts;
use elasticsearch::{ClearScrollParts, MgetParts, ScrollParts, SearchParts};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::{checked, json, Elastic, EsError};

const SCROLL_KEEP_ALIVE: &str = "5m";
/// Ids asked in one `_mget`: a request stays small however many ids a caller has.
const MGET_IDS: usize = 1000;

/// The `_mget` requests that ask for `ids`.
fn mget_requests(ids: &[String]) -> std::slice::Chunks<'_, String> {
    ids.chunks(MGET_IDS)
}

#[derive(Deserialize)]
struct MgetResponse {
    docs: Vec<MgetDoc>,
}

#[derive(Deserialize)]
struct MgetDoc {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    found: bool,
    #[serde(rename = "_source", default)]
    source: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct ScrollPage {
    #[serde(rename = "_scroll_id")]
    scroll_id: Option<String>,
    hits: Hits,
}

#[derive(Deserialize)]
struct Hits {
    hits: Vec<Hit>,
}

#[derive(Deserialize)]
struct Hit {
    #[serde(rename = "_id")]
    id: String,
}

/// An open scroll over every document id of the index.
pub(crate) struct IdScroll {
    scroll_id: Option<String>,
    page_size: u32,
    started: bool,
}

impl Elastic {
    /// The `_source` of each id that exists, as the index keeps it (numbers with every digit),
    /// asked `MGET_IDS` at a time.
    pub async fn sources(&self, ids: &[String]) -> Result<HashMap<String, Box<RawValue>>, EsError> {
        let mut sources = HashMap::new();
        for request in mget_requests(ids) {
            sources.extend(self.mget(request).await?);
        }
        Ok(sources)
    }

    /// Whether the index holds any of `ids` (asked `MGET_IDS` at a time, up to the first held).
    pub async fn holds_any(&self, ids: &[String]) -> Result<bool, EsError> {
        for request in mget_requests(ids) {
            if !self.mget(request).await?.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn mget(&self, ids: &[String]) -> Result<HashMap<String, Box<RawValue>>, EsError> {
        let body: MgetResponse = self
            .call_json("read documents", || async {
                self.client
                    .mget(MgetParts::Index(&self.index))
                    .body(json!({ "ids": ids }))
                    .send()
                    .await
            })
            .await?;
        Ok(body
            .docs
            .into_iter()
            .filter(|doc| doc.found)
            .filter_map(|doc| doc.source.map(|source| (doc.id, source)))
            .collect())
    }

    /// Makes every acknowledged write visible to searches (a scroll sees only refreshed ones).
    pub async fn refresh(&self) -> Result<(), EsError> {
        self.call("refresh index", || async {
            self.client
                .indices()
                .refresh(IndicesRefreshParts::Index(&[&self.index]))
                .send()
                .await
        })
        .await
        .map(|_| ())
    }

    pub fn scroll_ids(&self, page_size: u32) -> IdScroll {
        IdScroll {
            scroll_id: None,
            page_size,
            started: false,
        }
    }

    /// The next page of ids; empty when every document was seen.
    pub async fn next_ids(&self, scroll: &mut IdScroll) -> Result<Vec<String>, EsError> {
        let response = match (&scroll.scroll_id, scroll.started) {
            (_, false) => {
                self.client
                    .search(SearchParts::Index(&[&self.index]))
                    .scroll(SCROLL_KEEP_ALIVE)
                    .size(i64::from(scroll.page_size))
                    .body(json!({ "sort": ["_doc"], "_source": false }))
                    .send()
                    .await
            }
            (Some(id), true) => {
                self.client
                    .scroll(ScrollParts::None)
                    .body(json!({ "scroll": SCROLL_KEEP_ALIVE, "scroll_id": id }))
                    .send()
                    .await
            }
            (None, true) => return Ok(Vec::new()),
        }
        .map_err(EsError::transport("scroll documents"))?;
        scroll.started = true;
        let page: ScrollPage = json(
            checked(response, "scroll documents").await?,
            "scroll documents",
        )
        .await?;
        scroll.scroll_id = page.scroll_id;
        Ok(page.hits.hits.into_iter().map(|hit| hit.id).collect())
    }

    /// Frees the server's scroll context (best effort: it also expires on its own).
    pub async fn close_scroll(&self, scroll: IdScroll) {
        if let Some(id) = scroll.scroll_id {
            let _ = self
                .client
                .clear_scroll(ClearScrollParts::None)
                .body(json!({ "scroll_id": [id] }))
                .send()
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_ids_are_asked_a_thousand_at_a_time() {
        let ids: Vec<String> = (0..2500).map(|n| n.to_string()).collect();
        let sizes: Vec<usize> = mget_requests(&ids).map(<[String]>::len).collect();
        assert_eq!(sizes, [1000, 1000, 500]);
        assert_eq!(mget_requests(&[]).count(), 0);
    }
}
