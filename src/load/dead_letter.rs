//! Documents Elasticsearch refused, kept with the reason so nothing is lost silently.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::Serialize;

use super::error::EsError;
use crate::transform::{Action, Key};

#[derive(Serialize)]
struct Entry<'a> {
    id: String,
    index: &'a str,
    action: &'static str,
    status: u16,
    reason: &'a str,
    /// The index setting (or fixed limit) the document broke, when the reason names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<String>,
    /// As built: `numeric` keeps its digits here too.
    document: Option<&'a serde_json::value::RawValue>,
    at: String,
}

#[derive(Debug, Clone)]
pub(crate) struct DeadLetters {
    path: PathBuf,
}

impl DeadLetters {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
        }
    }

    /// How many documents the file holds (one line each); 0 when there is no file.
    pub fn count(path: &Path) -> std::io::Result<u64> {
        let mut file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(err) => return Err(err),
        };
        let mut buffer = vec![0u8; 64 * 1024];
        let mut lines = 0;
        loop {
            let read = std::io::Read::read(&mut file, &mut buffer)?;
            if read == 0 {
                return Ok(lines);
            }
            lines += buffer[..read].iter().filter(|byte| **byte == b'\n').count() as u64;
        }
    }

    /// Appends one NDJSON line per refused action and syncs the file before returning, so the
    /// cursor can move past them; the file is written on tokio's blocking threads (a busy disk
    /// must not hold the runtime's).
    pub async fn write(
        &self,
        index: &str,
        refused: &[(&Action, u16, String)],
    ) -> Result<(), EsError> {
        if refused.is_empty() {
            return Ok(());
        }
        let io_error = |source| EsError::DeadLetter {
            path: self.path.clone(),
            source,
        };
        let mut out = Vec::new();
        for (action, status, reason) in refused {
            let (kind, document) = match action {
                Action::Index(doc) => ("index", serde_json::from_slice(&doc.body).ok()),
                Action::Delete(..) => ("delete", None),
            };
            let entry = Entry {
                id: action.id().to_string(),
                index,
                action: kind,
                status: *status,
                reason,
                limit: limit_of(reason),
                document,
                at: Utc::now().to_rfc3339(),
            };
            serde_json::to_writer(&mut out, &entry)
                .map_err(|err| io_error(std::io::Error::other(err)))?;
            out.push(b'\n');
        }
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || append(&path, &out))
            .await
            .map_err(std::io::Error::other)
            .and_then(|appended| appended)
            .map_err(io_error)
    }
}

fn append(path: &Path, lines: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(lines)?;
    file.sync_data()
}

/// The limit a refusal reason says the document broke: the index setting it names
/// (`[index.mapping.nested_objects.limit]`), or the setting behind a message that names none.
pub(crate) fn limit_of(reason: &str) -> Option<String> {
    if let Some(start) = reason.find("[index.") {
        let setting = &reason[start + 1..];
        if let Some(end) = setting.find(']') {
            return Some(setting[..end].to_owned());
        }
    }
    let known = [
        ("Limit of total fields", "index.mapping.total_fields.limit"),
        (
            "Limit of nested fields",
            "index.mapping.nested_fields.limit",
        ),
        ("Limit of mapping depth", "index.mapping.depth.limit"),
        (
            "number of nested documents",
            "index.mapping.nested_objects.limit",
        ),
        (
            "immense term",
            "the 32766-byte limit of one keyword term (ignore_above in the mapping)",
        ),
    ];
    known
        .iter()
        .find(|(words, _)| reason.contains(words))
        .map(|(_, limit)| (*limit).to_owned())
}

/// How many letters of the file broke each limit (`None`: a refusal that names none).
pub(crate) fn limits_in(path: &Path) -> std::io::Result<BTreeMap<Option<String>, u64>> {
    let mut limits = BTreeMap::new();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(limits),
        Err(err) => return Err(err),
    };
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let limit = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|letter| letter["limit"].as_str().map(str::to_owned));
        *limits.entry(limit).or_insert(0) += 1;
    }
    Ok(limits)
}

/// Dead letters set aside for a replay: new refusals meanwhile go to a fresh file.
pub(crate) struct Taken {
    path: PathBuf,
}

#[derive(serde::Deserialize)]
struct Letter {
    id: Key,
}

/// The fields of a letter that say which index refused which document.
#[derive(serde::Deserialize)]
struct Refusal {
    id: String,
    index: String,
    action: String,
}

impl DeadLetters {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The ids of the documents `index` refused to index, as the file records them (lines
    /// that do not parse are skipped: the question is only which ids one index refused).
    pub fn ids_refused_by(path: &Path, index: &str) -> std::io::Result<Vec<String>> {
        use std::io::BufRead as _;
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(err),
        };
        // A line at a time: the file holds every document refused so far, with its body.
        let mut ids = Vec::new();
        for line in std::io::BufReader::new(file).lines() {
            let Ok(refusal) = serde_json::from_str::<Refusal>(&line?) else {
                continue;
            };
            if refusal.index == index && refusal.action == "index" {
                ids.push(refusal.id);
            }
        }
        Ok(ids)
    }
}

