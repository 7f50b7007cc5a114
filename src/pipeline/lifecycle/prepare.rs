//! At start: look at the alias and the indexes behind it, decide what they need (`plan`), and
//! set it up: the first index, a rebuild started, resumed or given up, a rollback.

use chrono::Utc;
use serde_json::Value;
use tracing::{error, info, warn};

use crate::load::{config_hash, index_body, IndexMeta, Live};
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;
use crate::pipeline::lifecycle::plan::{self, Facts, Request, Step};
use crate::pipeline::Engine;
use crate::state::{Backfill, Rebuild, RebuildReason, Source};

/// The hash that names an index: its index config and what the declaration puts in its
/// documents. A field added, renamed or dropped builds a new index; a comment does not.
pub(crate) fn wanted_hash(config: &Value, fingerprint: &str) -> String {
    config_hash(&serde_json::json!({"index": config, "document": fingerprint}))
}

impl<P: Pipeline> Engine<P> {
    /// Makes the server ready for `sync`: afterwards the alias answers from an index, and any
    /// rebuild to carry out is in the state file with its index created.
    pub async fn prepare(&mut self, config: &Value, request: Request) -> Result<(), SyncError> {
        let wanted = wanted_hash(config, self.pipeline.fingerprint());
        self.adopt_undeclared(config, &wanted).await?;
        let source = self.pg.source().await?;
        let database_changed = self.database_changed(&source).await?;
        let live = self.es.live().await?;
        // Writes to the alias never create an index of its name, but for an older indexer's
        // concrete index of that name, written to until it is migrated behind the alias.
        self.es = self.es.clone().requiring_alias(live != Live::Concrete);
        let indexes = self.es.versioned_indexes().await?;
        let facts = Facts {
            alias: self.es.index_name(),
            live: &live,
            indexes: &indexes,
            wanted_hash: &wanted,
            database_changed,
        };
        let decision = plan::decide(&facts, &self.state, request)?;
        self.take_stock(source, &live, &decision.step, database_changed)
            .await?;
        if let Some(index) = &decision.delete {
            warn!(index, "giving up the rebuild in progress: its index config is no longer the configured one, or what it was built from is not trusted");
            self.es.delete_index(index).await?;
            self.state.rebuild = None;
            self.save().await?;
        }
        let done = match decision.step {
            Step::UpToDate => self.up_to_date().await,
            Step::Pinned => {
                warn!(config_hash = %wanted, "the index config differs from the live index's, but was rolled back from or refused documents: not rebuilt until it changes (or `pg2es reindex --force`)");
                Ok(())
            }
            Step::CreateFirst { index } => self.create_first(config, &wanted, &index).await,
            Step::Start { index, reason } => self.start(config, &wanted, &index, reason).await,
            Step::Resume => self.resume(),
            Step::Swapped => self.swapped().await,
            Step::RollBack { index, config_hash } => {
                self.roll_back(&wanted, index, config_hash).await
            }
            Step::Cancel => {
                warn!("rollback: the rebuild in progress is given up; the alias stays where it is");
                self.state.pinned_config = Some(wanted);
                self.save().await
            }
        };
        done?;
        // Where the alias is now, and which database: kept whatever the step.
        self.save().await
    }

    /// Records which database this is and where the alias is; a changed database drops the
    /// rebuild in progress and its cursors (both belong to the other one).
    async fn take_stock(
        &mut self,
        source: Source,
        live: &Live,
        step: &Step,
        database_changed: bool,
    ) -> Result<(), SyncError> {
        if let (Live::Alias(on), Step::Start { reason, .. }) = (live, step) {
            if *reason == RebuildReason::AliasMoved {
                error!(alias = self.es.index_name(), on = on.join(", "), expected = self.state.live_index.as_deref().unwrap_or("an index built by pg2es"), "the alias is on an index pg2es did not put it on (moved by hand, or not built by pg2es): its documents are not trusted; rebuilding behind the alias");
            }
        }
        if database_changed {
            self.state.rebuild = None;
            self.rebuilding.es = None;
            self.reset_cursors().await?;
        }
        self.state.source = Some(source);
        self.trust.look = None;
        self.state.live_index = match live {
            Live::Alias(on) => on.first().cloned(),
            Live::Missing | Live::Concrete => None,
        };
        Ok(())
    }

