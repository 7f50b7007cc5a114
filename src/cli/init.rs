//! `pg2es init --root SCHEMA.TABLE`: drafts `pipelines/NAME.yaml` from the catalogue.

use std::path::PathBuf;
use std::process::ExitCode;

use super::status::QUICK_RETRY;
use super::{pipelines, AppError};
use crate::config::Config;
use crate::declaration::draft;

/// What `init` was asked for.
pub(crate) struct Init {
    pub root: String,
    pub name: Option<String>,
    pub follow: draft::Follow,
    pub force: bool,
    /// Write the derived index config beside the draft and name it there.
    pub index_config: bool,
}

pub(crate) async fn run(config: &Config, init: Init) -> Result<ExitCode, AppError> {
    let name = init.name.clone().unwrap_or_else(|| {
        let table = init
            .root
            .rsplit_once('.')
            .map_or(init.root.as_str(), |(_, t)| t);
        table.to_owned()
    });
    let path = config
        .base_dir
        .join("pipelines")
        .join(format!("{name}.yaml"));
    let config_path = path.with_file_name(format!("{name}_index.json"));
    let written = [Some(&path), init.index_config.then_some(&config_path)];
    if let Some(exists) = written.into_iter().flatten().find(|p| p.exists()) {
        if !init.force {
            return Err(AppError::Task(format!(
                "{} exists: pg2es init never overwrites a file without --force (or choose another --name)",
                exists.display()
            )));
        }
    }
    let postgres = pipelines::postgres(config, QUICK_RETRY)?;
    postgres.ping().await?;
    let drafted = draft::read(postgres.pool(), &init.root, &init.follow)
        .await
        .map_err(|err| AppError::Task(super::causes(&err).join(": ")))?;
    let command = command(&init);
    let (mut text, indexes) = draft::render(&drafted, &name, &command);
    if init.index_config {
        let derived = derived_config(postgres.pool(), &name, &path, &text).await?;
        write(&config_path, &derived)?;
        println!("wrote {}", config_path.display());
        text = draft::name_index_config(&text, &format!("{name}_index.json"));
    }
    write(&path, &text)?;
    println!("wrote {}", path.display());
    println!("list it in config.yaml:\n  pipelines:\n    {name}: {{file: pipelines/{name}.yaml}}");
    println!("then `pg2es check` and `pg2es run`. The indexes its cursors and fan-out need (unless one already starts with these columns):");
    for index in indexes {
        println!("  {index}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The index config pg2es derives for the drafted declaration, as pretty JSON.
async fn derived_config(
    pool: &sqlx::PgPool,
    name: &str,
    path: &std::path::Path,
    text: &str,
) -> Result<String, AppError> {
    let failed = |what: String| AppError::Task(format!("the draft's derived index config: {what}"));
    let declaration = crate::declaration::Declaration::parse(name, path, text)
        .map_err(|err| failed(err.to_string()))?;
    let declared = crate::declaration::Declared::connect(&declaration, pool)
        .await
        .map_err(|err| failed(super::causes(&err).join(": ")))?;
    let config = declared
        .index_config
        .read()
        .map_err(|err| failed(err.to_string()))?;
    Ok(serde_json::to_string_pretty(&config).expect("JSON values serialize") + "\n")
}

/// The command line the draft's first comment names.
fn command(init: &Init) -> String {
    let mut command = format!("pg2es init --root {}", init.root);
    if init.index_config {
        command.push_str(" --index-config");
    }
    if init.follow.depth != 1 {
        command.push_str(&format!(" --depth {}", init.follow.depth));
    }
    for (flag, patterns) in [
        ("include", &init.follow.include),
        ("exclude", &init.follow.exclude),
    ] {
        for pattern in patterns {
            command.push_str(&format!(" --{flag} {pattern}"));
        }
    }
    command
}

fn write(path: &PathBuf, text: &str) -> Result<(), AppError> {
    let output = |source| AppError::Output {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(output)?;
    }
    std::fs::write(path, text).map_err(output)
}
