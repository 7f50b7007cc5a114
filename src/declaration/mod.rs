//! Pipelines as data: one YAML declaration per index says which table gives one document per
//! row, which tables it reads, and the document's fields. Everything the engine needs is derived
//! from it: the document queries, the fan-out from every followed table to the root, what the
//! capture triggers record, the polling cursors and the schema check.
//!
//! Checked in two steps, as Vector checks a sink: [`model`] checks the shape without a
//! database; [`schema`] checks tables, columns and types against Postgres at start-up, and
//! [`keys`] that every declared key is unique and NOT NULL there, [`reads`] that the escape
//! hatch's SQL reads no table without a `touches` query; then the SQL is compiled.
//! Errors name the declaration file, the key and the line.

mod cell;
mod collations;
mod compile;
mod composite;
mod derived;
mod document;
pub(crate) mod draft;
mod draft_catalogue;
mod draft_follow;
mod draft_hops;
mod draft_model;
mod draft_text;
mod drift;
mod fan_out;
mod filter;
mod keys;
mod model;
mod parse;
mod reads;
mod schema;
mod types;

use std::fmt;
use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

pub(crate) use compile::{Declared, IndexConfig, Touch};
pub(crate) use model::Model;
pub(crate) use schema::SchemaError;

/// What is wrong, and where.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    pub key: String,
    pub line: Option<u64>,
    pub message: String,
}

impl Problem {
    pub fn at<T>(key: &str, spanned: &Spanned<T>, message: String) -> Self {
        Self {
            key: key.to_owned(),
            line: Some(spanned.referenced.line()).filter(|line| *line > 0),
            message,
        }
    }

    pub fn at_line(key: &str, line: u64, message: String) -> Self {
        Self {
            key: key.to_owned(),
            line: Some(line).filter(|line| *line > 0),
            message,
        }
    }
}

/// A declaration that cannot be used, naming its file.
#[derive(Debug, thiserror::Error)]
pub enum DeclarationError {
    #[error("cannot read pipeline file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("pipeline file {path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    #[error("pipeline file {}{}: {}: {}", .path.display(), line_suffix(.problem.line), .problem.key, .problem.message)]
    Invalid { path: PathBuf, problem: Problem },
}

fn line_suffix(line: Option<u64>) -> String {
    line.map(|line| format!(", line {line}"))
        .unwrap_or_default()
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}: {}",
            self.key,
            line_suffix(self.line),
            self.message
        )
    }
}

/// A declaration read and checked for shape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Declaration {
    /// The pipeline's name in `config.yaml`.
    pub name: String,
    pub path: PathBuf,
    pub model: Model,
    /// The declaration's own text, whose meaning names the index it builds (see
    /// [`Declaration::fingerprint`]).
    /// The index config file, or `None` for one derived from the declaration.
    pub index_config: Option<PathBuf>,
}

impl Declaration {
    pub fn load(name: &str, path: &Path) -> Result<Self, DeclarationError> {
        let text = std::fs::read_to_string(path).map_err(|source| DeclarationError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(name, path, &text)
    }

    pub fn parse(name: &str, path: &Path, text: &str) -> Result<Self, DeclarationError> {
        let raw = serde_saphyr::from_str::<parse::RawPipeline>(text).map_err(|source| {
            DeclarationError::Parse {
                path: path.to_owned(),
                source: Box::new(source),
            }
        })?;
        let model = model::build(raw)
            .and_then(|model| composite::check(&model).map(|()| model))
            .map_err(|problem| DeclarationError::Invalid {
                path: path.to_owned(),
                problem,
            })?;
        let dir = path.parent().unwrap_or(Path::new(""));
        let index_config = model.index_config.as_ref().map(|config| dir.join(config));
        Ok(Self {
            name: name.to_owned(),
            path: path.to_owned(),
            model,
            index_config,
        })
    }

    /// What in the declaration shapes documents, as canonical text: a comment or the order
    /// of the tables changes nothing here, a field added, renamed or moved does.
    pub fn fingerprint(&self) -> String {
        self.model.describe()
    }
}

/// The fingerprint of the shipped `pipelines/movies.yaml`: the documents the compiled movies
/// pipeline built before pipelines were declared.
pub(crate) fn shipped_movies_fingerprint() -> &'static str {
    static FINGERPRINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FINGERPRINT.get_or_init(|| {
        let text = include_str!("../../pipelines/movies.yaml");
        Declaration::parse("movies", Path::new("pipelines/movies.yaml"), text)
            .map(|declaration| declaration.fingerprint())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests;
