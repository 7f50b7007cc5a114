//! The movies pipeline: the only module that knows films, people and genres.
//!
//! One document per `content.film_work` row; people and genres are nested, and a change to a
//! person, a genre or a link row re-indexes every film it touches.

mod document;

use uuid::Uuid;

use crate::extract::{Table, Trigger};
use crate::pipeline::Pipeline;
use crate::transform::Document;

use self::document::{FilmRow, GenreRow, PersonRow};

static TABLES: [Table; 5] = [
    Table {
        name: "film_work",
        relation: "content.film_work",
        cursor_column: "updated_at",
        fan_out: None,
        trigger: Trigger {
            source: "film_work",
            key: "id",
        },
    },
    Table {
        name: "person",
        relation: "content.person",
        cursor_column: "updated_at",
        fan_out: Some(include_str!("sql/person_films.sql")),
        trigger: Trigger {
            source: "person",
            key: "id",
        },
    },
    Table {
        name: "genre",
        relation: "content.genre",
        cursor_column: "updated_at",
        fan_out: Some(include_str!("sql/genre_films.sql")),
        trigger: Trigger {
            source: "genre",
            key: "id",
        },
    },
    // The link tables have no updated_at: new rows are found by created_at.
    Table {
        name: "person_film_work",
        relation: "content.person_film_work",
        cursor_column: "created_at",
        fan_out: Some(include_str!("sql/person_link_films.sql")),
        // A link row changes its film: recorded as a film change, deletes included.
        trigger: Trigger {
            source: "film_work",
            key: "film_work_id",
        },
    },
    Table {
        name: "genre_film_work",
        relation: "content.genre_film_work",
        cursor_column: "created_at",
        fan_out: Some(include_str!("sql/genre_link_films.sql")),
        // A link row changes its film: recorded as a film change, deletes included.
        trigger: Trigger {
            source: "film_work",
            key: "film_work_id",
        },
    },
];

/// The `movies` pipeline.
#[derive(Debug, Default, Clone, Copy)]
pub struct Movies;

impl Pipeline for Movies {
    fn name(&self) -> &'static str {
        "movies"
    }

    fn tables(&self) -> &'static [Table] {
        &TABLES
    }

    /// Three queries per batch (films, people, genres), never a people × genres product.
    async fn build(&self, pool: &sqlx::PgPool, ids: &[Uuid]) -> Result<Vec<Document>, sqlx::Error> {
        let (films, people, genres) = tokio::try_join!(
            sqlx::query(include_str!("sql/films.sql"))
                .bind(ids)
                .fetch_all(pool),
            sqlx::query(include_str!("sql/film_people.sql"))
                .bind(ids)
                .fetch_all(pool),
            sqlx::query(include_str!("sql/film_genres.sql"))
                .bind(ids)
                .fetch_all(pool),
        )?;
        let films = rows(&films, FilmRow::from_row)?;
        let people = rows(&people, PersonRow::from_row)?;
        let genres = rows(&genres, GenreRow::from_row)?;
        let mut built = Vec::with_capacity(films.len());
        document::documents(&films, &people, &genres, |doc| {
            let mut body = Vec::with_capacity(BODY_CAPACITY);
            serde_json::to_writer(&mut body, doc)
                .map_err(|err| sqlx::Error::Decode(Box::new(err)))?;
            built.push(Document {
                id: doc.id,
                body: body.into(),
            });
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(built)
    }
}

/// A little over a typical film document's JSON, so that most bodies need one allocation.
const BODY_CAPACITY: usize = 2048;

fn rows<'r, T>(
    rows: &'r [sqlx::postgres::PgRow],
    decode: impl Fn(&'r sqlx::postgres::PgRow) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, sqlx::Error> {
    rows.iter().map(decode).collect()
}
