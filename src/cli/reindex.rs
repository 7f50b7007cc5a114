//! `pg2es reindex [--force | --rollback]`: one sync cycle that carries a rebuild (or a
//! rollback) through to the alias swap, then says where the alias points.

use std::process::ExitCode;

use super::status::QUICK_RETRY;
use super::{compiled, connect, sync, AppError, Mode};
use crate::config::Config;
use crate::declaration::Declared;
use crate::load::Elastic;
use crate::pipeline::{wanted_hash, Request};

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
    let (_, pipelines) = compiled(config, QUICK_RETRY).await?;
    let mut before = Vec::new();
    for pipeline in &pipelines {
        let index_config = pipeline.index_config.read()?;
        let wanted = wanted_hash(&index_config, &pipeline.fingerprint);
        let (_, elastic) = connect(config, QUICK_RETRY, pipeline)?;
        before.push((wanted, answering(&elastic).await?, elastic));
    }
    let mode = Mode {
        once: true,
        reset_state: false,
        request,
    };
    let code = sync(config, mode).await?;
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    let mut code = ExitCode::SUCCESS;
    for (pipeline, (wanted, before, elastic)) in pipelines.iter().zip(before) {
        if let Some(reason) = judge(pipeline, request, &wanted, before, &elastic).await? {
            eprintln!("error: {}: {reason}", pipeline.alias);
            code = ExitCode::FAILURE;
        }
    }
    Ok(code)
}

/// Why the alias of `pipeline` is not where the request wanted it, if it is not.
async fn judge(
    pipeline: &Declared,
    request: Request,
    wanted: &str,
    before: Option<(String, Option<String>)>,
    elastic: &Elastic,
) -> Result<Option<&'static str>, AppError> {
    let alias = &pipeline.alias;
    let Some((index, hash)) = answering(elastic).await? else {
        return Ok(Some("no index answers for the alias"));
    };
    println!("alias {alias} → {index}");
    let moved = before.as_ref().map(|(index, _)| index) != Some(&index);
    Ok(match request {
        Request::Rollback | Request::Force if !moved => Some("the alias did not move"),
        Request::Follow | Request::Force if hash.as_deref() != Some(wanted) => Some(
            "the index answering was not built from the configured index config (it was rolled back from, or refused documents: see the log; --force rebuilds it)",
        ),
        _ => None,
    })
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
