//! Declarations checked for shape: each mistake is named with its key and line.

use std::path::Path;

use super::model::{Field, Join, SortKey};
use super::{Declaration, DeclarationError};

fn parse(text: &str) -> Result<Declaration, DeclarationError> {
    Declaration::parse("test", Path::new("pipelines/test.yaml"), text)
}

fn error(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

const MOVIES: &str = include_str!("../../pipelines/movies.yaml");

#[test]
fn the_movies_declaration_reads() {
    let declaration = parse(MOVIES).unwrap();
    let model = &declaration.model;
    assert_eq!(model.alias, "movies");
    assert_eq!(model.root_table().relation, "content.film_work");
    assert_eq!(
        declaration.index_config.as_deref(),
        Some(Path::new("pipelines/../index_config.json"))
    );
    let Field::List(actors) = &model.fields[8] else {
        panic!("actors is a list: {:?}", model.fields[8])
    };
    assert_eq!(actors.name, "actors");
    assert!(
        matches!(&actors.join, Join::Through { root_ref, list_ref, .. } if root_ref == &["film_work_id"] && list_ref == &["person_id"])
    );
    assert_eq!(actors.filter.len(), 1);
    assert_eq!(actors.filter[0].sql("l"), "l.role = 'actor'");
}

#[test]
fn a_comment_or_the_order_of_tables_changes_no_fingerprint_but_a_field_does() {
    let base = parse(MOVIES).unwrap().fingerprint();
    let commented = MOVIES.replace(
        "# The document, field by field",
        "# A longer comment,\n# over two lines",
    );
    assert_eq!(parse(&commented).unwrap().fingerprint(), base);
    let reordered = MOVIES.replace(
        "  content.person: {key: id, changed_by: updated_at}\n  content.genre: {key: id, changed_by: updated_at}\n",
        "  content.genre: {key: id, changed_by: updated_at}\n  content.person: {key: id, changed_by: updated_at}\n",
    );
    assert_ne!(reordered, MOVIES);
    assert_eq!(parse(&reordered).unwrap().fingerprint(), base);
    let renamed = MOVIES.replace("  imdb_rating: rating", "  rating: rating");
    assert_ne!(parse(&renamed).unwrap().fingerprint(), base);
}

#[test]
fn an_undeclared_table_is_named_with_its_line() {
    let text = MOVIES.replace("list: content.genre\n", "list: content.genres\n");
    let message = error(&text);
    assert!(message.contains("pipelines/test.yaml"), "{message}");
    assert!(message.contains("document.genre.list"), "{message}");
    assert!(
        message.contains("content.genres is not declared under tables"),
        "{message}"
    );
    assert!(message.contains("line 3"), "{message}");
}

#[test]
fn a_field_declared_twice_is_refused_with_its_line() {
    let text = MOVIES.replace("  title: title\n", "  title: title\n  title: description\n");
    let message = error(&text);
    assert!(message.contains("title"), "{message}");
    assert!(message.contains("line"), "{message}");
}

#[test]
fn a_link_table_without_a_path_to_the_root_is_refused() {
    let text = MOVIES.replace(
        "refs: {film_work_id: content.film_work, genre_id: content.genre}",
        "refs: {genre_id: content.genre}",
    );
    let message = error(&text);
    assert!(message.contains("document.genre.through"), "{message}");
    assert!(message.contains("has no path to the root"), "{message}");
}

#[test]
fn a_sort_key_that_is_not_a_field_is_refused() {
    let text = MOVIES.replacen("sort: [name, id]", "sort: [full_name, id]", 1);
    let message = error(&text);
    assert!(message.contains("document.genre.sort"), "{message}");
    assert!(
        message.contains("full_name is not one of this list's fields"),
        "{message}"
    );
}

fn genre_sort(sort: &str) -> Result<Vec<SortKey>, DeclarationError> {
    let declaration = parse(&MOVIES.replacen("sort: [name, id]", sort, 1))?;
    let Field::List(genre) = &declaration.model.fields[5] else {
        panic!("genre is a list")
    };
    Ok(genre.sort.clone())
}

#[test]
fn sort_keys_say_their_order_and_collation_in_three_forms() {
    let line = MOVIES
        .lines()
        .position(|l| l.contains("sort: [name, id]"))
        .unwrap() as u64
        + 1;
    let key = |field, descending, collation: Option<&str>| SortKey {
        field,
        descending,
        collation: collation.map(str::to_owned),
        line,
    };
    assert_eq!(
        genre_sort("sort: [name, id]").unwrap(),
        vec![key(1, false, None), key(0, false, None)]
    );
    assert_eq!(
        genre_sort("sort: [{name: desc}, {id: asc}]").unwrap(),
        vec![key(1, true, None), key(0, false, None)]
    );
    assert_eq!(
        genre_sort("sort: [{field: name, order: desc, collate: und-x-icu}, id]").unwrap(),
        vec![key(1, true, Some("und-x-icu")), key(0, false, None)]
    );
}

#[test]
fn a_sort_key_with_an_unknown_order_or_option_is_refused_with_its_line() {
    let message = error(&MOVIES.replacen("sort: [name, id]", "sort: [{name: down}]", 1));
    assert!(message.contains("document.genre.sort"), "{message}");
    assert!(message.contains("say `asc` or `desc`"), "{message}");
    assert!(message.contains("line 36"), "{message}");
    let message = error(&MOVIES.replacen("sort: [name, id]", "sort: [{field: name, by: x}]", 1));
    assert!(
        message.contains("unknown sort key option `by`"),
        "{message}"
    );
    let message = error(&MOVIES.replacen("sort: [name, id]", "sort: [{name: desc, id: asc}]", 1));
    assert!(message.contains("a sort key is `name`"), "{message}");
}

#[test]
fn a_descending_sort_or_a_collation_changes_the_fingerprint() {
    let base = parse(MOVIES).unwrap().fingerprint();
    for sort in [
        "sort: [{name: desc}, id]",
        "sort: [{field: name, collate: C}, id]",
    ] {
        let changed = parse(&MOVIES.replacen("sort: [name, id]", sort, 1)).unwrap();
        assert_ne!(changed.fingerprint(), base, "{sort}");
    }
}

#[test]
fn names_of_an_unknown_list_are_refused() {
    let text = MOVIES.replace("{names: actors, field: name}", "{names: cast, field: name}");
    let message = error(&text);
    assert!(message.contains("document.actors_names.names"), "{message}");
}

#[test]
fn an_unknown_key_is_refused_with_its_line() {
    let text = MOVIES.replace(
        "root: content.film_work",
        "root: content.film_work\nroots: x",
    );
    let message = error(&text);
    assert!(message.contains("roots"), "{message}");
    assert!(message.contains("line"), "{message}");
}

const COUNTS: &str = include_str!("../../tests/escape/genre_counts.yaml");

#[test]
fn the_sql_escape_hatch_reads() {
    let model = parse(COUNTS).unwrap().model;
    assert!(model.fields.is_empty());
    let query = model.query.unwrap();
    assert!(query.sql.contains("json_build_object"));
    assert_eq!(query.touches.len(), 2);
}

#[test]
fn a_table_whose_changes_reach_no_document_is_refused() {
    let text = COUNTS.replace(
        "    content.film_work: SELECT genre_id FROM content.genre_film_work WHERE film_work_id = ANY($1::uuid[])\n",
        "",
    );
    let message = error(&text);
    assert!(message.contains("tables.content.film_work"), "{message}");
    assert!(message.contains("touches"), "{message}");
    let text = MOVIES.replace(
        "tables:\n",
        "tables:\n  content.unused: {key: id, changed_by: updated_at}\n",
    );
    let message = error(&text);
    assert!(message.contains("tables.content.unused"), "{message}");
    assert!(message.contains("no field reads it"), "{message}");
}

#[test]
fn document_and_query_together_are_refused() {
    let text = format!("{COUNTS}document:\n  id: id\n");
    let message = error(&text);
    assert!(message.contains("not both"), "{message}");
}

const ITEMS: &str = include_str!("../../tests/hops/items.yaml");

#[test]
fn a_one_object_inside_a_list_is_a_hop_in_its_declared_place() {
    let declaration = parse(ITEMS).unwrap();
    let Field::List(stock) = &declaration.model.fields[2] else {
        panic!("stock is a list")
    };
    assert_eq!(stock.fields.len(), 2);
    assert_eq!(stock.hops.len(), 1);
    let hop = &stock.hops[0];
    assert_eq!(
        (hop.name.as_str(), hop.via.as_slice()),
        ("store", &["store_id".to_owned()][..])
    );
    assert_eq!((hop.relation.as_str(), hop.position), ("hop.store", 1));
}

#[test]
fn a_list_inside_a_list_or_a_hop_the_list_table_does_not_ref_is_refused() {
    let nested = ITEMS.replacen(
        "store: {list: hop.store, one: true,",
        "store: {list: hop.store,",
        1,
    );
    let message = error(&nested);
    assert!(message.contains("document.stock.fields.store"), "{message}");
    assert!(message.contains("a list inside a list"), "{message}");
    let unreferenced = ITEMS.replacen(
        "refs: {item_id: hop.item, store_id: hop.store}",
        "refs: {item_id: hop.item}",
        1,
    );
    let message = error(&unreferenced);
    assert!(
        message.contains("hop.stock has no refs to hop.store"),
        "{message}"
    );
}

const LINES: &str = include_str!("../../tests/composite_root/lines.yaml");

#[test]
fn a_list_inside_a_list_is_the_rows_that_ref_the_list_table_in_its_declared_place() {
    let declaration = Declaration::parse("lines", Path::new("lines.yaml"), LINES).unwrap();
    let Field::List(calls) = &declaration.model.fields[5] else {
        panic!("calls is a list")
    };
    assert_eq!(calls.nested.len(), 1);
    let notices = &calls.nested[0];
    assert_eq!(notices.name, "notices");
    assert_eq!(notices.via, ["line_operator", "line_code", "call_seq"]);
    assert_eq!((notices.position, notices.order), (1, 0));
    assert_eq!((calls.hops[0].position, calls.hops[0].order), (2, 1));
    assert!(notices.sort[0].descending);
}

#[test]
fn a_list_inside_a_list_that_does_not_ref_it_or_goes_deeper_is_refused() {
    let refused = |text: String, expected: &str| {
        let message = Declaration::parse("lines", Path::new("lines.yaml"), &text)
            .unwrap_err()
            .to_string();
        assert!(message.contains(expected), "{message}");
    };
    refused(
        LINES.replace("list: route.notice", "list: route.licence"),
        "document.calls.fields.notices: route.licence has no refs to route.call",
    );
    refused(
        LINES.replace(
            "fields: {num: num, body: body}",
            "fields: {num: num, deeper: {list: route.licence, fields: {class: class}}}",
        ),
        "nothing deeper",
    );
    refused(
        LINES.replace(
            "        sort: [{num: desc}]",
            "        sort: [{num: desc}]\n        where: {body: x}",
        ),
        "takes `fields` and `sort` (no `through`, `collect` or `where`)",
    );
}
