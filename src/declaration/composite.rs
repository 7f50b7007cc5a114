//! Composite keys (`key: [book_isbn, author_id]`): any table's key, the root's too (its
//! document `_id` is the parts' text, see [`crate::extract::composite`]). A ref to a table with
//! a composite key names as many columns, in the key's order, as one entry
//! (`refs: {"trip_region, trip_code": atlas.trip}`). The escape hatch's `touches` and its
//! root read one key column, so a table they read has a single-column key.

use super::model::Model;
use super::Problem;

pub(super) fn check(model: &Model) -> Result<(), Problem> {
    let root = model.root_table();
    if root.key.len() > 1 && model.query.is_some() {
        return Err(Problem::at_line(
            &format!("tables.{}.key", root.relation),
            root.key_line,
            format!(
                "the root's key ({}) is composite: the SQL escape hatch reads one key column; declare `document` fields instead",
                root.key_text()
            ),
        ));
    }
    for table in &model.tables {
        if table.key.len() > 1 && table.key_type.is_some() {
            return Err(Problem::at_line(
                &format!("tables.{}.key_type", table.relation),
                table.key_line,
                "a composite key has one type per column, read from the database: drop key_type"
                    .into(),
            ));
        }
        for reference in &table.refs {
            let target = &model.tables[reference.target];
            if target.key.len() != reference.columns.len() {
                return Err(Problem::at_line(
                    &format!(
                        "tables.{}.refs.{}",
                        table.relation,
                        reference.columns.join(", ")
                    ),
                    reference.line,
                    format!(
                        "{} has a key of {} column(s) ({}): a ref to it names as many columns, in the key's order, as one entry: `\"a, b\": {}`",
                        target.relation,
                        target.key.len(),
                        target.key_text(),
                        target.relation
                    ),
                ));
            }
        }
    }
    let touches = model.query.iter().flat_map(|query| &query.touches);
    for (table, _) in touches {
        let table = &model.tables[*table];
        if table.key.len() > 1 {
            return Err(Problem::at_line(
                &format!("query.touches.{}", table.relation),
                model.query.as_ref().and_then(|q| q.touches_line).unwrap_or(0),
                format!(
                    "{} has a composite key ({}): touches read one key column; follow its refs instead",
                    table.relation,
                    table.key_text()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::declaration::model::{Field, Join, Model};
    use crate::declaration::Declaration;

    fn parse_text(text: &str) -> Result<Model, String> {
        Declaration::parse("bib", Path::new("pipelines/bib.yaml"), text)
            .map(|declaration| declaration.model)
            .map_err(|error| error.to_string())
    }

    const BIB: &str = "
index: {alias: books, config: index_config.json}
root: bib.book
tables:
  bib.book: {key: isbn}
  bib.author: {key: id}
  bib.credit:
    key: [book_isbn, author_id]
    refs: {book_isbn: bib.book, author_id: bib.author}
document:
  title: title
  authors:
    list: bib.author
    through: bib.credit
    fields: {name: name, role: {link: role}}
";

    #[test]
    fn a_link_table_may_have_a_composite_key() {
        let model = parse_text(BIB).unwrap();
        let credit = model
            .tables
            .iter()
            .find(|t| t.relation == "bib.credit")
            .unwrap();
        assert_eq!(credit.key, vec!["book_isbn", "author_id"]);
        assert_eq!(credit.key_line, 8);
        let book = model
            .tables
            .iter()
            .find(|t| t.relation == "bib.book")
            .unwrap();
        assert_eq!(book.key, vec!["isbn"]);
    }

    #[test]
    fn a_composite_root_key_is_referred_to_by_as_many_columns() {
        let text = BIB
            .replace("bib.book: {key: isbn}", "bib.book: {key: [isbn, edition]}")
            .replace(
                "refs: {book_isbn: bib.book,",
                "refs: {\"book_isbn, book_edition\": bib.book,",
            );
        let model = parse_text(&text).unwrap();
        assert_eq!(model.root_table().key, vec!["isbn", "edition"]);
        let Field::List(authors) = &model.fields[1] else {
            panic!("authors is a list")
        };
        let Join::Through {
            root_ref, list_ref, ..
        } = &authors.join
        else {
            panic!("authors is a through list: {:?}", authors.join)
        };
        assert_eq!(root_ref, &["book_isbn", "book_edition"]);
        assert_eq!(list_ref, &["author_id"]);
    }

    #[test]
    fn a_ref_with_another_number_of_columns_than_the_key_is_refused() {
        let text = BIB.replace("bib.book: {key: isbn}", "bib.book: {key: [isbn, edition]}");
        let message = parse_text(&text).unwrap_err();
        assert!(
            message.starts_with("pipeline file pipelines/bib.yaml, line 9: tables.bib.credit.refs.book_isbn: bib.book has a key of 2 column(s) (isbn, edition)"),
            "{message}"
        );
        let text = BIB.replace("bib.author: {key: id}", "bib.author: {key: [id, alias]}");
        let message = parse_text(&text).unwrap_err();
        assert!(
            message.contains("tables.bib.credit.refs.author_id: bib.author has a key of 2"),
            "{message}"
        );
    }

    #[test]
    fn a_composite_root_key_with_the_sql_escape_hatch_is_refused() {
        let text = "
index: {alias: books, config: index_config.json}
root: bib.book
tables:
  bib.book: {key: [isbn, edition]}
query:
  sql: SELECT 1
";
        let message = parse_text(text).unwrap_err();
        assert!(
            message.contains(
                "line 5: tables.bib.book.key: the root's key (isbn, edition) is composite"
            ),
            "{message}"
        );
    }

    #[test]
    fn an_empty_or_repeated_key_list_is_refused() {
        for key in ["[]", "[book_isbn, book_isbn]"] {
            let text = BIB.replace("key: [book_isbn, author_id]", &format!("key: {key}"));
            assert!(parse_text(&text).is_err(), "{key}");
        }
    }
}
