SELECT $1::regclass::oid::bigint
