//! A [`Draft`] written as a declaration that runs as it is, each choice with a one-line
//! comment, and the indexes its cursors and fan-out need.

use std::collections::{BTreeMap, BTreeSet};

use super::draft::{Draft, Hop, Relation, TableInfo};

/// Column names polling prefers, in order: the first of a type a cursor can hold is chosen.
const CURSOR_NAMES: [&str; 9] = [
    "updated_at",
    "modified_at",
    "modified",
    "updated",
    "last_modified",
    "changed_at",
    "version",
    "row_version",
    "created_at",
];

/// The column polling follows, with its line of `tables:` and why.
struct Cursor {
    entry: String,
    column: Option<String>,
    why: String,
}

fn cursor(table: &TableInfo) -> Cursor {
    let found = CURSOR_NAMES.iter().find_map(|name| {
        let (_, ty) = table.columns.iter().find(|(column, _)| column == name)?;
        matches!(
            ty.type_name.as_str(),
            "timestamptz" | "timestamp" | "int2" | "int4" | "int8"
        )
        .then_some((*name, ty.type_name.as_str()))
    });
    match found {
        Some((name, "timestamp")) => Cursor {
            entry: format!(", changed_by: {name}, zone: UTC"),
            column: Some(name.into()),
            why: format!("polling follows {name} (a timestamp without zone: its values are taken as UTC, say otherwise)"),
        },
        Some((name, ty)) => Cursor {
            entry: format!(", changed_by: {name}"),
            column: Some(name.into()),
            why: format!("polling follows {name} ({ty})"),
        },
        None => Cursor {
            entry: String::new(),
            column: None,
            why: "no updated_at-like column: polling needs one (add it, or use triggers or logical capture)".into(),
        },
    }
}

