//! A [`Draft`] written as a declaration that runs as it is, each choice with a one-line
//! comment, and the indexes its cursors and fan-out need.

use std::collections::{BTreeMap, BTreeSet};

use super::draft::{Draft, Hop, Relation, TableInfo};

/// The column polling follows, with its line of `tables:` and why.
struct Cursor {
    entry: String,
    column: Option<String>,
    why: String,
}

fn cursor(table: &TableInfo) -> Cursor {
    match table.cursor_column() {
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

/// Columns as an index lists them: `a, b`.
fn listed(columns: &[String]) -> String {
    columns.join(", ")
}

/// A key as `key:` declares it: `id`, or `[a, b]` for a composite key.
fn key_entry(key: &[String]) -> String {
    match key {
        [one] => y(one),
        several => {
            let parts: Vec<String> = several.iter().map(|c| y(c)).collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

/// A name for the field of a ref: its one column without `_id`, else the table's name.
fn field_name<'a>(columns: &'a [String], table: &'a TableInfo) -> &'a str {
    match columns {
        [one] => one.strip_suffix("_id").unwrap_or(table.short()),
        _ => table.short(),
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
                table.relation,
                listed(&table.key)
            ));
        }
        let key_type = match (key_type, table.key_type) {
            (true, Some(key_type)) => format!(", key_type: {key_type}"),
            _ => String::new(),
        };
        let entry = format!("key: {}{key_type}{}", key_entry(&table.key), cursor.entry);
        let key = match table.key.as_slice() {
            [one] => one.clone(),
            several => format!("({})", listed(several)),
        };
        let why = format!("{why}; key {key} (its primary key); {}", cursor.why);
        self.lines
            .entry(table.relation.clone())
            .or_insert((why, entry, BTreeMap::new()));
    }

    /// `relation`'s `columns` hold `to`'s key: one ref, `"a, b"` for several columns.
    fn refs(&mut self, relation: &str, columns: &[String], to: &str) {
        if let Some((_, _, refs)) = self.lines.get_mut(relation) {
            refs.insert(listed(columns), to.to_owned());
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
/// `--depth 2` a `one:` object for each table it refs; and the fields that tell apart two
/// links to one row (the link's own key columns), which its sort ends with.
fn list_fields(
    list: &TableInfo,
    link: Option<(&TableInfo, &[String])>,
    hops: &[Hop],
    tables: &mut Tables,
) -> (String, Vec<String>) {
    let mut tie_breaks = Vec::new();
    let mut used = BTreeSet::new();
    let mut out = String::from("    fields:\n");
    for (column, _) in &list.columns {
        used.insert(column.clone());
        out.push_str(&format!("      {}: {}\n", y(column), y(column)));
    }
    if let Some((link, skip)) = link {
        for (column, _) in &link.columns {
            if skip.contains(column) {
                continue;
            }
            let name = unique(&mut used, &format!("link_{column}"));
            out.push_str(&format!("      {}: {{link: {}}}\n", y(&name), y(column)));
            if link.key.contains(column) {
                tie_breaks.push(name);
            }
        }
    }
    for hop in hops {
        let (column, table) = (listed(&hop.columns), &hop.table);
        let why = format!("{}'s {column} refs it: a second hop", list.relation);
        tables.add(table, &why, false);
        tables.refs(&list.relation, &hop.columns, &table.relation);
        tables.indexes.push(format!(
            "CREATE INDEX ON {} ({column});  -- the documents a changed {} touches",
            list.relation, table.relation
        ));
        let name = unique(&mut used, field_name(&hop.columns, table));
        out.push_str(&format!(
            "      # {column} refs {}: one object (or null) in each item\n      {}: {{list: {}, one: true, fields: {}}}\n",
            table.relation,
            y(&name),
            table.relation,
            fields(table)
        ));
    }
    (out, tie_breaks)
}

/// What the draft says of its index config when none is named.
const DERIVED: &str = "  # no `config:`: the index config is derived from the fields and the column types\n  # (`pg2es check` prints it; `pg2es init --index-config` writes it out to tune analyzers)\n";

/// The draft `text` naming `file` (beside it) as its index config instead of deriving one.
pub(crate) fn name_index_config(text: &str, file: &str) -> String {
    text.replacen(
        DERIVED,
        &format!("  # written by --index-config from the derived one: tune analyzers and mappings there\n  config: {file}\n"),
        1,
    )
}

/// The declaration's text and the `CREATE INDEX` statements its queries need.
pub(crate) fn render(draft: &Draft, name: &str, command: &str) -> (String, Vec<String>) {
    let root = &draft.root;
    let mut out = format!(
        "# Drafted by `{command}`: edit rather than write. Each choice says why.\nindex:\n  alias: {}\n{DERIVED}\nroot: {}\n\n",
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
        Relation::Parent { columns, table } => parent(root, columns, table, tables, used),
        Relation::Child {
            table,
            columns,
            hops,
        } => child(root, (table, hops), columns, tables, used),
        Relation::Through {
            link,
            root_columns,
            table,
            list_columns,
            hops,
        } => {
            let columns = [root_columns, list_columns];
            through(root, link, columns, (table, hops), tables, used)
        }
    }
}

/// The root's `columns` ref `table`: one object (or null).
fn parent(
    root: &TableInfo,
    columns: &[String],
    table: &TableInfo,
    tables: &mut Tables,
    used: &mut BTreeSet<String>,
) -> String {
    let column = listed(columns);
    tables.add(table, &format!("the root refs it by {column}"), false);
    tables.refs(&root.relation, columns, &table.relation);
    tables.indexes.push(format!(
        "CREATE INDEX ON {} ({column});  -- the documents a changed {} touches",
        root.relation, table.relation
    ));
    let name = unique(used, field_name(columns, table));
    format!(
        "  # {column} refs {}: one object (or null)\n  {}: {{list: {}, one: true, fields: {}}}\n",
        table.relation,
        y(&name),
        table.relation,
        fields(table)
    )
}

/// `table.columns` ref the root: a list of its rows, by key.
fn child(
    root: &TableInfo,
    (table, hops): (&TableInfo, &[Hop]),
    columns: &[String],
    tables: &mut Tables,
    used: &mut BTreeSet<String>,
) -> String {
    let column = listed(columns);
    tables.add(table, &format!("its {column} refs the root"), false);
    tables.refs(&table.relation, columns, &root.relation);
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
        list_fields(table, None, hops, tables).0,
        sort(&table.key)
    )
}

/// A list's `sort:` entries: its key's columns.
fn sort(key: &[String]) -> String {
    let parts: Vec<String> = key.iter().map(|c| y(c)).collect();
    parts.join(", ")
}

/// `link` refs the root and `table`: a list of `table`'s rows through it, by key.
fn through(
    root: &TableInfo,
    link: &TableInfo,
    [root_columns, list_columns]: [&Vec<String>; 2],
    (table, hops): (&TableInfo, &[Hop]),
    tables: &mut Tables,
    used: &mut BTreeSet<String>,
) -> String {
    let why = format!("linked to the root through {}", link.relation);
    tables.add(table, &why, false);
    let why = "links the root and a list: two foreign keys and little else";
    tables.add(link, why, false);
    tables.refs(&link.relation, root_columns, &root.relation);
    tables.refs(&link.relation, list_columns, &table.relation);
    let (root_column, list_column) = (listed(root_columns), listed(list_columns));
    tables.indexes.push(format!(
        "CREATE INDEX ON {} ({root_column});  -- the links of a document",
        link.relation
    ));
    tables.indexes.push(format!(
        "CREATE INDEX ON {} ({list_column}, {root_column});  -- the documents a changed {} touches",
        link.relation, table.relation
    ));
    let name = unique(used, table.short());
    let skip = [&root_columns[..], &list_columns[..]].concat();
    let (fields, tie_breaks) = list_fields(table, Some((link, &skip)), hops, tables);
    let order: Vec<String> = table.key.iter().chain(&tie_breaks).cloned().collect();
    format!(
        "  # {} links the root to {}: a through list, by key, with the link's own columns\n  {}:\n    list: {}\n    through: {}\n{}    sort: [{}]\n",
        link.relation,
        table.relation,
        y(&name),
        table.relation,
        link.relation,
        fields,
        sort(&order)
    )
}

#[cfg(test)]
#[path = "draft_text_tests.rs"]
mod tests;
