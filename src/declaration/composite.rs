//! Where a composite key (`key: [book_isbn, author_id]`) may be declared: on a table no other
//! table refers to and that is not the root — a link table, or a child table whose rows are
//! listed. A ref holds one column, so it cannot hold a composite key; a root's key is the
//! document `_id`, one column for now (README, "Index your own schema").

use super::model::Model;
use super::Problem;

pub(super) fn check(model: &Model) -> Result<(), Problem> {
    let root = model.root_table();
    if root.key.len() > 1 {
        return Err(Problem::at_line(
            &format!("tables.{}.key", root.relation),
            root.key_line,
            format!(
                "the root's key ({}) is the document _id and must be one column: composite keys are for link and child tables",
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
        for (column, target) in &table.refs {
            let target = &model.tables[*target];
            if target.key.len() > 1 {
                return Err(Problem::at_line(
                    &format!("tables.{}.refs.{column}", table.relation),
                    table.line,
                    format!(
                        "{} has a composite key ({}): a ref holds one column, so it cannot refer to it",
                        target.relation,
                        target.key_text()
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

    use crate::declaration::model::Model;
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
    fn a_composite_root_key_is_refused_with_its_line() {
        let text = BIB.replace("bib.book: {key: isbn}", "bib.book: {key: [isbn, edition]}");
        let message = parse_text(&text).unwrap_err();
        assert!(
            message.starts_with("pipeline file pipelines/bib.yaml, line 5: tables.bib.book.key: the root's key (isbn, edition) is the document _id and must be one column"),
            "{message}"
        );
    }

    #[test]
    fn a_ref_to_a_composite_key_is_refused() {
        let text = BIB.replace("bib.author: {key: id}", "bib.author: {key: [id, alias]}");
        let message = parse_text(&text).unwrap_err();
        assert!(
            message.contains("tables.bib.credit.refs.author_id"),
            "{message}"
        );
        assert!(
            message.contains("bib.author has a composite key"),
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
