-- Changes the server refused outright (corrupt, out of scope): kept, with the reason, so that
-- nothing typed on the phone is silently lost; support can look at them.
CREATE TABLE refused_changes (
    id           INTEGER PRIMARY KEY,
    document_id  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    changes      BLOB NOT NULL,
    reason       TEXT NOT NULL,
    refused_at   TEXT NOT NULL
);