    /// Indexes built before pipelines were declared recorded the hash of their index config
    /// alone. The compiled movies pipeline built exactly what the shipped movies declaration
    /// builds (tests/golden.rs), so such an index is taken as built from it: its record gets
    /// today's hash, and nothing is rebuilt.
    async fn adopt_undeclared(&mut self, config: &Value, wanted: &str) -> Result<(), SyncError> {
        if !self.pipeline.builds_undeclared_documents() {
            return Ok(());
        }
        let before = config_hash(config);
        for info in self.es.versioned_indexes().await? {
            let Some(mut meta) = info.meta else { continue };
            if meta.config_hash != before || meta.config_hash == wanted {
                continue;
            }
            meta.config_hash = wanted.to_owned();
            self.es.put_meta(&info.name, &meta).await?;
            info!(index = info.name, "index built before pipelines were declared: taken as built from the movies declaration");
        }
        if let Some(rebuild) = self
            .state
            .rebuild
            .as_mut()
            .filter(|r| r.config_hash == before)
        {
            rebuild.config_hash = wanted.to_owned();
            self.save().await?;
        }
        Ok(())
    }

    async fn up_to_date(&mut self) -> Result<(), SyncError> {
        if self.state.pinned_config.is_some() || self.state.rebuild.is_some() {
            self.state.pinned_config = None;
            self.state.rebuild = None;
            self.save().await?;
        }
        Ok(())
    }

    /// Nothing answers for the alias yet: the first index, with the alias on it at once (there
    /// is nothing better to answer from while it is back-filled).
    async fn create_first(
        &mut self,
        config: &Value,
        wanted: &str,
        index: &str,
    ) -> Result<(), SyncError> {
        let body = index_body(config, &self.meta(wanted), true);
        self.es.create_index(index, &body).await?;
        self.state.live_index = Some(index.to_owned());
        info!(alias = self.es.index_name(), index, "index created");
        if self.state.backfill.started_at.is_some() {
            warn!(
                "the index was missing although the state file has a back-fill: back-filling again"
            );
            self.state.backfill = Backfill::default();
        }
        self.state.rebuild = None;
        self.rebuilding.es = None;
        self.state.pinned_config = None;
        self.save().await
    }

    async fn start(
        &mut self,
        config: &Value,
        wanted: &str,
        index: &str,
        reason: RebuildReason,
    ) -> Result<(), SyncError> {
        let body = index_body(config, &self.meta(wanted), false);
        self.es.create_index(index, &body).await?;
        info!(
            alias = self.es.index_name(),
            index,
            ?reason,
            "rebuilding into a new index"
        );
        self.state.pinned_config = None;
        self.begin_rebuild(index.to_owned(), wanted.to_owned(), reason)
            .await
    }

    fn resume(&mut self) -> Result<(), SyncError> {
        let Some(rebuild) = &self.state.rebuild else {
            return Ok(());
        };
        info!(
            index = rebuild.index,
            reason = ?rebuild.reason,
            after = ?rebuild.backfill.after,
            already_indexed = rebuild.backfill.indexed,
            "resuming rebuild"
        );
        self.rebuilding.es = Some(self.es.for_index(&rebuild.index));
        Ok(())
    }

    /// The earlier index is filled like a new one (only what differs is written) and the
    /// configured hash pinned, so the worker does not rebuild it again.
    async fn roll_back(
        &mut self,
        wanted: &str,
        index: String,
        config_hash: String,
    ) -> Result<(), SyncError> {
        info!(
            alias = self.es.index_name(),
            index, "rolling back: bringing the earlier index up to date"
        );
        self.state.pinned_config = Some(wanted.to_owned());
        self.begin_rebuild(index, config_hash, RebuildReason::Rollback)
            .await
    }

    async fn begin_rebuild(
        &mut self,
        index: String,
        config_hash: String,
        reason: RebuildReason,
    ) -> Result<(), SyncError> {
        self.rebuilding.es = Some(self.es.for_index(&index));
        // A rollback started over passes over the earlier index's ids again.
        self.rebuilding.extras = None;
        self.state.rebuild = Some(Rebuild {
            index,
            config_hash,
            reason,
            backfill: Backfill {
                started_at: Some(Utc::now()),
                ..Backfill::default()
            },
            extras_done: false,
            dead_lettered: 0,
        });
        self.save().await
    }

    fn meta(&self, config_hash: &str) -> IndexMeta {
        IndexMeta {
            alias: self.es.index_name().to_owned(),
            config_hash: config_hash.to_owned(),
            built_at: Utc::now(),
        }
    }
}
