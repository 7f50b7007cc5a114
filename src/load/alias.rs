//! The alias users search and the versioned indexes behind it: which index answers, which
//! indexes pg2es built, creating and dropping them, and moving the alias in one request.
//! Only calls Elasticsearch 7.10+, 8.x and OpenSearch 2 share.

use std::collections::BTreeMap;

use elasticsearch::indices::{
    IndicesCreateParts, IndicesDeleteParts, IndicesGetAliasParts, IndicesGetMappingParts,
    IndicesPutMappingParts,
};
use serde_json::{json, Value};

use super::index_config::{meta_of, IndexMeta};
use super::{already_exists, checked, Elastic, EsError};
use crate::retry::retry;

/// What answers for the alias name on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Live {
    /// Nothing: the first build.
    Missing,
    /// A concrete index named like the alias, left by an older indexer.
    Concrete,
    /// The alias, on these indexes (pg2es keeps it on exactly one).
    Alias(Vec<String>),
}

/// An index next to the alias, with what pg2es recorded in it (`None`: not built by pg2es).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexInfo {
    pub name: String,
    pub meta: Option<IndexMeta>,
}

impl Elastic {
    /// The same client and settings, writing to another index.
    pub fn for_index(&self, index: &str) -> Elastic {
        Elastic {
            index: index.to_owned(),
            require_alias: false,
            sequenced: Default::default(),
            ..self.clone()
        }
    }

    /// The index (or alias) name this client writes to.
    pub fn index_name(&self) -> &str {
        &self.index
    }

    /// What answers for our name: the alias and its indexes, a concrete index, or nothing.
    pub async fn live(&self) -> Result<Live, EsError> {
        let aliased = self.aliased_indexes().await?;
        if !aliased.is_empty() {
            return Ok(Live::Alias(aliased));
        }
        let indexes = self.indexes_like(&[&self.index]).await?;
        Ok(match indexes.iter().any(|index| index.name == self.index) {
            true => Live::Concrete,
            false => Live::Missing,
        })
    }

    /// The indexes the alias points at (none when there is no such alias).
    pub async fn aliased_indexes(&self) -> Result<Vec<String>, EsError> {
        let body: Option<BTreeMap<String, Value>> = self
            .call_json_or_missing("read alias", || async {
                self.client
                    .indices()
                    .get_alias(IndicesGetAliasParts::Name(&[&self.index]))
                    .send()
                    .await
            })
            .await?;
        Ok(body
            .map(|body| body.into_keys().collect())
            .unwrap_or_default())
    }

    /// Every index named `<alias>` or `<alias>_*`, and the one the alias points at, with
    /// the record pg2es keeps in their mappings.
    pub async fn versioned_indexes(&self) -> Result<Vec<IndexInfo>, EsError> {
        let pattern = format!("{}_*", self.index);
        self.indexes_like(&[&self.index, &pattern]).await
    }

    async fn indexes_like(&self, names: &[&str]) -> Result<Vec<IndexInfo>, EsError> {
        let body: BTreeMap<String, Value> = self
            .call_json("list indexes", || async {
                self.client
                    .indices()
                    .get_mapping(IndicesGetMappingParts::Index(names))
                    .ignore_unavailable(true)
                    .send()
                    .await
            })
            .await?;
        Ok(body
            .into_iter()
            .map(|(name, index)| IndexInfo {
                meta: meta_of(&index["mappings"]),
                name,
            })
            .collect())
    }

    /// Creates `index` with `body`; an index already there of that name is an error, since a
    /// name is only ever given to a new index.
    pub async fn create_index(&self, index: &str, body: &Value) -> Result<(), EsError> {
        // Not through `call`: a 400 "already exists" after a retried create is success.
        retry(&self.retry, "create index", || async {
            let response = self
                .client
                .indices()
                .create(IndicesCreateParts::Index(index))
                .body(body.clone())
                .send()
                .await
                .map_err(EsError::transport("create index"))?;
            match checked(response, "create index").await {
                Ok(_) => Ok(()),
                // A retried create whose first attempt got through.
                Err(EsError::Status {
                    status: 400, body, ..
                }) if already_exists(&body) && self.has_meta(index).await => Ok(()),
                Err(err) => Err(err),
            }
        })
        .await
    }

