//! The few `pgoutput` messages (protocol version 1) logical capture reads: relations, row
//! changes and truncations. Begin, Commit and logical messages are decoded by the transport.
//! Only text values are read: they are keys, put into SQL, never into documents.

/// One column value of a row in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Null,
    /// A TOASTed value the change did not touch: not sent.
    Unchanged,
    Text(String),
}

/// A relation as the stream describes it, before the first change of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Relation {
    pub oid: u32,
    pub namespace: String,
    pub name: String,
    pub columns: Vec<String>,
}

/// A decoded `pgoutput` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    Relation(Relation),
    /// An insert (`old` is `None`), update (`old` only when its identity changed or with
    /// `REPLICA IDENTITY FULL`) or delete (`new` is `None`).
    Row {
        relation: u32,
        old: Option<Vec<Value>>,
        new: Option<Vec<Value>>,
    },
    Truncate {
        relations: Vec<u32>,
    },
    /// Types, origins, and what the transport decodes itself.
    Other,
}

#[derive(Debug, thiserror::Error)]
#[error("malformed pgoutput message: {0}")]
pub(crate) struct Malformed(&'static str);

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes(&mut self, n: usize, what: &'static str) -> Result<&[u8], Malformed> {
        if self.0.len() < n {
            return Err(Malformed(what));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.bytes(1, "truncated byte")?[0])
    }

    fn i16(&mut self) -> Result<i16, Malformed> {
        let b = self.bytes(2, "truncated int16")?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, Malformed> {
        let b = self.bytes(4, "truncated int32")?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self) -> Result<String, Malformed> {
        let end = self
            .0
            .iter()
            .position(|b| *b == 0)
            .ok_or(Malformed("unterminated string"))?;
        let text = String::from_utf8_lossy(&self.0[..end]).into_owned();
        self.0 = &self.0[end + 1..];
        Ok(text)
    }

    fn tuple(&mut self) -> Result<Vec<Value>, Malformed> {
        let count = self.i16()?.max(0) as usize;
        let mut values = Vec::with_capacity(count);
        for _ in 0..count {
            values.push(match self.u8()? {
                b'n' => Value::Null,
                b'u' => Value::Unchanged,
                b't' | b'b' => {
                    let len = self.u32()? as usize;
                    let bytes = self.bytes(len, "truncated value")?;
                    Value::Text(String::from_utf8_lossy(bytes).into_owned())
                }
                _ => return Err(Malformed("unknown value kind")),
            });
        }
        Ok(values)
    }
}

/// Decodes the payload of one `XLogData` message.
pub(crate) fn decode(data: &[u8]) -> Result<Message, Malformed> {
    let Some((&tag, rest)) = data.split_first() else {
        return Ok(Message::Other);
    };
    let mut r = Reader(rest);
    match tag {
        b'R' => relation(&mut r).map(Message::Relation),
        b'I' => {
            let relation = r.u32()?;
            expect(r.u8()?, b'N')?;
            Ok(Message::Row {
                relation,
                old: None,
                new: Some(r.tuple()?),
            })
        }
        b'U' => {
            let relation = r.u32()?;
            let (old, new) = match r.u8()? {
                b'K' | b'O' => {
                    let old = r.tuple()?;
                    expect(r.u8()?, b'N')?;
                    (Some(old), r.tuple()?)
                }
                b'N' => (None, r.tuple()?),
                _ => return Err(Malformed("unknown tuple kind in update")),
            };
            Ok(Message::Row {
                relation,
                old,
                new: Some(new),
            })
        }
        b'D' => {
            let relation = r.u32()?;
            match r.u8()? {
                b'K' | b'O' => {}
                _ => return Err(Malformed("unknown tuple kind in delete")),
            }
            Ok(Message::Row {
                relation,
                old: Some(r.tuple()?),
                new: None,
            })
        }
        b'T' => {
            let count = r.u32()? as usize;
            let _options = r.u8()?;
            let relations = (0..count).map(|_| r.u32()).collect::<Result<_, _>>()?;
            Ok(Message::Truncate { relations })
        }
        _ => Ok(Message::Other),
    }
}

fn expect(found: u8, wanted: u8) -> Result<(), Malformed> {
    match found == wanted {
        true => Ok(()),
        false => Err(Malformed("unexpected tuple kind")),
    }
}

fn relation(r: &mut Reader<'_>) -> Result<Relation, Malformed> {
    let oid = r.u32()?;
    let namespace = r.string()?;
    let name = r.string()?;
    let _identity = r.u8()?;
    let count = r.i16()?.max(0) as usize;
    let mut columns = Vec::with_capacity(count);
    for _ in 0..count {
        let _flags = r.u8()?;
        columns.push(r.string()?);
        let _type = r.u32()?;
        let _modifier = r.u32()?;
    }
    Ok(Relation {
        oid,
        namespace,
        name,
        columns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &mut Vec<u8>, value: &str) {
        bytes.push(b't');
        bytes.extend((value.len() as u32).to_be_bytes());
        bytes.extend(value.as_bytes());
    }

    #[test]
    fn a_relation_names_its_columns() {
        let mut m = vec![b'R'];
        m.extend(16384u32.to_be_bytes());
        m.extend(b"content\0person_film_work\0");
        m.push(b'i');
        m.extend(2i16.to_be_bytes());
        for column in ["id", "film_work_id"] {
            m.push(1);
            m.extend(column.as_bytes());
            m.push(0);
            m.extend(2950u32.to_be_bytes());
            m.extend((-1i32).to_be_bytes());
        }
        let Message::Relation(relation) = decode(&m).unwrap() else {
            panic!("not a relation");
        };
        assert_eq!(relation.oid, 16384);
        assert_eq!(relation.namespace, "content");
        assert_eq!(relation.name, "person_film_work");
        assert_eq!(relation.columns, ["id", "film_work_id"]);
    }

    #[test]
    fn an_update_with_its_old_key_gives_both_rows() {
        let mut m = vec![b'U'];
        m.extend(7u32.to_be_bytes());
        m.push(b'K');
        m.extend(2i16.to_be_bytes());
        m.push(b'n');
        text(&mut m, "old");
        m.push(b'N');
        m.extend(2i16.to_be_bytes());
        m.push(b'u');
        text(&mut m, "new");
        assert_eq!(
            decode(&m).unwrap(),
            Message::Row {
                relation: 7,
                old: Some(vec![Value::Null, Value::Text("old".into())]),
                new: Some(vec![Value::Unchanged, Value::Text("new".into())]),
            }
        );
    }

    #[test]
    fn a_delete_gives_the_old_row_and_a_truncate_its_relations() {
        let mut m = vec![b'D'];
        m.extend(7u32.to_be_bytes());
        m.push(b'O');
        m.extend(1i16.to_be_bytes());
        text(&mut m, "gone");
        assert_eq!(
            decode(&m).unwrap(),
            Message::Row {
                relation: 7,
                old: Some(vec![Value::Text("gone".into())]),
                new: None,
            }
        );
        let mut m = vec![b'T'];
        m.extend(2u32.to_be_bytes());
        m.push(0);
        m.extend(7u32.to_be_bytes());
        m.extend(9u32.to_be_bytes());
        assert_eq!(
            decode(&m).unwrap(),
            Message::Truncate {
                relations: vec![7, 9]
            }
        );
    }

    #[test]
    fn a_cut_message_is_refused() {
        let mut m = vec![b'I'];
        m.extend(7u32.to_be_bytes());
        m.push(b'N');
        m.extend(1i16.to_be_bytes());
        m.push(b't');
        m.extend(10u32.to_be_bytes());
        m.extend(b"short");
        assert!(decode(&m).is_err());
        assert_eq!(decode(b"Yanything").unwrap(), Message::Other);
    }
}