/// YAML text of a name: plain when it is a word, else quoted.
fn y(name: &str) -> String {
    let word = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && !matches!(
            name.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    match word {
        true => name.to_owned(),
        false => serde_json::Value::String(name.to_owned()).to_string(),
    }
}

fn unique(used: &mut BTreeSet<String>, wanted: &str) -> String {
    let mut name = wanted.to_owned();
    while used.contains(&name) {
        name.push_str("_list");
    }
    used.insert(name.clone());
    name
}

#[derive(Default)]
struct Tables {
    lines: BTreeMap<String, (String, String, BTreeMap<String, String>)>,
    indexes: Vec<String>,
}

impl Tables {
    fn add(&mut self, table: &TableInfo, why: &str, key_type: bool) {
        let cursor = cursor(table);
        if let Some(column) = &cursor.column {
            self.indexes.push(format!(
                "CREATE INDEX ON {} ({column}, {});  -- polling's cursor",
                table.relation, table.key
            ));
        }
        let key_type = match key_type {
            true => format!(", key_type: {}", table.key_type),
            false => String::new(),
        };
        let entry = format!("key: {}{key_type}{}", y(&table.key), cursor.entry);
        let why = format!("{why}; key {} (its primary key); {}", table.key, cursor.why);
        self.lines
            .entry(table.relation.clone())
            .or_insert((why, entry, BTreeMap::new()));
    }

    fn refs(&mut self, relation: &str, column: &str, to: &str) {
        if let Some((_, _, refs)) = self.lines.get_mut(relation) {
            refs.insert(column.to_owned(), to.to_owned());
        }
    }

    fn write(&self, out: &mut String) {
        out.push_str("tables:\n");
        for (relation, (why, entry, refs)) in &self.lines {
            let refs = match refs.is_empty() {
                true => String::new(),
                false => {
                    let pairs: Vec<String> =
                        refs.iter().map(|(c, t)| format!("{}: {t}", y(c))).collect();
                    format!(", refs: {{{}}}", pairs.join(", "))
                }
            };
            out.push_str(&format!("  # {why}\n  {relation}: {{{entry}{refs}}}\n"));
        }
    }
}

/// Every column of a table as `{field: column, …}`.
fn fields(table: &TableInfo) -> String {
    let pairs: Vec<String> = table
        .columns
        .iter()
        .map(|(c, _)| format!("{}: {}", y(c), y(c)))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

/// A list's `fields:` block: every column of `list`, the link table's own columns, and with
/// `--depth 2` a `one:` object for each table it refs.
fn list_fields(
    list: &TableInfo,
    link: Option<(&TableInfo, &[&str])>,
    hops: &[Hop],
    tables: &mut Tables,
) -> String {
    let mut used = BTreeSet::new();
    let mut out = String::from("    fields:\n");
    for (column, _) in &list.columns {
        used.insert(column.clone());
        out.push_str(&format!("      {}: {}\n", y(column), y(column)));
    }
    if let Some((link, skip)) = link {
        for (column, _) in &link.columns {
            if column == &link.key || skip.contains(&column.as_str()) {
                continue;
            }
            let name = unique(&mut used, &format!("link_{column}"));
            out.push_str(&format!("      {}: {{link: {}}}\n", y(&name), y(column)));
        }
    }
    for hop in hops {
        let (column, table) = (&hop.column, &hop.table);
        let why = format!("{}'s {column} refs it: a second hop", list.relation);
        tables.add(table, &why, false);
        tables.refs(&list.relation, column, &table.relation);
        tables.indexes.push(format!(
            "CREATE INDEX ON {} ({column});  -- the documents a changed {} touches",
            list.relation, table.relation
        ));
        let name = unique(
            &mut used,
            column.strip_suffix("_id").unwrap_or(table.short()),
        );
        out.push_str(&format!(
            "      # {column} refs {}: one object (or null) in each item\n      {}: {{list: {}, one: true, fields: {}}}\n",
            table.relation,
            y(&name),
            table.relation,
            fields(table)
        ));
    }
    out
}

/// The declaration's text and the `CREATE INDEX` statements its queries need.
pub(crate) fn render(draft: &Draft, name: &str, command: &str) -> (String, Vec<String>) {
    let root = &draft.root;
    let mut out = format!(
        "# Drafted by `{command}`: edit rather than write. Each choice says why.\nindex:\n  alias: {}\n  # no `config:`: the index config is derived from the fields and the column types\n  # (`pg2es check` prints it; save it as a file and name it here to tune analyzers)\n\nroot: {}\n\n",
        y(name),
        root.relation
    );
    let mut tables = Tables::default();
    tables.add(root, "the root: one document per row", true);
    let mut used: BTreeSet<String> = root.columns.iter().map(|(c, _)| c.clone()).collect();
    let mut document =
        String::from("document:\n  # every column of the root, named as the column\n");
    for (column, _) in &root.columns {
        document.push_str(&format!("  {}: {}\n", y(column), y(column)));
    }
    for relation in &draft.relations {
        document.push_str(&relation_field(relation, root, &mut tables, &mut used));
    }
    tables.write(&mut out);
    out.push('\n');
    out.push_str(&document);
    if !draft.skipped.is_empty() {
        out.push_str("\n# Foreign keys not followed:\n");
        for why in &draft.skipped {
            out.push_str(&format!("#   {why}\n"));
        }
    }
    out.push_str("\n# The indexes the cursors and the fan-out need (unless one already starts with these columns):\n");
    for index in &tables.indexes {
        out.push_str(&format!("#   {index}\n"));
    }
    (out, tables.indexes)
}

fn relation_field(
    relation: &Relation,
    root: &TableInfo,
    tables: &mut Tables,
    used: &mut BTreeSet<String>,
) -> String {
    match relation {
        Relation::Parent { column, table } => parent(root, column, table, tables, used),
        Relation::Child {
            table,
            column,
            hops,
        } => child(root, (table, hops), column, tables, used),
        Relation::Through {
            link,
            root_column,
            table,
            list_column,
            hops,
        } => {
            let columns = [root_column, list_column];
            through(root, link, columns, (table, hops), tables, used)
        }
    }
}

/// The root's `column` refs `table`: one object (or null).
fn parent(
    root: &TableInfo,
    column: &str,
    table: &TableInfo,
    tables: &mut Tables,
    used: &mut BTreeSet<String>,
) -> String {
    tables.add(table, &format!("the root refs it by {column}"), false);
    tables.refs(&root.relation, column, &table.relation);
    tables.indexes.push(format!(
        "CREATE INDEX ON {} ({column});  -- the documents a changed {} touches",
        root.relation, table.relation
    ));
    let name = unique(used, column.strip_suffix("_id").unwrap_or(table.short()));
    format!(
        "  # {column} refs {}: one object (or null)\n  {}: {{list: {}, one: true, fields: {}}}\n",
        table.relation,
        y(&name),
        table.relation,
        fields(table)
    )
}

/// `table.column` refs the root: a list of its rows, by key.
fn child(
    root: &TableInfo,
    (table, hops): (&TableInfo, &[Hop]),
    column: &str,
    tables: &mut Tables,
    used: &mut BTreeSet<String>,
) -> String {
    tables.add(table, &format!("its {column} refs the root"), false);
    tables.refs(&table.relation, column, &root.relation);
    tables.indexes.push(format!(
        "CREATE INDEX ON {} ({column});  -- the rows of a document",
        table.relation
    ));
    let name = unique(used, table.short());
    format!(
        "  # {}.{column} refs the root: a list, by key\n  {}:\n    list: {}\n{}    sort: [{}]\n",
        table.relation,
        y(&name),
        table.relation,
        list_fields(table, None, hops, tables),
        y(&table.key)
    )
}

/// `link` refs the root and `table`: a list of `table`'s rows through it, by key.
fn through(
    root: &TableInfo,
    link: &TableInfo,
    [root_column, list_column]: [&String; 2],
    (table, hops): (&TableInfo, &[Hop]),
    tables: &mut Tables,
    used: &mut BTreeSet<String>,
) -> String {
    let why = format!("linked to the root through {}", link.relation);
    tables.add(table, &why, false);
    let why = "links the root and a list: two foreign keys and little else";
    tables.add(link, why, false);
    tables.refs(&link.relation, root_column, &root.relation);
    tables.refs(&link.relation, list_column, &table.relation);
    tables.indexes.push(format!(
        "CREATE INDEX ON {} ({root_column});  -- the links of a document",
        link.relation
    ));
    tables.indexes.push(format!(
        "CREATE INDEX ON {} ({list_column}, {root_column});  -- the documents a changed {} touches",
        link.relation, table.relation
    ));
    let name = unique(used, table.short());
    let skip = [root_column.as_str(), list_column.as_str()];
    format!(
        "  # {} links the root to {}: a through list, by key, with the link's own columns\n  {}:\n    list: {}\n    through: {}\n{}    sort: [{}]\n",
        link.relation,
        table.relation,
        y(&name),
        table.relation,
        link.relation,
        list_fields(table, Some((link, &skip)), hops, tables),
        y(&table.key)
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::declaration::schema::ColumnType;
    use crate::declaration::Declaration;

    fn table(relation: &str, columns: &[(&str, &str)]) -> TableInfo {
        let column = |(name, type_name): &(&str, &str)| {
            let ty = ColumnType {
                type_name: (*type_name).into(),
                type_kind: "b".into(),
                sql_type: (*type_name).into(),
                not_null: false,
            };
            ((*name).to_owned(), ty)
        };
        TableInfo {
            relation: relation.into(),
            key: "id".into(),
            key_type: "bigint",
            columns: columns.iter().map(column).collect(),
        }
    }

    fn shop() -> Draft {
        let orders = table(
            "shop.orders",
            &[("id", "int8"), ("customer_id", "int8"), ("status", "text")],
        );
        let customer = table(
            "shop.customer",
            &[("id", "int8"), ("name", "text"), ("modified", "timestamp")],
        );
        let line = table(
            "shop.order_line",
            &[
                ("id", "int8"),
                ("order_id", "int8"),
                ("product_id", "int8"),
                ("quantity", "int4"),
            ],
        );
        let product = table("shop.product", &[("id", "int8"), ("version", "int8")]);
        Draft {
            root: orders,
            relations: vec![
                Relation::Parent {
                    column: "customer_id".into(),
                    table: customer,
                },
                Relation::Through {
                    link: line,
                    root_column: "order_id".into(),
                    table: product,
                    list_column: "product_id".into(),
                    hops: vec![],
                },
            ],
            skipped: vec!["shop.orders.parent_id → shop.orders.id: refers to its own table".into()],
        }
    }

    #[test]
    fn a_draft_is_a_declaration_with_a_comment_for_each_choice() {
        let (text, indexes) = render(&shop(), "orders", "pg2es init --root shop.orders");
        let declaration = Declaration::parse("orders", Path::new("orders.yaml"), &text)
            .unwrap_or_else(|err| panic!("{err}\n{text}"));
        assert_eq!(declaration.index_config, None);
        let model = &declaration.model;
        assert_eq!(model.fields.len(), 5, "{text}");
        assert!(
            text.contains(
                "shop.orders: {key: id, key_type: bigint, refs: {customer_id: shop.customer}}"
            ),
            "{text}"
        );
        assert!(
            text.contains("no updated_at-like column: polling needs one"),
            "{text}"
        );
        assert!(
            text.contains("shop.customer: {key: id, changed_by: modified, zone: UTC}"),
            "{text}"
        );
        assert!(text.contains("customer: {list: shop.customer, one: true, fields: {id: id, name: name, modified: modified}}"), "{text}");
        assert!(text.contains("through: shop.order_line"), "{text}");
        assert!(text.contains("link_quantity: {link: quantity}"), "{text}");
        assert!(text.contains("#   shop.orders.parent_id"), "{text}");
        assert!(indexes.contains(
            &"CREATE INDEX ON shop.product (version, id);  -- polling's cursor".to_owned()
        ));
        assert!(indexes
            .iter()
            .any(|i| i.starts_with("CREATE INDEX ON shop.orders (customer_id);")));
    }

    #[test]
    fn names_that_are_not_words_are_quoted() {
        assert_eq!(y("updated_at"), "updated_at");
        assert_eq!(y("Order Date"), "\"Order Date\"");
        assert_eq!(y("on"), "\"on\"");
        let mut used = BTreeSet::from(["genre".to_owned()]);
        assert_eq!(unique(&mut used, "genre"), "genre_list");
    }
}