    /// Replaces the record pg2es keeps in `index`'s mapping.
    pub async fn put_meta(&self, index: &str, meta: &IndexMeta) -> Result<(), EsError> {
        let body = json!({"_meta": {"pg2es": meta}});
        self.call("update index record", || async {
            self.client
                .indices()
                .put_mapping(IndicesPutMappingParts::Index(&[index]))
                .body(body.clone())
                .send()
                .await
        })
        .await
        .map(|_| ())
    }

    async fn has_meta(&self, index: &str) -> bool {
        self.indexes_like(&[index])
            .await
            .is_ok_and(|found| found.iter().any(|info| info.meta.is_some()))
    }

    /// Deletes `index`; one already gone is fine.
    pub async fn delete_index(&self, index: &str) -> Result<(), EsError> {
        self.call_json_or_missing::<Value, _>("delete index", || async {
            self.client
                .indices()
                .delete(IndicesDeleteParts::Index(&[index]))
                .send()
                .await
        })
        .await
        .map(|_| ())
    }

    /// Moves the alias to `target` in one request, so every search sees either the old index
    /// or the new one. A concrete index named like the alias is removed in the same request.
    /// Read again before every attempt: a retried swap that already happened does nothing.
    pub async fn move_alias(&self, target: &str) -> Result<(), EsError> {
        // Not through `call`: every attempt reads the alias again first.
        retry(&self.retry, "move alias", || async {
            let live = self.live().await?;
            let Some(actions) = swap_actions(&self.index, &live, target) else {
                return Ok(());
            };
            let response = self
                .client
                .indices()
                .update_aliases()
                .body(actions)
                .send()
                .await
                .map_err(EsError::transport("move alias"))?;
            checked(response, "move alias").await.map(|_| ())
        })
        .await
    }
}

/// The `_aliases` request that points `alias` at `target` alone; `None` when it already does.
pub(crate) fn swap_actions(alias: &str, live: &Live, target: &str) -> Option<Value> {
    let mut actions = vec![json!({"add": {"index": target, "alias": alias}})];
    match live {
        Live::Alias(indexes) if indexes == &[target] => return None,
        Live::Alias(indexes) => {
            for index in indexes.iter().filter(|index| *index != target) {
                actions.push(json!({"remove": {"index": index, "alias": alias}}));
            }
        }
        Live::Concrete => actions.push(json!({"remove_index": {"index": alias}})),
        Live::Missing => {}
    }
    Some(json!({ "actions": actions }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_swap_removes_every_other_index_in_the_same_request() {
        let live = Live::Alias(vec!["m_1".into(), "m_2".into()]);
        assert_eq!(
            swap_actions("m", &live, "m_2"),
            Some(json!({"actions": [
                {"add": {"index": "m_2", "alias": "m"}},
                {"remove": {"index": "m_1", "alias": "m"}},
            ]}))
        );
    }

    #[test]
    fn a_concrete_index_named_like_the_alias_is_replaced_atomically() {
        assert_eq!(
            swap_actions("m", &Live::Concrete, "m_2"),
            Some(json!({"actions": [
                {"add": {"index": "m_2", "alias": "m"}},
                {"remove_index": {"index": "m"}},
            ]}))
        );
    }

    #[test]
    fn nothing_to_do_when_the_alias_is_already_there() {
        assert_eq!(
            swap_actions("m", &Live::Alias(vec!["m_2".into()]), "m_2"),
            None
        );
        assert_eq!(
            swap_actions("m", &Live::Missing, "m_2"),
            Some(json!({"actions": [{"add": {"index": "m_2", "alias": "m"}}]}))
        );
    }
}
