//! A declaration checked for shape, without a database: every table a field names is declared,
//! every list has a path to the root, sort keys are fields, no field is declared twice.
//! [`super::schema`] then checks the tables and columns against Postgres.

use serde_saphyr::Spanned;

use super::filter::{self, Condition};
use super::parse::{Fields, RawDetail, RawField, RawPipeline, RawQuery, RawSortKey, RawTable};
use super::Problem;

/// A followed table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TableDecl {
    /// Schema-qualified, as declared: `content.person`.
    pub relation: String,
    /// The key's columns: one, or several for a composite key (checked in `composite.rs`).
    pub key: Vec<String>,
    /// The declared key type, checked against the column's.
    pub key_type: Option<String>,
    pub changed_by: Option<String>,
    pub zone: Option<String>,
    pub refs: Vec<Ref>,
    pub line: u64,
    /// Where `key` is written, for errors about the key found against the database.
    pub key_line: u64,
}

/// Columns holding another table's key: one column, or as many as a composite key has, in
/// its order (`refs: {"trip_region, trip_code": atlas.trip}`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ref {
    pub columns: Vec<String>,
    /// The table (index into [`Model::tables`]) whose key they hold.
    pub target: usize,
    /// Where the ref is written.
    pub line: u64,
}

/// How a list's rows are reached from a root row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Join {
    /// The list table holds the root's key in `root_ref` (one-to-many).
    Child { table: usize, root_ref: Vec<String> },
    /// A link table holds the root's key and the list table's key (many-to-many).
    Through {
        link: usize,
        root_ref: Vec<String>,
        table: usize,
        list_ref: Vec<String>,
    },
    /// The root holds the list table's key in `root_column` (many-to-one, an object).
    Parent {
        table: usize,
        root_column: Vec<String>,
    },
}

impl TableDecl {
    /// The key as written in messages: `id`, or `book_isbn, author_id`.
    pub fn key_text(&self) -> String {
        self.key.join(", ")
    }

    /// The one key column of a table whose rows the escape hatch's `touches` read: checked by
    /// `composite::check` to be a single column.
    pub fn single_key(&self) -> &str {
        &self.key[0]
    }
}

impl Join {
    /// The table whose columns become the fields.
    pub fn table(&self) -> usize {
        match self {
            Join::Child { table, .. }
            | Join::Through { table, .. }
            | Join::Parent { table, .. } => *table,
        }
    }

    /// Where a list's rows meet the root: the table that holds both a root key and a list
    /// row's key (the list table, the link table, or the root itself), with its columns of
    /// each. A nested list's rows hold list rows' keys; this leads them to the root.
    pub fn outer_path<'m>(&'m self, model: &'m Model) -> OuterPath<'m> {
        match self {
            Join::Child { table, root_ref } => OuterPath {
                holder: *table,
                root_key: root_ref,
                row_key: &model.tables[*table].key,
            },
            Join::Through {
                link,
                root_ref,
                list_ref,
                ..
            } => OuterPath {
                holder: *link,
                root_key: root_ref,
                row_key: list_ref,
            },
            Join::Parent { root_column, .. } => OuterPath {
                holder: model.root,
                root_key: &model.root_table().key,
                row_key: root_column,
            },
        }
    }

    /// The table whose columns `where` filters on.
    pub fn filtered(&self) -> usize {
        match self {
            Join::Through { link, .. } => *link,
            other => other.table(),
        }
    }
}

/// See [`Join::outer_path`].
pub(crate) struct OuterPath<'m> {
    /// Index into [`Model::tables`].
    pub holder: usize,
    /// Its columns holding the root's key.
    pub root_key: &'m [String],
    /// Its columns holding the list row's key.
    pub row_key: &'m [String],
}

/// A column of the document (or of a list's object).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Column {
    pub name: String,
    pub column: String,
    /// The value written when the column is NULL (JSON null when absent).
    pub null: Option<serde_json::Value>,
    /// Where it is declared, for errors found against the database.
    pub line: u64,
    /// In a `through` list: the column is the link table's (`{link: role}`).
    pub link: bool,
    /// In `collect`: each value once.
    pub distinct: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct List {
    pub name: String,
    pub line: u64,
    pub join: Join,
    /// An object (or null) instead of an array: a many-to-one `list` with `one: true`.
    pub one: bool,
    /// `where`: every condition must hold.
    pub filter: Vec<Condition>,
    pub fields: Vec<Column>,
    pub collect: Vec<Column>,
    /// Most significant first.
    pub sort: Vec<SortKey>,
    /// `one:` objects inside each of the list's objects (a second hop from the root).
    pub hops: Vec<Hop>,
    /// Lists inside each of the list's objects.
    pub nested: Vec<Nested>,
}

