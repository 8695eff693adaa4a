-- A blob's size, so an upload's status and a range request do not load its bytes.
ALTER TABLE blobs ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
UPDATE blobs SET size = length(bytes);

-- Uploads cut off midway: what has arrived so far, appended part by part where the last ended.
CREATE TABLE blob_uploads (
    sha256       TEXT PRIMARY KEY,
    total        INTEGER NOT NULL,
    received     INTEGER NOT NULL,
    bytes        BLOB NOT NULL,
    uploaded_by  INTEGER NOT NULL,
    updated_at   TEXT NOT NULL
);
