//! Rows → film documents: the shape of the `movies` index.
//!
//! Strings are borrowed from the Postgres rows and written straight into the JSON body: a
//! back-fill decodes millions of names, and a copy of each was a fair share of pg2es's CPU
//! (bench/NOTES.md).

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::ser::{Serialize, SerializeSeq, Serializer};
use sqlx::postgres::{PgRow, Postgres};
use sqlx::{Decode, Row, Type};
use uuid::Uuid;

/// Column `index` of `row`, read by position; a decoding error names the column.
fn column<'r, T>(row: &'r PgRow, index: usize, name: &str) -> Result<T, sqlx::Error>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(index).map_err(|err| match err {
        sqlx::Error::ColumnDecode { source, .. } => sqlx::Error::ColumnDecode {
            index: name.to_owned(),
            source,
        },
        other => other,
    })
}

/// Columns by position, in the order of `sql/films.sql`.
#[derive(Debug, Clone)]
pub(crate) struct FilmRow<'r> {
    pub id: Uuid,
    pub title: &'r str,
    pub description: Option<&'r str>,
    pub rating: Option<f32>,
    pub kind: &'r str,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl<'r> FilmRow<'r> {
    pub fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: column(row, 0, "film_work.id")?,
            title: column(row, 1, "film_work.title")?,
            description: column(row, 2, "film_work.description")?,
            rating: column(row, 3, "film_work.rating")?,
            kind: column(row, 4, "film_work.type")?,
            created_at: column(row, 5, "film_work.created_at")?,
            updated_at: column(row, 6, "film_work.updated_at")?,
        })
    }
}

/// Columns by position, in the order of `sql/film_people.sql`.
#[derive(Debug, Clone)]
pub(crate) struct PersonRow<'r> {
    pub film_work_id: Uuid,
    pub id: Uuid,
    pub full_name: &'r str,
    pub role: &'r str,
}

impl<'r> PersonRow<'r> {
    pub fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            film_work_id: column(row, 0, "person_film_work.film_work_id")?,
            id: column(row, 1, "person.id")?,
            full_name: column(row, 2, "person.full_name")?,
            role: column(row, 3, "person_film_work.role")?,
        })
    }
}

/// Columns by position, in the order of `sql/film_genres.sql`.
#[derive(Debug, Clone)]
pub(crate) struct GenreRow<'r> {
    pub film_work_id: Uuid,
    pub id: Uuid,
    pub name: Option<&'r str>,
}

impl<'r> GenreRow<'r> {
    pub fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            film_work_id: column(row, 0, "genre_film_work.film_work_id")?,
            id: column(row, 1, "genre.id")?,
            name: column(row, 2, "genre.name")?,
        })
    }
}

/// `{"id": …, "name": …}`; lists of these are sorted by name, then id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub(crate) struct Named<N> {
    // Field order gives the sort order: by name, then id.
    #[serde(skip)]
    sort_name: N,
    pub id: Uuid,
    pub name: N,
}

impl<N: Copy> Named<N> {
    fn new(id: Uuid, name: N) -> Self {
        Self {
            sort_name: name,
            id,
            name,
        }
    }
}

/// The names of a list of people, as a JSON array of strings.
#[derive(Debug)]
struct Names<'a, 'r>(&'a [Named<&'r str>]);

impl Serialize for Names<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for person in self.0 {
            seq.serialize_element(person.name)?;
        }
        seq.end()
    }
}

/// One film document, borrowing its strings from the rows.
#[derive(Debug, serde::Serialize)]
pub(crate) struct FilmDocument<'a, 'r> {
    pub id: Uuid,
    title: &'r str,
    description: Option<&'r str>,
    imdb_rating: Option<f32>,
    #[serde(rename = "type")]
    kind: &'r str,
    genre: &'a [Named<Option<&'r str>>],
    directors: &'a [Named<&'r str>],
    director: Names<'a, 'r>,
    actors: &'a [Named<&'r str>],
    actors_names: Names<'a, 'r>,
    writers: &'a [Named<&'r str>],
    writers_names: Names<'a, 'r>,
    created_at: Option<String>,
    updated_at: Option<String>,
}

#[derive(Default)]
struct Credits<'r> {
    genres: Vec<Named<Option<&'r str>>>,
    directors: Vec<Named<&'r str>>,
    actors: Vec<Named<&'r str>>,
    writers: Vec<Named<&'r str>>,
}