/// A list inside a list's objects: the rows of `table` whose `via` columns hold the key of the
/// outer list's row (a child of the list table), in the declared order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Nested {
    pub name: String,
    pub table: usize,
    pub via: Vec<String>,
    pub fields: Vec<Column>,
    /// Most significant first.
    pub sort: Vec<SortKey>,
    /// How many of the outer list's fields are declared before it: its place in the object.
    pub position: usize,
    /// Its place among the outer list's `one:` objects and lists, as declared.
    pub order: usize,
    pub line: u64,
}

/// A `one:` object inside a list's objects: the row of `table` whose key the list table's
/// `via` column holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hop {
    pub name: String,
    pub table: usize,
    /// The table's relation and key, as the list query joins it.
    pub relation: String,
    pub key: Vec<String>,
    pub via: Vec<String>,
    pub fields: Vec<Column>,
    /// How many of the list's fields are declared before it: its place in the object.
    pub position: usize,
    /// Its place among the list's `one:` objects and lists, as declared.
    pub order: usize,
    pub line: u64,
}

/// One key of a list's order, which the database decides (`ORDER BY` the column, in its
/// collation or the declared one): ascending puts NULL first, descending is its exact reverse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SortKey {
    /// Index into the list's `fields`.
    pub field: usize,
    pub descending: bool,
    /// A collation of `pg_collation` instead of the column's.
    pub collation: Option<String>,
    /// Where it is written, for errors found against the database.
    pub line: u64,
}

impl SortKey {
    /// As `describe` writes it: `0`, `1 desc`, `0 collate "C"`.
    fn describe(&self) -> String {
        let mut text = self.field.to_string();
        if self.descending {
            text.push_str(" desc");
        }
        if let Some(collation) = &self.collation {
            text.push_str(&format!(" collate {collation:?}"));
        }
        text
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    Column(Column),
    List(List),
    /// A plain array of field `field` of the list field `list` (both indexes).
    Names {
        name: String,
        list: usize,
        field: usize,
    },
}

/// The escape hatch: documents built by SQL, changes mapped to root keys by SQL.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    pub sql: String,
    /// Table index → SQL from its changed keys to root keys.
    pub touches: Vec<(usize, String)>,
    /// Where `sql` and `touches` are written, for what the database finds about them.
    pub sql_line: u64,
    pub touches_line: Option<u64>,
}

/// A declaration that holds together; not yet checked against the database.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Model {
    pub alias: String,
    /// As written, relative to the declaration's directory; `None`: derived (see
    /// [`super::derived`]).
    pub index_config: Option<String>,
    pub root: usize,
    pub tables: Vec<TableDecl>,
    /// Empty when `query` builds the documents.
    pub fields: Vec<Field>,
    pub query: Option<Query>,
}

impl Model {
    pub fn root_table(&self) -> &TableDecl {
        &self.tables[self.root]
    }

