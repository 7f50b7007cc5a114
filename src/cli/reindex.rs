//! `pg2es reindex [--force | --rollback]`: one sync cycle that carries a rebuild (or a
//! rollback) through to the alias swap, then says where the alias points.

use std::process::ExitCode;

use super::status::QUICK_RETRY;
use super::{connect, sync, AppError, Mode};
use crate::config::Config;
use crate::load::{config_hash, read_index_config, Elastic};
use crate::pipeline::Request;

pub(super) async fn run(
    config: &Config,
    force: bool,
    rollback: bool,
) -> Result<ExitCode, AppError> {
    let request = match (force, rollback) {
        (_, true) => Request::Rollback,
        (true, false) => Request::Force,
        (false, false) => Request::Follow,
    };
    let wanted = config_hash(&read_index_config(&config.index.config)?);
    let (_, elastic) = connect(config, QUICK_RETRY)?;
    let before = answering(&elastic).await?;
    let mode = Mode {
        once: true,
        reset_state: false,
        request,
    };
    let code = sync(config, mode).await?;
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    let after = answering(&elastic).await?;
    let alias = &config.index.name;
    let Some((index, hash)) = &after else {
        eprintln!("error: no index answers for {alias}");
        return Ok(ExitCode::FAILURE);
    };
    println!("alias {alias} → {index}");
    let moved = before.as_ref().map(|(index, _)| index) != Some(index);
    let failure = match request {
        Request::Rollback | Request::Force if !moved => Some("the alias did not move"),
        Request::Follow | Request::Force if hash.as_deref() != Some(wanted.as_str()) => Some(
            "the index answering was not built from the configured index config (it was rolled back from, or refused documents: see the log; --force rebuilds it)",
        ),
        _ => None,
    };
    match failure {
        Some(reason) => {
            eprintln!("error: {reason}");
            Ok(ExitCode::FAILURE)
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

/// The index the alias points at, with the config hash recorded in it.
async fn answering(elastic: &Elastic) -> Result<Option<(String, Option<String>)>, AppError> {
    let aliased = elastic.aliased_indexes().await?;
    let [index] = aliased.as_slice() else {
        return Ok(None);
    };
    let indexes = elastic.versioned_indexes().await?;
    let hash = indexes
        .into_iter()
        .find(|info| &info.name == index)
        .and_then(|info| info.meta)
        .map(|meta| meta.config_hash);
    Ok(Some((index.clone(), hash)))
}