fn timestamp(value: Option<DateTime<Utc>>) -> Option<String> {
    value.map(|at| at.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// Joins one batch of rows into documents, one per film row, and hands each to `emit`. Lists
/// are sorted by name then id.
pub(crate) fn documents<E>(
    films: &[FilmRow<'_>],
    people: &[PersonRow<'_>],
    genres: &[GenreRow<'_>],
    mut emit: impl FnMut(&FilmDocument<'_, '_>) -> Result<(), E>,
) -> Result<(), E> {
    let mut credits: HashMap<Uuid, Credits<'_>> = HashMap::with_capacity(films.len());
    for person in people {
        let entry = credits.entry(person.film_work_id).or_default();
        let named = Named::new(person.id, person.full_name);
        match person.role {
            "actor" => entry.actors.push(named),
            "director" => entry.directors.push(named),
            "writer" => entry.writers.push(named),
            other => tracing::debug!(role = other, "ignoring unknown role"),
        }
    }
    for genre in genres {
        let entry = credits.entry(genre.film_work_id).or_default();
        entry.genres.push(Named::new(genre.id, genre.name));
    }
    for film in films {
        let mut credit = credits.remove(&film.id).unwrap_or_default();
        credit.genres.sort_unstable();
        credit.directors.sort_unstable();
        credit.actors.sort_unstable();
        credit.writers.sort_unstable();
        emit(&FilmDocument {
            id: film.id,
            title: film.title,
            description: film.description,
            imdb_rating: film.rating,
            kind: film.kind,
            genre: &credit.genres,
            directors: &credit.directors,
            director: Names(&credit.directors),
            actors: &credit.actors,
            actors_names: Names(&credit.actors),
            writers: &credit.writers,
            writers_names: Names(&credit.writers),
            created_at: timestamp(film.created_at),
            updated_at: timestamp(film.updated_at),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// The documents as their JSON text reads back, as the bulk body carries them.
    fn built(
        films: &[FilmRow<'_>],
        people: &[PersonRow<'_>],
        genres: &[GenreRow<'_>],
    ) -> Vec<serde_json::Value> {
        let mut docs = Vec::new();
        documents(films, people, genres, |doc| {
            let text = serde_json::to_string(doc)?;
            docs.push(serde_json::from_str(&text)?);
            Ok::<_, serde_json::Error>(())
        })
        .unwrap();
        docs
    }

    fn film(n: u128, title: &str) -> FilmRow<'_> {
        FilmRow {
            id: id(n),
            title,
            description: None,
            rating: Some(7.3),
            kind: "movie",
            created_at: Some("2021-06-16T20:14:09.000001Z".parse().unwrap()),
            updated_at: Some("2021-06-16T20:14:09.310123Z".parse().unwrap()),
        }
    }

    fn person<'r>(film: u128, n: u128, full_name: &'r str, role: &'r str) -> PersonRow<'r> {
        PersonRow {
            film_work_id: id(film),
            id: id(n),
            full_name,
            role,
        }
    }

    #[test]
    fn builds_the_documented_shape() {
        let docs = built(
            &[film(1, "Film 1")],
            &[
                person(1, 12, "Zoe", "actor"),
                person(1, 11, "Adam", "actor"),
                person(1, 10, "Adam", "actor"),
                person(1, 11, "Adam", "director"),
                person(1, 13, "Вера", "writer"),
            ],
            &[
                GenreRow {
                    film_work_id: id(1),
                    id: id(21),
                    name: Some("Drama"),
                },
                GenreRow {
                    film_work_id: id(1),
                    id: id(20),
                    name: Some("Comedy"),
                },
            ],
        );
        // Through text, as the bulk body is: an f32 keeps its short decimal form there.
        assert_eq!(
            docs[0],
            json!({
                "id": id(1), "title": "Film 1", "description": null, "imdb_rating": 7.3,
                "type": "movie",
                "genre": [{"id": id(20), "name": "Comedy"}, {"id": id(21), "name": "Drama"}],
                "directors": [{"id": id(11), "name": "Adam"}], "director": ["Adam"],
                "actors": [{"id": id(10), "name": "Adam"}, {"id": id(11), "name": "Adam"}, {"id": id(12), "name": "Zoe"}],
                "actors_names": ["Adam", "Adam", "Zoe"],
                "writers": [{"id": id(13), "name": "Вера"}], "writers_names": ["Вера"],
                "created_at": "2021-06-16T20:14:09.000001Z",
                "updated_at": "2021-06-16T20:14:09.310123Z"
            })
        );
    }

    #[test]
    fn film_without_credits_has_empty_lists_and_null_rating() {
        let mut row = film(2, "Film 2");
        row.rating = None;
        let docs = built(
            &[row, film(3, "Film 3")],
            &[person(3, 30, "X", "writer")],
            &[],
        );
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["imdb_rating"], serde_json::Value::Null);
        for field in [
            "genre",
            "directors",
            "director",
            "actors",
            "actors_names",
            "writers",
            "writers_names",
        ] {
            assert_eq!(docs[0][field], json!([]), "{field}");
        }
        assert_eq!(docs[1]["writers_names"], json!(["X"]));
    }

    #[test]
    fn rating_keeps_its_decimal_form() {
        let mut text = String::new();
        documents(&[film(1, "Film 1")], &[], &[], |doc| {
            text = serde_json::to_string(doc)?;
            Ok::<_, serde_json::Error>(())
        })
        .unwrap();
        assert!(text.contains("\"imdb_rating\":7.3,"), "{text}");
    }

    #[test]
    fn strings_are_escaped_in_the_body() {
        let docs = built(&[film(4, "Say \"hi\"\\\n\tok")], &[], &[]);
        assert_eq!(docs[0]["title"], "Say \"hi\"\\\n\tok");
    }
}
