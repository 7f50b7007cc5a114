//! `pg2es init`: what the catalogue says about a root table and the tables around it, as the
//! relations a declaration can follow (transform). [`super::draft_catalogue`] reads the rows,
//! [`plan`] chooses from them alone, [`super::draft_text`] writes the choice as YAML.

use std::collections::BTreeSet;

use sqlx::PgPool;

use super::draft_catalogue::{self, table, what, Catalogue, ForeignKey};
#[cfg(test)]
use super::draft_follow::matches;
pub(crate) use super::draft_follow::Follow;
use super::draft_hops::second_hops;
pub(crate) use super::draft_model::{Draft, DraftError, Hop, Relation, TableInfo, MAX_DEPTH};
pub(crate) use super::draft_text::{name_index_config, render};

/// Columns besides its key, its two foreign keys and the column polling follows a link table
/// may have (a role, a position): more, and it is a table of its own, listed as a child.
const LINK_EXTRA_COLUMNS: usize = 2;

/// Reads the catalogue around `root` and plans the draft.
pub(crate) async fn read(pool: &PgPool, root: &str, follow: &Follow) -> Result<Draft, DraftError> {
    if !root.contains('.') {
        return Err(DraftError::NotQualified(root.to_owned()));
    }
    if !(1..=MAX_DEPTH).contains(&follow.depth) {
        return Err(DraftError::Depth(follow.depth));
    }
    let catalogue = draft_catalogue::read(pool, root).await?;
    plan(&catalogue, root, follow)
}

/// The root and the relations `follow` asks for, from the catalogue's rows alone.
pub(crate) fn plan(
    catalogue: &Catalogue,
    root: &str,
    follow: &Follow,
) -> Result<Draft, DraftError> {
    follow.check(catalogue)?;
    let root = table(catalogue, root)?;
    let mut draft = Draft {
        root,
        relations: Vec::new(),
        skipped: Vec::new(),
    };
    for fk in catalogue.touching(&draft.root.relation) {
        match relation(catalogue, &draft.root, fk, follow) {
            Ok(mut relation) => {
                if follow.depth >= 2 {
                    second_hops(
                        catalogue,
                        &draft.root,
                        &mut relation,
                        follow,
                        &mut draft.skipped,
                    );
                }
                draft.relations.push(relation);
            }
            Err(why) => draft.skipped.push(why),
        }
    }
    Ok(draft)
}

/// One foreign key from or to the root as a relation, or why it is not followed.
fn relation(
    catalogue: &Catalogue,
    root: &TableInfo,
    fk: &ForeignKey,
    follow: &Follow,
) -> Result<Relation, String> {
    let what = what(fk);
    if fk.from == fk.to {
        return Err(format!("{what}: refers to its own table, not followed"));
    }
    if fk.from == root.relation {
        return parent(catalogue, fk, follow).map_err(|why| format!("{what}: {why}"));
    }
    let Some(root_columns) = fk.holding(&root.key) else {
        return Err(format!("{what}: not the root's key, not followed"));
    };
    child(catalogue, root, (fk, root_columns), follow).map_err(|why| format!("{what}: {why}"))
}

/// The root's `fk.from_columns` hold `fk.to`'s key: an object.
fn parent(catalogue: &Catalogue, fk: &ForeignKey, follow: &Follow) -> Result<Relation, String> {
    if let Some(why) = follow.refuses(&fk.to) {
        return Err(format!("{} {why}", fk.to));
    }
    let table = table(catalogue, &fk.to).map_err(|err| err.to_string())?;
    let Some(columns) = fk.holding(&table.key) else {
        return Err(format!("not {}'s key, not followed", fk.to));
    };
    Ok(Relation::Parent { columns, table })
}

/// `fk.from` holds the root's key in `root_columns`: a through list when it is a link table,
/// else a list.
fn child(
    catalogue: &Catalogue,
    root: &TableInfo,
    (fk, root_columns): (&ForeignKey, Vec<String>),
    follow: &Follow,
) -> Result<Relation, String> {
    if follow.excludes(&fk.from) {
        return Err(format!("{} left out by --exclude", fk.from));
    }
    let table = table(catalogue, &fk.from).map_err(|err| err.to_string())?;
    if let Some(through) = through(catalogue, root, &root_columns, &table, follow)? {
        return Ok(through);
    }
    if let Some(why) = follow.refuses(&fk.from) {
        return Err(format!("{} {why}", fk.from));
    }
    Ok(Relation::Child {
        table,
        columns: root_columns,
        hops: Vec::new(),
    })
}

/// A link table (two foreign keys, the root and another table's key, and little else) as a
/// list of the other side; `None` when `link` is not one.
fn through(
    catalogue: &Catalogue,
    root: &TableInfo,
    root_columns: &[String],
    link: &TableInfo,
    follow: &Follow,
) -> Result<Option<Relation>, String> {
    let link_fks: Vec<&ForeignKey> = catalogue
        .foreign_keys
        .iter()
        .filter(|f| f.from == link.relation)
        .collect();
    let others: Vec<&ForeignKey> = link_fks
        .iter()
        .copied()
        .filter(|f| f.to != root.relation)
        .collect();
    let ([other], 2) = (others.as_slice(), link_fks.len()) else {
        return Ok(None);
    };
    let (Ok(list), true) = (table(catalogue, &other.to), is_link(link, &link_fks)) else {
        return Ok(None);
    };
    let Some(list_columns) = other.holding(&list.key) else {
        return Ok(None);
    };
    if let Some(why) = follow.refuses(&list.relation) {
        return Err(format!(
            "{} {why}: no through list via {}",
            list.relation, link.relation
        ));
    }
    Ok(Some(Relation::Through {
        root_columns: root_columns.to_vec(),
        list_columns,
        link: link.clone(),
        table: list,
        hops: Vec::new(),
    }))
}

/// Whether a table with two foreign keys `fks` is a link and no table of its own: a composite
/// key made of the foreign keys' columns (a key part of its own, a position, makes rows of
/// their own), and at most [`LINK_EXTRA_COLUMNS`] other columns besides the one polling follows.
fn is_link(link: &TableInfo, fks: &[&ForeignKey]) -> bool {
    let held: BTreeSet<&str> = fks
        .iter()
        .flat_map(|fk| fk.from_columns.iter().map(String::as_str))
        .collect();
    let held_or_key = |column: &str| held.contains(column) || link.key.iter().any(|k| k == column);
    if link.key.len() > 1 && !link.key.iter().all(|k| held.contains(k.as_str())) {
        return false;
    }
    let cursor = link.cursor_column().map(|(name, _)| name);
    let own = link
        .columns
        .iter()
        .filter(|(column, _)| !held_or_key(column) && Some(column.as_str()) != cursor)
        .count();
    own <= LINK_EXTRA_COLUMNS
}

#[cfg(test)]
#[path = "draft_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "draft_composite_tests.rs"]
mod composite_tests;