    /// What shapes the documents, one line a field, tables by name: no line numbers, comments,
    /// cursor columns or table order, which change no document.
    pub fn describe(&self) -> String {
        let relation = |index: usize| self.tables[index].relation.as_str();
        let columns = |columns: &[Column]| {
            columns
                .iter()
                .map(|c| {
                    let from = if c.link { "link." } else { "" };
                    let distinct = if c.distinct { " distinct" } else { "" };
                    format!("{}={from}{}:{:?}{distinct}", c.name, c.column, c.null)
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        let root = self.root_table();
        let mut text = format!("root {} key {}\n", root.relation, root.key_text());
        if let Some(query) = &self.query {
            let words = |sql: &str| sql.split_whitespace().collect::<Vec<_>>().join(" ");
            text.push_str(&format!("query {}\n", words(&query.sql)));
        }
        for field in &self.fields {
            let line = match field {
                Field::Column(c) => format!("column {}={}:{:?}", c.name, c.column, c.null),
                Field::Names { name, list, field } => format!("names {name} of {list}.{field}"),
                Field::List(list) => {
                    let join = match &list.join {
                        Join::Child { table, root_ref } => {
                            format!("child {}.{}", relation(*table), root_ref.join(", "))
                        }
                        Join::Through {
                            link,
                            root_ref,
                            table,
                            list_ref,
                        } => format!(
                            "through {}.{} {}.{} {} key {}",
                            relation(*link),
                            root_ref.join(", "),
                            relation(*link),
                            list_ref.join(", "),
                            relation(*table),
                            self.tables[*table].key_text()
                        ),
                        Join::Parent { table, root_column } => format!(
                            "parent {} {} key {}",
                            root_column.join(", "),
                            relation(*table),
                            self.tables[*table].key_text()
                        ),
                    };
                    let sort: Vec<String> = list.sort.iter().map(SortKey::describe).collect();
                    let hops: String = list
                        .hops
                        .iter()
                        .map(|hop| {
                            format!(
                                " hop {}@{} {}.{} {}",
                                hop.name,
                                hop.position,
                                relation(hop.table),
                                hop.via.join(", "),
                                columns(&hop.fields)
                            )
                        })
                        .collect();
                    let nested: String = list
                        .nested
                        .iter()
                        .map(|inner| {
                            let sort: Vec<String> =
                                inner.sort.iter().map(SortKey::describe).collect();
                            format!(
                                " nested {}@{}#{} {}.{} {} sort=[{}]",
                                inner.name,
                                inner.position,
                                inner.order,
                                relation(inner.table),
                                inner.via.join(", "),
                                columns(&inner.fields),
                                sort.join(", ")
                            )
                        })
                        .collect();
                    // `by=database`: lists are ordered as `ORDER BY` orders them (not by bytes,
                    // as before): an index built before is rebuilt once.
                    format!(
                        "list {} {join} one={} where={:?} fields={} collect={} sort=[{}] by=database{hops}{nested}",
                        list.name,
                        list.one,
                        list.filter,
                        columns(&list.fields),
                        columns(&list.collect),
                        sort.join(", ")
                    )
                }
            };
            text.push_str(&line);
            text.push('\n');
        }
        text
    }
}

pub(super) fn build(raw: RawPipeline) -> Result<Model, Problem> {
    let names: Vec<String> = raw.tables.keys().cloned().collect();
    let index_of = |relation: &str| names.iter().position(|name| name == relation);
    let mut tables = Vec::new();
    for (relation, table) in &raw.tables {
        tables.push(table_decl(relation, table, &index_of)?);
    }
    let root = index_of(&raw.root.value).ok_or_else(|| {
        Problem::at(
            "root",
            &raw.root,
            format!("{} is not declared under tables", raw.root.value),
        )
    })?;
    let model = Model {
        alias: raw.index.alias.value.clone(),
        index_config: raw.index.config.as_ref().map(|config| config.value.clone()),
        root,
        tables,
        fields: Vec::new(),
        query: None,
    };
    if model.alias.trim().is_empty() {
        return Err(Problem::at(
            "index.alias",
            &raw.index.alias,
            "is empty".into(),
        ));
    }
    let model = match (&raw.document, &raw.query) {
        (Some(document), None) => {
            let fields = document_fields(&model, &document.value, &index_of)?;
            if fields.is_empty() {
                return Err(Problem::at(
                    "document",
                    document,
                    "declares no field".into(),
                ));
            }
            Model { fields, ..model }
        }
        (None, Some(query)) => {
            if model.index_config.is_none() {
                return Err(Problem::at(
                    "index.alias",
                    &raw.index.alias,
                    "a `query` declaration needs `index.config`: its documents' fields are only known to its SQL".into(),
                ));
            }
            let query = query_of(&model, query, &index_of)?;
            Model {
                query: Some(query),
                ..model
            }
        }
        (Some(document), Some(_)) => {
            return Err(Problem::at(
                "document",
                document,
                "say either `document` (fields) or `query` (SQL), not both".into(),
            ))
        }
        (None, None) => {
            return Err(Problem::at(
                "root",
                &raw.root,
                "say what a document holds: `document` (fields) or `query` (SQL)".into(),
            ))
        }
    };
    every_table_is_read(&model, &raw)?;
    Ok(model)
}

fn query_of(
    model: &Model,
    query: &Spanned<RawQuery>,
    index_of: &impl Fn(&str) -> Option<usize>,
) -> Result<Query, Problem> {
    if query.value.sql.value.trim().is_empty() {
        return Err(Problem::at("query.sql", query, "is empty".into()));
    }
    let declared = query.value.touches.as_ref();
    let mut touches = Vec::new();
    for (relation, sql) in declared.into_iter().flat_map(|t| &t.value) {
        let key = format!("query.touches.{relation}");
        let Some(table) = index_of(relation) else {
            return Err(Problem::at(
                &key,
                sql,
                format!("{relation} is not declared under tables"),
            ));
        };
        if table == model.root {
            return Err(Problem::at(
                &key,
                sql,
                "the root's own changes touch its own documents: no query".into(),
            ));
        }
        touches.push((table, sql.value.clone()));
    }
    Ok(Query {
        sql: query.value.sql.value.clone(),
        touches,
        sql_line: query.value.sql.referenced.line(),
        touches_line: declared.map(|t| t.referenced.line()),
    })
}

/// A followed table whose changes would reach no document is a mistake, not a silent no-op.
fn every_table_is_read(model: &Model, raw: &RawPipeline) -> Result<(), Problem> {
    for (index, table) in model.tables.iter().enumerate() {
        let read = index == model.root
            || model.fields.iter().any(|field| match field {
                Field::List(list) => {
                    list.join.table() == index
                        || matches!(list.join, Join::Through { link, .. } if link == index)
                        || list.hops.iter().any(|hop| hop.table == index)
                        || list.nested.iter().any(|inner| inner.table == index)
                }
                _ => false,
            })
            || model
                .query
                .as_ref()
                .is_some_and(|q| q.touches.iter().any(|(t, _)| *t == index));
        if !read {
            let hint = match model.query {
                Some(_) => "add a query.touches entry for it, or drop it",
                None => "no field reads it: use it in a list, or drop it",
            };
            return Err(Problem::at(
                &format!("tables.{}", table.relation),
                &raw.tables[&table.relation],
                hint.into(),
            ));
        }
    }
    Ok(())
}

fn table_decl(
    relation: &str,
    table: &Spanned<RawTable>,
    index_of: &impl Fn(&str) -> Option<usize>,
) -> Result<TableDecl, Problem> {
    let key = format!("tables.{relation}");
    if relation.split('.').count() != 2 {
        return Err(Problem::at(
            &key,
            table,
            "name tables with their schema, e.g. public.orders".into(),
        ));
    }
    let raw = &table.value;
    let mut refs = Vec::new();
    for (column, target) in &raw.refs {
        let Some(target_index) = index_of(&target.value) else {
            return Err(Problem::at(
                &format!("{key}.refs.{column}"),
                target,
                format!("{} is not declared under tables", target.value),
            ));
        };
        let columns: Vec<String> = column.split(',').map(|c| c.trim().to_owned()).collect();
        if columns.iter().any(String::is_empty) {
            return Err(Problem::at(
                &format!("{key}.refs.{column}"),
                target,
                "name the column, or the columns of a composite key as `a, b`".into(),
            ));
        }
        refs.push(Ref {
            columns,
            target: target_index,
            line: target.referenced.line(),
        });
    }
    if raw.zone.is_some() && raw.changed_by.is_none() {
        return Err(Problem::at(
            &format!("{key}.zone"),
            table,
            "a zone is only for a changed_by column".into(),
        ));
    }
    Ok(TableDecl {
        relation: relation.to_owned(),
        key: raw.key.value.0.clone(),
        key_type: raw.key_type.as_ref().map(|t| t.value.clone()),
        changed_by: raw.changed_by.as_ref().map(|c| c.value.clone()),
        zone: raw.zone.as_ref().map(|z| z.value.clone()),
        refs,
        line: table.referenced.line(),
        key_line: raw.key.referenced.line(),
    })
}

fn document_fields(
    model: &Model,
    document: &Fields,
    index_of: &impl Fn(&str) -> Option<usize>,
) -> Result<Vec<Field>, Problem> {
    let mut fields: Vec<Field> = Vec::new();
    for (name, spec) in &document.0 {
        let key = format!("document.{}", name.value);
        let field = match &spec.value {
            RawField::Column(column) => Field::Column(Column {
                name: name.value.clone(),
                column: column.clone(),
                null: None,
                line: name.referenced.line(),
                link: false,
                distinct: false,
            }),
            RawField::Detailed(detail) => {
                detailed(model, &fields, &name.value, &key, spec, detail, index_of)?
            }
        };
        fields.push(field);
    }
    Ok(fields)
}

fn detailed(
    model: &Model,
    earlier: &[Field],
    name: &str,
    key: &str,
    spec: &Spanned<RawField>,
    detail: &RawDetail,
    index_of: &impl Fn(&str) -> Option<usize>,
) -> Result<Field, Problem> {
    if detail.distinct || detail.link.is_some() {
        return Err(Problem::at(
            key,
            spec,
            "`distinct` and `link` are for a list's columns, not the root's".into(),
        ));
    }
    if let Some(column) = &detail.column {
        return Ok(Field::Column(Column {
            name: name.to_owned(),
            column: column.clone(),
            null: detail.null.clone(),
            line: spec.referenced.line(),
            link: false,
            distinct: false,
        }));
    }
    if let Some(list) = &detail.names {
        return names_field(earlier, name, key, spec, list, detail);
    }
    let Some(table) = &detail.list else {
        return Err(Problem::at(
            key,
            spec,
            "say `column`, `list` or `names`".into(),
        ));
    };
    let mut list = list_field(model, name, key, table, detail, index_of)?;
    list.line = spec.referenced.line();
    Ok(Field::List(list))
}

fn names_field(
    earlier: &[Field],
    name: &str,
    key: &str,
    spec: &Spanned<RawField>,
    list: &Spanned<String>,
    detail: &RawDetail,
) -> Result<Field, Problem> {
    let Some(list_index) = earlier
        .iter()
        .position(|f| matches!(f, Field::List(l) if l.name == list.value && !l.one))
    else {
        return Err(Problem::at(
            &format!("{key}.names"),
            list,
            format!(
                "{} is not a list field declared before this one",
                list.value
            ),
        ));
    };
    let Field::List(of) = &earlier[list_index] else {
        unreachable!("found as a list above")
    };
    let Some(field) = &detail.field else {
        return Err(Problem::at(key, spec, "`names` needs `field`".into()));
    };
    let field_index = of
        .fields
        .iter()
        .position(|f| f.name == field.value)
        .ok_or_else(|| {
            Problem::at(
                &format!("{key}.field"),
                field,
                format!("{} is not a field of {}", field.value, of.name),
            )
        })?;
    Ok(Field::Names {
        name: name.to_owned(),
        list: list_index,
        field: field_index,
    })
}

fn list_field(
    model: &Model,
    name: &str,
    key: &str,
    table: &Spanned<String>,
    detail: &RawDetail,
    index_of: &impl Fn(&str) -> Option<usize>,
) -> Result<List, Problem> {
    let undeclared = |what: &str, value: &Spanned<String>| {
        Problem::at(
            &format!("{key}.{what}"),
            value,
            format!("{} is not declared under tables", value.value),
        )
    };
    let list_table = index_of(&table.value).ok_or_else(|| undeclared("list", table))?;
    let join = match &detail.through {
        Some(through) => {
            let link = index_of(&through.value).ok_or_else(|| undeclared("through", through))?;
            let (Some(root_ref), Some(list_ref)) = (
                ref_to(&model.tables[link], model.root),
                ref_to(&model.tables[link], list_table),
            ) else {
                return Err(Problem::at(
                    &format!("{key}.through"),
                    through,
                    format!(
                        "{} has no path to the root: its refs must point at {} and at {}",
                        through.value,
                        model.root_table().relation,
                        table.value
                    ),
                ));
            };
            Join::Through {
                link,
                root_ref,
                table: list_table,
                list_ref,
            }
        }
        None => match (
            ref_to(&model.tables[list_table], model.root),
            ref_to(model.root_table(), list_table),
        ) {
            (Some(root_ref), _) if list_table != model.root => Join::Child {
                table: list_table,
                root_ref,
            },
            (_, Some(root_column)) => Join::Parent {
                table: list_table,
                root_column,
            },
            _ => {
                return Err(Problem::at(
                    &format!("{key}.list"),
                    table,
                    format!(
                        "{} has no path to the root {}: declare refs from one to the other, or a `through` link table",
                        table.value,
                        model.root_table().relation
                    ),
                ))
            }
        },
    };
    let one = detail.one;
    if one != matches!(join, Join::Parent { .. }) {
        return Err(Problem::at(
            &format!("{key}.list"),
            table,
            match one {
                true => {
                    "`one: true` needs the root to hold this table's key in one of its refs".into()
                }
                false => {
                    "the root holds this table's key: one row per document, say `one: true`".into()
                }
            },
        ));
    }
    let fields = columns(detail.fields.as_ref(), &format!("{key}.fields"), true)?;
    let (hops, nested) = objects(model, detail.fields.as_ref(), key, list_table, index_of)?;
    if fields.is_empty() {
        return Err(Problem::at(key, table, "a list needs `fields`".into()));
    }
    let collect = columns(detail.collect.as_ref(), &format!("{key}.collect"), false)?;
    if let Some(column) = fields.iter().find(|c| c.distinct) {
        return Err(Problem::at_line(
            &format!("{key}.fields.{}", column.name),
            column.line,
            "`distinct` is for a `collect` column: fields are one value per object".into(),
        ));
    }
    let through = matches!(join, Join::Through { .. });
    if let Some(linked) = fields.iter().chain(&collect).find(|c| c.link && !through) {
        return Err(Problem::at_line(
            &format!("{key}.{}", linked.name),
            linked.line,
            "`link:` names a column of the link table: this list has no `through`".into(),
        ));
    }
    let sort = sort_keys(&detail.sort, &fields, &format!("{key}.sort"))?;
    let mut filter = Vec::new();
    for (column, value) in &detail.filter {
        let conditions = filter::parse(column, value)
            .map_err(|message| Problem::at(&format!("{key}.where.{column}"), table, message))?;
        filter.extend(conditions);
    }
    Ok(List {
        name: name.to_owned(),
        line: 0,
        join,
        one,
        filter,
        fields,
        collect,
        sort,
        hops,
        nested,
    })
}

/// The `one:` objects (tables the list table refs) and the lists (tables that ref the list
/// table) among a list's fields.
fn objects(
    model: &Model,
    fields: Option<&Fields>,
    key: &str,
    list_table: usize,
    index_of: &impl Fn(&str) -> Option<usize>,
) -> Result<(Vec<Hop>, Vec<Nested>), Problem> {
    let (mut hops, mut nested) = (Vec::new(), Vec::new());
    let mut position = 0;
    for (name, spec) in fields.map(|f| f.0.as_slice()).unwrap_or_default() {
        let RawField::Detailed(detail) = &spec.value else {
            position += 1;
            continue;
        };
        let Some(table) = &detail.list else {
            position += 1;
            continue;
        };
        let at = format!("{key}.fields.{}", name.value);
        let problem = |message: String| Problem::at(&at, spec, message);
        let index = index_of(&table.value)
            .ok_or_else(|| problem(format!("{} is not declared under tables", table.value)))?;
        let order = hops.len() + nested.len();
        let line = name.referenced.line();
        if !detail.one {
            nested.push(Nested {
                name: name.value.clone(),
                table: index,
                via: nested_via(model, list_table, index, &problem)?,
                fields: nested_fields(detail, &at, &problem)?,
                sort: Vec::new(),
                position,
                order,
                line,
            });
            let inner = nested.last_mut().expect("pushed above");
            inner.sort = sort_keys(&detail.sort, &inner.fields, &format!("{at}.sort"))?;
            continue;
        }
        let via = ref_to(&model.tables[list_table], index).ok_or_else(|| {
            problem(format!(
                "{} has no refs to {}: a `one:` object inside a list is the row the list table refs",
                model.tables[list_table].relation, table.value
            ))
        })?;
        let fields = columns(detail.fields.as_ref(), &format!("{at}.fields"), false)?;
        if fields.is_empty() || fields.iter().any(|c| c.link || c.distinct) {
            return Err(problem(
                "a `one:` object inside a list needs `fields`, plain columns of its table".into(),
            ));
        }
        hops.push(Hop {
            name: name.value.clone(),
            table: index,
            relation: model.tables[index].relation.clone(),
            key: model.tables[index].key.clone(),
            via,
            fields,
            position,
            order,
            line,
        });
    }
    Ok((hops, nested))
}

/// The columns of a nested list's table that hold the outer list table's key.
fn nested_via(
    model: &Model,
    list_table: usize,
    table: usize,
    problem: &impl Fn(String) -> Problem,
) -> Result<Vec<String>, Problem> {
    ref_to(&model.tables[table], list_table).ok_or_else(|| {
        problem(format!(
            "{} has no refs to {}: a list inside a list's objects holds the rows that ref the list table's row",
            model.tables[table].relation, model.tables[list_table].relation
        ))
    })
}

/// A nested list's fields: plain columns of its table, sorted by `sort`; nothing deeper.
fn nested_fields(
    detail: &RawDetail,
    at: &str,
    problem: &impl Fn(String) -> Problem,
) -> Result<Vec<Column>, Problem> {
    if detail.through.is_some() || detail.collect.is_some() || !detail.filter.is_empty() {
        return Err(problem(
            "a list inside a list's objects takes `fields` and `sort` (no `through`, `collect` or `where`): use the SQL escape hatch for more".into(),
        ));
    }
    let fields = columns(detail.fields.as_ref(), &format!("{at}.fields"), false)?;
    if fields.is_empty() || fields.iter().any(|c| c.link || c.distinct) {
        return Err(problem(
            "a list inside a list's objects needs `fields`, plain columns of its table".into(),
        ));
    }
    Ok(fields)
}

fn sort_keys(
    written: &[Spanned<RawSortKey>],
    fields: &[Column],
    key: &str,
) -> Result<Vec<SortKey>, Problem> {
    let mut sort = Vec::new();
    for sort_key in written {
        let raw = &sort_key.value;
        let problem = |message: String| Problem::at(key, sort_key, message);
        let field = fields
            .iter()
            .position(|f| f.name == raw.field)
            .ok_or_else(|| problem(format!("{} is not one of this list's fields", raw.field)))?;
        let descending = match raw.order.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(problem(format!(
                    "the order of {} is `{other}`: say `asc` or `desc`",
                    raw.field
                )))
            }
        };
        if let Some(collation) = &raw.collate {
            if collation.is_empty() || collation.contains('"') || collation.contains('\0') {
                return Err(problem(format!(
                    "`{collation}` cannot be a collation name (see pg_collation)"
                )));
            }
        }
        sort.push(SortKey {
            field,
            descending,
            collation: raw.collate.clone(),
            line: sort_key.referenced.line(),
        });
    }
    Ok(sort)
}

/// The columns of `table` that hold `target`'s key, when it declares them.
fn ref_to(table: &TableDecl, target: usize) -> Option<Vec<String>> {
    table
        .refs
        .iter()
        .find(|r| r.target == target)
        .map(|r| r.columns.clone())
}

/// The plain columns among `fields`; with `objects`, `one:` objects are skipped ([`hops`]
/// reads them), else refused.
fn columns(fields: Option<&Fields>, key: &str, objects: bool) -> Result<Vec<Column>, Problem> {
    let mut columns = Vec::new();
    let Some(fields) = fields else {
        return Ok(columns);
    };
    for (name, spec) in &fields.0 {
        let line = name.referenced.line();
        let column =
            match &spec.value {
                RawField::Column(column) => Column {
                    name: name.value.clone(),
                    column: column.clone(),
                    null: None,
                    line,
                    link: false,
                    distinct: false,
                },
                RawField::Detailed(detail) if detail.list.is_some() && objects => continue,
            RawField::Detailed(detail) if detail.names.is_none() && detail.list.is_none() => {
                    let (column, link) = match (&detail.column, &detail.link) {
                    (Some(column), None) => (column.clone(), false),
                    (None, Some(column)) => (column.clone(), true),
                    _ => return Err(Problem::at(
                        &format!("{key}.{}", name.value),
                        spec,
                        "say `column: NAME` (the list table's) or `link: NAME` (the link table's)"
                            .into(),
                    )),
                };
                    let null = detail.null.clone();
                    Column {
                        name: name.value.clone(),
                        column,
                        null,
                        line,
                        link,
                        distinct: detail.distinct,
                    }
                }
                RawField::Detailed(_) => return Err(Problem::at(
                    &format!("{key}.{}", name.value),
                    spec,
                    "inside a list, a field is a column, a `one: true` object of a table the list table refs, or a list of a table that refs it; nothing deeper (use the SQL escape hatch)"
                        .into(),
                )),
            };
        columns.push(column);
    }
    Ok(columns)
}
