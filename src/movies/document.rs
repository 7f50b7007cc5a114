//! Rows → film documents: the shape of the `movies` index.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct FilmRow {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub rating: Option<f32>,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct PersonRow {
    pub film_work_id: Uuid,
    pub id: Uuid,
    pub full_name: String,
    pub role: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct GenreRow {
    pub film_work_id: Uuid,
    pub id: Uuid,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub(crate) struct Named<N> {
    // Field order gives the sort order: by name, then id.
    #[serde(skip)]
    sort_name: N,
    pub id: Uuid,
    pub name: N,
}

impl<N: Clone> Named<N> {
    fn new(id: Uuid, name: N) -> Self {
        Self {
            sort_name: name.clone(),
            id,
            name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FilmDocument {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub imdb_rating: Option<f32>,
    #[serde(rename = "type")]
    pub kind: String,
    pub genre: Vec<Named<Option<String>>>,
    pub directors: Vec<Named<String>>,
    pub director: Vec<String>,
    pub actors: Vec<Named<String>>,
    pub actors_names: Vec<String>,
    pub writers: Vec<Named<String>>,
    pub writers_names: Vec<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

#[derive(Default)]
struct Credits {
    genres: Vec<Named<Option<String>>>,
    directors: Vec<Named<String>>,
    actors: Vec<Named<String>>,
    writers: Vec<Named<String>>,
}

fn timestamp(value: Option<DateTime<Utc>>) -> Option<String> {
    value.map(|at| at.to_rfc3339_opts(SecondsFormat::Micros, true))
}

fn names(people: &[Named<String>]) -> Vec<String> {
    people.iter().map(|person| person.name.clone()).collect()
}

/// Joins one batch of rows into documents, one per film row. Lists are sorted by name then id.
pub(crate) fn documents(
    films: Vec<FilmRow>,
    people: Vec<PersonRow>,
    genres: Vec<GenreRow>,
) -> Vec<FilmDocument> {
    let mut credits: HashMap<Uuid, Credits> = HashMap::with_capacity(films.len());
    for person in people {
        let entry = credits.entry(person.film_work_id).or_default();
        let named = Named::new(person.id, person.full_name);
        match person.role.as_str() {
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
    films
        .into_iter()
        .map(|film| {
            let mut credit = credits.remove(&film.id).unwrap_or_default();
            credit.genres.sort();
            credit.directors.sort();
            credit.actors.sort();
            credit.writers.sort();
            FilmDocument {
                id: film.id,
                title: film.title,
                description: film.description,
                imdb_rating: film.rating,
                kind: film.kind,
                director: names(&credit.directors),
                actors_names: names(&credit.actors),
                writers_names: names(&credit.writers),
                genre: credit.genres,
                directors: credit.directors,
                actors: credit.actors,
                writers: credit.writers,
                created_at: timestamp(film.created_at),
                updated_at: timestamp(film.updated_at),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn film(n: u128) -> FilmRow {
        FilmRow {
            id: id(n),
            title: format!("Film {n}"),
            description: None,
            rating: Some(7.3),
            kind: "movie".into(),
            created_at: Some("2021-06-16T20:14:09.000001Z".parse().unwrap()),
            updated_at: Some("2021-06-16T20:14:09.310123Z".parse().unwrap()),
        }
    }

    fn person(film: u128, n: u128, name: &str, role: &str) -> PersonRow {
        PersonRow {
            film_work_id: id(film),
            id: id(n),
            full_name: name.into(),
            role: role.into(),
        }
    }

    #[test]
    fn builds_the_documented_shape() {
        let docs = documents(
            vec![film(1)],
            vec![
                person(1, 12, "Zoe", "actor"),
                person(1, 11, "Adam", "actor"),
                person(1, 10, "Adam", "actor"),
                person(1, 11, "Adam", "director"),
                person(1, 13, "Вера", "writer"),
            ],
            vec![
                GenreRow {
                    film_work_id: id(1),
                    id: id(21),
                    name: Some("Drama".into()),
                },
                GenreRow {
                    film_work_id: id(1),
                    id: id(20),
                    name: Some("Comedy".into()),
                },
            ],
        );
        // Through text, as the bulk body is: an f32 keeps its short decimal form there.
        let value: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&docs[0]).unwrap()).unwrap();
        assert_eq!(
            value,
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
        let mut row = film(2);
        row.rating = None;
        let docs = documents(
            vec![row, film(3)],
            vec![person(3, 30, "X", "writer")],
            vec![],
        );
        assert_eq!(docs.len(), 2);
        let value = serde_json::to_value(&docs[0]).unwrap();
        assert_eq!(value["imdb_rating"], serde_json::Value::Null);
        for field in [
            "genre",
            "directors",
            "director",
            "actors",
            "actors_names",
            "writers",
            "writers_names",
        ] {
            assert_eq!(value[field], json!([]), "{field}");
        }
        assert_eq!(docs[1].writers_names, vec!["X".to_owned()]);
    }

    #[test]
    fn rating_keeps_its_decimal_form() {
        let text = serde_json::to_string(&documents(vec![film(1)], vec![], vec![])[0]).unwrap();
        assert!(text.contains("\"imdb_rating\":7.3,"), "{text}");
    }
}
