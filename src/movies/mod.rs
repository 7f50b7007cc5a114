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
            sqlx::query_as::<_, FilmRow>(include_str!("sql/films.sql"))
                .bind(ids)
                .fetch_all(pool),
            sqlx::query_as::<_, PersonRow>(include_str!("sql/film_people.sql"))
                .bind(ids)
                .fetch_all(pool),
            sqlx::query_as::<_, GenreRow>(include_str!("sql/film_genres.sql"))
                .bind(ids)
                .fetch_all(pool),
        )?;
        document::documents(films, people, genres)
            .into_iter()
            .map(|doc| {
                let body =
                    serde_json::to_vec(&doc).map_err(|err| sqlx::Error::Decode(Box::new(err)))?;
                Ok(Document {
                    id: doc.id,
                    body: body.into(),
                })
            })
            .collect()
    }
}