impl DeadLetters {
    /// Moves the file aside for a replay; a replay that was interrupted is taken up again first.
    /// `None` when there is nothing to replay.
    pub fn take(&self) -> Result<Option<Taken>, EsError> {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".replaying");
        let taken = self.path.with_file_name(name);
        if taken.exists() {
            return Ok(Some(Taken { path: taken }));
        }
        match std::fs::rename(&self.path, &taken) {
            Ok(()) => Ok(Some(Taken { path: taken })),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(EsError::DeadLetter {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

impl Taken {
    /// The ids of the letters, each once, in the order they were refused.
    pub fn ids(&self) -> Result<Vec<Key>, EsError> {
        let invalid = |line: usize, reason: String| EsError::DeadLetter {
            path: self.path.clone(),
            source: std::io::Error::other(format!("line {line}: {reason}")),
        };
        let text = std::fs::read_to_string(&self.path).map_err(|source| EsError::DeadLetter {
            path: self.path.clone(),
            source,
        })?;
        let mut seen = std::collections::HashSet::new();
        let mut ids = Vec::new();
        for (number, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let letter: Letter =
                serde_json::from_str(line).map_err(|err| invalid(number + 1, err.to_string()))?;
            if seen.insert(letter.id.clone()) {
                ids.push(letter.id);
            }
        }
        Ok(ids)
    }

    /// Removes the set-aside file once every letter was written again.
    pub fn finish(self) -> Result<(), EsError> {
        std::fs::remove_file(&self.path).map_err(|source| EsError::DeadLetter {
            path: self.path,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Key;
    use bytes::Bytes;

    #[allow(non_snake_case)]
    fn Uuid_(n: u128) -> Key {
        Key::from(uuid::Uuid::from_u128(n).to_string())
    }

    use super::*;
    use crate::transform::Document;

    #[test]
    fn refused_documents_are_written_off_the_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dead.ndjson");
        let letters = DeadLetters::new(&path);
        let action = Action::Delete(Uuid_(5), None);
        let off = crate::state::tests::runs_off_the_runtime(&path, async move {
            let refused = [(&action, 400, "bad".to_owned())];
            let _ = letters.write("movies", &refused).await;
        });
        assert!(
            off,
            "the dead-letter file's write held the runtime's only thread"
        );
    }

    #[tokio::test]
    async fn writes_one_line_per_refused_action_with_reason_and_document() {
        let dir = tempfile::tempdir().unwrap();
        let letters = DeadLetters::new(&dir.path().join("dead.ndjson"));
        let doc = Document {
            id: Uuid_(5),
            body: Bytes::from_static(br#"{"title":"x"}"#),
            version: None,
        };
        letters
            .write(
                "movies",
                &[(
                    &Action::Index(doc),
                    400,
                    "mapper_parsing_exception: bad".into(),
                )],
            )
            .await
            .unwrap();
        letters.write("movies", &[]).await.unwrap();
        assert_eq!(
            DeadLetters::count(&dir.path().join("dead.ndjson")).unwrap(),
            1
        );
        assert_eq!(
            DeadLetters::count(&dir.path().join("none.ndjson")).unwrap(),
            0
        );
        let text = std::fs::read_to_string(dir.path().join("dead.ndjson")).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["id"], Uuid_(5).as_str());
        assert_eq!(lines[0]["status"], 400);
        assert_eq!(lines[0]["reason"], "mapper_parsing_exception: bad");
        assert_eq!(lines[0]["document"]["title"], "x");
    }

    #[tokio::test]
    async fn taken_letters_give_each_id_once_and_leave_room_for_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dead.ndjson");
        let letters = DeadLetters::new(&path);
        assert!(letters.take().unwrap().is_none());
        let (two, one) = (
            Action::Delete(Uuid_(2), None),
            Action::Delete(Uuid_(1), None),
        );
        let refused = |action| (action, 409, "conflict".to_owned());
        letters
            .write("movies", &[refused(&two), refused(&one), refused(&two)])
            .await
            .unwrap();
        let taken = letters.take().unwrap().unwrap();
        assert!(!path.exists(), "new refusals start a fresh file");
        assert_eq!(taken.ids().unwrap(), [Uuid_(2), Uuid_(1)]);
        // An interrupted replay is taken up again.
        let again = letters.take().unwrap().unwrap();
        assert_eq!(again.ids().unwrap().len(), 2);
        again.finish().unwrap();
        assert!(letters.take().unwrap().is_none());
    }

    #[test]
    fn a_garbled_letter_is_refused_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dead.ndjson");
        std::fs::write(
            &path,
            "{\"id\":\"00000000-0000-0000-0000-000000000001\"}\nnot json\n",
        )
        .unwrap();
        let taken = DeadLetters::new(&path).take().unwrap().unwrap();
        let message = crate::errors::causes(&taken.ids().unwrap_err()).join(": ");
        assert!(message.contains("line 2"), "{message}");
    }

    #[test]
    fn a_refusal_names_the_limit_it_broke() {
        let nested = "The number of nested documents has exceeded the allowed limit of [10000]. This limit can be set by changing the [index.mapping.nested_objects.limit] index level setting.";
        assert_eq!(
            limit_of(nested).as_deref(),
            Some("index.mapping.nested_objects.limit")
        );
        assert_eq!(
            limit_of("Limit of total fields [1000] in index [movies_1] has been exceeded")
                .as_deref(),
            Some("index.mapping.total_fields.limit")
        );
        assert_eq!(
            limit_of("failed to parse field [imdb_rating] of type [float]"),
            None
        );
    }
}
