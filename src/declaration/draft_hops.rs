//! `pg2es init --depth 2`: the second hop of a draft, a `one:` object in each item of a list
//! for each table the listed table refs (transform, from the catalogue's rows alone).

use super::draft_catalogue::{table, what, Catalogue, ForeignKey};
use super::draft_follow::Follow;
use super::draft_model::{Hop, Relation, TableInfo};

/// `--depth 2`: each table a listed table refs (not the root, not the link) as a `one:`
/// object in the list's items; a parent's own parents cannot be declared, and say so.
pub(super) fn second_hops(
    catalogue: &Catalogue,
    root: &TableInfo,
    relation: &mut Relation,
    follow: &Follow,
    skipped: &mut Vec<String>,
) {
    let (list, link, hops) = match relation {
        Relation::Child { table, hops, .. } => (&*table, None, hops),
        Relation::Through {
            table, link, hops, ..
        } => (&*table, Some(link.relation.as_str()), hops),
        Relation::Parent { table, .. } => {
            for fk in catalogue
                .foreign_keys
                .iter()
                .filter(|f| f.from == table.relation)
            {
                let why = "a `one:` object inside a `one:` object cannot be declared, not followed";
                skipped.push(format!("{}: {why}", what(fk)));
            }
            return;
        }
    };
    for fk in catalogue
        .foreign_keys
        .iter()
        .filter(|f| f.from == list.relation)
    {
        if fk.to == root.relation || Some(fk.to.as_str()) == link {
            continue;
        }
        match second_hop(catalogue, list, fk, follow) {
            Ok(hop) => hops.push(hop),
            Err(why) => skipped.push(format!("{}: {why}", what(fk))),
        }
    }
}

/// `list`'s foreign key `fk` as a `one:` object in each item, or why it is not followed.
fn second_hop(
    catalogue: &Catalogue,
    list: &TableInfo,
    fk: &ForeignKey,
    follow: &Follow,
) -> Result<Hop, String> {
    if fk.to == list.relation {
        return Err("refers to its own table, not followed".into());
    }
    if let Some(why) = follow.refuses(&fk.to) {
        return Err(format!("{} {why}", fk.to));
    }
    let table = table(catalogue, &fk.to).map_err(|err| err.to_string())?;
    match fk.holding(&table.key) {
        Some(columns) => Ok(Hop { columns, table }),
        None => Err(format!("not {}'s key, not followed", fk.to)),
    }
}
